// Fuzzes the validators that take a bare string (server/validation/
// validation.h): e-mail and phone normalisation, resource ids, request ids,
// phone regions and ISO code lookups. The whole input is the string.
//
// Invariants, beyond "does not crash":
//  * every result is OK or INVALID_ARGUMENT, and error messages are valid
//    UTF-8 without control bytes whatever the input (they quote it);
//  * NormalizeEmail returns exactly the trimmed, lower-cased input, which is
//    printable ASCII with one '@' and at most 254 characters, and is a fixed
//    point;
//  * NormalizePhone returns E.164 ("+" and digits), a fixed point in
//    every region; a number written with '+' means the same in any region;
//  * ParseId and ValidateRequestId agree with an independent reading of
//    their documented grammar, and an accepted id prints back as the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/validation/validation.h"
#include "tests/fuzz/fuzz_util.h"

namespace rapport::fuzz {
namespace {

using validation::NormalizeEmail;
using validation::NormalizePhone;

void CheckMessage(const absl::Status& s, absl::string_view text) {
  RAPPORT_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, s);
  RAPPORT_FUZZ_CHECK(IsValidUtf8(s.message()),
                     "invalid UTF-8 in the message for ", Show(text), ": ",
                     Show(s.message()));
  RAPPORT_FUZZ_CHECK(!HasControlByte(s.message()),
                     "control byte in the message for ", Show(text), ": ",
                     Show(s.message()));
}

void FuzzEmail(absl::string_view text) {
  const absl::StatusOr<std::string> email = NormalizeEmail(text);
  if (!email.ok()) {
    CheckMessage(email.status(), text);
    return;
  }
  const std::string& e = *email;
  RAPPORT_FUZZ_CHECK(
      e == absl::AsciiStrToLower(absl::StripAsciiWhitespace(text)), Show(text),
      " -> ", Show(e));
  RAPPORT_FUZZ_CHECK(!e.empty() && e.size() <= validation::kMaxEmailChars);
  size_t ats = 0;
  for (char c : e) {
    RAPPORT_FUZZ_CHECK(c > 0x20 && c < 0x7f, "byte in ", Show(e));
    RAPPORT_FUZZ_CHECK(!absl::ascii_isupper(static_cast<unsigned char>(c)));
    ats += c == '@';
  }
  RAPPORT_FUZZ_CHECK(ats == 1, Show(e));
  const absl::StatusOr<std::string> again = NormalizeEmail(e);
  RAPPORT_FUZZ_CHECK(again.ok() && *again == e, Show(e), " is not a fixed ",
                     "point: ", again.status());
}

// "+", a country code and the national number. Not capped at E.164's 15
// digits: libphonenumber (the authority the validator defers to) knows valid
// German numbers of 16 digits; its own cap is a 3-digit country code and 17
// national digits.
bool IsE164(absl::string_view p) {
  if (p.size() < 3 || p.size() > 21 || p[0] != '+' || p[1] == '0') {
    return false;
  }
  for (char c : p.substr(1)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Whether the phone text carries its own country code: a '+' before any
// digit (what the validator documents), then a digit other than 0. Country
// codes never start with 0, and libphonenumber reads "+00 45 ..." leniently
// as an international dialling prefix, which is region dependent.
bool WritesCountryCode(absl::string_view text) {
  bool plus = false;
  for (char c : text) {
    if (c == '+') plus = true;
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return plus && c != '0';
    }
  }
  return false;
}

void FuzzPhone(absl::string_view text) {
  // Regions with different trunk and international prefixes; "de" checks
  // that the region is upper-cased, "ZZ" is libphonenumber's unknown region.
  static constexpr absl::string_view kRegions[] = {"US", "de", "GB", "ZZ"};
  absl::StatusOr<std::string> results[4];
  for (size_t r = 0; r < 4; ++r) {
    results[r] = NormalizePhone(text, kRegions[r]);
    const absl::StatusOr<std::string>& phone = results[r];
    if (!phone.ok()) {
      CheckMessage(phone.status(), text);
      continue;
    }
    RAPPORT_FUZZ_CHECK(IsE164(*phone), Show(text), " -> ", Show(*phone));
    for (absl::string_view region : {kRegions[r], absl::string_view("JP")}) {
      const absl::StatusOr<std::string> again = NormalizePhone(*phone, region);
      RAPPORT_FUZZ_CHECK(again.ok() && *again == *phone, Show(*phone),
                         " is not a fixed point in ", region, ": ",
                         again.status());
    }
  }
  if (WritesCountryCode(absl::StripAsciiWhitespace(text))) {
    for (size_t r = 1; r < 4; ++r) {
      RAPPORT_FUZZ_CHECK(results[r].ok() == results[0].ok() &&
                             (!results[0].ok() || *results[r] == *results[0]),
                         Show(text), " reads differently in ", kRegions[r],
                         " and US");
    }
  }
}

void FuzzIds(absl::string_view text) {
  // The documented grammar: 1-19 digits, no leading zero, <= INT64_MAX.
  bool want = !text.empty() && text.size() <= 19 && text[0] != '0';
  for (char c : text) {
    want = want && absl::ascii_isdigit(static_cast<unsigned char>(c));
  }
  if (want && text.size() == 19) want = text <= "9223372036854775807";
  const absl::StatusOr<int64_t> id = validation::ParseId(text, "contact_id");
  RAPPORT_FUZZ_CHECK(id.ok() == want, Show(text), ": ", id.status());
  if (id.ok()) {
    RAPPORT_FUZZ_CHECK(*id > 0 && absl::StrCat(*id) == text, *id);
  } else {
    CheckMessage(id.status(), text);
    RAPPORT_FUZZ_CHECK(absl::StartsWith(id.status().message(), "contact_id: "),
                       id.status());
  }

  bool printable = text.size() <= validation::kMaxRequestIdChars;
  for (char c : text) printable = printable && c >= 0x21 && c <= 0x7e;
  const absl::Status request_id = validation::ValidateRequestId(text);
  RAPPORT_FUZZ_CHECK(request_id.ok() == printable, Show(text), ": ",
                     request_id);
  if (!request_id.ok()) {
    CheckMessage(request_id, text);
    RAPPORT_FUZZ_CHECK(absl::StartsWith(request_id.message(), "request_id: "));
  }
}

void FuzzCodes(absl::string_view text) {
  const absl::Status region = validation::ValidatePhoneRegion(text);
  if (region.ok()) {
    RAPPORT_FUZZ_CHECK(text.size() == 2, Show(text));
  } else {
    CheckMessage(region, text);
  }
  if (validation::IsCurrencyCode(text)) {
    RAPPORT_FUZZ_CHECK(text.size() == 3 && text != "XTS" && text != "XXX" &&
                           absl::AsciiStrToUpper(text) == text,
                       Show(text));
  }
  if (validation::IsCountryCode(text)) {
    RAPPORT_FUZZ_CHECK(text.size() == 2 && absl::AsciiStrToUpper(text) == text,
                       Show(text));
  }
}

}  // namespace
}  // namespace rapport::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  rapport::fuzz::FuzzEmail(text);
  rapport::fuzz::FuzzPhone(text);
  rapport::fuzz::FuzzIds(text);
  rapport::fuzz::FuzzCodes(text);
  return 0;
}
