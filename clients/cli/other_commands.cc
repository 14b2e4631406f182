// rapportctl interactions …, admin … (plugins, parked events, API keys, the
// audit log), config ….
#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/output.h"

namespace rapport::cli {
namespace {

using google::protobuf::util::TimeUtil;

std::string TimeString(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "";
  return TimeUtil::ToString(time);
}

Table InteractionTable(
    const google::protobuf::RepeatedPtrField<rapport::v1::Interaction>& list) {
  Table table({"ID", "CONTACT", "TYPE", "OCCURRED", "SUBJECT", "AMOUNT"});
  for (const rapport::v1::Interaction& i : list) {
    std::string amount;
    if (i.has_amount()) {
      amount = absl::StrCat(i.amount().amount_minor(), " ",
                            i.amount().currency_code(), " (minor units)");
    }
    table.AddRow({i.id(), i.contact_id(),
                  rapport::v1::InteractionType_Name(i.type()),
                  TimeString(i.occur_time()), i.subject(), amount});
  }
  return table;
}

Table ApiKeyTable(
    const google::protobuf::RepeatedPtrField<rapport::v1::ApiKey>& keys) {
  Table table({"NAME", "DISPLAY NAME", "ROLE", "STATE", "PREFIX", "CREATED",
               "EXPIRES", "CREATOR"});
  for (const rapport::v1::ApiKey& k : keys) {
    std::string expires = TimeString(k.expire_time());
    table.AddRow({k.name(), k.display_name(), k.role(),
                  rapport::v1::ApiKey::State_Name(k.state()), k.secret_prefix(),
                  TimeString(k.create_time()),
                  expires.empty() ? "never" : expires, k.creator()});
  }
  return table;
}

// "/rapport.v1.ContactService/CreateContact" -> "ContactService/CreateContact"
// (the service without its package, then the method).
std::string ShortMethod(const std::string& method) {
  absl::string_view m = method;
  absl::ConsumePrefix(&m, "/");
  const size_t slash = m.find('/');
  const size_t dot = m.substr(0, slash).rfind('.');
  if (dot != absl::string_view::npos) m.remove_prefix(dot + 1);
  return std::string(m);
}

Table AuditTable(
    const google::protobuf::RepeatedPtrField<rapport::v1::AuditEvent>& list) {
  Table table({"TIME", "PRINCIPAL", "ROLE", "METHOD", "RESOURCE", "CODE",
               "REQUEST ID"});
  for (const rapport::v1::AuditEvent& e : list) {
    table.AddRow({TimeString(e.event_time()), e.principal(), e.role(),
                  ShortMethod(e.method()), e.resource(), e.code(),
                  e.request_id()});
  }
  return table;
}

// Parses a time to live: one or more NUMBER UNIT pairs, UNIT one of w
// (weeks), d (days), h (hours), m (minutes), s (seconds), e.g. "90d", "12h",
// "1d12h". False unless well-formed, positive and finite.
bool ParseTtl(absl::string_view text, absl::Duration* ttl) {
  absl::Duration total = absl::ZeroDuration();
  if (text.empty()) return false;
  while (!text.empty()) {
    size_t digits = 0;
    while (digits < text.size() && absl::ascii_isdigit(text[digits])) {
      ++digits;
    }
    int64_t count = 0;
    if (digits == 0 || digits == text.size() ||
        !absl::SimpleAtoi(text.substr(0, digits), &count)) {
      return false;
    }
    absl::Duration unit;
    switch (text[digits]) {
      case 'w':
        unit = absl::Hours(24 * 7);
        break;
      case 'd':
        unit = absl::Hours(24);
        break;
      case 'h':
        unit = absl::Hours(1);
        break;
      case 'm':
        unit = absl::Minutes(1);
        break;
      case 's':
        unit = absl::Seconds(1);
        break;
      default:
        return false;
    }
    total += count * unit;
    text.remove_prefix(digits + 1);
  }
  if (total <= absl::ZeroDuration() || total == absl::InfiniteDuration()) {
    return false;
  }
  *ttl = total;
  return true;
}

// The built-in roles in any case ("reader" -> "READER"); other (plugin)
// roles as given.
std::string NormalizeRole(const std::string& role) {
  std::string upper = absl::AsciiStrToUpper(role);
  if (upper == "ADMIN" || upper == "AGENT" || upper == "READER") return upper;
  return role;
}

// "apiKeys/ID" as given; a bare "ID" gets the "apiKeys/" prefix.
std::string ApiKeyName(const std::string& name_or_id) {
  if (absl::StrContains(name_or_id, '/')) return name_or_id;
  return absl::StrCat("apiKeys/", name_or_id);
}

// Parses "key=value" items into `out`; false (and a usage error) if one has
// no '='.
bool ParseAttributes(const std::vector<std::string>& items,
                     google::protobuf::Map<std::string, std::string>* out) {
  for (const std::string& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      UsageError(absl::StrCat("--attr ", item, ": expected KEY=VALUE"));
      return false;
    }
    (*out)[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return true;
}

// admin keys create | list | revoke.
void AddApiKeyCommands(CLI::App* admin, GlobalFlags* flags, Action* action) {
  CLI::App* group = admin->add_subcommand(
      "keys", "Create, list and revoke API keys (callers' credentials)");
  group->require_subcommand(1);
  group->footer(R"(A caller presents a key as 'authorization: Bearer <secret>'
(rapportctl: --api-key or RAPPORT_API_KEY). The server keeps only a hash of
the secret: it is shown once, by `keys create`.

Examples:
  rapportctl admin keys create --display-name "billing prod" --role AGENT
  rapportctl admin keys create --display-name ci --role READER --ttl 90d -o json
  rapportctl admin keys list --show-revoked --all
  rapportctl admin keys revoke apiKeys/3f9a1c0b7d2e4a61)");

  // admin keys create
  struct CreateArgs {
    std::string display_name, role, expire_time, ttl;
  };
  auto create_args = std::make_shared<CreateArgs>();
  CLI::App* create = group->add_subcommand(
      "create", "Create an API key and show its secret (only this once)");
  create->footer(
      R"(Prints the key and its secret. The secret is shown only once:
store it now (a secret manager, a Kubernetes Secret, ...). With -o json or
-o yaml it is the `secret` field of the CreateApiKeyResponse.

--ttl is a count and a unit, or several: w (weeks), d (days), h (hours),
m (minutes), s (seconds), e.g. 90d, 12h, 1d12h. Without --ttl or
--expire-time the key never expires (revoke it when done).

Examples:
  rapportctl admin keys create --display-name "billing prod" --role AGENT
  rapportctl admin keys create --display-name ci --role READER --ttl 90d
  rapportctl admin keys create --display-name audit --role READER \
      --expire-time 2027-01-01T00:00:00Z -o json | jq -r .secret)");
  create
      ->add_option("--display-name", create_args->display_name,
                   "Who or what uses the key, e.g. \"billing prod\"")
      ->required();
  create
      ->add_option("--role", create_args->role,
                   "ADMIN, AGENT, READER, or a plugin role such as "
                   "rapport.loyalty.manager")
      ->required();
  CLI::Option* expire_option =
      create->add_option("--expire-time", create_args->expire_time,
                         "Refuse the key after this time, RFC 3339");
  create
      ->add_option("--ttl", create_args->ttl,
                   "Refuse the key after this long, e.g. 90d or 12h")
      ->excludes(expire_option);
  create->callback([flags, action, create_args] {
    *action = [flags, create_args]() -> int {
      rapport::v1::CreateApiKeyRequest request;
      rapport::v1::ApiKey* key = request.mutable_api_key();
      key->set_display_name(create_args->display_name);
      key->set_role(NormalizeRole(create_args->role));
      if (!create_args->expire_time.empty()) {
        if (!TimeUtil::FromString(create_args->expire_time,
                                  key->mutable_expire_time())) {
          return UsageError(
              "--expire-time: expected RFC 3339, e.g. 2027-01-01T00:00:00Z");
        }
      } else if (!create_args->ttl.empty()) {
        absl::Duration ttl;
        if (!ParseTtl(create_args->ttl, &ttl)) {
          return UsageError(absl::StrCat(
              "--ttl ", create_args->ttl,
              ": expected a positive duration such as 90d, 12h or 1d12h"));
        }
        const absl::Time expire = absl::Now() + ttl;
        if (expire >= absl::FromUnixSeconds(TimeUtil::kTimestampMaxSeconds)) {
          return UsageError(
              absl::StrCat("--ttl ", create_args->ttl, ": too long"));
        }
        key->mutable_expire_time()->set_seconds(absl::ToUnixSeconds(expire));
      }
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::CreateApiKeyResponse response;
      grpc::Status status = (*client)->admin().CreateApiKey(
          (*client)->Context().get(), request, &response);
      if (!status.ok()) return ReportError(status);
      google::protobuf::RepeatedPtrField<rapport::v1::ApiKey> one;
      *one.Add() = response.api_key();
      PrintResult(response, flags->output, [&] { return ApiKeyTable(one); });
      if (flags->output == "table") {
        std::printf(
            "\nSECRET: %s\n"
            "This secret is shown only once: store it now. It cannot be "
            "retrieved again.\n",
            response.secret().c_str());
      }
      return kExitOk;
    };
  });

  // admin keys list
  struct ListArgs {
    std::string page_token;
    int page_size = 0;
    bool all = false, show_revoked = false;
  };
  auto list_args = std::make_shared<ListArgs>();
  CLI::App* list = group->add_subcommand(
      "list", "List API keys, newest first (never their secrets)");
  list->footer(R"(Examples:
  rapportctl admin keys list
  rapportctl admin keys list --show-revoked --all -o json)");
  list->add_option("--page-size", list_args->page_size,
                   "Page size (server default 50, at most 1000)");
  list->add_option("--page-token", list_args->page_token,
                   "next_page_token of a previous page");
  list->add_flag("--all", list_args->all, "Follow page tokens to the end");
  list->add_flag("--show-revoked", list_args->show_revoked,
                 "Include revoked keys");
  list->callback([flags, action, list_args] {
    *action = [flags, list_args]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::ListApiKeysRequest request;
      request.set_page_size(list_args->page_size);
      request.set_page_token(list_args->page_token);
      request.set_show_revoked(list_args->show_revoked);
      rapport::v1::ListApiKeysResponse all;
      while (true) {
        rapport::v1::ListApiKeysResponse page;
        grpc::Status status = (*client)->admin().ListApiKeys(
            (*client)->Context().get(), request, &page);
        if (!status.ok()) return ReportError(status);
        for (auto& item : *page.mutable_api_keys()) {
          *all.add_api_keys() = std::move(item);
        }
        all.set_next_page_token(page.next_page_token());
        if (!list_args->all || page.next_page_token().empty()) break;
        request.set_page_token(page.next_page_token());
      }
      PrintResult(all, flags->output,
                  [&] { return ApiKeyTable(all.api_keys()); });
      if (flags->output == "table" && !all.next_page_token().empty()) {
        std::fprintf(stderr, "more: --page-token %s (or --all)\n",
                     all.next_page_token().c_str());
      }
      return kExitOk;
    };
  });

  // admin keys revoke
  auto revoke_name = std::make_shared<std::string>();
  CLI::App* revoke = group->add_subcommand(
      "revoke", "Revoke an API key: it is refused from now on");
  revoke->footer(R"(Takes effect at once on the replica that serves the call, on
the others within auth.key_refresh. Revoking a revoked key is not an error.

Examples:
  rapportctl admin keys revoke apiKeys/3f9a1c0b7d2e4a61
  rapportctl admin keys revoke 3f9a1c0b7d2e4a61)");
  revoke->add_option("NAME", *revoke_name, "apiKeys/ID, or the bare ID")
      ->required();
  revoke->callback([flags, action, revoke_name] {
    *action = [flags, revoke_name]() -> int {
      if (revoke_name->empty()) return UsageError("NAME must not be empty");
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::RevokeApiKeyRequest request;
      request.set_name(ApiKeyName(*revoke_name));
      rapport::v1::ApiKey result;
      grpc::Status status = (*client)->admin().RevokeApiKey(
          (*client)->Context().get(), request, &result);
      if (!status.ok()) return ReportError(status);
      google::protobuf::RepeatedPtrField<rapport::v1::ApiKey> one;
      *one.Add() = result;
      PrintResult(result, flags->output, [&] { return ApiKeyTable(one); });
      return kExitOk;
    };
  });
}

// admin audit
void AddAuditCommand(CLI::App* admin, GlobalFlags* flags, Action* action) {
  struct AuditArgs {
    std::string filter, page_token;
    int page_size = 0;
    bool all = false;
  };
  auto args = std::make_shared<AuditArgs>();
  CLI::App* audit = admin->add_subcommand(
      "audit",
      "List audit events (calls that changed something), newest first");
  audit->footer(
      R"(Every mutating call is recorded, allowed or not: who (principal,
role), what (method, resource), the outcome (code) and the request id. The
filter (AIP-160) may use principal, role, method (the full gRPC method),
resource, code, request_id and event_time (RFC 3339). Events are written
asynchronously: a call shows up within a fraction of a second.

Examples:
  rapportctl admin audit
  rapportctl admin audit --filter 'principal = "apiKeys/3f9a1c0b7d2e4a61"' --all
  rapportctl admin audit --filter 'code != "OK"' --page-size 20
  rapportctl admin audit --all -o json \
      --filter 'event_time >= "2026-01-01T00:00:00Z"'
  rapportctl admin audit -o json \
      --filter 'method = "/rapport.v1.ContactService/EraseContact"')");
  audit->add_option("--filter", args->filter, "AIP-160 filter");
  audit->add_option("--page-size", args->page_size,
                    "Page size (server default 50, at most 1000)");
  audit->add_option("--page-token", args->page_token,
                    "next_page_token of a previous page");
  audit->add_flag("--all", args->all, "Follow page tokens to the end");
  audit->callback([flags, action, args] {
    *action = [flags, args]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::ListAuditEventsRequest request;
      request.set_filter(args->filter);
      request.set_page_size(args->page_size);
      request.set_page_token(args->page_token);
      rapport::v1::ListAuditEventsResponse all;
      while (true) {
        rapport::v1::ListAuditEventsResponse page;
        grpc::Status status = (*client)->admin().ListAuditEvents(
            (*client)->Context().get(), request, &page);
        if (!status.ok()) return ReportError(status);
        for (auto& item : *page.mutable_audit_events()) {
          *all.add_audit_events() = std::move(item);
        }
        all.set_next_page_token(page.next_page_token());
        if (!args->all || page.next_page_token().empty()) break;
        request.set_page_token(page.next_page_token());
      }
      PrintResult(all, flags->output,
                  [&] { return AuditTable(all.audit_events()); });
      if (flags->output == "table" && !all.next_page_token().empty()) {
        std::fprintf(stderr, "more: --page-token %s (or --all)\n",
                     all.next_page_token().c_str());
      }
      return kExitOk;
    };
  });
}

}  // namespace

