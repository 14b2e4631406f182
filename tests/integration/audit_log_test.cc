// The audit log against a real MariaDB: rows recorded are written exactly
// once, in few multi-row INSERTs; Record never waits for the database, and
// rows recorded while it is unreachable are written when it answers again;
// rows beyond the queue, or left at shutdown, go to the log instead, never
// nowhere; List pages newest first through the shared AIP-160 filter and
// keyset token machinery.
#include "server/audit/audit_log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/time_util.h"
#include "server/storage/database.h"
#include "server/storage/migrations.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace rapport::audit {

// Reads the writer's private counters.
class AuditLogTestPeer {
 public:
  static uint64_t BatchesWritten(AuditLog& log) {
    absl::MutexLock lock(&log.mu_);
    return log.batches_written_;
  }
  static uint64_t RowsWritten(AuditLog& log) {
    absl::MutexLock lock(&log.mu_);
    return log.rows_written_;
  }
  static uint64_t RowsOverflowed(AuditLog& log) {
    absl::MutexLock lock(&log.mu_);
    return log.rows_overflowed_;
  }
  static uint64_t FailedWrites(AuditLog& log) {
    absl::MutexLock lock(&log.mu_);
    return log.failed_writes_;
  }
};

namespace {

namespace v1 = rapport::v1;
using ::rapport::storage::ApplyMigrations;
using ::rapport::storage::CoreMigrations;
using ::rapport::storage::Database;
using ::rapport::storage::DbOptions;
using ::rapport::testing::StatusIs;
using ::rapport::testing::ClosedPort;
using ::rapport::testing::TestDatabase;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Peer = AuditLogTestPeer;

// Forwards TCP connections from 127.0.0.1:`listen_port` to
// 127.0.0.1:`target_port` (the test MariaDB). Stop() closes the listener and
// every forwarded connection, which is what the client sees when the
// database goes away; Start() on the same port brings it back. Lets a test
// cut the database off without stopping the shared fixture server.
class TcpProxy {
 public:
  TcpProxy(int listen_port, int target_port)
      : listen_port_(listen_port), target_port_(target_port) {}
  ~TcpProxy() { Stop(); }

  bool Start() {
    Stop();
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd_ < 0) return false;
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr = Loopback(listen_port_);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
            0 ||
        listen(listen_fd_, 16) != 0) {
      close(listen_fd_);
      listen_fd_ = -1;
      return false;
    }
    stop_ = false;
    acceptor_ = std::thread([this] { AcceptLoop(); });
    return true;
  }

  void Stop() {
    if (listen_fd_ < 0) return;
    stop_ = true;
    acceptor_.join();
    for (std::thread& t : pumps_) t.join();
    pumps_.clear();
    close(listen_fd_);
    listen_fd_ = -1;
  }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    return addr;
  }

  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      const int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      const int upstream = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr = Loopback(target_port_);
      if (connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
          0) {
        close(upstream);
        close(client);
        continue;
      }
      pumps_.emplace_back([this, client, upstream] { Pump(client, upstream); });
    }
  }

  // Copies bytes both ways until either side closes or Stop().
  void Pump(int a, int b) {
    char buffer[16384];
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    bool open = true;
    while (open && !stop_) {
      if (poll(fds, 2, 20) <= 0) continue;
      for (int i = 0; i < 2 && open; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
        if (n <= 0) {
          open = false;
          break;
        }
        const int to = fds[1 - i].fd;
        for (ssize_t done = 0; done < n;) {
          const ssize_t w = write(to, buffer + done, n - done);
          if (w <= 0) {
            open = false;
            break;
          }
          done += w;
        }
      }
    }
    close(a);
    close(b);
  }

  const int listen_port_;
  const int target_port_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> pumps_;  // only the acceptor adds, before Stop
};

