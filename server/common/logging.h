// Structured logging: one JSON object per line on stderr, with a UTC
// timestamp, a level, a message and key/value fields (e.g. request_id).
// Thread-safe: each line is written with a single write(2).
#ifndef RAPPORT_SERVER_COMMON_LOGGING_H_
#define RAPPORT_SERVER_COMMON_LOGGING_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace rapport::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below `level` are dropped. Default kInfo.
void SetMinLevel(Level level);
// Parses "debug", "info", "warning", "error". Returns false on anything else.
bool ParseLevel(absl::string_view text, Level* level);

// One key/value pair of a log line. Numbers and booleans are written as JSON
// numbers and booleans, everything else as a JSON string.
struct Field {
  Field(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  Field(absl::string_view k, const std::string& v) : key(k), value(v) {}
  Field(absl::string_view k, const char* v) : key(k), value(v) {}
  Field(absl::string_view k, int64_t v)
      : key(k), value(absl::StrCat(v)), raw(true) {}
  Field(absl::string_view k, int v) : Field(k, static_cast<int64_t>(v)) {}
  Field(absl::string_view k, uint64_t v)
      : key(k), value(absl::StrCat(v)), raw(true) {}
  Field(absl::string_view k, double v)
      : key(k), value(absl::StrCat(v)), raw(true) {}
  Field(absl::string_view k, bool v)
      : key(k), value(v ? "true" : "false"), raw(true) {}
  absl::string_view key;
  std::string value;
  bool raw = false;  // true: `value` is already valid JSON
};

void Log(Level level, absl::string_view message,
         std::initializer_list<Field> fields = {});

inline void Debug(absl::string_view m, std::initializer_list<Field> f = {}) {
  Log(Level::kDebug, m, f);
}
inline void Info(absl::string_view m, std::initializer_list<Field> f = {}) {
  Log(Level::kInfo, m, f);
}
inline void Warning(absl::string_view m, std::initializer_list<Field> f = {}) {
  Log(Level::kWarning, m, f);
}
inline void Error(absl::string_view m, std::initializer_list<Field> f = {}) {
  Log(Level::kError, m, f);
}

// Appends `text` to `out` as the body of a JSON string (no quotes).
void AppendJsonEscaped(absl::string_view text, std::string* out);

}  // namespace rapport::log

#endif  // RAPPORT_SERVER_COMMON_LOGGING_H_