void AddInteractionCommands(CLI::App* app, GlobalFlags* flags, Action* action) {
  CLI::App* group =
      app->add_subcommand("interactions", "Log and list interactions");
  group->require_subcommand(1);
  group->footer(R"(Examples:
  rapportctl interactions log --contact c_123 --type CALL
  rapportctl interactions list --contact c_123 -o json)");

  // interactions log
  struct LogArgs {
    std::string contact_id, type = "NOTE", channel, direction, subject, body,
                            occur_time, currency, actor, request_id;
    int64_t amount_minor = 0;
    std::vector<std::string> attrs;
  };
  auto log_args = std::make_shared<LogArgs>();
  CLI::App* log = group->add_subcommand("log", "Log an interaction");
  log->footer(R"(Examples:
  rapportctl interactions log --contact c_123 --type PURCHASE \
      --amount-minor 4999 --currency EUR --subject "Order 1042"
  rapportctl interactions log --contact c_123 --type CALL --direction INBOUND)");
  log->add_option("--contact", log_args->contact_id, "Contact id")->required();
  log->add_option("--type", log_args->type,
                  "PURCHASE, REFUND, CALL, EMAIL, MEETING, NOTE, SUPPORT, "
                  "COMPLAINT, REFERRAL, CAMPAIGN_DELIVERY, "
                  "CAMPAIGN_RESPONSE, OTHER")
      ->capture_default_str();
  log->add_option("--channel", log_args->channel, "Channel (web, phone, …)");
  log->add_option("--direction", log_args->direction, "INBOUND or OUTBOUND");
  log->add_option("--subject", log_args->subject, "Subject");
  log->add_option("--body", log_args->body, "Body text");
  log->add_option("--occur-time", log_args->occur_time,
                  "When it happened, RFC 3339 (default: now)");
  log->add_option("--amount-minor", log_args->amount_minor,
                  "Amount in minor units (cents)");
  log->add_option("--currency", log_args->currency, "ISO 4217 currency code");
  log->add_option("--actor", log_args->actor, "Who logged it");
  log->add_option("--attr", log_args->attrs, "Attribute KEY=VALUE (repeat)");
  log->add_option("--request-id", log_args->request_id,
                  "Idempotency key (default: a random UUID)");
  log->callback([flags, action, log_args] {
    *action = [flags, log_args]() -> int {
      rapport::v1::LogInteractionRequest request;
      rapport::v1::Interaction* interaction = request.mutable_interaction();
      interaction->set_contact_id(log_args->contact_id);
      rapport::v1::InteractionType type;
      if (!rapport::v1::InteractionType_Parse(
              absl::AsciiStrToUpper(log_args->type), &type)) {
        return UsageError(
            absl::StrCat("--type: unknown type ", log_args->type));
      }
      interaction->set_type(type);
      if (!log_args->direction.empty()) {
        rapport::v1::Direction direction;
        if (!rapport::v1::Direction_Parse(
                absl::AsciiStrToUpper(log_args->direction), &direction)) {
          return UsageError("--direction: INBOUND or OUTBOUND");
        }
        interaction->set_direction(direction);
      }
      interaction->set_channel(log_args->channel);
      interaction->set_subject(log_args->subject);
      interaction->set_body(log_args->body);
      interaction->set_actor(log_args->actor);
      if (!log_args->occur_time.empty()) {
        if (!TimeUtil::FromString(log_args->occur_time,
                                  interaction->mutable_occur_time())) {
          return UsageError(
              "--occur-time: expected RFC 3339, e.g. "
              "2024-05-01T10:00:00Z");
        }
      } else {
        *interaction->mutable_occur_time() = TimeUtil::GetCurrentTime();
      }
      if (!log_args->currency.empty() || log_args->amount_minor != 0) {
        interaction->mutable_amount()->set_currency_code(log_args->currency);
        interaction->mutable_amount()->set_amount_minor(log_args->amount_minor);
      }
      if (!ParseAttributes(log_args->attrs,
                           interaction->mutable_attributes())) {
        return kExitUsage;
      }
      request.set_request_id(
          log_args->request_id.empty() ? NewRequestId() : log_args->request_id);
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::Interaction result;
      grpc::Status status = (*client)->interactions().LogInteraction(
          (*client)->Context().get(), request, &result);
      if (!status.ok()) return ReportError(status);
      google::protobuf::RepeatedPtrField<rapport::v1::Interaction> one;
      *one.Add() = result;
      PrintResult(result, flags->output, [&] { return InteractionTable(one); });
      return kExitOk;
    };
  });

  // interactions get
  auto get_id = std::make_shared<std::string>();
  CLI::App* get = group->add_subcommand("get", "Show one interaction");
  get->footer("Example:\n  rapportctl interactions get i_123 -o json");
  get->add_option("ID", *get_id, "Interaction id")->required();
  get->callback([flags, action, get_id] {
    *action = [flags, get_id]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::GetInteractionRequest request;
      request.set_id(*get_id);
      rapport::v1::Interaction result;
      grpc::Status status = (*client)->interactions().GetInteraction(
          (*client)->Context().get(), request, &result);
      if (!status.ok()) return ReportError(status);
      google::protobuf::RepeatedPtrField<rapport::v1::Interaction> one;
      *one.Add() = result;
      PrintResult(result, flags->output, [&] { return InteractionTable(one); });
      return kExitOk;
    };
  });

  // interactions list
  struct ListArgs {
    std::string contact_id, filter, order_by, page_token;
    int page_size = 0;
    bool all = false;
  };
  auto list_args = std::make_shared<ListArgs>();
  CLI::App* list = group->add_subcommand("list", "List interactions");
  list->footer(R"(Examples:
  rapportctl interactions list --contact c_123
  rapportctl interactions list --filter 'type = PURCHASE' --all -o json)");
  list->add_option("--contact", list_args->contact_id,
                   "Only this contact's interactions");
  list->add_option("--filter", list_args->filter, "AIP-160 filter");
  list->add_option("--order-by", list_args->order_by, "Ordering");
  list->add_option("--page-size", list_args->page_size, "Page size");
  list->add_option("--page-token", list_args->page_token,
                   "next_page_token of a previous page");
  list->add_flag("--all", list_args->all, "Follow page tokens to the end");
  list->callback([flags, action, list_args] {
    *action = [flags, list_args]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::ListInteractionsRequest request;
      request.set_contact_id(list_args->contact_id);
      request.set_filter(list_args->filter);
      request.set_order_by(list_args->order_by);
      request.set_page_size(list_args->page_size);
      request.set_page_token(list_args->page_token);
      rapport::v1::ListInteractionsResponse all;
      while (true) {
        rapport::v1::ListInteractionsResponse page;
        grpc::Status status = (*client)->interactions().ListInteractions(
            (*client)->Context().get(), request, &page);
        if (!status.ok()) return ReportError(status);
        for (auto& item : *page.mutable_interactions()) {
          *all.add_interactions() = std::move(item);
        }
        all.set_next_page_token(page.next_page_token());
        if (!list_args->all || page.next_page_token().empty()) break;
        request.set_page_token(page.next_page_token());
      }
      PrintResult(all, flags->output, [&] {
        Table table = InteractionTable(all.interactions());
        return table;
      });
      if (flags->output == "table" && !all.next_page_token().empty()) {
        std::fprintf(stderr, "more: --page-token %s (or --all)\n",
                     all.next_page_token().c_str());
      }
      return kExitOk;
    };
  });
}

