// Phone number normalisation to E.164 with libphonenumber.

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "phonenumbers/phonenumber.pb.h"
#include "phonenumbers/phonenumberutil.h"
#include "server/validation/internal/text.h"
#include "server/validation/validation.h"

namespace rapport::validation {
namespace {

using ::i18n::phonenumbers::PhoneNumber;
using ::i18n::phonenumbers::PhoneNumberUtil;
using internal::Quote;

constexpr absl::string_view kHint =
    "; use the international form +<country code><number>, e.g. "
    "\"+4930123456\"";

absl::Status Bad(absl::string_view raw, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(Quote(raw), " is not a valid phone number: ", why));
}

bool HasCountryCode(absl::string_view text) {
  // A leading '+' (possibly after punctuation) or an international dialling
  // prefix means the number carries its own country code.
  for (char c : text) {
    if (c == '+') return true;
    if (absl::ascii_isdigit(c)) return false;
  }
  return false;
}

}  // namespace

absl::Status ValidatePhoneRegion(absl::string_view region) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  if (region.size() != 2 ||
      util.GetCountryCodeForRegion(std::string(region)) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        Quote(region),
        " is not a phone region libphonenumber knows; use an upper-case "
        "ISO 3166-1 alpha-2 code such as \"US\" or \"DE\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizePhone(absl::string_view raw,
                                           absl::string_view default_region) {
  const absl::string_view text = absl::StripAsciiWhitespace(raw);
  if (text.empty()) {
    return absl::InvalidArgumentError("a phone number must not be empty");
  }
  if (text.size() > kMaxPhoneInputBytes) {
    return Bad(text, absl::StrCat("at most ", kMaxPhoneInputBytes,
                                  " characters (got ", text.size(), ")"));
  }
  if (!internal::IsValidUtf8(text)) return Bad(text, "not valid UTF-8");

  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  const bool international = HasCountryCode(text);
  const std::string region = absl::AsciiStrToUpper(default_region);
  PhoneNumber number;
  const PhoneNumberUtil::ErrorType error =
      util.Parse(std::string(text), region, &number);
  switch (error) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
      break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      if (international) {
        return Bad(text, absl::StrCat("unknown country code", kHint));
      }
      return Bad(text,
                 absl::StrCat("it has no country code and the default "
                              "region ",
                              Quote(default_region), " is not known", kHint));
    case PhoneNumberUtil::NOT_A_NUMBER:
      return Bad(text,
                 absl::StrCat("it does not look like a phone number", kHint));
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return Bad(text, absl::StrCat("too short", kHint));
    case PhoneNumberUtil::TOO_LONG_NSN:
      return Bad(text, absl::StrCat("too long", kHint));
  }
  if (number.has_extension() && !number.extension().empty()) {
    return Bad(text, absl::StrCat("extensions (\"", number.extension(),
                                  "\") cannot be stored; remove the "
                                  "extension"));
  }
  switch (util.IsPossibleNumberWithReason(number)) {
    case PhoneNumberUtil::IS_POSSIBLE:
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
      break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
      return Bad(text, absl::StrCat("unknown country code", kHint));
    case PhoneNumberUtil::TOO_SHORT:
      return Bad(text, absl::StrCat("too short", kHint));
    case PhoneNumberUtil::TOO_LONG:
      return Bad(text, absl::StrCat("too long", kHint));
    case PhoneNumberUtil::INVALID_LENGTH:
      return Bad(text, absl::StrCat("wrong number of digits", kHint));
  }
  if (!util.IsValidNumber(number)) {
    if (international) {
      return Bad(text, absl::StrCat("not a valid number for country code +",
                                    number.country_code(), kHint));
    }
    return Bad(text, absl::StrCat("not a valid phone number for region ",
                                  region, kHint));
  }
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

}  // namespace rapport::validation