// Sends this process's stderr (where the JSON log goes) to a file until
// Finish(), which returns what was written.
class StderrCapture {
 public:
  StderrCapture() {
    path_ = absl::StrCat(::testing::TempDir(), "audit_stderr_", getpid(), "_",
                         counter_++);
    fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_GE(fd, 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  ~StderrCapture() { Finish(); }

  std::string Finish() {
    if (saved_ < 0) return text_;
    fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    text_ = s.str();
    unlink(path_.c_str());
    return text_;
  }

 private:
  static inline int counter_ = 0;
  std::string path_;
  int saved_ = -1;
  std::string text_;
};

// The log lines whose message is `msg`.
std::vector<std::string> LogLines(const std::string& log,
                                  absl::string_view msg) {
  std::vector<std::string> out;
  std::istringstream in(log);
  std::string line;
  const std::string needle = absl::StrCat("\"msg\":\"", msg, "\"");
  while (std::getline(in, line)) {
    if (absl::StrContains(line, needle)) out.push_back(line);
  }
  return out;
}

// The value of string field `key` of a JSON log line (no escapes expected).
std::string JsonField(const std::string& line, absl::string_view key) {
  const std::string needle = absl::StrCat("\"", key, "\":\"");
  const size_t start = line.find(needle);
  if (start == std::string::npos) return "";
  const size_t from = start + needle.size();
  return line.substr(from, line.find('"', from) - from);
}

absl::Time At(int year, int month, int day, int hour, int minute, int second,
              int micros = 0) {
  return absl::FromCivil(
             absl::CivilSecond(year, month, day, hour, minute, second),
             absl::UTCTimeZone()) +
         absl::Microseconds(micros);
}

AuditRecord MakeRecord(int i) {
  AuditRecord r;
  r.time = At(2024, 5, 1, 12, 0, 0) + absl::Seconds(i);
  r.principal = absl::StrCat("apiKeys/k", i % 3);
  r.role = i % 3 == 0 ? "ADMIN" : "AGENT";
  r.method = i % 2 == 0 ? "/rapport.v1.ContactService/CreateContact"
                        : "/rapport.v1.InteractionService/LogInteraction";
  r.resource = absl::StrCat("contacts/", i % 10);
  r.code = i % 5 == 0 ? "PERMISSION_DENIED" : "OK";
  r.request_id = absl::StrCat("req-", i);
  r.peer = "ipv4:10.0.0.7:51234";
  return r;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::Create();
    ASSERT_OK(db);
    test_db_ = *std::move(db);
    database_ = std::make_unique<Database>(test_db_->options(), 4);
    ASSERT_OK(ApplyMigrations(*database_, "core", CoreMigrations()));
    database_->SetReady(true);
  }

  int64_t Count(absl::string_view where = "TRUE") {
    return test_db_
        ->QueryInt(
            absl::StrCat("SELECT COUNT(*) FROM audit_events WHERE ", where))
        .value_or(-1);
  }

  // Every page of List for `filter` with `page_size`, in order.
  std::vector<v1::AuditEvent> ListAll(AuditLog& log, const std::string& filter,
                                      int page_size = 1000) {
    std::vector<v1::AuditEvent> out;
    v1::ListAuditEventsRequest request;
    request.set_filter(filter);
    request.set_page_size(page_size);
    for (int pages = 0; pages < 1000; ++pages) {
      absl::StatusOr<v1::ListAuditEventsResponse> page = log.List(request);
      EXPECT_OK(page) << filter;
      if (!page.ok()) break;
      for (const v1::AuditEvent& e : page->audit_events()) out.push_back(e);
      if (page->next_page_token().empty()) break;
      request.set_page_token(page->next_page_token());
    }
    return out;
  }

  std::vector<std::string> RequestIds(AuditLog& log,
                                      const std::string& filter) {
    std::vector<std::string> ids;
    for (const v1::AuditEvent& e : ListAll(log, filter)) {
      ids.push_back(e.request_id());
    }
    return ids;
  }

  std::unique_ptr<TestDatabase> test_db_;
  std::unique_ptr<Database> database_;
};

// --- Writing -----------------------------------------------------------------

TEST_F(AuditLogTest, RecordedRowsAreWrittenWithExactValues) {
  AuditLog log(database_.get());
  AuditRecord a;
  a.time = At(2024, 5, 1, 12, 0, 0, 123456);
  a.principal = "apiKeys/k1";
  a.role = "ADMIN";
  a.method = "/rapport.v1.ContactService/CreateContact";
  a.resource = "contacts/42";
  a.code = "OK";
  a.request_id = "req-a";
  a.peer = "ipv4:10.0.0.7:51234";
  AuditRecord b;
  b.time = At(2024, 5, 1, 12, 0, 1);
  b.principal = "anonymous";
  b.method = "/rapport.v1.ContactService/DeleteContact";
  b.code = "UNAUTHENTICATED";
  b.request_id = "req-b";
  b.peer = "ipv6:[::1]:4242";
  log.Record(a);
  log.Record(b);
  ASSERT_OK(log.Flush(absl::Seconds(30)));

  EXPECT_EQ(Count(), 2);
  EXPECT_EQ(Count("event_time = '2024-05-01 12:00:00.123456' AND principal = "
                  "'apiKeys/k1' AND role = 'ADMIN' AND method = "
                  "'/rapport.v1.ContactService/CreateContact' AND resource = "
                  "'contacts/42' AND code = 'OK' AND request_id = 'req-a' AND "
                  "peer = 'ipv4:10.0.0.7:51234'"),
            1);

  const std::vector<v1::AuditEvent> events = ListAll(log, "");
  ASSERT_EQ(events.size(), 2u);
  // Newest (highest id) first: b was recorded last.
  const v1::AuditEvent& eb = events[0];
  const v1::AuditEvent& ea = events[1];
  EXPECT_TRUE(absl::StartsWith(ea.name(), "auditEvents/")) << ea.name();
  EXPECT_EQ(ToAbslTime(ea.event_time()), a.time);
  EXPECT_EQ(ea.event_time().nanos(), 123456000);
  EXPECT_EQ(ea.principal(), a.principal);
  EXPECT_EQ(ea.role(), a.role);
  EXPECT_EQ(ea.method(), a.method);
  EXPECT_EQ(ea.resource(), a.resource);
  EXPECT_EQ(ea.code(), a.code);
  EXPECT_EQ(ea.request_id(), a.request_id);
  EXPECT_EQ(ea.peer(), a.peer);
  EXPECT_EQ(ToAbslTime(eb.event_time()), b.time);
  EXPECT_EQ(eb.principal(), "anonymous");
  EXPECT_EQ(eb.role(), "");
  EXPECT_EQ(eb.resource(), "");
  EXPECT_EQ(eb.code(), "UNAUTHENTICATED");
  EXPECT_EQ(eb.peer(), "ipv6:[::1]:4242");
  const int64_t id_a = test_db_
                           ->QueryInt(
                               "SELECT id FROM audit_events WHERE "
                               "request_id = 'req-a'")
                           .value_or(-1);
  EXPECT_EQ(ea.name(), absl::StrCat("auditEvents/", id_a));
}

TEST_F(AuditLogTest, FlushWithNothingRecordedReturnsAtOnce) {
  AuditLog log(database_.get());
  EXPECT_OK(log.Flush(absl::ZeroDuration()));
}

TEST_F(AuditLogTest, RowsFromEightThreadsAreWrittenExactlyOnce) {
  AuditLog log(database_.get());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 625;  // 5,000 in all
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kPerThread; ++i) {
        AuditRecord r = MakeRecord(i);
        r.request_id = absl::StrCat("t", t, "-", i);
        log.Record(std::move(r));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_OK(log.Flush(absl::Seconds(60)));

  EXPECT_EQ(Count(), kThreads * kPerThread);
  EXPECT_THAT(
      test_db_->QueryInt("SELECT COUNT(DISTINCT request_id) FROM audit_events"),
      ::rapport::testing::IsOkAndHolds(kThreads * kPerThread));
  EXPECT_EQ(Peer::RowsWritten(log), uint64_t{kThreads * kPerThread});
  EXPECT_EQ(Peer::RowsOverflowed(log), 0u);
  // Batched: far fewer INSERTs than rows.
  const uint64_t batches = Peer::BatchesWritten(log);
  EXPECT_LT(batches, uint64_t{kThreads * kPerThread} / 5);
  std::cout << "8 threads x 625 rows: " << batches << " INSERTs, "
            << (kThreads * kPerThread) / std::max<uint64_t>(batches, 1)
            << " rows per INSERT on average\n";
}

TEST_F(AuditLogTest, FullBatchesAreOneInsertEach) {
  // With a flush interval that never passes, only a full queue (or Flush)
  // starts a write, so the number of INSERTs is exact.
  AuditLogOptions options;
  options.flush_interval = absl::Hours(1);
  options.max_batch = 100;
  AuditLog log(database_.get(), options);
  for (int i = 0; i < 1000; ++i) log.Record(MakeRecord(i));
  ASSERT_OK(log.Flush(absl::Seconds(30)));
  EXPECT_EQ(Count(), 1000);
  EXPECT_EQ(Peer::BatchesWritten(log), 10u);
  EXPECT_EQ(Peer::RowsWritten(log), 1000u);

  // A partial batch goes out on Flush as one INSERT.
  for (int i = 0; i < 7; ++i) log.Record(MakeRecord(1000 + i));
  ASSERT_OK(log.Flush(absl::Seconds(30)));
  EXPECT_EQ(Count(), 1007);
  EXPECT_EQ(Peer::BatchesWritten(log), 11u);
}

TEST_F(AuditLogTest, RowsAreWrittenWithinTheFlushIntervalWithoutFlush) {
  AuditLogOptions options;
  options.flush_interval = absl::Milliseconds(50);
  AuditLog log(database_.get(), options);
  log.Record(MakeRecord(1));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Count() != 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(Count(), 1);
}

TEST_F(AuditLogTest, DatabaseOutageKeepsRowsAndWritesThemWhenItIsBack) {
  const int port = ClosedPort();
  DbOptions options = test_db_->options();
  options.port = port;
  options.connect_timeout = absl::Seconds(2);
  options.io_timeout = absl::Seconds(5);
  options.acquire_timeout = absl::Seconds(2);
  Database unreachable(options, 2);
  unreachable.SetReady(true);
  AuditLogOptions audit_options;
  audit_options.flush_interval = absl::Milliseconds(20);
  AuditLog log(&unreachable, audit_options);

  // Down from the start: Record returns at once, nothing is written.
  absl::Time start = absl::Now();
  for (int i = 0; i < 200; ++i) log.Record(MakeRecord(i));
  const absl::Duration record_time = absl::Now() - start;
  EXPECT_LT(record_time, absl::Milliseconds(500));
  EXPECT_THAT(log.Flush(absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("200 rows not yet written")));
  EXPECT_EQ(Count(), 0);
  EXPECT_GE(Peer::FailedWrites(log), 1u);

  // The database answers: the kept rows are written.
  TcpProxy proxy(port, test_db_->options().port);
  ASSERT_TRUE(proxy.Start());
  ASSERT_OK(log.Flush(absl::Seconds(30)));
  EXPECT_EQ(Count(), 200);

  // Goes away again with an open connection in the pool: the INSERT fails
  // on the dead connection, then reconnecting is refused.
  proxy.Stop();
  start = absl::Now();
  for (int i = 200; i < 300; ++i) log.Record(MakeRecord(i));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_THAT(log.Flush(absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(Count(), 200);

  ASSERT_TRUE(proxy.Start());
  ASSERT_OK(log.Flush(absl::Seconds(30)));
  EXPECT_EQ(Count(), 300);
  EXPECT_THAT(
      test_db_->QueryInt("SELECT COUNT(DISTINCT request_id) FROM audit_events"),
      ::rapport::testing::IsOkAndHolds(300));
  EXPECT_EQ(Peer::RowsOverflowed(log), 0u);
  std::cout << "outage: Record x200 took " << record_time << "; "
            << Peer::FailedWrites(log) << " failed write attempts\n";
}

TEST_F(AuditLogTest, OverflowingRowsGoToTheLogAndNoneIsLost) {
  // The writer never drains on its own here (the batch is larger than the
  // queue and the interval never passes), so the split is exact.
  AuditLogOptions options;
  options.flush_interval = absl::Hours(1);
  options.max_batch = 500;
  options.max_queued = 100;
  AuditLog log(database_.get(), options);
  constexpr int kRecorded = 250;
  StderrCapture capture;
  for (int i = 0; i < kRecorded; ++i) log.Record(MakeRecord(i));
  const std::string logged = capture.Finish();
  ASSERT_OK(log.Flush(absl::Seconds(30)));

  const std::vector<std::string> lines = LogLines(logged, "audit_overflow");
  EXPECT_EQ(Count(), 100);
  EXPECT_EQ(lines.size(), 150u);
  EXPECT_EQ(Peer::RowsOverflowed(log), 150u);
  EXPECT_EQ(Count() + static_cast<int64_t>(lines.size()), kRecorded);

  // Every recorded row is in exactly one place, with all its fields.
  std::set<std::string> seen;
  for (const std::string& id : RequestIds(log, "")) {
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
  for (const std::string& line : lines) {
    EXPECT_TRUE(seen.insert(JsonField(line, "request_id")).second) << line;
    EXPECT_EQ(JsonField(line, "reason"), "queue_full") << line;
    EXPECT_TRUE(absl::StrContains(line, "\"level\":\"error\"")) << line;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kRecorded));
  ASSERT_FALSE(lines.empty());
  const AuditRecord last = MakeRecord(kRecorded - 1);
  const std::string& line = lines.back();
  EXPECT_EQ(JsonField(line, "request_id"), last.request_id);
  EXPECT_EQ(JsonField(line, "principal"), last.principal);
  EXPECT_EQ(JsonField(line, "role"), last.role);
  EXPECT_EQ(JsonField(line, "method"), last.method);
  EXPECT_EQ(JsonField(line, "resource"), last.resource);
  EXPECT_EQ(JsonField(line, "code"), last.code);
  EXPECT_EQ(JsonField(line, "peer"), last.peer);
  EXPECT_EQ(JsonField(line, "event_time"), ToRfc3339(last.time));
}

TEST_F(AuditLogTest, DestructorLogsRowsItCouldNotWrite) {
  DbOptions options = test_db_->options();
  options.port = ClosedPort();
  Database unreachable(options, 1);
  unreachable.SetReady(true);
  StderrCapture capture;
  const absl::Time start = absl::Now();
  {
    AuditLog log(&unreachable);
    for (int i = 0; i < 10; ++i) log.Record(MakeRecord(i));
  }
  const absl::Duration took = absl::Now() - start;
  const std::string logged = capture.Finish();
  EXPECT_GE(took, absl::Seconds(2));
  EXPECT_LT(took, absl::Seconds(10));
  const std::vector<std::string> rows = LogLines(logged, "audit_overflow");
  ASSERT_EQ(rows.size(), 10u) << logged;
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(JsonField(rows[i], "request_id"), absl::StrCat("req-", i));
    EXPECT_EQ(JsonField(rows[i], "reason"), "shutdown");
  }
  const std::vector<std::string> summary = LogLines(
      logged, "audit log: rows not written at shutdown, logged instead");
  ASSERT_EQ(summary.size(), 1u) << logged;
  EXPECT_TRUE(absl::StrContains(summary[0], "\"rows\":10")) << summary[0];
}

TEST_F(AuditLogTest, DestructorWritesPendingRows) {
  {
    AuditLogOptions options;
    options.flush_interval = absl::Hours(1);
    AuditLog log(database_.get(), options);
    for (int i = 0; i < 30; ++i) log.Record(MakeRecord(i));
  }
  EXPECT_EQ(Count(), 30);
}

TEST_F(AuditLogTest, LongAndNonAsciiFieldsAreTruncatedSafely) {
  AuditLog log(database_.get());
  AuditRecord r = MakeRecord(0);
  std::string e_acute;
  for (int i = 0; i < 300; ++i) e_acute += "\xC3\xA9";  // é, 2 bytes
  std::string emoji;
  for (int i = 0; i < 300; ++i) emoji += "\xF0\x9F\x98\x80";  // 😀, 4 bytes
  r.principal = e_acute;
  r.role = std::string(189, 'r') + "\xE2\x82\xAC" + "tail";  // € at 190
  r.method = emoji;
  r.resource = "contacts/\xFF\xFE" + std::string(300, 'x');  // invalid bytes
  r.code = std::string(40, 'C');
  r.request_id = std::string(200, 'q');
  r.peer = "ipv4:1.2.3.4:5\xE2\x82";  // cut in the middle of a code point
  r.time = absl::InfinitePast();
  log.Record(r);
  ASSERT_OK(log.Flush(absl::Seconds(30)));

  const std::vector<v1::AuditEvent> events = ListAll(log, "");
  ASSERT_EQ(events.size(), 1u);
  const v1::AuditEvent& e = events[0];
  EXPECT_EQ(e.principal(), e_acute.substr(0, 190 * 2));
  EXPECT_EQ(e.role(), std::string(189, 'r') + "\xE2\x82\xAC");
  EXPECT_EQ(e.method(), emoji.substr(0, 255 * 4));
  EXPECT_EQ(e.resource(),
            "contacts/\xEF\xBF\xBD\xEF\xBF\xBD" + std::string(255 - 11, 'x'));
  EXPECT_EQ(e.code(), std::string(32, 'C'));
  EXPECT_EQ(e.request_id(), std::string(128, 'q'));
  EXPECT_EQ(e.peer(), "ipv4:1.2.3.4:5\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ToAbslTime(e.event_time()), MinStorableTime());
  EXPECT_EQ(Count("CHAR_LENGTH(method) = 255 AND CHAR_LENGTH(principal) = "
                  "190 AND CHAR_LENGTH(resource) = 255"),
            1);
}

// --- Listing -----------------------------------------------------------------

class AuditListTest : public AuditLogTest {
 protected:
  void SetUp() override {
    AuditLogTest::SetUp();
    if (HasFatalFailure()) return;
    log_ = std::make_unique<AuditLog>(database_.get());
    for (int i = 0; i < 120; ++i) log_->Record(MakeRecord(i));
    ASSERT_OK(log_->Flush(absl::Seconds(30)));
  }
  void TearDown() override { log_.reset(); }

  std::vector<std::string> Ids(const std::string& filter) {
    return RequestIds(*log_, filter);
  }

  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditListTest, PagesNewestFirstAndReturnEachRowOnce) {
  v1::ListAuditEventsRequest request;
  request.set_page_size(50);
  std::vector<int> sizes;
  std::vector<int64_t> ids;
  while (true) {
    absl::StatusOr<v1::ListAuditEventsResponse> page = log_->List(request);
    ASSERT_OK(page);
    sizes.push_back(page->audit_events_size());
    for (const v1::AuditEvent& e : page->audit_events()) {
      int64_t id = 0;
      ASSERT_TRUE(
          absl::SimpleAtoi(absl::StripPrefix(e.name(), "auditEvents/"), &id))
          << e.name();
      ids.push_back(id);
    }
    if (page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
  }
  EXPECT_THAT(sizes, ElementsAre(50, 50, 20));
  ASSERT_EQ(ids.size(), 120u);
  for (size_t i = 1; i < ids.size(); ++i) {
    EXPECT_LT(ids[i], ids[i - 1]) << "at " << i;
  }
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), 120u);
  // Newest first: the last row recorded comes first.
  EXPECT_EQ(Ids("").front(), "req-119");
  EXPECT_EQ(Ids("").back(), "req-0");
}

TEST_F(AuditListTest, PageSizeDefaultsTo50AndIsCappedAt1000) {
  v1::ListAuditEventsRequest request;
  absl::StatusOr<v1::ListAuditEventsResponse> page = log_->List(request);
  ASSERT_OK(page);
  EXPECT_EQ(page->audit_events_size(), 50);
  EXPECT_FALSE(page->next_page_token().empty());

  request.set_page_size(1000000);
  page = log_->List(request);
  ASSERT_OK(page);
  EXPECT_EQ(page->audit_events_size(), 120);
  EXPECT_TRUE(page->next_page_token().empty());

  request.set_page_size(-1);
  EXPECT_THAT(log_->List(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("page_size")));
}

TEST_F(AuditListTest, FiltersByEachField) {
  // MakeRecord(i): principal apiKeys/k{i%3}, role ADMIN when i%3 == 0,
  // CreateContact for even i, resource contacts/{i%10}, PERMISSION_DENIED
  // when i%5 == 0, time 2024-05-01T12:00:00Z + i s.
  EXPECT_EQ(Ids("principal = \"apiKeys/k1\"").size(), 40u);
  EXPECT_EQ(Ids("principal != \"apiKeys/k1\"").size(), 80u);
  EXPECT_EQ(Ids("role = \"ADMIN\"").size(), 40u);
  EXPECT_EQ(Ids("method = \"/rapport.v1.ContactService/CreateContact\"").size(),
            60u);
  EXPECT_EQ(Ids("method = \"/rapport.v1.ContactService/*\"").size(), 60u);
  EXPECT_EQ(Ids("method = \"*/LogInteraction\"").size(), 60u);
  EXPECT_EQ(Ids("code = \"PERMISSION_DENIED\"").size(), 24u);
  EXPECT_EQ(Ids("code != \"OK\"").size(), 24u);
  EXPECT_EQ(Ids("resource = \"contacts/7\"").size(), 12u);
  EXPECT_THAT(Ids("request_id = \"req-42\""), ElementsAre("req-42"));
  EXPECT_THAT(
      Ids("event_time >= \"2024-05-01T12:01:55Z\""),
      ElementsAre("req-119", "req-118", "req-117", "req-116", "req-115"));
  EXPECT_THAT(Ids("event_time > \"2024-05-01T12:00:10Z\" AND "
                  "event_time <= \"2024-05-01T14:00:13+02:00\""),
              ElementsAre("req-13", "req-12", "req-11"));
  EXPECT_THAT(Ids("event_time < \"2024-05-01T12:00:02Z\""),
              ElementsAre("req-1", "req-0"));
  EXPECT_THAT(Ids("principal = \"apiKeys/k0\" AND code = \"PERMISSION_DENIED\" "
                  "AND event_time >= \"2024-05-01T12:01:00Z\""),
              ElementsAre("req-105", "req-90", "req-75", "req-60"));
  // OR binds tighter than AND in AIP-160; `*` inside a value matches any
  // text.
  EXPECT_THAT(Ids("resource = \"contacts/3\" OR resource = \"contacts/4\" "
                  "AND request_id = \"req-*1*\""),
              ElementsAre("req-114", "req-113", "req-104", "req-103", "req-14",
                          "req-13"));
  EXPECT_THAT(Ids("(resource = \"contacts/3\" OR resource = \"contacts/4\") "
                  "AND event_time < \"2024-05-01T12:00:20Z\""),
              ElementsAre("req-14", "req-13", "req-4", "req-3"));
  EXPECT_THAT(Ids("NOT principal = \"apiKeys/k0\" AND "
                  "event_time < \"2024-05-01T12:00:03Z\""),
              ElementsAre("req-2", "req-1"));
  EXPECT_EQ(Ids("resource:*").size(), 120u);
}

TEST_F(AuditListTest, FilteredPagesStayWithinTheFilter) {
  std::vector<v1::AuditEvent> events =
      ListAll(*log_, "principal = \"apiKeys/k2\"", /*page_size=*/7);
  ASSERT_EQ(events.size(), 40u);
  std::set<std::string> names;
  for (const v1::AuditEvent& e : events) {
    EXPECT_EQ(e.principal(), "apiKeys/k2");
    names.insert(e.name());
  }
  EXPECT_EQ(names.size(), 40u);
}

TEST_F(AuditListTest, BadFilterIsInvalidArgument) {
  v1::ListAuditEventsRequest request;
  request.set_filter("principal = ");
  EXPECT_THAT(log_->List(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("filter")));
  request.set_filter("peer = \"x\"");
  EXPECT_THAT(log_->List(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("unknown field \"peer\""),
                             HasSubstr("principal"), HasSubstr("event_time"))));
  request.set_filter("event_time > \"yesterday\"");
  EXPECT_THAT(log_->List(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("event_time"), HasSubstr("RFC 3339"))));
  request.set_filter("principal = \"a\" AND (code = \"OK\"");
  EXPECT_THAT(log_->List(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("position")));
}

