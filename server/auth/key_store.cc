#include "server/auth/key_store.h"

#include <cppconn/resultset.h>

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/auth/api_key.h"
#include "server/auth/permissions.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/common/time_util.h"
#include "server/query/pagination.h"
#include "server/storage/database.h"
#include "server/validation/internal/text.h"

namespace rapport::auth {
namespace {

constexpr char kNamePrefix[] = "apiKeys/";
constexpr size_t kMinBootstrapLength = 32;
constexpr size_t kMaxDisplayName = 200;

constexpr char kSelectColumns[] =
    "SELECT id, secret_prefix, display_name, role, creator, create_time, "
    "expire_time, revoke_time FROM api_keys";

std::optional<absl::Time> OptionalTime(sql::ResultSet& rs, int column) {
  if (rs.isNull(column)) return std::nullopt;
  auto t = ParseSqlDateTime(std::string(rs.getString(column)));
  if (!t.ok()) return std::nullopt;
  return *t;
}

rapport::v1::ApiKey ToProto(sql::ResultSet& rs, absl::Time now) {
  rapport::v1::ApiKey key;
  key.set_name(absl::StrCat(kNamePrefix, std::string(rs.getString(1))));
  key.set_secret_prefix(rs.getString(2));
  key.set_display_name(rs.getString(3));
  key.set_role(rs.getString(4));
  key.set_creator(rs.getString(5));
  if (auto t = OptionalTime(rs, 6))
    *key.mutable_create_time() = ToTimestamp(*t);
  std::optional<absl::Time> expire = OptionalTime(rs, 7);
  std::optional<absl::Time> revoke = OptionalTime(rs, 8);
  if (expire) *key.mutable_expire_time() = ToTimestamp(*expire);
  if (revoke) *key.mutable_revoke_time() = ToTimestamp(*revoke);
  if (revoke) {
    key.set_state(rapport::v1::ApiKey::REVOKED);
  } else if (expire && *expire <= now) {
    key.set_state(rapport::v1::ApiKey::EXPIRED);
  } else {
    key.set_state(rapport::v1::ApiKey::ACTIVE);
  }
  return key;
}

// Microsecond precision, as DATETIME(6) stores it, so that what Create
// returns equals what List reads back.
absl::Time StorableNow() {
  return absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
}

absl::StatusOr<std::string> KeyIdFromName(absl::string_view name) {
  if (!absl::StartsWith(name, kNamePrefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("name: \"", name.substr(0, 64),
                     "\" is not of the form apiKeys/{key_id}"));
  }
  absl::string_view id = name.substr(sizeof(kNamePrefix) - 1);
  if (id.empty() || id.size() > 32) {
    return absl::InvalidArgumentError(
        "name: the key id must be 1 to 32 characters");
  }
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '-') {
      return absl::InvalidArgumentError(
          "name: the key id may contain only letters, digits and '-'");
    }
  }
  return std::string(id);
}

}  // namespace

KeyStore::KeyStore(storage::Database* db, const Permissions* permissions,
                   absl::Duration refresh)
    : db_(db), permissions_(permissions), refresh_(refresh) {}

KeyStore::~KeyStore() {
  stop_.Notify();
  if (refresher_.joinable()) refresher_.join();
}

absl::Status KeyStore::EnsureBootstrap(absl::string_view secret) {
  if (secret.size() < kMinBootstrapLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the bootstrap admin key must be at least ", kMinBootstrapLength,
        " characters (e.g. `openssl rand -hex 32`)"));
  }
  const std::string hash = HashSecret(secret);
  const std::string now = ToSqlDateTime(StorableNow());
  int64_t inserted = 0;
  RAPPORT_RETURN_IF_ERROR(
      db_->Run("storing the bootstrap admin key", [&](storage::Connection& c) {
        // INSERT IGNORE on the unique hash: present (even revoked) means
        // done; the id "bootstrap" is taken by an older bootstrap key when
        // the configured one changed, so that one gets a suffix.
        inserted = c.Update(
            "INSERT IGNORE INTO api_keys (id, secret_hash, secret_prefix, "
            "display_name, role, creator, create_time) "
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM api_keys WHERE id = "
            "'bootstrap') THEN CONCAT('bootstrap-', LEFT(?, 8)) ELSE "
            "'bootstrap' END, ?, '', 'bootstrap admin key (from config)', "
            "'ADMIN', 'config', ? FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM "
            "api_keys WHERE secret_hash = ?)",
            {hash, hash, now, hash});
        return absl::OkStatus();
      }));
  if (inserted > 0) log::Info("stored the bootstrap admin key");
  return absl::OkStatus();
}

