// A test plugin that records every event it receives in its own table,
// idempotently (INSERT IGNORE on the event id), and counts deliveries; with
// `fail_first_attempts: N` in its config it fails the first N attempts of
// each event. With `handler_mode: throw` every delivery throws (a faulty
// plugin); with `handler_mode: slow` each delivery first sleeps `slow_ms`
// (default 2000) milliseconds and then records as usual; `record` (the
// default) just records. Used to check at-least-once delivery, per-contact
// order, retries, crash recovery, replicas and plugin faults.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "rapport/sdk/plugin.h"

namespace {

using rapport::sdk::Host;

class EventsPlugin final : public rapport::sdk::Plugin {
 public:
  absl::Status Start(Host& host) override {
    host_ = &host;
    auto it = host.config().find("fail_first_attempts");
    if (it != host.config().end() &&
        !absl::SimpleAtoi(it->second, &fail_first_attempts_)) {
      return absl::InvalidArgumentError("fail_first_attempts: not a number");
    }
    it = host.config().find("handler_mode");
    if (it != host.config().end()) {
      if (it->second == "throw") {
        mode_ = Mode::kThrow;
      } else if (it->second == "slow") {
        mode_ = Mode::kSlow;
      } else if (it->second != "record") {
        return absl::InvalidArgumentError(
            "handler_mode: expected record, throw or slow");
      }
    }
    it = host.config().find("slow_ms");
    if (it != host.config().end() && !absl::SimpleAtoi(it->second, &slow_ms_)) {
      return absl::InvalidArgumentError("slow_ms: not a number");
    }
    absl::Status s = host.AddMigrations({{1, "events",
                                          "CREATE TABLE test_events_seen (\n"
                                          "  event_id BIGINT NOT NULL,\n"
                                          "  type INT NOT NULL,\n"
                                          "  contact_id BIGINT NOT NULL,\n"
                                          "  deliveries INT NOT NULL,\n"
                                          "  handled_seq BIGINT NOT NULL "
                                          "AUTO_INCREMENT,\n"
                                          "  PRIMARY KEY (event_id),\n"
                                          "  UNIQUE KEY (handled_seq)\n"
                                          ");\n"}});
    if (!s.ok()) return s;
    return host.Subscribe(
        "recorder",
        {rapport::v1::CONTACT_CREATED, rapport::v1::CONTACT_UPDATED,
         rapport::v1::CONTACT_DELETED, rapport::v1::CONTACT_MERGED,
         rapport::v1::CONTACT_ERASED, rapport::v1::INTERACTION_LOGGED},
        [this](const rapport::v1::Event& e) { return Handle(e); });
  }

 private:
  enum class Mode { kRecord, kThrow, kSlow };

  absl::Status Handle(const rapport::v1::Event& e) {
    if (mode_ == Mode::kThrow) {
      throw std::runtime_error(absl::StrCat("throwing on event ", e.id()));
    }
    if (mode_ == Mode::kSlow) {
      std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms_));
    }
    if (fail_first_attempts_ > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      if (attempts_[e.id()]++ < fail_first_attempts_) {
        return absl::UnavailableError(
            absl::StrCat("failing attempt ", attempts_[e.id()], " on purpose"));
      }
    }
    int64_t contact = 0;
    (void)absl::SimpleAtoi(e.contact_id(), &contact);
    absl::StatusOr<int64_t> n = host_->database().Execute(
        "INSERT INTO test_events_seen (event_id, type, contact_id, deliveries) "
        "VALUES (?, ?, ?, 1) ON DUPLICATE KEY UPDATE deliveries = "
        "deliveries + 1",
        {e.id(), static_cast<int64_t>(e.type()), contact});
    return n.status();
  }

  Host* host_ = nullptr;
  int fail_first_attempts_ = 0;
  Mode mode_ = Mode::kRecord;
  int slow_ms_ = 2000;
  std::mutex mu_;
  std::map<int64_t, int> attempts_;
};

}  // namespace

RAPPORT_PLUGIN(EventsPlugin, "test.events", "0.0.1",
               "Records the events it receives")
