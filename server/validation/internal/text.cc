#include "server/validation/internal/text.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/utf8.h"
#include "server/validation/validation.h"

namespace rapport::validation::internal {
namespace {

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  while (!text.empty()) {
    // Fast path for ASCII.
    if (static_cast<unsigned char>(text[0]) < 0x80) {
      text.remove_prefix(1);
      continue;
    }
    uint32_t cp;
    const size_t len = DecodeUtf8(text, &cp);
    if (len == 0) return false;
    text.remove_prefix(len);
  }
  return true;
}

size_t CountCodePoints(absl::string_view text) {
  size_t count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

absl::string_view TruncateCodePoints(absl::string_view text, size_t max_chars) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (count == max_chars) return text.substr(0, i);
      ++count;
    }
  }
  return text;
}

std::string Quote(absl::string_view text) {
  constexpr size_t kMaxQuotedChars = 64;
  std::string out = "\"";
  size_t chars = 0;
  while (!text.empty()) {
    if (chars == kMaxQuotedChars) {
      out += "...";
      break;
    }
    ++chars;
    uint32_t cp;
    const size_t len = DecodeUtf8(text, &cp);
    if (len == 0) {
      absl::StrAppendFormat(&out, "\\x%02x",
                            static_cast<unsigned char>(text[0]));
      text.remove_prefix(1);
      continue;
    }
    if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (IsControl(cp)) {
      absl::StrAppendFormat(&out, "\\u%04x", cp);
    } else {
      out.append(text.data(), len);
    }
    text.remove_prefix(len);
  }
  out += '"';
  return out;
}

absl::Status FieldError(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

absl::Status WithPath(const absl::Status& status, absl::string_view path) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(path, ": ", status.message()));
}

absl::Status CheckText(absl::string_view text, absl::string_view path,
                       size_t max_chars, Lines lines) {
  size_t chars = 0;
  size_t offset = 0;
  absl::string_view rest = text;
  while (!rest.empty()) {
    uint32_t cp;
    const size_t len = DecodeUtf8(rest, &cp);
    if (len == 0) {
      return FieldError(
          path, absl::StrFormat("not valid UTF-8 (bad byte 0x%02x at "
                                "byte offset %d)",
                                static_cast<unsigned char>(rest[0]), offset));
    }
    if (IsControl(cp) && !(lines == Lines::kMultiple &&
                           (cp == '\t' || cp == '\n' || cp == '\r'))) {
      return FieldError(
          path,
          absl::StrFormat(
              "contains the control character U+%04X at "
              "character %d; remove it%s",
              cp, chars + 1,
              lines == Lines::kSingle ? " (this field is one line)" : ""));
    }
    ++chars;
    offset += len;
    rest.remove_prefix(len);
  }
  if (chars > max_chars) {
    return FieldError(path, absl::StrCat("at most ", max_chars,
                                         " characters (got ", chars, ")"));
  }
  return absl::OkStatus();
}

absl::Status TrimAndCheck(std::string* text, absl::string_view path,
                          size_t max_chars) {
  absl::StripAsciiWhitespace(text);
  return CheckText(*text, path, max_chars, Lines::kSingle);
}

bool IsAttributeKey(absl::string_view key) {
  if (key.empty() || key.size() > kMaxAttributeKeyChars) return false;
  if (key[0] < 'a' || key[0] > 'z') return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

absl::Status CheckAttributes(
    const google::protobuf::Map<std::string, std::string>& attributes,
    absl::string_view path) {
  if (attributes.size() > kMaxAttributes) {
    return FieldError(path,
                      absl::StrCat("at most ", kMaxAttributes, " entries (got ",
                                   attributes.size(), ")"));
  }
  // Sorted, so that the first error reported does not depend on hash order.
  std::vector<const std::string*> keys;
  keys.reserve(attributes.size());
  for (const auto& [key, value] : attributes) keys.push_back(&key);
  std::sort(keys.begin(), keys.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  for (const std::string* key : keys) {
    if (!IsAttributeKey(*key)) {
      return FieldError(
          path, absl::StrCat("key ", Quote(*key),
                             " is not valid; keys are 1-64 characters of "
                             "a-z, 0-9 and '_', starting with a letter "
                             "(e.g. \"loyalty_tier\")"));
    }
  }
  for (const std::string* key : keys) {
    absl::Status s =
        CheckText(attributes.at(*key), absl::StrCat(path, ".", *key),
                  kMaxAttributeValueChars, Lines::kMultiple);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace rapport::validation::internal
