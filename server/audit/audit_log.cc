#include "server/audit/audit_log.h"

#include <cppconn/resultset.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "server/common/logging.h"
#include "server/common/sql_param.h"
#include "server/common/status_macros.h"
#include "server/common/time_util.h"
#include "server/common/utf8.h"
#include "server/query/pagination.h"
#include "server/query/schema.h"
#include "server/storage/database.h"
#include "server/storage/list_query.h"

namespace rapport::audit {
namespace {

// Column sizes of audit_events (migration 0003), in characters: VARCHAR(n)
// of utf8mb4 counts code points, not bytes.
constexpr size_t kPrincipalChars = 190;
constexpr size_t kRoleChars = 190;
constexpr size_t kMethodChars = 255;
constexpr size_t kResourceChars = 255;
constexpr size_t kCodeChars = 32;
constexpr size_t kRequestIdChars = 128;
constexpr size_t kPeerChars = 255;

// Rows per INSERT at most, whatever the options say. A row is at most
// 1,305 characters (~5 KB in utf8mb4), so 1,000 rows stay well under the
// 16 MB max_allowed_packet default of MariaDB (MySQL 8.0: 64 MB) and the
// 65,535 placeholders a prepared statement may have.
constexpr size_t kMaxBatch = 1000;
constexpr int kColumnsPerRow = 8;

// Retry delays while the database does not take a batch. The cap keeps the
// rows of a short outage from waiting long after it ends.
constexpr absl::Duration kMinBackoff = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(5);

// How long the destructor waits for the queue to drain.
constexpr absl::Duration kShutdownFlush = absl::Seconds(2);

constexpr char kInsertPrefix[] =
    "INSERT INTO audit_events (event_time, principal, role, method, "
    "resource, code, request_id, peer) VALUES ";
constexpr char kRowPlaceholders[] = "(?,?,?,?,?,?,?,?)";

constexpr char kSelect[] =
    "a.id, a.event_time, a.principal, a.role, a.method, a.resource, a.code, "
    "a.request_id, a.peer";
constexpr int kSelectColumns = 9;

// Makes `text` fit a VARCHAR(max_chars) utf8mb4 column: each byte that is
// not part of well-formed UTF-8 becomes U+FFFD, and the text is cut after
// `max_chars` code points (never inside one). Without this a single bad row
// would fail its whole batch in strict mode, again and again.
void FitColumn(std::string* text, size_t max_chars) {
  // Fast path: short ASCII, the usual case.
  if (text->size() <= max_chars &&
      std::all_of(text->begin(), text->end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x80;
      })) {
    return;
  }
  std::string out;
  out.reserve(std::min(text->size(), max_chars * 4));
  absl::string_view rest(*text);
  size_t chars = 0;
  while (!rest.empty() && chars < max_chars) {
    const size_t len = DecodeUtf8(rest);
    if (len == 0) {
      out.append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
      rest.remove_prefix(1);
    } else {
      out.append(rest.data(), len);
      rest.remove_prefix(len);
    }
    ++chars;
  }
  *text = std::move(out);
}

void Sanitize(AuditRecord* r) {
  // DATETIME(6) holds years 1000-9999 only; an out-of-range time (an unset
  // absl::InfinitePast, say) would fail the batch.
  r->time = std::clamp(r->time, MinStorableTime(), MaxStorableTime());
  FitColumn(&r->principal, kPrincipalChars);
  FitColumn(&r->role, kRoleChars);
  FitColumn(&r->method, kMethodChars);
  FitColumn(&r->resource, kResourceChars);
  FitColumn(&r->code, kCodeChars);
  FitColumn(&r->request_id, kRequestIdChars);
  FitColumn(&r->peer, kPeerChars);
}

// A row that will not reach the table, as one JSON log line carrying every
// field, so that it can be recovered from the logs. Logged at error level:
// a lower level could be filtered out by the operator's log level, which
// would drop the row silently.
void LogUnwrittenRow(const AuditRecord& r, absl::string_view reason) {
  log::Error("audit_overflow", {{"reason", reason},
                                {"event_time", ToRfc3339(r.time)},
                                {"principal", r.principal},
                                {"role", r.role},
                                {"method", r.method},
                                {"resource", r.resource},
                                {"code", r.code},
                                {"request_id", r.request_id},
                                {"peer", r.peer}});
}

std::string InsertSql(size_t rows) {
  std::string sql = kInsertPrefix;
  sql.reserve(sql.size() + rows * (sizeof(kRowPlaceholders)));
  for (size_t i = 0; i < rows; ++i) {
    if (i > 0) sql.push_back(',');
    sql.append(kRowPlaceholders);
  }
  return sql;
}

query::FieldSpec StringField(const char* name, const char* column) {
  query::FieldSpec f;
  f.name = name;
  f.type = query::FieldType::kString;
  f.column = column;
  return f;
}

// audit_events for the query layer, queried as `FROM audit_events a`. Only
// the id is sortable: the listing is always newest first.
const query::ResourceSchema& AuditEventSchema() {
  // Leaked on purpose, like the schemas of server/query: no destruction
  // order problems at exit.
  static const query::ResourceSchema* const schema = [] {
    auto* s = new query::ResourceSchema;
    s->resource = "auditEvents";
    s->alias = "a";
    s->id_field = "id";
    s->default_order_by = "id desc";
    s->fields = {
        StringField("principal", "a.principal"),
        StringField("role", "a.role"),
        StringField("method", "a.method"),
        StringField("resource", "a.resource"),
        StringField("code", "a.code"),
        StringField("request_id", "a.request_id"),
    };
    query::FieldSpec event_time;
    event_time.name = "event_time";
    event_time.type = query::FieldType::kTimestamp;
    event_time.column = "a.event_time";
    s->fields.push_back(std::move(event_time));
    s->sortable = {{"id", "a.id", query::SortType::kInt64, false}};
    return s;
  }();
  return *schema;
}

absl::StatusOr<rapport::v1::AuditEvent> ReadAuditEventRow(sql::ResultSet& rs) {
  rapport::v1::AuditEvent e;
  e.set_name(absl::StrCat("auditEvents/", rs.getInt64(1)));
  RAPPORT_ASSIGN_OR_RETURN(absl::Time time,
                           ParseSqlDateTime(std::string(rs.getString(2))));
  *e.mutable_event_time() = ToTimestamp(time);
  e.set_principal(rs.getString(3));
  e.set_role(rs.getString(4));
  e.set_method(rs.getString(5));
  e.set_resource(rs.getString(6));
  e.set_code(rs.getString(7));
  e.set_request_id(rs.getString(8));
  e.set_peer(rs.getString(9));
  return e;
}

}  // namespace

