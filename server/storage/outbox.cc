#include "server/storage/outbox.h"

#include "absl/strings/numbers.h"
#include "server/common/time_util.h"
#include "server/storage/database.h"

namespace rapport::storage {

int64_t AppendEvent(Connection& conn, rapport::v1::Event event,
                    absl::Time now) {
  int64_t contact_id = 0;
  (void)absl::SimpleAtoi(event.contact_id(), &contact_id);
  event.clear_id();
  *event.mutable_create_time() = ToTimestamp(now);
  const std::string time = ToSqlDateTime(now);
  conn.Update(
      "INSERT INTO outbox_events (type, contact_id, payload, create_time) "
      "VALUES (?, ?, ?, ?)",
      {static_cast<int64_t>(event.type()), contact_id,
       event.SerializeAsString(), time});
  const int64_t id = conn.LastInsertId();
  // types is a BIGINT bit mask; a type outside it (never stored by the core)
  // has no subscribers rather than an undefined shift.
  const int type = static_cast<int>(event.type());
  if (type < 0 || type > 62) return id;
  // Due at once by the database's clock, which is also the clock the
  // dispatcher compares next_attempt_time with: a replica whose clock runs
  // ahead must not hold its deliveries back.
  conn.Update(
      "INSERT INTO outbox_deliveries (subscriber, event_id, contact_id, "
      "state, attempts, next_attempt_time) "
      "SELECT subscriber, ?, ?, 0, 0, NOW(6) FROM outbox_subscriptions "
      "WHERE (types & ?) <> 0",
      {id, contact_id, int64_t{1} << type});
  return id;
}

void ForgetContactEvents(Connection& conn, int64_t contact_id) {
  conn.Update(
      "DELETE d FROM outbox_deliveries d JOIN outbox_events e "
      "ON d.event_id = e.id WHERE e.contact_id = ?",
      {contact_id});
  conn.Update("DELETE FROM outbox_events WHERE contact_id = ?", {contact_id});
}

}  // namespace rapport::storage
