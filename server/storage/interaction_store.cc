#include "server/storage/interaction_store.h"

#include <cppconn/resultset.h>

#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/common/stored_json.h"
#include "server/common/time_util.h"
#include "server/query/pagination.h"
#include "server/query/schema.h"
#include "server/storage/database.h"
#include "server/storage/list_query.h"
#include "server/storage/outbox.h"

namespace rapport::storage {

using rapport::v1::Interaction;

namespace {

constexpr char kInteractionKind[] = "interaction";

constexpr char kInteractionSelect[] =
    "i.id, i.contact_id, i.type, i.channel, i.direction, i.occur_time, "
    "i.subject, i.body, i.amount_currency, i.amount_minor, i.attributes, "
    "i.actor, i.create_time";
constexpr int kInteractionColumnCount = 13;

absl::StatusOr<Interaction> ReadInteractionRow(sql::ResultSet& rs) {
  Interaction i;
  i.set_id(absl::StrCat(rs.getInt64(1)));
  i.set_contact_id(absl::StrCat(rs.getInt64(2)));
  i.set_type(static_cast<rapport::v1::InteractionType>(rs.getInt(3)));
  i.set_channel(rs.getString(4));
  i.set_direction(static_cast<rapport::v1::Direction>(rs.getInt(5)));
  RAPPORT_ASSIGN_OR_RETURN(absl::Time occur,
                           ParseSqlDateTime(std::string(rs.getString(6))));
  *i.mutable_occur_time() = ToTimestamp(occur);
  i.set_subject(rs.getString(7));
  if (!rs.isNull(8)) i.set_body(rs.getString(8));
  if (!rs.isNull(9)) {
    i.mutable_amount()->set_currency_code(rs.getString(9));
    i.mutable_amount()->set_amount_minor(rs.getInt64(10));
  }
  if (!rs.isNull(11)) {
    const absl::Status read = ParseStringMapJson(rs.getString(11).asStdString(),
                                                 i.mutable_attributes());
    if (!read.ok()) {
      return absl::InternalError(
          absl::StrCat("interaction ", i.id(),
                       " has unreadable attributes: ", read.message()));
    }
  }
  i.set_actor(rs.getString(12));
  RAPPORT_ASSIGN_OR_RETURN(absl::Time created,
                           ParseSqlDateTime(std::string(rs.getString(13))));
  *i.mutable_create_time() = ToTimestamp(created);
  return i;
}

std::optional<int64_t> FindRequest(Connection& conn,
                                   absl::string_view request_id) {
  auto rs = conn.Query(
      "SELECT resource_id FROM request_ids WHERE kind = ? AND request_id = ?",
      {std::string(kInteractionKind), std::string(request_id)});
  if (!rs->next()) return std::nullopt;
  return rs->getInt64(1);
}

}  // namespace

absl::StatusOr<Interaction> InteractionStore::Log(
    const Interaction& in, absl::string_view request_id) {
  int64_t contact_id = 0;
  (void)absl::SimpleAtoi(in.contact_id(), &contact_id);
  int64_t id = 0;
  bool replayed = false;
  Interaction stored;  // as GetInteraction will return it
  absl::Status status =
      db_->Transaction("logging interaction", [&](Connection& conn) {
        const absl::Time now = absl::Now();
        replayed = false;
        if (!request_id.empty()) {
          if (std::optional<int64_t> prior = FindRequest(conn, request_id)) {
            id = *prior;
            replayed = true;
            return absl::OkStatus();
          }
        }
        const std::string occur = ToSqlDateTime(ToAbslTime(in.occur_time()));
        // Locks the contact row: it must stay live until we commit, and its
        // last_interaction_time moves forward only.
        const int64_t touched = conn.Update(
            "UPDATE contacts SET last_interaction_time = CASE WHEN "
            "last_interaction_time IS NULL OR last_interaction_time < ? "
            "THEN ? ELSE last_interaction_time END "
            "WHERE id = ? AND delete_time IS NULL",
            {occur, occur, contact_id});
        if (touched == 0) {
          // Zero rows also when the value did not change; tell them apart.
          auto rs = conn.Query(
              "SELECT delete_time IS NULL FROM contacts WHERE id = ?",
              {contact_id});
          if (!rs->next()) {
            return absl::NotFoundError(
                absl::StrCat("interaction.contact_id: contact ", contact_id,
                             " does not exist"));
          }
          if (!rs->getBoolean(1)) {
            return absl::NotFoundError(absl::StrCat(
                "interaction.contact_id: contact ", contact_id, " is deleted"));
          }
        }
        const std::string attrs = StringMapToJson(in.attributes());
        conn.Update(
            "INSERT INTO interactions (contact_id, type, channel, direction, "
            "occur_time, subject, body, amount_currency, amount_minor, "
            "attributes, actor, create_time) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {contact_id, static_cast<int64_t>(in.type()), in.channel(),
             static_cast<int64_t>(in.direction()), occur, in.subject(),
             in.body().empty() ? SqlParam(std::monostate()) : in.body(),
             in.has_amount() ? SqlParam(in.amount().currency_code())
                             : SqlParam(std::monostate()),
             in.has_amount() ? SqlParam(in.amount().amount_minor())
                             : SqlParam(std::monostate()),
             attrs.empty() ? SqlParam(std::monostate()) : attrs, in.actor(),
             ToSqlDateTime(now)});
        id = conn.LastInsertId();
        if (!request_id.empty()) {
          conn.Update(
              "INSERT INTO request_ids (kind, request_id, resource_id, "
              "create_time) VALUES (?, ?, ?, ?)",
              {std::string(kInteractionKind), std::string(request_id), id,
               ToSqlDateTime(now)});
        }
        // The event carries the interaction as GetInteraction will return it
        // (times at the database's microsecond precision).
        rapport::v1::Event event;
        event.set_type(rapport::v1::INTERACTION_LOGGED);
        event.set_contact_id(absl::StrCat(contact_id));
        Interaction* logged = event.mutable_interaction();
        *logged = in;
        logged->set_id(absl::StrCat(id));
        *logged->mutable_occur_time() =
            ToStoredTimestamp(ToAbslTime(in.occur_time()));
        *logged->mutable_create_time() = ToStoredTimestamp(now);
        stored = *logged;
        AppendEvent(conn, std::move(event), now);
        return absl::OkStatus();
      });
  if (status.code() == absl::StatusCode::kAlreadyExists &&
      !request_id.empty()) {
    // Lost a race with a concurrent call carrying the same request_id.
    std::optional<int64_t> prior;
    RAPPORT_RETURN_IF_ERROR(
        db_->Run("logging interaction", [&](Connection& conn) {
          prior = FindRequest(conn, request_id);
          return absl::OkStatus();
        }));
    if (!prior) return status;
    id = *prior;
    replayed = true;
  } else if (!status.ok()) {
    return status;
  }
  // A new interaction is answered as built (no read-back, as the event);
  // a replayed request with what was stored the first time.
  if (!replayed) return stored;
  return Get(id);
}