absl::Status KeyStore::Refresh() {
  auto fresh = std::make_shared<Map>();
  RAPPORT_RETURN_IF_ERROR(
      db_->Run("loading API keys", [&](storage::Connection& c) {
        auto rs = c.Query(
            "SELECT secret_hash, id, role, expire_time, revoke_time FROM "
            "api_keys",
            {});
        while (rs->next()) {
          Cached k;
          k.key_id = rs->getString(2);
          k.role = rs->getString(3);
          k.expire_time = OptionalTime(*rs, 4);
          k.revoke_time = OptionalTime(*rs, 5);
          fresh->emplace(std::string(rs->getString(1)), std::move(k));
        }
        return absl::OkStatus();
      }));
  absl::MutexLock lock(&mu_);
  keys_ = std::move(fresh);
  return absl::OkStatus();
}

void KeyStore::StartRefreshing() {
  if (refresher_.joinable()) return;
  refresher_ = std::thread([this] { RefreshLoop(); });
}

void KeyStore::RefreshLoop() {
  bool failing = false;
  while (!stop_.WaitForNotificationWithTimeout(refresh_)) {
    absl::Status s = Refresh();
    if (!s.ok() && !failing) {
      // Keys loaded earlier keep working; say once that they may be stale.
      log::Warning("cannot reload API keys; using the last copy",
                   {{"error", s.ToString()}});
    } else if (s.ok() && failing) {
      log::Info("API keys reloaded again");
    }
    failing = !s.ok();
  }
}

void KeyStore::Remember(const std::string& hash, Cached cached) {
  absl::MutexLock lock(&mu_);
  auto copy = keys_ ? std::make_shared<Map>(*keys_) : std::make_shared<Map>();
  (*copy)[hash] = std::move(cached);
  keys_ = std::move(copy);
}

KeyStore::Resolved KeyStore::Resolve(absl::string_view secret,
                                     absl::Time now) const {
  std::shared_ptr<const Map> keys;
  {
    absl::ReaderMutexLock lock(&mu_);
    keys = keys_;
  }
  Resolved r;
  if (keys == nullptr) {
    r.state = State::kNotLoaded;
    return r;
  }
  auto it = keys->find(HashSecret(secret));
  if (it == keys->end()) return r;  // kUnknown
  r.key_id = it->second.key_id;
  r.role = it->second.role;
  if (it->second.revoke_time) {
    r.state = State::kRevoked;
    r.when = *it->second.revoke_time;
  } else if (it->second.expire_time && *it->second.expire_time <= now) {
    r.state = State::kExpired;
    r.when = *it->second.expire_time;
  } else {
    r.state = State::kActive;
  }
  return r;
}

absl::StatusOr<rapport::v1::CreateApiKeyResponse> KeyStore::Create(
    const rapport::v1::ApiKey& request, absl::string_view creator) {
  std::string display_name = request.display_name();
  RAPPORT_RETURN_IF_ERROR(validation::internal::TrimAndCheck(
      &display_name, "api_key.display_name", kMaxDisplayName));
  if (display_name.empty()) {
    return absl::InvalidArgumentError(
        "api_key.display_name is required (who or what uses the key)");
  }
  if (!permissions_->RoleExists(request.role())) {
    std::string roles;
    for (const std::string& r : permissions_->Roles()) {
      absl::StrAppend(&roles, roles.empty() ? "" : ", ", r);
    }
    return absl::InvalidArgumentError(
        absl::StrCat("api_key.role: \"", request.role().substr(0, 64),
                     "\" is not a role; roles: ", roles));
  }
  const absl::Time now = StorableNow();
  std::optional<absl::Time> expire;
  if (request.has_expire_time()) {
    const auto& ts = request.expire_time();
    if (ts.nanos() < 0 || ts.nanos() > 999999999 ||
        ToAbslTime(ts) > MaxStorableTime() || ToAbslTime(ts) <= now) {
      return absl::InvalidArgumentError(
          "api_key.expire_time must be a valid time in the future");
    }
    expire = absl::FromUnixMicros(absl::ToUnixMicros(ToAbslTime(ts)));
  }
  RAPPORT_ASSIGN_OR_RETURN(NewSecret secret, GenerateSecret());
  const std::string prefix = SecretPrefix(secret.secret);
  RAPPORT_RETURN_IF_ERROR(
      db_->Run("creating an API key", [&](storage::Connection& c) {
        c.Update(
            "INSERT INTO api_keys (id, secret_hash, secret_prefix, "
            "display_name, role, creator, create_time, expire_time) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?)",
            {secret.key_id, secret.hash, prefix, display_name, request.role(),
             std::string(creator), ToSqlDateTime(now),
             expire ? SqlParam(ToSqlDateTime(*expire)) : SqlParam()});
        return absl::OkStatus();
      }));
  Remember(secret.hash, Cached{secret.key_id, request.role(), expire, {}});
  rapport::v1::CreateApiKeyResponse response;
  rapport::v1::ApiKey* key = response.mutable_api_key();
  key->set_name(absl::StrCat(kNamePrefix, secret.key_id));
  key->set_display_name(display_name);
  key->set_role(request.role());
  key->set_creator(std::string(creator));
  key->set_secret_prefix(prefix);
  key->set_state(rapport::v1::ApiKey::ACTIVE);
  *key->mutable_create_time() = ToTimestamp(now);
  if (expire) *key->mutable_expire_time() = ToTimestamp(*expire);
  response.set_secret(std::move(secret.secret));
  log::Info("API key created", {{"key", key->name()},
                                {"role", key->role()},
                                {"creator", std::string(creator)}});
  return response;
}