AuditLog::AuditLog(storage::Database* db, AuditLogOptions options)
    : db_(db),
      options_(options),
      max_batch_(std::clamp<size_t>(options.max_batch, 1, kMaxBatch)),
      writer_([this] { WriterLoop(); }) {}

AuditLog::~AuditLog() {
  const absl::Status flushed = Flush(kShutdownFlush);
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  // Returns once an INSERT in flight ends (bounded by the database's
  // connect and I/O timeouts); the writer starts no new one after stop_.
  writer_.join();
  std::deque<Row> abandoned;
  {
    absl::MutexLock lock(&mu_);
    abandoned.swap(queue_);
  }
  if (abandoned.empty()) return;
  // Still not silent: each row goes to the log, like an overflowing one.
  for (const Row& row : abandoned) LogUnwrittenRow(row.record, "shutdown");
  log::Error("audit log: rows not written at shutdown, logged instead",
             {{"rows", static_cast<uint64_t>(abandoned.size())},
              {"error", flushed.ToString()}});
}

void AuditLog::Record(AuditRecord record) {
  Sanitize(&record);
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() + in_flight_ < options_.max_queued) {
      queue_.push_back(Row{std::move(record), ++last_queued_seq_, now});
      // The writer's absl::Condition sees the new row when the lock is
      // released; no explicit signal needed.
      return;
    }
    ++rows_overflowed_;
  }
  // Outside the lock: a log write must not hold up other callers.
  LogUnwrittenRow(record, "queue_full");
}

absl::Status AuditLog::Flush(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  const uint64_t target = last_queued_seq_;
  auto written = [this, target]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return last_written_seq_ >= target;
  };
  if (written()) return absl::OkStatus();
  ++flush_waiters_;
  ++flush_generation_;
  mu_.AwaitWithDeadline(absl::Condition(&written), deadline);
  --flush_waiters_;
  if (written()) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat(
      "audit log: ", target - last_written_seq_, " rows not yet written after ",
      absl::FormatDuration(timeout)));
}