absl::StatusOr<Interaction> InteractionStore::Get(int64_t id) {
  std::optional<absl::StatusOr<Interaction>> found;
  RAPPORT_RETURN_IF_ERROR(
      db_->Run("reading interaction", [&](Connection& conn) {
        auto rs =
            conn.Query(absl::StrCat("SELECT ", kInteractionSelect,
                                    " FROM interactions i WHERE i.id = ?"),
                       {id});
        if (rs->next()) found = ReadInteractionRow(*rs);
        return absl::OkStatus();
      }));
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("interaction ", id, " does not exist"));
  }
  return *std::move(found);
}

}  // namespace rapport::storage

namespace rapport::storage {

absl::StatusOr<InteractionPage> InteractionStore::List(
    const InteractionListParams& params) {
  ListSpec spec;
  spec.schema = &query::InteractionSchema();
  spec.from = "interactions i";
  spec.select = kInteractionSelect;
  spec.select_columns = kInteractionColumnCount;
  if (params.contact_id != 0) {
    spec.conditions.push_back({"i.contact_id = ?", {params.contact_id}});
  }
  spec.filter = params.filter;
  spec.order_by = params.order_by;
  spec.page_token = params.page_token;
  spec.page_size = params.page_size;
  spec.request_description = query::RequestDescription(
      {{"resource", "interactions"},
       {"contact_id", absl::StrCat(params.contact_id)},
       {"filter", params.filter},
       {"order_by", params.order_by}});
  RAPPORT_ASSIGN_OR_RETURN(ListPlan plan, PlanList(spec));
  InteractionPage page;
  RAPPORT_RETURN_IF_ERROR(
      db_->Run("listing interactions", [&](Connection& conn) {
        page = InteractionPage();
        auto rs = conn.Query(plan.page.sql, plan.page.params);
        SortKeyText last_keys;
        while (rs->next()) {
          if (static_cast<int>(page.interactions.size()) == spec.page_size) {
            absl::StatusOr<std::string> token =
                NextPageToken(plan, spec, last_keys);
            if (!token.ok()) return token.status();
            page.next_page_token = *std::move(token);
            break;
          }
          absl::StatusOr<Interaction> i = ReadInteractionRow(*rs);
          if (!i.ok()) return i.status();
          page.interactions.push_back(*std::move(i));
          last_keys = ReadSortKeys(plan, *rs);
        }
        return absl::OkStatus();
      }));
  return page;
}

}  // namespace rapport::storage
