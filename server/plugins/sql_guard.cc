#include "server/plugins/sql_guard.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/common/status_macros.h"

// How it works: Tokenize() turns the text into words, quoted names, strings,
// numbers and punctuation (comments dropped). Checker then walks the tokens
// once with a stack of parenthesis frames. Each frame knows whether FROM
// names tables in it (the statement level, a subquery, a parenthesized table
// list; not a function call such as EXTRACT(YEAR FROM x)), whether a ','
// there starts another table reference (inside a FROM/UPDATE/DROP TABLE
// list, until WHERE, GROUP, HAVING, ORDER, LIMIT, SET, INTO, ...), whether
// tables named there are read or written, and which CTE names it defines.
//
// Deliberately refused although valid (rewrite the statement instead):
//   - multi-table UPDATE/DELETE joining a table outside the prefix: every
//     table at the statement level of an UPDATE/DELETE counts as written;
//     join core tables through a derived table (JOIN (SELECT ...) c) or use
//     a subquery in WHERE/SET;
//   - a named WINDOW list or DELETE ... RETURNING a, b after a bare FROM
//     list (the ',' looks like another table);
//   - table functions such as JSON_TABLE(), which look like a table name;
//   - CREATE TEMPORARY / CREATE OR REPLACE; storage engines other than
//     InnoDB, Aria, MyISAM and MEMORY; DATA/INDEX DIRECTORY; a column named
//     `engine` in DDL must be quoted.
// Not caught: calls of stored functions of the current schema, and tables
// of another plugin whose prefix begins with this plugin's prefix (the host
// must not hand out overlapping prefixes).