absl::StatusOr<rapport::v1::ListApiKeysResponse> KeyStore::List(
    const rapport::v1::ListApiKeysRequest& request) {
  RAPPORT_ASSIGN_OR_RETURN(int page_size,
                           query::ClampPageSize(request.page_size()));
  const std::string description = query::RequestDescription(
      {{"show_revoked", request.show_revoked() ? "1" : "0"}});
  std::string sql = kSelectColumns;
  std::vector<SqlParam> params;
  std::vector<std::string> where;
  if (!request.show_revoked()) where.push_back("revoke_time IS NULL");
  if (!request.page_token().empty()) {
    RAPPORT_ASSIGN_OR_RETURN(
        query::Cursor cursor,
        query::DecodePageToken(request.page_token(), description));
    if (cursor.values.size() != 2 ||
        !std::holds_alternative<std::string>(cursor.values[0]) ||
        !std::holds_alternative<std::string>(cursor.values[1])) {
      return absl::InvalidArgumentError(
          "page_token: not a token of ListApiKeys");
    }
    where.push_back("(create_time < ? OR (create_time = ? AND id < ?))");
    params = {cursor.values[0], cursor.values[0], cursor.values[1]};
  }
  for (size_t i = 0; i < where.size(); ++i) {
    absl::StrAppend(&sql, i == 0 ? " WHERE " : " AND ", where[i]);
  }
  absl::StrAppend(&sql, " ORDER BY create_time DESC, id DESC LIMIT ",
                  page_size + 1);
  rapport::v1::ListApiKeysResponse response;
  std::string last_time, last_id;
  RAPPORT_RETURN_IF_ERROR(
      db_->Run("listing API keys", [&](storage::Connection& c) {
        auto rs = c.Query(sql, params);
        const absl::Time now = absl::Now();
        while (rs->next()) {
          if (response.api_keys_size() == page_size) {
            query::Cursor cursor;
            cursor.values = {last_time, last_id};
            response.set_next_page_token(
                query::EncodePageToken(cursor, description));
            break;
          }
          last_id = rs->getString(1);
          last_time = rs->getString(6);
          *response.add_api_keys() = ToProto(*rs, now);
        }
        return absl::OkStatus();
      }));
  return response;
}

absl::StatusOr<rapport::v1::ApiKey> KeyStore::Get(absl::string_view key_id) {
  std::optional<rapport::v1::ApiKey> key;
  RAPPORT_RETURN_IF_ERROR(
      db_->Run("reading an API key", [&](storage::Connection& c) {
        auto rs = c.Query(absl::StrCat(kSelectColumns, " WHERE id = ?"),
                          {std::string(key_id)});
        if (rs->next()) key = ToProto(*rs, absl::Now());
        return absl::OkStatus();
      }));
  if (!key) {
    return absl::NotFoundError(
        absl::StrCat("API key ", kNamePrefix, key_id, " does not exist"));
  }
  return *key;
}

absl::StatusOr<rapport::v1::ApiKey> KeyStore::Revoke(absl::string_view name) {
  RAPPORT_ASSIGN_OR_RETURN(std::string key_id, KeyIdFromName(name));
  RAPPORT_RETURN_IF_ERROR(db_->Run("revoking an API key", [&](storage::
                                                                  Connection&
                                                                      c) {
    c.Update(
        "UPDATE api_keys SET revoke_time = ? WHERE id = ? AND revoke_time IS "
        "NULL",
        {ToSqlDateTime(StorableNow()), key_id});
    return absl::OkStatus();
  }));
  RAPPORT_ASSIGN_OR_RETURN(rapport::v1::ApiKey key, Get(key_id));
  // Take effect here at once; other replicas follow within refresh_.
  if (absl::Status s = Refresh(); !s.ok()) {
    log::Warning("revoked key not yet reloaded", {{"error", s.ToString()}});
  }
  log::Info("API key revoked", {{"key", key.name()}});
  return key;
}

}  // namespace rapport::auth
