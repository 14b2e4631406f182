// Interaction normalisation.

#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/common/time_util.h"
#include "server/validation/internal/text.h"
#include "server/validation/validation.h"

namespace rapport::validation {
namespace {

using internal::FieldError;
using ::rapport::v1::Interaction;

constexpr absl::string_view kTypeNames =
    "PURCHASE, REFUND, CALL, EMAIL, MEETING, NOTE, SUPPORT, COMPLAINT, "
    "REFERRAL, CAMPAIGN_DELIVERY, CAMPAIGN_RESPONSE or OTHER";

absl::Time EarliestOccurTime() {
  return absl::FromCivil(absl::CivilSecond(1900, 1, 1, 0, 0, 0),
                         absl::UTCTimeZone());
}

absl::Status NormalizeChannel(std::string* channel, absl::string_view path) {
  absl::StripAsciiWhitespace(channel);
  absl::AsciiStrToLower(channel);
  if (channel->empty()) return absl::OkStatus();
  bool ok = channel->size() <= kMaxChannelChars;
  for (char c : *channel) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                c == '.' || c == '-');
  }
  if (!ok) {
    return FieldError(path, absl::StrCat(internal::Quote(*channel),
                                         " is not a valid channel; use 1-64 "
                                         "characters of a-z, 0-9, '_', '.' "
                                         "and '-', e.g. \"web\""));
  }
  return absl::OkStatus();
}

absl::Status CheckOccurTime(const google::protobuf::Timestamp& ts,
                            absl::Time now, absl::string_view path) {
  if (ts.nanos() < 0 || ts.nanos() > 999999999) {
    return FieldError(path, absl::StrCat("nanos must be in [0, 999999999] "
                                         "(got ",
                                         ts.nanos(), ")"));
  }
  // absl::Time covers every int64 second, so the conversion cannot wrap.
  if (ToAbslTime(ts) < EarliestOccurTime()) {
    return FieldError(path, "must not be before 1900-01-01T00:00:00Z");
  }
  const absl::Time latest = now + kMaxOccurTimeInFuture;
  if (ToAbslTime(ts) > latest) {
    return FieldError(path,
                      absl::StrCat("at most 24 hours in the future (now is ",
                                   ToRfc3339(now), "); send the time in UTC"));
  }
  return absl::OkStatus();
}

absl::Status NormalizeAmount(Interaction* i, absl::string_view field_path) {
  const std::string amount_path = absl::StrCat(field_path, ".amount");
  const bool needs_amount =
      i->type() == rapport::v1::PURCHASE || i->type() == rapport::v1::REFUND;
  const char* type_name =
      i->type() == rapport::v1::PURCHASE ? "PURCHASE" : "REFUND";
  if (!i->has_amount()) {
    if (needs_amount) {
      return FieldError(amount_path,
                        absl::StrCat("required for ", type_name,
                                     " interactions, e.g. {currency_code: "
                                     "\"EUR\", amount_minor: 1999}"));
    }
    return absl::OkStatus();
  }
  rapport::v1::Money* money = i->mutable_amount();
  const std::string currency_path = absl::StrCat(amount_path, ".currency_code");
  std::string* currency = money->mutable_currency_code();
  absl::StripAsciiWhitespace(currency);
  absl::AsciiStrToUpper(currency);
  if (currency->empty()) {
    return FieldError(currency_path,
                      "required, a three-letter ISO 4217 code such as "
                      "\"EUR\"");
  }
  if (!IsCurrencyCode(*currency)) {
    return FieldError(currency_path,
                      absl::StrCat(internal::Quote(*currency),
                                   " is not an active ISO 4217 currency code; "
                                   "use three letters such as \"EUR\" or "
                                   "\"USD\""));
  }
  if (!needs_amount) return absl::OkStatus();
  const std::string minor_path = absl::StrCat(amount_path, ".amount_minor");
  const int64_t minor = money->amount_minor();
  if (i->type() == rapport::v1::PURCHASE) {
    if (minor <= 0) {
      return FieldError(
          minor_path, absl::StrCat("must be positive for PURCHASE (got ", minor,
                                   "); log a REFUND to give money back"));
    }
    return absl::OkStatus();
  }
  // REFUND: stored as a positive magnitude; the type says money went back.
  if (minor == 0) {
    return FieldError(minor_path, "must not be zero for REFUND");
  }
  if (minor == std::numeric_limits<int64_t>::min()) {
    return FieldError(minor_path,
                      absl::StrCat("out of range (got ", minor, ")"));
  }
  if (minor < 0) money->set_amount_minor(-minor);
  return absl::OkStatus();
}

}  // namespace

absl::Status NormalizeInteraction(Interaction* i, absl::Time now,
                                  absl::string_view field_path) {
  const auto path = [&](absl::string_view field) {
    return absl::StrCat(field_path, ".", field);
  };
  RAPPORT_RETURN_IF_ERROR(
      ParseId(i->contact_id(), path("contact_id")).status());

  const int type = i->type();
  if (type == rapport::v1::INTERACTION_TYPE_UNSPECIFIED) {
    return FieldError(path("type"),
                      absl::StrCat("required; one of ", kTypeNames));
  }
  if (!rapport::v1::InteractionType_IsValid(type)) {
    return FieldError(path("type"), absl::StrCat("unknown value ", type,
                                                 "; use ", kTypeNames));
  }
  const int direction = i->direction();
  if (!rapport::v1::Direction_IsValid(direction)) {
    return FieldError(
        path("direction"),
        absl::StrCat("unknown value ", direction,
                     "; use INBOUND, OUTBOUND or leave it unset"));
  }
  RAPPORT_RETURN_IF_ERROR(
      NormalizeChannel(i->mutable_channel(), path("channel")));

  if (!i->has_occur_time()) {
    *i->mutable_occur_time() = ToTimestamp(now);
  } else {
    RAPPORT_RETURN_IF_ERROR(
        CheckOccurTime(i->occur_time(), now, path("occur_time")));
  }

  RAPPORT_RETURN_IF_ERROR(internal::TrimAndCheck(
      i->mutable_subject(), path("subject"), kMaxSubjectChars));
  if (i->body().size() > kMaxBodyBytes) {
    return FieldError(path("body"),
                      absl::StrCat("at most ", kMaxBodyBytes, " bytes (got ",
                                   i->body().size(), ")"));
  }
  RAPPORT_RETURN_IF_ERROR(internal::CheckText(
      i->body(), path("body"), kMaxBodyBytes, internal::Lines::kMultiple));
  RAPPORT_RETURN_IF_ERROR(
      internal::TrimAndCheck(i->mutable_actor(), path("actor"), kMaxNameChars));
  RAPPORT_RETURN_IF_ERROR(NormalizeAmount(i, field_path));
  // Stored together as one JSON object in a MEDIUMTEXT column (migration
  // 0004): the per-entry limits keep it below about 700 KB.
  return internal::CheckAttributes(i->attributes(), path("attributes"));
}

}  // namespace rapport::validation
