// E-mail address normalisation (practical RFC 5321/5322 subset).

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/status_macros.h"
#include "server/validation/internal/text.h"
#include "server/validation/validation.h"

namespace rapport::validation {
namespace {

using internal::Quote;

constexpr size_t kMaxLocalPartChars = 64;
constexpr size_t kMaxDomainChars = 253;
constexpr size_t kMaxLabelChars = 63;

// RFC 5322 atext, lower case only (the input is lower-cased first).
bool IsAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

absl::Status Bad(absl::string_view email, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(Quote(email), " is not a valid e-mail address: ", why));
}

absl::Status CheckLocalPart(absl::string_view email, absl::string_view local) {
  if (local.empty()) return Bad(email, "the part before '@' is empty");
  if (local.size() > kMaxLocalPartChars) {
    return Bad(email, absl::StrCat("the part before '@' has more than ",
                                   kMaxLocalPartChars, " characters (",
                                   local.size(), ")"));
  }
  if (local.front() == '"') {
    return Bad(email, "quoted local parts (\"...\"@) are not supported");
  }
  if (local.front() == '.' || local.back() == '.') {
    return Bad(email, "the part before '@' must not start or end with '.'");
  }
  if (absl::StrContains(local, "..")) {
    return Bad(email, "the part before '@' must not contain \"..\"");
  }
  for (char c : local) {
    if (c != '.' && !IsAtext(c)) {
      return Bad(email,
                 absl::StrCat("the character ", Quote(absl::string_view(&c, 1)),
                              " is not allowed before '@'"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckDomain(absl::string_view email, absl::string_view domain) {
  if (domain.empty()) return Bad(email, "the domain after '@' is missing");
  if (domain.front() == '[') {
    return Bad(email, "IP address literals are not supported; use a domain");
  }
  if (domain.size() > kMaxDomainChars) {
    return Bad(email, absl::StrCat("the domain has more than ", kMaxDomainChars,
                                   " characters (", domain.size(), ")"));
  }
  std::vector<absl::string_view> labels = absl::StrSplit(domain, '.');
  if (labels.size() < 2) {
    return Bad(email, absl::StrCat("the domain ", Quote(domain),
                                   " needs at least two labels, e.g. "
                                   "\"example.com\""));
  }
  for (absl::string_view label : labels) {
    if (label.empty()) {
      return Bad(email,
                 "the domain has an empty label (a leading, trailing "
                 "or double '.')");
    }
    if (label.size() > kMaxLabelChars) {
      return Bad(email, absl::StrCat("the domain label ", Quote(label),
                                     " has more than ", kMaxLabelChars,
                                     " characters"));
    }
    if (label.front() == '-' || label.back() == '-') {
      return Bad(email, absl::StrCat("the domain label ", Quote(label),
                                     " must not start or end with '-'"));
    }
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
        return Bad(email, absl::StrCat(
                              "the character ", Quote(absl::string_view(&c, 1)),
                              " is not allowed in the domain (only letters, "
                              "digits, '-' and '.')"));
      }
    }
  }
  const absl::string_view tld = labels.back();
  bool all_digits = true;
  for (char c : tld) all_digits = all_digits && absl::ascii_isdigit(c);
  if (all_digits) {
    return Bad(email, absl::StrCat("the top-level domain ", Quote(tld),
                                   " must not be all digits"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> NormalizeEmail(absl::string_view raw) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(raw);
  if (trimmed.empty()) {
    return absl::InvalidArgumentError("an e-mail address must not be empty");
  }
  for (char c : trimmed) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return Bad(trimmed,
                 "it contains non-ASCII characters; write an "
                 "internationalised domain in punycode (\"xn--...\"), "
                 "non-ASCII local parts are not supported");
    }
  }
  std::string email = absl::AsciiStrToLower(trimmed);
  if (email.size() > kMaxEmailChars) {
    return Bad(email, absl::StrCat("at most ", kMaxEmailChars,
                                   " characters (got ", email.size(), ")"));
  }
  if (email.front() == '"') {
    return Bad(email, "quoted local parts (\"...\"@) are not supported");
  }
  for (char c : email) {
    if (absl::ascii_iscntrl(c) || c == ' ') {
      return Bad(email, "it contains spaces or control characters");
    }
  }
  const size_t at = email.find('@');
  if (at == std::string::npos) return Bad(email, "it has no '@'");
  if (email.find('@', at + 1) != std::string::npos) {
    return Bad(email, "it has more than one '@'");
  }
  const absl::string_view view = email;
  RAPPORT_RETURN_IF_ERROR(CheckLocalPart(email, view.substr(0, at)));
  RAPPORT_RETURN_IF_ERROR(CheckDomain(email, view.substr(at + 1)));
  return email;
}

}  // namespace rapport::validation