void AuditLog::WriterLoop() {
  absl::Duration backoff = kMinBackoff;
  bool failing = false;
  std::vector<Row> batch;
  batch.reserve(max_batch_);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto has_rows = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stop_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&has_rows));
      if (stop_) return;
      // Gather a batch: write once it is full, a Flush waits, or the oldest
      // row has waited flush_interval. Fewer, larger INSERTs are what make
      // the writer keep up under load.
      auto batch_ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stop_ || flush_waiters_ > 0 || queue_.size() >= max_batch_;
      };
      mu_.AwaitWithDeadline(absl::Condition(&batch_ready),
                            queue_.front().queued_at + options_.flush_interval);
      if (stop_) return;
      const size_t n = std::min(queue_.size(), max_batch_);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      in_flight_ = n;
    }

    const absl::Status status = WriteBatch(batch);

    uint64_t generation;
    {
      absl::MutexLock lock(&mu_);
      in_flight_ = 0;
      if (status.ok()) {
        last_written_seq_ = batch.back().seq;
        ++batches_written_;
        rows_written_ += batch.size();
      } else {
        ++failed_writes_;
        // Back to the front, in order: rows are written in queue order, which
        // Flush relies on.
        for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
          queue_.push_front(std::move(*it));
        }
      }
      generation = flush_generation_;
    }
    const size_t rows = batch.size();
    batch.clear();
    if (status.ok()) {
      if (failing) {
        log::Info("audit log: writing again", {{"rows", rows}});
        failing = false;
      }
      backoff = kMinBackoff;
      continue;
    }
    failing = true;
    log::Warning("audit log: cannot write rows; keeping them and retrying",
                 {{"rows", rows},
                  {"retry_in_ms", absl::ToInt64Milliseconds(backoff)},
                  {"error", status.ToString()}});
    {
      // A new Flush call (e.g. the destructor's) or stop cuts the wait short.
      absl::MutexLock lock(&mu_);
      auto wake = [this, generation]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stop_ || flush_generation_ != generation;
      };
      mu_.AwaitWithTimeout(absl::Condition(&wake), backoff);
    }
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

absl::Status AuditLog::WriteBatch(const std::vector<Row>& batch) {
  std::vector<SqlParam> params;
  params.reserve(batch.size() * kColumnsPerRow);
  for (const Row& row : batch) {
    const AuditRecord& r = row.record;
    params.emplace_back(ToSqlDateTime(r.time));
    params.emplace_back(r.principal);
    params.emplace_back(r.role);
    params.emplace_back(r.method);
    params.emplace_back(r.resource);
    params.emplace_back(r.code);
    params.emplace_back(r.request_id);
    params.emplace_back(r.peer);
  }
  const std::string sql = InsertSql(batch.size());
  return db_->Run("writing audit events", [&](storage::Connection& conn) {
    // Full batches (steady load) and single rows (light load) reuse the
    // connection's cached statement; other sizes are prepared for this call
    // only, so that up to max_batch distinct texts do not churn the cache.
    const bool cached = batch.size() == max_batch_ || batch.size() == 1;
    const int64_t inserted = cached
                                 ? conn.Update(sql, params)
                                 : storage::UpdateUncached(conn, sql, params);
    if (inserted != static_cast<int64_t>(batch.size())) {
      return absl::InternalError(absl::StrCat("writing audit events: inserted ",
                                              inserted, " of ", batch.size(),
                                              " rows"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<rapport::v1::ListAuditEventsResponse> AuditLog::List(
    const rapport::v1::ListAuditEventsRequest& request) {
  RAPPORT_ASSIGN_OR_RETURN(const int page_size,
                           query::ClampPageSize(request.page_size()));
  storage::ListSpec spec;
  spec.schema = &AuditEventSchema();
  spec.from = "audit_events a";
  spec.select = kSelect;
  spec.select_columns = kSelectColumns;
  spec.filter = request.filter();
  spec.page_token = request.page_token();
  spec.page_size = page_size;
  // A token only continues the listing it came from.
  spec.request_description = query::RequestDescription(
      {{"resource", "auditEvents"}, {"filter", request.filter()}});
  RAPPORT_ASSIGN_OR_RETURN(storage::ListPlan plan, storage::PlanList(spec));

  rapport::v1::ListAuditEventsResponse response;
  RAPPORT_RETURN_IF_ERROR(
      db_->Run("listing audit events", [&](storage::Connection& conn) {
        response.Clear();
        std::unique_ptr<sql::ResultSet> rs =
            conn.Query(plan.page.sql, plan.page.params);
        storage::SortKeyText last_keys;
        while (rs->next()) {
          if (response.audit_events_size() == spec.page_size) {
            // One row past the page: another page follows, after the last
            // row returned.
            absl::StatusOr<std::string> token =
                storage::NextPageToken(plan, spec, last_keys);
            if (!token.ok()) return token.status();
            response.set_next_page_token(*std::move(token));
            break;
          }
          absl::StatusOr<rapport::v1::AuditEvent> event =
              ReadAuditEventRow(*rs);
          if (!event.ok()) return event.status();
          *response.add_audit_events() = *std::move(event);
          last_keys = storage::ReadSortKeys(plan, *rs);
        }
        return absl::OkStatus();
      }));
  return response;
}

}  // namespace rapport::audit
