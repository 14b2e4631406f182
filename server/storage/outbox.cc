#include "server/storage/outbox.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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

// Rows per multi-row INSERT (BatchInsert), as contact imports write theirs.
constexpr size_t kEventsPerStatement = 250;

void AppendEvents(Connection& conn, std::vector<rapport::v1::Event> events,
                  absl::Time now) {
  const std::string time = ToSqlDateTime(now);
  BatchInsert rows(
      conn,
      "INSERT INTO outbox_events (type, contact_id, payload, create_time) "
      "VALUES ",
      "(?, ?, ?, ?)", kEventsPerStatement, [&](size_t written) {
        const int64_t first = conn.LastInsertId();
        const int64_t last = first + static_cast<int64_t>(written) - 1;
        // As AppendEvent: one pending delivery per subscription whose types
        // include the event's type (types outside 0..62 have no
        // subscribers).
        conn.Update(
            "INSERT INTO outbox_deliveries (subscriber, event_id, contact_id, "
            "state, attempts, next_attempt_time) "
            "SELECT s.subscriber, e.id, e.contact_id, 0, 0, NOW(6) "
            "FROM outbox_events e JOIN outbox_subscriptions s "
            "ON e.type BETWEEN 0 AND 62 AND (s.types & (1 << e.type)) <> 0 "
            "WHERE e.id BETWEEN ? AND ? ORDER BY e.id, s.subscriber",
            {first, last});
      });
  for (rapport::v1::Event& event : events) {
    int64_t contact_id = 0;
    (void)absl::SimpleAtoi(event.contact_id(), &contact_id);
    event.clear_id();
    *event.mutable_create_time() = ToTimestamp(now);
    rows.Add({static_cast<int64_t>(event.type()), contact_id,
              event.SerializeAsString(), time});
  }
  rows.Flush();
}

void ForgetContactEvents(Connection& conn, int64_t contact_id) {
  conn.Update(
      "DELETE d FROM outbox_deliveries d JOIN outbox_events e "
      "ON d.event_id = e.id WHERE e.contact_id = ?",
      {contact_id});
  conn.Update("DELETE FROM outbox_events WHERE contact_id = ?", {contact_id});
}

}  // namespace rapport::storage