void AddAdminCommands(CLI::App* app, GlobalFlags* flags, Action* action) {
  CLI::App* group = app->add_subcommand(
      "admin",
      "Operate the server: plugins, parked events, API keys and the audit "
      "log");
  group->require_subcommand(1);
  group->footer(R"(Examples:
  rapportctl admin plugins
  rapportctl admin parked --subscriber acme.sync
  rapportctl admin retry-parked acme.sync 1042
  rapportctl admin keys create --display-name "billing prod" --role AGENT \
      --ttl 90d
  rapportctl admin keys list --show-revoked
  rapportctl admin keys revoke apiKeys/3f9a1c0b7d2e4a61
  rapportctl admin audit --filter 'code != "OK"' --page-size 20)");

  CLI::App* plugins =
      group->add_subcommand("plugins", "List the plugins and their state");
  plugins->footer("Example:\n  rapportctl admin plugins -o yaml");
  plugins->callback([flags, action] {
    *action = [flags]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::ListPluginsResponse response;
      grpc::Status status = (*client)->admin().ListPlugins(
          (*client)->Context().get(), rapport::v1::ListPluginsRequest(),
          &response);
      if (!status.ok()) return ReportError(status);
      PrintResult(response, flags->output, [&] {
        Table table({"NAME", "VERSION", "STATE", "SDK", "SERVICES", "REASON"});
        for (const auto& p : response.plugins()) {
          table.AddRow({p.name(), p.version(),
                        rapport::v1::Plugin::State_Name(p.state()),
                        p.sdk_version(), absl::StrJoin(p.services(), ","),
                        p.reason()});
        }
        return table;
      });
      return kExitOk;
    };
  });

  struct ParkedArgs {
    std::string subscriber;
    int page_size = 0;
  };
  auto parked_args = std::make_shared<ParkedArgs>();
  CLI::App* parked = group->add_subcommand(
      "parked", "List events parked after repeated delivery failures");
  parked->footer("Example:\n  rapportctl admin parked --subscriber acme.sync");
  parked->add_option("--subscriber", parked_args->subscriber,
                     "Only this subscriber (plugin)");
  parked->add_option("--page-size", parked_args->page_size,
                     "At most this many");
  parked->callback([flags, action, parked_args] {
    *action = [flags, parked_args]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::ListParkedEventsRequest request;
      request.set_subscriber(parked_args->subscriber);
      request.set_page_size(parked_args->page_size);
      rapport::v1::ListParkedEventsResponse response;
      grpc::Status status = (*client)->admin().ListParkedEvents(
          (*client)->Context().get(), request, &response);
      if (!status.ok()) return ReportError(status);
      PrintResult(response, flags->output, [&] {
        Table table({"SUBSCRIBER", "EVENT", "TYPE", "CONTACT", "ATTEMPTS",
                     "PARKED", "LAST ERROR"});
        for (const auto& e : response.parked_events()) {
          table.AddRow({e.subscriber(), absl::StrCat(e.event_id()),
                        e.event_type(), e.contact_id(),
                        absl::StrCat(e.attempts()), TimeString(e.park_time()),
                        e.last_error()});
        }
        return table;
      });
      return kExitOk;
    };
  });

  struct RetryArgs {
    std::string subscriber;
    int64_t event_id = 0;
  };
  auto retry_args = std::make_shared<RetryArgs>();
  CLI::App* retry =
      group->add_subcommand("retry-parked", "Deliver a parked event again");
  retry->footer("Example:\n  rapportctl admin retry-parked acme.sync 1042");
  retry->add_option("SUBSCRIBER", retry_args->subscriber, "Subscriber")
      ->required();
  retry->add_option("EVENT_ID", retry_args->event_id, "Event id")->required();
  retry->callback([flags, action, retry_args] {
    *action = [flags, retry_args]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::RetryParkedEventRequest request;
      request.set_subscriber(retry_args->subscriber);
      request.set_event_id(retry_args->event_id);
      rapport::v1::RetryParkedEventResponse response;
      grpc::Status status = (*client)->admin().RetryParkedEvent(
          (*client)->Context().get(), request, &response);
      if (!status.ok()) return ReportError(status);
      PrintResult(response, flags->output, [&] {
        Table table({"SUBSCRIBER", "EVENT", "RESULT"});
        table.AddRow({retry_args->subscriber,
                      absl::StrCat(retry_args->event_id), "queued"});
        return table;
      });
      return kExitOk;
    };
  });

  AddApiKeyCommands(group, flags, action);
  AddAuditCommand(group, flags, action);
}

