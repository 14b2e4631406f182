// The audit trail: one row per call that changed something or tried to
// (who, which method, which resource, outcome, when, request id, peer), in
// the append-only `audit_events` table (migration 0003).
//
// Record() never blocks on the database: rows go to a bounded in-memory
// queue that a background thread writes in batches (one multi-row INSERT per
// batch, at most `flush_interval` after the call). While the database is
// down rows wait in the queue and are written once it answers; a row that
// does not fit in the queue is written to the log as an "audit_overflow"
// line instead, so nothing is dropped silently. A process crash loses at
// most the rows of the last `flush_interval`.
//
// Rows carry no personal data of contacts (resource names are ids), so
// erasure leaves them alone.
//
// Thread-safety: all methods may be called from any thread.
#ifndef RAPPORT_SERVER_AUDIT_AUDIT_LOG_H_
#define RAPPORT_SERVER_AUDIT_AUDIT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "rapport/v1/admin_service.pb.h"

namespace rapport::storage {
class Database;
}  // namespace rapport::storage

namespace rapport::audit {

struct AuditRecord {
  absl::Time time;
  std::string principal;  // "apiKeys/k1", "clientCertificates/x", "anonymous"
  std::string role;       // empty when unauthenticated
  std::string method;     // "/rapport.v1.ContactService/CreateContact"
  std::string resource;   // "contacts/42", or empty
  std::string code;       // canonical code name: "OK", "PERMISSION_DENIED"
  std::string request_id;
  std::string peer;
};

struct AuditLogOptions {
  absl::Duration flush_interval = absl::Milliseconds(100);
  size_t max_batch = 500;      // rows per INSERT
  size_t max_queued = 100000;  // beyond this, rows go to the log instead
};

class AuditLog {
 public:
  // `db` must outlive this object. Starts the writer thread.
  AuditLog(storage::Database* db, AuditLogOptions options = {});
  // Flushes what it can within 2 s, then stops the writer.
  ~AuditLog();

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues one row. Fields longer than their columns are truncated.
  void Record(AuditRecord record);

  // Blocks until every row recorded before the call is in the database, or
  // `timeout` passes (DEADLINE_EXCEEDED) — for tests and shutdown.
  absl::Status Flush(absl::Duration timeout);

  // AdminService.ListAuditEvents: newest first; `filter` is AIP-160 over
  // principal, role, method, resource, code, request_id, event_time;
  // keyset page tokens bound to the filter. INVALID_ARGUMENT for a bad
  // filter, page size or token.
  absl::StatusOr<rapport::v1::ListAuditEventsResponse> List(
      const rapport::v1::ListAuditEventsRequest& request);

 private:
  friend class AuditLogTestPeer;  // reads the counters below in tests

  // A queued row, numbered in queue order so that Flush can tell when every
  // row queued before it has been written.
  struct Row {
    AuditRecord record;
    uint64_t seq = 0;
    absl::Time queued_at;  // a row waits at most flush_interval from here
  };

  // The writer thread: gathers up to max_batch rows, writes them with one
  // INSERT, and on failure puts them back and retries with back-off.
  void WriterLoop();
  // One multi-row INSERT of `batch` (not empty) in autocommit mode.
  absl::Status WriteBatch(const std::vector<Row>& batch);

  storage::Database* const db_;  // not owned
  const AuditLogOptions options_;
  const size_t max_batch_;  // options_.max_batch, clamped to [1, kMaxBatch]

  absl::Mutex mu_;
  std::deque<Row> queue_ ABSL_GUARDED_BY(mu_);
  // Rows the writer has taken off the queue and is writing; they still count
  // against max_queued.
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_queued_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // Batches are written in queue order, so every row up to this is written.
  uint64_t last_written_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // Flush calls waiting: the writer then writes without waiting for a full
  // batch. Each call bumps the generation, which cuts a back-off short.
  int flush_waiters_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t flush_generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // Totals since construction (tests and diagnostics).
  uint64_t batches_written_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t rows_written_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t rows_overflowed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failed_writes_ ABSL_GUARDED_BY(mu_) = 0;

  // Last: starts once everything above is initialised.
  std::thread writer_;
};

}  // namespace rapport::audit

#endif  // RAPPORT_SERVER_AUDIT_AUDIT_LOG_H_
