// Text helpers shared by the validators: UTF-8 checks, code point counting,
// control character rules, quoting user input for messages and building
// INVALID_ARGUMENT errors with a field path. Not part of the validation API.
// Thread-safe (pure functions).
#ifndef RAPPORT_SERVER_VALIDATION_INTERNAL_TEXT_H_
#define RAPPORT_SERVER_VALIDATION_INTERNAL_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/map.h"

namespace rapport::validation::internal {

// True if `text` is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// Number of code points in `text`. REQUIRES: IsValidUtf8(text).
size_t CountCodePoints(absl::string_view text);

// The first `max_chars` code points of `text`. REQUIRES: IsValidUtf8(text).
absl::string_view TruncateCodePoints(absl::string_view text, size_t max_chars);

// `text` in double quotes for an error message: at most 64 code points (then
// "..."), with quotes, backslashes, control characters and invalid UTF-8
// escaped.
std::string Quote(absl::string_view text);

// INVALID_ARGUMENT "<path>: <message>".
absl::Status FieldError(absl::string_view path, absl::string_view message);

// `status` with "<path>: " put before its message (OK stays OK).
absl::Status WithPath(const absl::Status& status, absl::string_view path);

enum class Lines {
  kSingle,    // no control characters at all
  kMultiple,  // tab, LF and CR allowed
};

// Checks that `text` is valid UTF-8 without forbidden control characters and
// at most `max_chars` code points. Returns INVALID_ARGUMENT naming `path`.
absl::Status CheckText(absl::string_view text, absl::string_view path,
                       size_t max_chars, Lines lines);

// Trims ASCII whitespace from `text` in place, then CheckText(kSingle).
absl::Status TrimAndCheck(std::string* text, absl::string_view path,
                          size_t max_chars);

// Validates custom-field attributes (Contact.attributes and
// Interaction.attributes): key syntax, value length, entry count. `path` is
// e.g. "contact.attributes".
absl::Status CheckAttributes(
    const google::protobuf::Map<std::string, std::string>& attributes,
    absl::string_view path);

// True if `key` matches [a-z][a-z0-9_]{0,63}.
bool IsAttributeKey(absl::string_view key);

}  // namespace rapport::validation::internal

#endif  // RAPPORT_SERVER_VALIDATION_INTERNAL_TEXT_H_
