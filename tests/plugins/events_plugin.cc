// A test plugin that records every event it receives in its own table,
// idempotently (INSERT IGNORE on the event id), and counts deliveries; with
// `fail_first_attempts: N` in its config it fails the first N attempts of
// each event. Used to check at-least-once delivery, per-contact order,
// retries, crash recovery and replicas.
#include <atomic>
#include <map>
#include <mutex>
#include <string>

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
  absl::Status Handle(const rapport::v1::Event& e) {
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
  std::mutex mu_;
  std::map<int64_t, int> attempts_;
};

}  // namespace

RAPPORT_PLUGIN(EventsPlugin, "test.events", "0.0.1",
               "Records the events it receives")