TEST_F(AuditListTest, TamperedOrForeignPageTokenIsInvalidArgument) {
  v1::ListAuditEventsRequest request;
  request.set_page_size(10);
  absl::StatusOr<v1::ListAuditEventsResponse> page = log_->List(request);
  ASSERT_OK(page);
  const std::string token = page->next_page_token();
  ASSERT_FALSE(token.empty());

  std::string tampered = token;
  tampered[tampered.size() / 2] =
      tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  request.set_page_token(tampered);
  EXPECT_THAT(log_->List(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("page_token")));

  request.set_page_token("not a token!");
  EXPECT_THAT(log_->List(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("page_token")));

  // A token continues only the listing it came from.
  request.set_page_token(token);
  request.set_filter("code = \"OK\"");
  EXPECT_THAT(log_->List(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("page_token")));

  request.clear_filter();
  page = log_->List(request);
  ASSERT_OK(page);
  ASSERT_EQ(page->audit_events_size(), 10);
  EXPECT_EQ(page->audit_events(0).request_id(), "req-109");
}

TEST_F(AuditListTest, UnreachableDatabaseIsUnavailable) {
  DbOptions options = test_db_->options();
  options.port = ClosedPort();
  Database unreachable(options, 1);
  unreachable.SetReady(true);
  {
    AuditLog log(&unreachable);
    EXPECT_THAT(log.List(v1::ListAuditEventsRequest()),
                StatusIs(absl::StatusCode::kUnavailable));
  }
}

