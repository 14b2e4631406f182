// UTF-8 primitives shared by validation, storage, the audit log, event
// delivery and error messages: one decoder, one safe cut.
// Thread-safe (pure functions).
#ifndef RAPPORT_SERVER_COMMON_UTF8_H_
#define RAPPORT_SERVER_COMMON_UTF8_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace rapport {

// Decodes the code point at the front of `text`. Returns its length in
// bytes (1-4) and, when `code_point` is not null, stores it there; returns 0
// when `text` is empty or does not start with well-formed UTF-8 (overlong
// forms, surrogates and values above U+10FFFF are ill-formed, as MySQL's
// utf8mb4 sees them in strict mode).
size_t DecodeUtf8(absl::string_view text, uint32_t* code_point = nullptr);

// The longest prefix of `text` of at most `max_bytes` bytes that does not
// end inside a multi-byte sequence (`text` itself when it fits).
absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes);

}  // namespace rapport

#endif  // RAPPORT_SERVER_COMMON_UTF8_H_
