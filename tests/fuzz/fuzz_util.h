// Helpers shared by the fuzz targets: an invariant check that aborts (so
// libFuzzer saves the input), UTF-8 and status checks, and a tokenizer that
// proves generated SQL is built only from known words. Header-only, so every
// fuzzer stays one translation unit.
#ifndef RAPPORT_TESTS_FUZZ_FUZZ_UTIL_H_
#define RAPPORT_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/common/sql_param.h"

// Aborts with a message made of the remaining arguments (anything with an
// operator<<, e.g. absl::Status) when `cond` is false.
// Unlike assert() it is active in optimised builds, and abort() is what
// libFuzzer treats as a crash: it writes the input to an artifact file.
#define RAPPORT_FUZZ_CHECK(cond, ...)                               \
  do {                                                              \
    if (!(cond)) {                                                  \
      ::rapport::fuzz::Fail(__FILE__, __LINE__, #cond,              \
                            ::rapport::fuzz::Message(__VA_ARGS__)); \
    }                                                               \
  } while (0)

namespace rapport::fuzz {

template <typename... Args>
std::string Message(const Args&... args) {
  std::ostringstream out;
  static_cast<void>((out << ... << args));
  return out.str();
}

[[noreturn]] inline void Fail(const char* file, int line, const char* cond,
                              const std::string& what) {
  std::fprintf(stderr, "\n=== fuzz invariant violated at %s:%d\n  %s\n  %s\n",
               file, line, cond, what.c_str());
  std::fflush(stderr);
  std::abort();
}

// `text` C-escaped, for failure messages: inputs are arbitrary bytes.
inline std::string Show(absl::string_view text) {
  return absl::StrCat("\"", absl::CHexEscape(text), "\"");
}

// The error contract of every function under test: hostile input yields OK
// or INVALID_ARGUMENT, never INTERNAL, UNKNOWN or a crash.
inline bool OkOrInvalid(const absl::Status& s) {
  return s.ok() || s.code() == absl::StatusCode::kInvalidArgument;
}

// Well-formed UTF-8: no overlong forms, surrogates or code points above
// U+10FFFF. Written out here rather than borrowed from the code under test,
// so a bug there cannot hide itself.
inline bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
      cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      cp = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      cp = b0 & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// True if `s` has an ASCII control byte (error messages must escape them:
// they end up in logs and in gRPC status text).
inline bool HasControlByte(absl::string_view s) {
  for (char c : s) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

// SqlParam equality with doubles compared bit for bit (NaN == NaN, and
// -0.0 != 0.0), which is what a token round trip must preserve.
inline bool SameParam(const SqlParam& a, const SqlParam& b) {
  if (a.index() != b.index()) return false;
  if (const double* da = std::get_if<double>(&a)) {
    const double db = std::get<double>(b);
    return std::memcmp(da, &db, sizeof db) == 0;
  }
  return a == b;
}

inline std::string ShowParam(const SqlParam& p) {
  if (std::holds_alternative<std::monostate>(p)) return "NULL";
  if (const bool* b = std::get_if<bool>(&p)) return *b ? "true" : "false";
  if (const int64_t* n = std::get_if<int64_t>(&p)) return absl::StrCat(*n);
  if (const double* d = std::get_if<double>(&p)) return absl::StrCat(*d, "d");
  return Show(std::get<std::string>(p));
}

// What generated SQL may be made of. Words are compared case-sensitively:
// the generators write keywords upper case and names lower case.
struct SqlVocabulary {
  absl::flat_hash_set<std::string> words;
  // Subquery aliases: one of these prefixes followed by digits ("e1").
  absl::flat_hash_set<std::string> alias_prefixes;
  // Whole string literals, quotes included, e.g. "''" and "'!'".
  absl::flat_hash_set<std::string> literals;
  // Numeric literals, e.g. "1" in "SELECT 1".
  absl::flat_hash_set<std::string> numbers;
};

// Splits `sql` into tokens and checks each against `vocab`. Returns "" when
// the SQL is made only of known words, known literals, operators and `?`,
// else a description of the first unknown token. Sets *placeholders to the
// number of `?` outside literals. This is the "no request text is ever
// spliced into SQL" check: request text can only reach the database as a
// bound parameter.
inline std::string CheckSqlTokens(absl::string_view sql,
                                  const SqlVocabulary& vocab,
                                  size_t* placeholders) {
  *placeholders = 0;
  int depth = 0;
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == ' ') {
      ++i;
      continue;
    }
    if (c == '?') {
      ++*placeholders;
      ++i;
      continue;
    }
    if (c == '(' || c == ')') {
      depth += c == '(' ? 1 : -1;
      if (depth < 0) return absl::StrCat("unbalanced ')' at ", i);
      ++i;
      continue;
    }
    if (c == ',' || c == '.') {
      ++i;
      continue;
    }
    if (c == '=' || c == '<' || c == '>') {
      // =, <, <=, <>, >, >=
      const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
      const bool two = (c == '<' && (next == '=' || next == '>')) ||
                       (c == '>' && next == '=');
      i += two ? 2 : 1;
      continue;
    }
    if (c == '\'') {
      const size_t end = sql.find('\'', i + 1);
      if (end == absl::string_view::npos) {
        return absl::StrCat("unterminated literal at ", i);
      }
      const std::string literal(sql.substr(i, end + 1 - i));
      if (!vocab.literals.contains(literal)) {
        return absl::StrCat("unknown literal ", Show(literal), " at ", i);
      }
      i = end + 1;
      continue;
    }
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = i;
      while (end < sql.size() &&
             (absl::ascii_isalnum(static_cast<unsigned char>(sql[end])) ||
              sql[end] == '_')) {
        ++end;
      }
      const std::string word(sql.substr(i, end - i));
      i = end;
      if (vocab.words.contains(word) || vocab.numbers.contains(word)) continue;
      const size_t digits = word.find_first_of("0123456789");
      if (digits != std::string::npos && digits > 0 &&
          vocab.alias_prefixes.contains(word.substr(0, digits)) &&
          word.find_first_not_of("0123456789", digits) == std::string::npos) {
        continue;
      }
      return absl::StrCat("unknown word ", Show(word));
    }
    return absl::StrCat("unexpected byte ", Show(sql.substr(i, 1)), " at ", i);
  }
  if (depth != 0) return "unbalanced '('";
  return "";
}

// Adds the dot-separated parts of a qualified name ("c.id" -> "c", "id").
inline void AddQualifiedName(absl::string_view name, SqlVocabulary& vocab) {
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == absl::string_view::npos) dot = name.size();
    if (dot > start)
      vocab.words.insert(std::string(name.substr(start, dot - start)));
    start = dot + 1;
  }
}

}  // namespace rapport::fuzz

#endif  // RAPPORT_TESTS_FUZZ_FUZZ_UTIL_H_
