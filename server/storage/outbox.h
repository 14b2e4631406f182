// Writing events to the transactional outbox: called by the stores inside
// the transaction that makes the change, so an event exists if and only if
// the change committed. Delivery is server/events/dispatcher.h's job.
// Functions throw sql::SQLException (callers run inside
// Database::Transaction).
#ifndef RAPPORT_SERVER_STORAGE_OUTBOX_H_
#define RAPPORT_SERVER_STORAGE_OUTBOX_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "rapport/v1/event.pb.h"

namespace rapport::storage {

class Connection;

// Appends `event` (its id is assigned here) and one pending delivery per
// registered subscription whose types include event.type(). Returns the
// event id.
int64_t AppendEvent(Connection& conn, rapport::v1::Event event, absl::Time now);

// The rows AppendEvent writes for each of `events`, in order, with two
// multi-row statements per 1000 events instead of three statements per event.
// Requires consecutive AUTO_INCREMENT ids within one multi-row INSERT
// (ConsecutiveInsertIds() is true on `conn`): the deliveries select the
// events by id range.
void AppendEvents(Connection& conn, std::vector<rapport::v1::Event> events,
                  absl::Time now);

// Removes every outbox event about `contact_id` (they hold personal data)
// and their deliveries; used by erasure, before it appends CONTACT_ERASED.
void ForgetContactEvents(Connection& conn, int64_t contact_id);

}  // namespace rapport::storage

#endif  // RAPPORT_SERVER_STORAGE_OUTBOX_H_