void AddConfigCommands(CLI::App* app, GlobalFlags* flags, Action* action) {
  CLI::App* group = app->add_subcommand(
      "config", "Named connection contexts in the config file");
  group->require_subcommand(1);
  group->footer(R"(Examples:
  rapportctl config set-context prod --addr rapport.example.com:443 \
      --tls --ca /etc/rapport/ca.pem --api-key rk_...
  rapportctl config use-context prod
  rapportctl config get-contexts)");

  CLI::App* get = group->add_subcommand("get-contexts", "List the contexts");
  get->footer(
      "Example:\n  rapportctl config get-contexts   # '*' marks the current "
      "one");
  get->callback([flags, action] {
    *action = [flags]() -> int {
      absl::StatusOr<ConfigFile> config = LoadConfig(ConfigPath());
      if (!config.ok()) return ReportError(config.status());
      Table table({"CURRENT", "NAME", "ADDR", "TLS"});
      for (const ContextConfig& c : config->contexts) {
        table.AddRow({c.name == config->current_context ? "*" : "", c.name,
                      c.addr,
                      c.insecure                     ? "no"
                      : (c.tls || !c.tls_ca.empty()) ? "yes"
                                                     : "no"});
      }
      std::string text = table.Render();
      std::fwrite(text.data(), 1, text.size(), stdout);
      return kExitOk;
    };
  });

  auto use_name = std::make_shared<std::string>();
  CLI::App* use =
      group->add_subcommand("use-context", "Make a context the current one");
  use->footer("Example:\n  rapportctl config use-context local");
  use->add_option("NAME", *use_name, "Context name")->required();
  use->callback([action, use_name] {
    *action = [use_name]() -> int {
      absl::StatusOr<ConfigFile> config = LoadConfig(ConfigPath());
      if (!config.ok()) return ReportError(config.status());
      if (config->Find(*use_name) == nullptr) {
        return ReportError(absl::NotFoundError(
            absl::StrCat("no context \"", *use_name, "\" in ", ConfigPath())));
      }
      config->current_context = *use_name;
      absl::Status saved = SaveConfig(ConfigPath(), *config);
      if (!saved.ok()) return ReportError(saved);
      std::printf("Switched to context \"%s\".\n", use_name->c_str());
      return kExitOk;
    };
  });

  auto set_args = std::make_shared<ContextConfig>();
  CLI::App* set = group->add_subcommand(
      "set-context", "Create or change a context (only the given settings)");
  set->footer(R"(The first context saved becomes the current one.

Examples:
  rapportctl config set-context local --addr 127.0.0.1:50051 --plaintext
  rapportctl config set-context prod --addr dns:///rapport.crm.svc:50051 \
      --tls --ca /etc/rapport/ca.pem --api-key rk_...)");
  set->add_option("NAME", set_args->name, "Context name")->required();
  CLI::Option* set_addr = set->add_option("--addr", set_args->addr, "Address");
  CLI::Option* set_key =
      set->add_option("--api-key", set_args->api_key, "API key");
  CLI::Option* set_ca = set->add_option("--ca", set_args->tls_ca, "CA file");
  CLI::Option* set_cert =
      set->add_option("--cert", set_args->tls_cert, "Client certificate");
  CLI::Option* set_keyfile =
      set->add_option("--key", set_args->tls_key, "Client key");
  CLI::Option* set_tls = set->add_flag("--tls,!--no-tls", set_args->tls, "TLS");
  CLI::Option* set_insecure = set->add_flag("--plaintext,!--no-plaintext",
                                            set_args->insecure, "Plaintext");
  set->callback([=] {
    *action = [=]() -> int {
      absl::StatusOr<ConfigFile> config = LoadConfig(ConfigPath());
      if (!config.ok()) return ReportError(config.status());
      ContextConfig* context = config->Find(set_args->name);
      if (context == nullptr) {
        ContextConfig fresh;
        fresh.name = set_args->name;
        config->contexts.push_back(std::move(fresh));
        context = &config->contexts.back();
      }
      if (set_addr->count()) context->addr = set_args->addr;
      if (set_key->count()) context->api_key = set_args->api_key;
      if (set_ca->count()) context->tls_ca = set_args->tls_ca;
      if (set_cert->count()) context->tls_cert = set_args->tls_cert;
      if (set_keyfile->count()) context->tls_key = set_args->tls_key;
      if (set_tls->count()) context->tls = set_args->tls;
      if (set_insecure->count()) context->insecure = set_args->insecure;
      if (config->current_context.empty()) {
        config->current_context = set_args->name;
      }
      absl::Status saved = SaveConfig(ConfigPath(), *config);
      if (!saved.ok()) return ReportError(saved);
      std::printf("Context \"%s\" saved in %s.\n", set_args->name.c_str(),
                  ConfigPath().c_str());
      return kExitOk;
    };
  });
}

}  // namespace rapport::cli
