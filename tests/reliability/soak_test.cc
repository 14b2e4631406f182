// Soak: one rapportd process under a mixed workload (70% reads: GetContact,
// ListContacts; 30% writes: CreateContact, LogInteraction, UpdateContact)
// from 4 threads for RAPPORT_SOAK_SECONDS (default 30; run with 600 for the
// 10-minute on-demand soak). After a warm-up third and at the end the test
// samples rapportd's RSS, open file descriptors and database connections:
// RSS may grow less than 10% after warm-up, fds and connections not at all
// (+2 slack), and no call fails beyond the expected (ABORTED etag races).
#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "rapport/v1/interaction_service.grpc.pb.h"
#include "tests/reliability/reliability_util.h"
#include "tests/support/rapportd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;

constexpr int kThreads = 4;
const absl::Duration kCallDeadline = absl::Seconds(10);

int SoakSeconds() {
  const char* v = getenv("RAPPORT_SOAK_SECONDS");
  int seconds = 0;
  if (v != nullptr && absl::SimpleAtoi(v, &seconds) && seconds >= 3) {
    return seconds;
  }
  return 30;
}

struct Sample {
  int64_t rss_kib = -1;
  int fds = -1;
  int64_t connections = -1;
};

class SoakTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::Create();
    ASSERT_OK(db);
    db_ = *std::move(db);
    // More serving threads than client threads: with RAPPORT_THREADS equal
    // to the client concurrency (4) the sync server already answers some
    // calls RESOURCE_EXHAUSTED ("Server Threadpool Exhausted"), which is
    // capacity, not a leak; this test is about leaks. Likewise the per-key
    // rate limit (1000/s by default): the soak's one key goes faster.
    server_ = RapportdProcess::Start(
        RAPPORTD_PATH, *db_,
        {{"RAPPORT_THREADS", "8"}, {"RAPPORT_RATE_PER_KEY", "0"}});
    ASSERT_NE(server_, nullptr);
  }

  Sample Take() {
    Sample s;
    s.rss_kib = RssKib(server_->process().pid());
    s.fds = OpenFds(server_->process().pid());
    absl::StatusOr<int64_t> n = db_->QueryInt(absl::StrCat(
        "SELECT COUNT(*) FROM information_schema.processlist WHERE db = '",
        db_->name(), "'"));
    EXPECT_OK(n);
    // Minus the test's own helper connection.
    s.connections = n.ok() ? *n - 1 : -1;
    return s;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<RapportdProcess> server_;
};