// --- Figures -----------------------------------------------------------------

TEST_F(AuditLogTest, WriterThroughput) {
  const int rows = [] {
    const char* env = std::getenv("RAPPORT_AUDIT_BENCH_ROWS");
    int n = 0;
    return env != nullptr && absl::SimpleAtoi(env, &n) && n > 0 ? n : 50000;
  }();
  AuditLogOptions options;
  options.max_queued = static_cast<size_t>(rows) + 1;
  AuditLog log(database_.get(), options);
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t, rows] {
      for (int i = t; i < rows; i += 4) log.Record(MakeRecord(i));
    });
  }
  for (std::thread& t : threads) t.join();
  const absl::Duration record_time = absl::Now() - start;
  ASSERT_OK(log.Flush(absl::Seconds(120)));
  const absl::Duration total = absl::Now() - start;
  EXPECT_EQ(Count(), rows);
  const uint64_t batches = Peer::BatchesWritten(log);
  const double rows_per_s = rows / absl::ToDoubleSeconds(total);
  const double record_ns =
      absl::ToDoubleNanoseconds(record_time) * 4 / rows;  // per call
  RecordProperty("rows_per_second", absl::StrCat(static_cast<int>(rows_per_s)));
  RecordProperty("inserts", absl::StrCat(batches));
  std::cout << "throughput: " << rows << " rows in " << total << " = "
            << static_cast<int>(rows_per_s) << " rows/s; " << batches
            << " INSERTs (" << rows / std::max<uint64_t>(batches, 1)
            << " rows each); Record " << static_cast<int>(record_ns)
            << " ns per call (4 threads)\n";
}

}  // namespace
}  // namespace rapport::audit
