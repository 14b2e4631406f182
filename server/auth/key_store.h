// API keys: the `api_keys` table (migration 0003) and an in-memory copy of
// it that authenticates calls without touching the database.
//
// Authentication runs inside gRPC's transport (AuthMetadataProcessor, not
// blocking), so it must never wait for MySQL: Resolve() reads the copy,
// which a background thread reloads every `refresh` (auth.key_refresh). A
// key created on this replica is usable here at once; on other replicas
// within `refresh`, which is also how long a revocation takes to reach
// every replica. While the database is down the last copy keeps serving.
//
// Thread-safety: all methods may be called from any thread.
#ifndef RAPPORT_SERVER_AUTH_KEY_STORE_H_
#define RAPPORT_SERVER_AUTH_KEY_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "rapport/v1/admin_service.pb.h"

namespace rapport::storage {
class Database;
}  // namespace rapport::storage

namespace rapport::auth {

class Permissions;

class KeyStore {
 public:
  // `db` and `permissions` must outlive this object.
  KeyStore(storage::Database* db, const Permissions* permissions,
           absl::Duration refresh);
  ~KeyStore();  // stops the refresh thread

  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // Stores `secret` as an ADMIN key named "bootstrap" unless a key with its
  // hash exists (revoked or not: revoking the bootstrap key sticks).
  // INVALID_ARGUMENT when shorter than 32 characters.
  absl::Status EnsureBootstrap(absl::string_view secret);

  // Reloads the copy now. Called by the refresh thread; also after
  // migrations so that the server serves with keys loaded.
  absl::Status Refresh();
  // Starts reloading every `refresh`.
  void StartRefreshing();

  enum class State { kNotLoaded, kUnknown, kActive, kExpired, kRevoked };
  struct Resolved {
    State state = State::kUnknown;
    std::string key_id;
    std::string role;
    absl::Time when;  // expire or revoke time
  };
  // Looks `secret` up in the copy. kNotLoaded until the first reload
  // succeeded.
  Resolved Resolve(absl::string_view secret, absl::Time now) const;

  // AdminService. `creator` is the calling principal's name.
  absl::StatusOr<rapport::v1::CreateApiKeyResponse> Create(
      const rapport::v1::ApiKey& request, absl::string_view creator);
  absl::StatusOr<rapport::v1::ListApiKeysResponse> List(
      const rapport::v1::ListApiKeysRequest& request);
  absl::StatusOr<rapport::v1::ApiKey> Revoke(absl::string_view name);

 private:
  struct Cached {
    std::string key_id;
    std::string role;
    std::optional<absl::Time> expire_time;
    std::optional<absl::Time> revoke_time;
  };
  using Map = std::map<std::string, Cached, std::less<>>;  // by hash

  void RefreshLoop();
  void Remember(const std::string& hash, Cached cached);
  absl::StatusOr<rapport::v1::ApiKey> Get(absl::string_view key_id);

  storage::Database* const db_;
  const Permissions* const permissions_;
  const absl::Duration refresh_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const Map> keys_ ABSL_GUARDED_BY(mu_);

  absl::Notification stop_;
  std::thread refresher_;
};

}  // namespace rapport::auth

#endif  // RAPPORT_SERVER_AUTH_KEY_STORE_H_