TEST_F(SoakTest, MixedWorkloadLeaksNothing) {
  const absl::Duration total = absl::Seconds(SoakSeconds());
  const absl::Time start = absl::Now();
  const absl::Time warm_at = start + total / 3;
  const absl::Time end = start + total;

  std::mutex mu;
  std::map<std::string, int> errors;  // "<method> <code>"
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> expected_conflicts{0};
  std::vector<std::thread> threads;
  std::shared_ptr<grpc::Channel> channel = server_->channel();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto contacts = v1::ContactService::NewStub(channel);
      auto interactions = v1::InteractionService::NewStub(channel);
      std::mt19937 random(1234 + t);
      std::vector<std::string> mine;
      auto fail = [&](const char* method, const grpc::Status& status) {
        std::lock_guard<std::mutex> lock(mu);
        ++errors[absl::StrCat(method, " ", status.error_code(), " ",
                              status.error_message())];
      };
      for (int64_t i = 0; absl::Now() < end && i < 100000000; ++i) {
        ++calls;
        const int dice = static_cast<int>(random() % 100);
        grpc::ClientContext context;
        SetDeadline(context, kCallDeadline);
        if (mine.empty() || dice < 10) {
          v1::CreateContactRequest request;
          request.mutable_contact()->set_given_name(absl::StrCat("Soak", t));
          request.mutable_contact()->set_family_name(absl::StrCat("N", i));
          request.mutable_contact()->add_tags("soak");
          v1::Contact created;
          grpc::Status s = contacts->CreateContact(&context, request, &created);
          if (s.ok()) {
            if (mine.size() < 200) mine.push_back(created.id());
          } else {
            fail("CreateContact", s);
          }
        } else if (dice < 20) {
          v1::LogInteractionRequest request;
          request.mutable_interaction()->set_contact_id(
              mine[random() % mine.size()]);
          request.mutable_interaction()->set_type(v1::NOTE);
          request.mutable_interaction()->set_subject("soak");
          request.mutable_interaction()->mutable_occur_time()->set_seconds(
              absl::ToUnixSeconds(absl::Now()));
          v1::Interaction logged;
          grpc::Status s =
              interactions->LogInteraction(&context, request, &logged);
          if (!s.ok()) fail("LogInteraction", s);
        } else if (dice < 30) {
          v1::UpdateContactRequest request;
          request.mutable_contact()->set_id(mine[random() % mine.size()]);
          request.mutable_contact()->set_job_title(absl::StrCat("Job", i));
          request.mutable_update_mask()->add_paths("job_title");
          v1::Contact updated;
          grpc::Status s = contacts->UpdateContact(&context, request, &updated);
          if (s.error_code() == grpc::StatusCode::ABORTED) {
            ++expected_conflicts;
          } else if (!s.ok()) {
            fail("UpdateContact", s);
          }
        } else if (dice < 75) {
          v1::GetContactRequest request;
          request.set_id(mine[random() % mine.size()]);
          v1::Contact got;
          grpc::Status s = contacts->GetContact(&context, request, &got);
          if (!s.ok()) fail("GetContact", s);
        } else {
          v1::ListContactsRequest request;
          request.set_page_size(20);
          v1::ListContactsResponse response;
          grpc::Status s = contacts->ListContacts(&context, request, &response);
          if (!s.ok()) fail("ListContacts", s);
        }
      }
    });
  }

  while (absl::Now() < warm_at) {
    absl::SleepFor(absl::Milliseconds(100));  // waiting out the warm-up
  }
  const Sample warm = Take();
  for (std::thread& t : threads) t.join();
  const Sample last = Take();

  std::vector<std::string> error_lines;
  int error_calls = 0;
  for (const auto& [what, n] : errors) {
    error_lines.push_back(absl::StrCat(n, "x ", what));
    error_calls += n;
  }
  EXPECT_TRUE(errors.empty()) << absl::StrJoin(error_lines, "\n");
  ASSERT_GT(warm.rss_kib, 0);
  EXPECT_LT(static_cast<double>(last.rss_kib),
            static_cast<double>(warm.rss_kib) * 1.10)
      << "RSS grew from " << warm.rss_kib << " KiB to " << last.rss_kib;
  EXPECT_LE(last.fds, warm.fds + 2);
  EXPECT_LE(last.connections, warm.connections + 2);

  const double growth = 100.0 *
                        static_cast<double>(last.rss_kib - warm.rss_kib) /
                        static_cast<double>(warm.rss_kib);
  RecordProperty("soak_seconds", SoakSeconds());
  RecordProperty("calls", static_cast<int>(calls.load()));
  RecordProperty("errors", error_calls);
  RecordProperty("aborted_conflicts",
                 static_cast<int>(expected_conflicts.load()));
  RecordProperty("rss_kib_warm", static_cast<int>(warm.rss_kib));
  RecordProperty("rss_kib_end", static_cast<int>(last.rss_kib));
  RecordProperty("rss_growth_percent", absl::StrCat(growth));
  RecordProperty("fds_warm", warm.fds);
  RecordProperty("fds_end", last.fds);
  RecordProperty("db_connections_warm", static_cast<int>(warm.connections));
  RecordProperty("db_connections_end", static_cast<int>(last.connections));
  std::cout << "soak " << SoakSeconds() << "s: calls=" << calls.load()
            << " errors=" << error_calls
            << " aborted=" << expected_conflicts.load()
            << " rss_kib=" << warm.rss_kib << "->" << last.rss_kib << " ("
            << growth << "%) fds=" << warm.fds << "->" << last.fds
            << " db_connections=" << warm.connections << "->"
            << last.connections << "\n";
}

}  // namespace
}  // namespace rapport::testing