namespace rapport::plugins {
namespace {

constexpr absl::string_view kCoreReadableTables[] = {
    "contacts",     "contact_emails",     "contact_phones",
    "contact_tags", "contact_attributes", "interactions"};

constexpr absl::string_view kAllowedEngines[] = {"innodb", "aria", "myisam",
                                                 "memory"};

// Reserved words that end a FROM/UPDATE table list at the same level: after
// them a ',' no longer separates tables. All are reserved in MySQL and
// MariaDB, so none can be a bare column name used to end a list early.
constexpr absl::string_view kListEnders[] = {"WHERE", "GROUP", "HAVING",
                                             "ORDER", "LIMIT", "SET",
                                             "INTO",  "LOCK",  "PROCEDURE"};

enum class TokenKind { kEnd, kWord, kQuotedName, kString, kNumber, kPunct };

struct Token {
  TokenKind kind = TokenKind::kEnd;
  // Words as written; quoted names and strings without quotes and escapes;
  // punctuation as its one character.
  std::string text;
};

bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

// Letters, digits, '_', '$' and any byte of a UTF-8 multi-byte character.
bool IsWordChar(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

// Reads a literal or name quoted by `quote` starting at sql[start]; doubled
// quotes stand for one, and in strings a backslash escapes the next byte.
// Returns the offset after the closing quote, or npos if unterminated.
size_t ReadQuoted(absl::string_view sql, size_t start, bool backslash,
                  std::string* text) {
  const char quote = sql[start];
  size_t i = start + 1;
  while (i < sql.size()) {
    const char c = sql[i];
    if (backslash && c == '\\') {
      if (i + 1 < sql.size()) text->push_back(sql[i + 1]);
      i += 2;
    } else if (c == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        text->push_back(quote);
        i += 2;
      } else {
        return i + 1;
      }
    } else {
      text->push_back(c);
      ++i;
    }
  }
  return absl::string_view::npos;
}

absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view sql) {
  if (sql.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("statement contains a NUL byte");
  }
  std::vector<Token> tokens;
  const size_t n = sql.size();
  auto at = [&](size_t i) -> unsigned char { return i < n ? sql[i] : 0; };
  size_t i = 0;
  while (i < n) {
    const unsigned char c = sql[i];
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    // "-- " needs a space or control character after the dashes, as in
    // MySQL; "--x" is two minus signs. Both kinds end at '\n' only.
    if (c == '#' || (c == '-' && at(i + 1) == '-' &&
                     (i + 2 == n || at(i + 2) <= ' ' || at(i + 2) == 0x7f))) {
      while (i < n && sql[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && at(i + 1) == '*') {
      if (at(i + 2) == '!' ||
          ((at(i + 2) == 'M' || at(i + 2) == 'm') && at(i + 3) == '!')) {
        return absl::PermissionDeniedError(
            "plugins may not use executable comments (/*! ... */); write the "
            "SQL plainly");
      }
      const size_t end = sql.find("*/", i + 2);
      if (end == absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("unterminated /* comment starting at offset ", i));
      }
      i = end + 2;
      continue;
    }
    Token token;
    if (c == '\'' || c == '"' || c == '`') {
      const bool name = c == '`';
      token.kind = name ? TokenKind::kQuotedName : TokenKind::kString;
      const size_t end = ReadQuoted(sql, i, /*backslash=*/!name, &token.text);
      if (end == absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("unterminated ", name ? "quoted name" : "string",
                         " starting at offset ", i));
      }
      i = end;
    } else if (IsWordChar(c)) {
      size_t end = i;
      while (end < n && IsWordChar(at(end))) ++end;
      token.text = std::string(sql.substr(i, end - i));
      // A run of digits is a number ("1", "1.5", "1.5e3"); "1abc" is a name.
      const bool digits =
          token.text.find_first_not_of("0123456789") == std::string::npos;
      if (digits && at(end) == '.') {
        ++end;
        while (end < n && IsWordChar(at(end))) ++end;
        token.text = std::string(sql.substr(i, end - i));
      }
      token.kind = digits ? TokenKind::kNumber : TokenKind::kWord;
      i = end;
    } else if (c < ' ' || c == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrCat("statement contains control character ",
                       static_cast<int>(c), " at offset ", i));
    } else {
      if (c == '@' && at(i + 1) == '@') {
        return absl::PermissionDeniedError(
            "plugins may not use system variables (@@...)");
      }
      token.kind = TokenKind::kPunct;
      token.text = std::string(1, static_cast<char>(c));
      ++i;
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

bool Contains(absl::Span<const absl::string_view> list,
              absl::string_view word) {
  for (absl::string_view item : list) {
    if (absl::EqualsIgnoreCase(item, word)) return true;
  }
  return false;
}

class Checker {
 public:
  Checker(std::vector<Token> tokens, absl::string_view prefix, StatementUse use)
      : tokens_(std::move(tokens)),
        prefix_(absl::AsciiStrToLower(prefix)),
        use_(use) {}

  absl::Status Run();

 private:
  enum class Access { kRead, kWrite };

  // One level of parentheses; frames_[0] is the statement itself.
  struct Frame {
    Access access = Access::kRead;  // of tables FROM/JOIN/',' name here
    bool query = false;             // FROM names tables here
    bool in_list = false;           // a ',' here starts a table reference
    bool head_pending = false;      // a WITH clause just ended here
    bool cte_body = false;          // this is "name AS ( ... )" of a WITH
    bool cte_recursive = false;
    std::string cte_name;           // lower case
    std::vector<std::string> ctes;  // CTE names visible here, lower case
  };

  const Token& Peek(size_t i) const {
    return i < tokens_.size() ? tokens_[i] : end_;
  }
  bool IsWord(size_t i, absl::string_view word) const {
    return Peek(i).kind == TokenKind::kWord &&
           absl::EqualsIgnoreCase(Peek(i).text, word);
  }
  bool IsPunct(size_t i, char c) const {
    return Peek(i).kind == TokenKind::kPunct && Peek(i).text[0] == c;
  }
  bool IsName(size_t i) const {
    return Peek(i).kind == TokenKind::kWord ||
           Peek(i).kind == TokenKind::kQuotedName;
  }
  bool AtStatementLevel() const { return frames_.size() == 1; }
  bool IsDdl() const {
    return head_ == "CREATE" || head_ == "ALTER" || head_ == "DROP" ||
           head_ == "RENAME" || head_ == "TRUNCATE";
  }
  void SkipWords(absl::Span<const absl::string_view> words) {
    while (Peek(pos_).kind == TokenKind::kWord &&
           Contains(words, Peek(pos_).text)) {
      ++pos_;
    }
  }
  void SkipIfExists() {
    if (!IsWord(pos_, "IF")) return;
    ++pos_;
    if (IsWord(pos_, "NOT")) ++pos_;
    if (IsWord(pos_, "EXISTS")) ++pos_;
  }
  void OpenParen(Frame frame) {
    frames_.push_back(std::move(frame));
    ++pos_;
  }

  absl::Status Head(bool after_with);
  absl::Status Ddl();
  absl::Status IndexOnTable(absl::string_view what);
  absl::Status Step();
  absl::Status Keyword();
  absl::Status CloseParen();
  absl::Status With(bool required);
  absl::Status Cte(bool recursive);
  absl::Status TableRef(Access access, absl::string_view after);
  absl::Status CheckTable(const Token& name, Access access) const;
  absl::Status CheckEngine();

  const std::vector<Token> tokens_;
  const std::string prefix_;
  const StatementUse use_;
  const Token end_;
  size_t pos_ = 0;
  std::string head_;  // the statement's first keyword, upper case
  std::vector<Frame> frames_;
  // CREATE TABLE t LIKE u / CREATE TABLE t (LIKE u): where LIKE may follow.
  size_t create_target_end_ = absl::string_view::npos;
  // DELETE FROM t USING <tables>: the first USING names tables.
  bool delete_using_ok_ = false;
};

absl::Status Checker::Run() {
  if (tokens_.empty()) return absl::InvalidArgumentError("empty statement");
  Frame statement;
  statement.query = true;
  frames_.push_back(std::move(statement));

  size_t first = 0;
  while (IsPunct(first, '(')) ++first;
  if (Peek(first).kind != TokenKind::kWord) {
    return absl::InvalidArgumentError(
        "a statement must start with a keyword such as SELECT");
  }
  if (first > 0) {  // (SELECT ...) UNION (SELECT ...)
    if (!IsWord(first, "SELECT") && !IsWord(first, "WITH")) {
      return absl::PermissionDeniedError(
          absl::StrCat("plugins may not run ",
                       absl::AsciiStrToUpper(Peek(first).text), " statements"));
    }
    head_ = "SELECT";
  } else {
    RAPPORT_RETURN_IF_ERROR(Head(/*after_with=*/false));
  }
  while (pos_ < tokens_.size()) RAPPORT_RETURN_IF_ERROR(Step());
  if (!AtStatementLevel()) {
    return absl::InvalidArgumentError("unbalanced parentheses: missing ')'");
  }
  if (frames_[0].head_pending) {
    return absl::InvalidArgumentError(
        "a WITH clause must be followed by SELECT, UPDATE or DELETE");
  }
  return absl::OkStatus();
}

// The statement's first keyword at pos_ (or the one after a leading WITH).
absl::Status Checker::Head(bool after_with) {
  const std::string word = absl::AsciiStrToUpper(Peek(pos_).text);
  if (word == "SELECT") {  // Step() handles it
    head_ = word;
    return absl::OkStatus();
  }
  if (word == "WITH" && !after_with) return With(/*required=*/true);
  if (after_with && word != "UPDATE" && word != "DELETE") {
    return absl::PermissionDeniedError(
        absl::StrCat("plugins may not run WITH ... ", word, " statements"));
  }
  Frame& statement = frames_[0];
  if (word == "INSERT" || word == "REPLACE") {
    head_ = word;
    ++pos_;
    SkipWords({"LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE"});
    if (IsWord(pos_, "INTO")) ++pos_;
    return TableRef(Access::kWrite, absl::StrCat(word, " INTO"));
  }
  if (word == "UPDATE") {
    head_ = word;
    ++pos_;
    SkipWords({"LOW_PRIORITY", "IGNORE"});
    statement.access = Access::kWrite;
    statement.in_list = true;
    return TableRef(Access::kWrite, word);
  }
  if (word == "DELETE") {
    head_ = word;
    ++pos_;
    SkipWords({"LOW_PRIORITY", "QUICK", "IGNORE"});
    statement.access = Access::kWrite;
    if (IsWord(pos_, "FROM")) {  // Step() reads the FROM list
      delete_using_ok_ = true;
      return absl::OkStatus();
    }
    // DELETE t1[.*], t2 FROM <tables>: the targets name tables of the FROM
    // list, which are all checked as written there.
    while (!IsWord(pos_, "FROM")) {
      if (IsName(pos_) && IsPunct(pos_ + 1, '.') && IsName(pos_ + 2)) {
        return absl::PermissionDeniedError(
            absl::StrCat("plugins may not name other schemas (\"",
                         Peek(pos_).text, ".", Peek(pos_ + 2).text, "\")"));
      }
      if (!IsName(pos_) && !IsPunct(pos_, '.') && !IsPunct(pos_, '*') &&
          !IsPunct(pos_, ',')) {
        return absl::InvalidArgumentError(
            "expected DELETE [FROM] <table> or DELETE <tables> FROM ...");
      }
      ++pos_;
    }
    return absl::OkStatus();
  }
  if (word == "CREATE" || word == "ALTER" || word == "DROP" ||
      word == "RENAME" || word == "TRUNCATE") {
    if (use_ != StatementUse::kMigration) {
      return absl::PermissionDeniedError(absl::StrCat(
          "plugins may not run ", word,
          " statements outside a migration; change the schema in a "
          "Migration"));
    }
    head_ = word;
    return Ddl();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("plugins may not run ", word, " statements"));
}

absl::Status Checker::Ddl() {
  ++pos_;
  auto refuse = [&]() {
    return absl::PermissionDeniedError(absl::StrCat(
        "plugins may not run ", head_, " ",
        absl::AsciiStrToUpper(Peek(pos_).text),
        " statements; migrations may CREATE/ALTER/DROP/RENAME/TRUNCATE "
        "TABLE and CREATE/DROP INDEX"));
  };
  if (head_ == "CREATE") {
    if (IsWord(pos_, "TABLE")) {
      ++pos_;
      SkipIfExists();
      RAPPORT_RETURN_IF_ERROR(TableRef(Access::kWrite, "CREATE TABLE"));
      create_target_end_ = pos_;
      return absl::OkStatus();
    }
    SkipWords({"UNIQUE", "FULLTEXT", "SPATIAL"});
    if (!IsWord(pos_, "INDEX")) return refuse();
    ++pos_;
    return IndexOnTable("CREATE INDEX");
  }
  if (head_ == "ALTER") {
    SkipWords({"ONLINE", "OFFLINE", "IGNORE"});
    if (!IsWord(pos_, "TABLE")) return refuse();
    ++pos_;
    SkipIfExists();
    return TableRef(Access::kWrite, "ALTER TABLE");
  }
  if (head_ == "DROP") {
    if (IsWord(pos_, "INDEX")) {
      ++pos_;
      return IndexOnTable("DROP INDEX");
    }
    if (!IsWord(pos_, "TABLE")) return refuse();
    ++pos_;
    SkipIfExists();
    frames_[0].access = Access::kWrite;
    frames_[0].in_list = true;
    return TableRef(Access::kWrite, "DROP TABLE");
  }
  if (head_ == "RENAME") {
    if (!IsWord(pos_, "TABLE")) return refuse();
    ++pos_;
    frames_[0].access = Access::kWrite;
    frames_[0].in_list = true;  // RENAME TABLE a TO b, c TO d
    return TableRef(Access::kWrite, "RENAME TABLE");
  }
  // TRUNCATE [TABLE] t
  if (IsWord(pos_, "TABLE")) ++pos_;
  return TableRef(Access::kWrite, "TRUNCATE");
}

// [IF [NOT] EXISTS] name [USING type] ON <table>
absl::Status Checker::IndexOnTable(absl::string_view what) {
  SkipIfExists();
  if (IsName(pos_) && !IsWord(pos_, "ON")) ++pos_;
  if (IsWord(pos_, "USING")) pos_ += 2;
  if (!IsWord(pos_, "ON")) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", what, " <name> ON <table>"));
  }
  ++pos_;
  return TableRef(Access::kWrite, absl::StrCat(what, " ... ON"));
}

absl::Status Checker::Step() {
  const Token& token = Peek(pos_);
  switch (token.kind) {
    case TokenKind::kPunct:
      switch (token.text[0]) {
        case '(':
          if (frames_.back().head_pending) {  // WITH c AS (...) (SELECT ...)
            frames_.back().head_pending = false;
            if (AtStatementLevel() && head_.empty()) head_ = "SELECT";
          }
          OpenParen(Frame{});
          return absl::OkStatus();
        case ')':
          return CloseParen();
        case ',':
          ++pos_;
          if (frames_.back().in_list) {
            return TableRef(frames_.back().access, "','");
          }
          return absl::OkStatus();
        case '@':
          if (IsPunct(pos_ + 1, '@')) {
            return absl::PermissionDeniedError(
                "plugins may not use system variables (@@...)");
          }
          break;
      }
      ++pos_;
      return absl::OkStatus();
    case TokenKind::kWord:
    case TokenKind::kQuotedName:
      if (pos_ > 0 && IsPunct(pos_ - 1, '.')) break;  // t.column: a name
      // x.y.z names a schema; so does a schema-qualified function x.y().
      if (IsPunct(pos_ + 1, '.') && IsName(pos_ + 2) &&
          (IsPunct(pos_ + 3, '.') || IsPunct(pos_ + 3, '('))) {
        return absl::PermissionDeniedError(
            absl::StrCat("plugins may not name other schemas (\"", token.text,
                         ".", Peek(pos_ + 2).text, "\")"));
      }
      if (absl::EqualsIgnoreCase(token.text, "LOAD_FILE") &&
          IsPunct(pos_ + 1, '(')) {
        return absl::PermissionDeniedError(
            "plugins may not read server files (LOAD_FILE)");
      }
      if (token.kind == TokenKind::kWord) return Keyword();
      break;
    default:
      break;
  }
  ++pos_;
  return absl::OkStatus();
}

// An unquoted word at pos_ that is not the second half of "t.column".
absl::Status Checker::Keyword() {
  const std::string word = absl::AsciiStrToUpper(Peek(pos_).text);
  Frame& frame = frames_.back();
  if (frame.head_pending) {  // the statement a WITH clause belongs to
    frame.head_pending = false;
    if (AtStatementLevel() && head_.empty()) {
      if (word != "SELECT") return Head(/*after_with=*/true);
      head_ = word;
    }
  }
  if (word == "SELECT") {
    frame.query = true;
    frame.access = Access::kRead;
    frame.in_list = false;
    ++pos_;
    return absl::OkStatus();
  }
  if (word == "FROM") {
    ++pos_;
    if (!frame.query) return absl::OkStatus();  // EXTRACT(YEAR FROM x)
    frame.in_list = true;
    return TableRef(frame.access, word);
  }
  if (word == "JOIN" || (word == "STRAIGHT_JOIN" && frame.in_list)) {
    ++pos_;
    frame.in_list = true;
    if (IsWord(pos_, "LATERAL") && IsPunct(pos_ + 1, '(')) ++pos_;
    return TableRef(frame.access, word);
  }
  if (word == "TABLE") {  // TABLE t, INSERT ... TABLE t, WITH TABLE t
    ++pos_;
    return TableRef(
        IsDdl() && AtStatementLevel() ? Access::kWrite : frame.access, word);
  }
  if (word == "REFERENCES") {
    ++pos_;
    return TableRef(Access::kRead, word);
  }
  if (word == "LIKE" && create_target_end_ != absl::string_view::npos &&
      (pos_ == create_target_end_ ||
       (pos_ == create_target_end_ + 1 && IsPunct(create_target_end_, '(')))) {
    ++pos_;
    return TableRef(Access::kRead, "CREATE TABLE ... LIKE");
  }
  if (word == "INTO" &&
      (IsWord(pos_ + 1, "OUTFILE") || IsWord(pos_ + 1, "DUMPFILE"))) {
    return absl::PermissionDeniedError(
        absl::StrCat("plugins may not write server files (INTO ",
                     absl::AsciiStrToUpper(Peek(pos_ + 1).text), ")"));
  }
  if (word == "WITH") return With(/*required=*/false);
  if (word == "USING" && delete_using_ok_ && AtStatementLevel()) {
    delete_using_ok_ = false;  // DELETE FROM t USING <tables>
    ++pos_;
    frame.in_list = true;
    return TableRef(Access::kWrite, word);
  }
  if (word == "RENAME" && head_ == "ALTER" && AtStatementLevel()) {
    ++pos_;  // ALTER TABLE t RENAME [TO|AS] u, but not RENAME COLUMN/INDEX
    if (IsWord(pos_, "COLUMN") || IsWord(pos_, "INDEX") ||
        IsWord(pos_, "KEY")) {
      return absl::OkStatus();
    }
    if (IsWord(pos_, "TO") || IsWord(pos_, "AS")) ++pos_;
    return TableRef(Access::kWrite, "RENAME");
  }
  if (word == "TO" && head_ == "RENAME" && AtStatementLevel()) {
    ++pos_;
    return TableRef(Access::kWrite, word);
  }
  if (word == "FOR") {
    if (pos_ > 0 && IsWord(pos_ - 1, "VALUE")) {  // NEXT VALUE FOR sequence
      ++pos_;
      return TableRef(Access::kWrite, "VALUE FOR");
    }
    if (IsWord(pos_ + 1, "UPDATE") || IsWord(pos_ + 1, "SHARE")) {
      frame.in_list = false;                // locking clause
    } else if (IsWord(pos_ + 1, "JOIN")) {  // index hint: USE INDEX FOR JOIN
      ++pos_;
    } else if ((IsWord(pos_ + 1, "ORDER") || IsWord(pos_ + 1, "GROUP")) &&
               IsWord(pos_ + 2, "BY")) {
      pos_ += 2;
    }
    ++pos_;
    return absl::OkStatus();
  }
  if (word == "ON" && IsWord(pos_ + 1, "DUPLICATE") &&
      IsWord(pos_ + 2, "KEY") && IsWord(pos_ + 3, "UPDATE")) {
    frame.in_list = false;
    pos_ += 4;
    return absl::OkStatus();
  }
  if ((word == "NEXTVAL" || word == "LASTVAL" || word == "SETVAL") &&
      IsPunct(pos_ + 1, '(')) {
    ++pos_;
    OpenParen(Frame{});
    return TableRef(Access::kWrite, word);
  }
  if (Contains(kListEnders, word)) frame.in_list = false;
  if (IsDdl()) {
    if (word == "DIRECTORY") {
      return absl::PermissionDeniedError(
          "plugins may not place tables outside the data directory (DATA/INDEX "
          "DIRECTORY)");
    }
    if (word == "ENGINE") return CheckEngine();
  }
  ++pos_;
  return absl::OkStatus();
}

// ENGINE [=] name, at pos_.
absl::Status Checker::CheckEngine() {
  ++pos_;
  if (IsPunct(pos_, '=')) ++pos_;
  const Token& engine = Peek(pos_);
  if ((IsName(pos_) || engine.kind == TokenKind::kString) &&
      Contains(kAllowedEngines, engine.text)) {
    ++pos_;
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("plugins may not use the storage engine \"", engine.text,
                   "\"; use InnoDB (or Aria, MyISAM, MEMORY)"));
}

absl::Status Checker::CloseParen() {
  if (AtStatementLevel()) {
    return absl::InvalidArgumentError(
        "unbalanced parentheses: ')' without '('");
  }
  const Frame closed = std::move(frames_.back());
  frames_.pop_back();
  ++pos_;
  if (!closed.cte_body) return absl::OkStatus();
  // A CTE is visible after its definition (a recursive one from its name).
  if (!closed.cte_recursive) frames_.back().ctes.push_back(closed.cte_name);
  if (IsPunct(pos_, ',')) {
    ++pos_;
    return Cte(closed.cte_recursive);
  }
  frames_.back().head_pending = true;
  return absl::OkStatus();
}

// WITH at pos_: a CTE list if followed by [RECURSIVE] name [(...)] AS, else
// another WITH (WITH ROLLUP, WITH TABLE t, ...).
absl::Status Checker::With(bool required) {
  size_t i = pos_ + 1;
  const bool recursive = IsWord(i, "RECURSIVE");
  if (recursive) ++i;
  if (IsName(i) && (IsPunct(i + 1, '(') || IsWord(i + 1, "AS"))) {
    pos_ = i;
    return Cte(recursive);
  }
  if (required) {
    return absl::InvalidArgumentError(
        "expected WITH [RECURSIVE] name AS (SELECT ...)");
  }
  ++pos_;
  return absl::OkStatus();
}

// name [(column, ...)] AS (, at pos_; opens the body's frame.
absl::Status Checker::Cte(bool recursive) {
  if (!IsName(pos_)) {
    return absl::InvalidArgumentError("expected a name after ',' in WITH");
  }
  const std::string name = absl::AsciiStrToLower(Peek(pos_).text);
  const std::string malformed =
      absl::StrCat("malformed WITH \"", Peek(pos_).text,
                   "\": expected name [(column, ...)] AS (SELECT ...)");
  ++pos_;
  if (IsPunct(pos_, '(')) {
    do {
      ++pos_;
      if (!IsName(pos_)) return absl::InvalidArgumentError(malformed);
      ++pos_;
    } while (IsPunct(pos_, ','));
    if (!IsPunct(pos_, ')')) return absl::InvalidArgumentError(malformed);
    ++pos_;
  }
  if (!IsWord(pos_, "AS") || !IsPunct(pos_ + 1, '(')) {
    return absl::InvalidArgumentError(malformed);
  }
  ++pos_;
  if (recursive) frames_.back().ctes.push_back(name);
  Frame body;
  body.cte_body = true;
  body.cte_recursive = recursive;
  body.cte_name = name;
  OpenParen(std::move(body));
  return absl::OkStatus();
}

// A table reference at pos_, after the keyword `after`: a name, a derived
// table "(SELECT ...)", or a parenthesized list "(a JOIN b ON ...)".
absl::Status Checker::TableRef(Access access, absl::string_view after) {
  while (IsPunct(pos_, '(')) {
    if (IsWord(pos_ + 1, "SELECT") || IsWord(pos_ + 1, "WITH") ||
        IsWord(pos_ + 1, "TABLE") || IsWord(pos_ + 1, "VALUES")) {
      OpenParen(Frame{});  // a derived table, read like any subquery
      return absl::OkStatus();
    }
    Frame list;
    list.access = access;
    list.query = true;
    list.in_list = true;
    OpenParen(std::move(list));
  }
  const Token& name = Peek(pos_);
  if (!IsName(pos_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a table name after ", after, ", found ",
        name.kind == TokenKind::kEnd ? "the end of the statement"
                                     : absl::StrCat("'", name.text, "'")));
  }
  if (IsPunct(pos_ + 1, '.')) {
    if (head_ == "DELETE" && IsPunct(pos_ + 2, '*')) {  // DELETE FROM t.*
      pos_ += 3;
      return CheckTable(name, access);
    }
    return absl::PermissionDeniedError(
        absl::StrCat("plugins may not name other schemas (\"", name.text, ".",
                     Peek(pos_ + 2).text, "\")"));
  }
  ++pos_;
  return CheckTable(name, access);
}

absl::Status Checker::CheckTable(const Token& name, Access access) const {
  const std::string lower = absl::AsciiStrToLower(name.text);
  if (absl::StartsWith(lower, prefix_)) return absl::OkStatus();
  if (access == Access::kWrite) {
    return absl::PermissionDeniedError(
        absl::StrCat("plugin may write only its own tables (", prefix_,
                     "*); \"", name.text, "\" is not one"));
  }
  if (Contains(kCoreReadableTables, lower)) return absl::OkStatus();
  if (name.kind == TokenKind::kWord && lower == "dual") {
    return absl::OkStatus();
  }
  for (const Frame& frame : frames_) {
    for (const std::string& cte : frame.ctes) {
      if (cte == lower) return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "plugin may not read \"", name.text, "\"; it may read its own tables (",
      prefix_, "*) and ", absl::StrJoin(kCoreReadableTables, ", ")));
}

}  // namespace

absl::Status CheckPluginStatement(absl::string_view sql,
                                  absl::string_view table_prefix,
                                  StatementUse use) {
  if (table_prefix.empty()) {
    return absl::InvalidArgumentError("the plugin's table prefix is empty");
  }
  RAPPORT_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(sql));
  // One statement: a ';' only at the very end.
  if (!tokens.empty() && tokens.back().kind == TokenKind::kPunct &&
      tokens.back().text == ";") {
    tokens.pop_back();
  }
  for (const Token& token : tokens) {
    if (token.kind == TokenKind::kPunct && token.text == ";") {
      return absl::InvalidArgumentError(
          "one statement per call: ';' may only end the statement");
    }
  }
  return Checker(std::move(tokens), table_prefix, use).Run();
}

}  // namespace rapport::plugins
