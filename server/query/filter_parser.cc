#include "server/query/filter_parser.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/common/utf8.h"

namespace rapport::query {
namespace {

enum class TokenKind {
  kEnd,
  kLParen,
  kRParen,
  kComparator,
  kMinus,
  kAnd,
  kOr,
  kNot,
  kWord,    // a bare word where a field path may stand
  kValue,   // a bare word right after a comparator
  kString,  // a quoted string
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  size_t offset = 0;
  absl::string_view raw;  // the token as written
  Comparator op = Comparator::kEq;
  FilterValue value;  // kString / kValue
};

bool IsWordChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '.';
}

// Characters that end a bare value. `:` and `-` are allowed inside values so
// that bare timestamps (2024-05-01T12:00:00Z) and negative numbers work.
bool EndsBareValue(char c) {
  return absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '(' ||
         c == ')' || c == '"' || c == '\'' || c == '=' || c == '<' ||
         c == '>' || c == '!' || c == ',';
}

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<ParsedFilter> Parse() {
    ParsedFilter result;
    RAPPORT_RETURN_IF_ERROR(Advance());
    if (token_.kind == TokenKind::kEnd) return result;
    RAPPORT_ASSIGN_OR_RETURN(result.root, ParseExpression(0));
    if (token_.kind != TokenKind::kEnd) {
      if (token_.kind == TokenKind::kRParen) {
        return Error(token_.offset, "unexpected \")\" with no matching \"(\"");
      }
      return Unexpected(token_);
    }
    result.empty = false;
    return result;
  }

 private:
  absl::Status Error(size_t offset, absl::string_view what,
                     absl::string_view hint = "") const {
    return FilterError(text_, offset, what, hint);
  }

  absl::Status Unexpected(const Token& t) const {
    if (t.kind == TokenKind::kEnd) {
      return Error(t.offset, "unexpected end of filter",
                   "expected a comparison such as `field = value`");
    }
    return Error(t.offset, absl::StrCat("unexpected ", QuoteForMessage(t.raw)));
  }

  // Reads the next token into token_. After a comparator a bare word is a
  // value (kValue), which may contain `:`, `-`, `+` and `*`.
  absl::Status Advance() {
    const bool value_mode = token_.kind == TokenKind::kComparator;
    while (pos_ < text_.size() &&
           absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
    Token t;
    t.offset = pos_;
    if (pos_ >= text_.size()) {
      t.kind = TokenKind::kEnd;
      token_ = std::move(t);
      return absl::OkStatus();
    }
    const char c = text_[pos_];
    if (c == '"' || c == '\'') {
      RAPPORT_RETURN_IF_ERROR(LexString(t));
    } else if (value_mode && !EndsBareValue(c)) {
      size_t end = pos_;
      while (end < text_.size() && !EndsBareValue(text_[end])) ++end;
      t.raw = text_.substr(pos_, end - pos_);
      t.kind = KeywordKind(t.raw, TokenKind::kValue);
      t.value.text = std::string(t.raw);
      t.value.offset = pos_;
      for (size_t i = 0; i < t.raw.size(); ++i) {
        if (t.raw[i] == '*') t.value.wildcards.push_back(i);
      }
      pos_ = end;
    } else if (c == '(' || c == ')') {
      t.kind = c == '(' ? TokenKind::kLParen : TokenKind::kRParen;
      t.raw = text_.substr(pos_++, 1);
    } else if (c == '-') {
      t.kind = TokenKind::kMinus;
      t.raw = text_.substr(pos_++, 1);
    } else if (LexComparator(t)) {
      // t filled in.
    } else if (IsWordChar(c)) {
      size_t end = pos_;
      while (end < text_.size() && IsWordChar(text_[end])) ++end;
      t.raw = text_.substr(pos_, end - pos_);
      t.kind = KeywordKind(t.raw, TokenKind::kWord);
      pos_ = end;
    } else {
      // One UTF-8 sequence, so the message shows the whole character.
      size_t end = pos_ + 1;
      while (end < text_.size() && (text_[end] & 0xC0) == 0x80) ++end;
      return Error(
          pos_, absl::StrCat("unexpected character ",
                             QuoteForMessage(text_.substr(pos_, end - pos_))));
    }
    token_ = std::move(t);
    return absl::OkStatus();
  }

  static TokenKind KeywordKind(absl::string_view word, TokenKind otherwise) {
    if (word == "AND") return TokenKind::kAnd;
    if (word == "OR") return TokenKind::kOr;
    if (word == "NOT") return TokenKind::kNot;
    return otherwise;
  }

  bool LexComparator(Token& t) {
    static constexpr struct {
      absl::string_view text;
      Comparator op;
    } kOps[] = {{"<=", Comparator::kLe}, {">=", Comparator::kGe},
                {"!=", Comparator::kNe}, {"<", Comparator::kLt},
                {">", Comparator::kGt},  {"=", Comparator::kEq},
                {":", Comparator::kHas}};
    for (const auto& op : kOps) {
      if (absl::StartsWith(text_.substr(pos_), op.text)) {
        t.kind = TokenKind::kComparator;
        t.op = op.op;
        t.raw = text_.substr(pos_, op.text.size());
        pos_ += op.text.size();
        return true;
      }
    }
    return false;
  }

  absl::Status LexString(Token& t) {
    const char quote = text_[pos_];
    const size_t start = pos_;
    t.kind = TokenKind::kString;
    t.value.quoted = true;
    t.value.offset = start;
    std::string& out = t.value.text;
    size_t i = pos_ + 1;
    for (;;) {
      if (i >= text_.size()) {
        // At most 20 bytes, cut before a UTF-8 continuation byte: a split
        // character would make the error message invalid UTF-8.
        size_t n = std::min<size_t>(20, text_.size() - start);
        while (start + n < text_.size() && (text_[start + n] & 0xC0) == 0x80) {
          --n;
        }
        return Error(start,
                     absl::StrCat("unterminated string starting with ",
                                  QuoteForMessage(text_.substr(start, n))));
      }
      const char c = text_[i];
      if (c == quote) {
        ++i;
        break;
      }
      if (c == '\\') {
        if (i + 1 >= text_.size()) {
          i = text_.size();  // reported as unterminated
          continue;
        }
        const char e = text_[i + 1];
        switch (e) {
          case '\\':
          case '"':
          case '\'':
          case '*':
            out.push_back(e);
            break;
          case 'n':
            out.push_back('\n');
            break;
          case 't':
            out.push_back('\t');
            break;
          case 'r':
            out.push_back('\r');
            break;
          default: {
            // The backslash and the whole (UTF-8) character after it.
            size_t end = i + 2;
            while (end < text_.size() && (text_[end] & 0xC0) == 0x80) ++end;
            return Error(
                i,
                absl::StrCat("invalid escape ",
                             QuoteForMessage(text_.substr(i, end - i))),
                "strings allow \\\\, \\\", \\', \\*, \\n, \\t and \\r");
          }
        }
        i += 2;
        continue;
      }
      if (c == '*') t.value.wildcards.push_back(out.size());
      out.push_back(c);
      ++i;
    }
    t.raw = text_.substr(start, i - start);
    pos_ = i;
    return absl::OkStatus();
  }

  static bool StartsTerm(TokenKind k) {
    return k == TokenKind::kLParen || k == TokenKind::kMinus ||
           k == TokenKind::kNot || k == TokenKind::kWord ||
           k == TokenKind::kString;
  }

  static FilterNode Combine(FilterNode::Kind kind,
                            std::vector<FilterNode> operands) {
    if (operands.size() == 1) return std::move(operands[0]);
    FilterNode node;
    node.kind = kind;
    for (FilterNode& n : operands) {
      // Flatten a AND (b AND c) into one n-ary node; same for OR.
      if (n.kind == kind) {
        for (FilterNode& c : n.children) node.children.push_back(std::move(c));
      } else {
        node.children.push_back(std::move(n));
      }
    }
    return node;
  }

  absl::StatusOr<FilterNode> ParseExpression(int depth) {
    std::vector<FilterNode> operands;
    RAPPORT_ASSIGN_OR_RETURN(FilterNode first, ParseSequence(depth));
    operands.push_back(std::move(first));
    while (token_.kind == TokenKind::kAnd) {
      RAPPORT_RETURN_IF_ERROR(Advance());
      RAPPORT_ASSIGN_OR_RETURN(FilterNode next, ParseSequence(depth));
      operands.push_back(std::move(next));
    }
    return Combine(FilterNode::Kind::kAnd, std::move(operands));
  }

  absl::StatusOr<FilterNode> ParseSequence(int depth) {
    std::vector<FilterNode> operands;
    RAPPORT_ASSIGN_OR_RETURN(FilterNode first, ParseFactor(depth));
    operands.push_back(std::move(first));
    while (StartsTerm(token_.kind)) {
      RAPPORT_ASSIGN_OR_RETURN(FilterNode next, ParseFactor(depth));
      operands.push_back(std::move(next));
    }
    return Combine(FilterNode::Kind::kAnd, std::move(operands));
  }

  absl::StatusOr<FilterNode> ParseFactor(int depth) {
    std::vector<FilterNode> operands;
    RAPPORT_ASSIGN_OR_RETURN(FilterNode first, ParseTerm(depth));
    operands.push_back(std::move(first));
    while (token_.kind == TokenKind::kOr) {
      RAPPORT_RETURN_IF_ERROR(Advance());
      RAPPORT_ASSIGN_OR_RETURN(FilterNode next, ParseTerm(depth));
      operands.push_back(std::move(next));
    }
    return Combine(FilterNode::Kind::kOr, std::move(operands));
  }

  absl::Status CheckDepth(int depth) const {
    if (depth >= kMaxFilterDepth) {
      return Error(token_.offset,
                   absl::StrCat("nesting deeper than ", kMaxFilterDepth,
                                " levels of parentheses and negations"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<FilterNode> ParseTerm(int depth) {
    if (token_.kind == TokenKind::kNot || token_.kind == TokenKind::kMinus) {
      RAPPORT_RETURN_IF_ERROR(CheckDepth(depth));
      RAPPORT_RETURN_IF_ERROR(Advance());
      FilterNode node;
      node.kind = FilterNode::Kind::kNot;
      RAPPORT_ASSIGN_OR_RETURN(FilterNode child, ParseTerm(depth + 1));
      node.children.push_back(std::move(child));
      return node;
    }
    return ParseSimple(depth);
  }

  absl::StatusOr<FilterNode> ParseSimple(int depth) {
    if (token_.kind == TokenKind::kLParen) {
      RAPPORT_RETURN_IF_ERROR(CheckDepth(depth));
      const size_t open = token_.offset;
      RAPPORT_RETURN_IF_ERROR(Advance());
      if (token_.kind == TokenKind::kRParen) {
        return Error(token_.offset, "empty parentheses \"()\"");
      }
      RAPPORT_ASSIGN_OR_RETURN(FilterNode inner, ParseExpression(depth + 1));
      if (token_.kind != TokenKind::kRParen) {
        if (token_.kind == TokenKind::kEnd) {
          return Error(open, "missing \")\" to close the \"(\"");
        }
        return Unexpected(token_);
      }
      RAPPORT_RETURN_IF_ERROR(Advance());
      return inner;
    }
    if (token_.kind == TokenKind::kString) {
      return Error(token_.offset,
                   absl::StrCat("expected a field name, got the string ",
                                QuoteForMessage(token_.value.text)),
                   "write `field = value`");
    }
    if (token_.kind != TokenKind::kWord) return Unexpected(token_);

    FilterNode node;
    node.kind = FilterNode::Kind::kComparison;
    node.field = std::string(token_.raw);
    node.field_offset = token_.offset;
    RAPPORT_RETURN_IF_ERROR(CheckFieldPath(token_));
    RAPPORT_RETURN_IF_ERROR(Advance());
    if (token_.kind != TokenKind::kComparator) {
      return Error(node.field_offset,
                   absl::StrCat("expected a comparison operator (=, !=, <, "
                                "<=, >, >=, :) after ",
                                QuoteForMessage(node.field)),
                   "free-text terms are not supported, write "
                   "`field = value`");
    }
    node.op = token_.op;
    node.op_offset = token_.offset;
    const std::string op_text(token_.raw);
    RAPPORT_RETURN_IF_ERROR(Advance());
    if (token_.kind != TokenKind::kString && token_.kind != TokenKind::kValue) {
      const absl::string_view got =
          token_.kind == TokenKind::kEnd ? "end of filter" : token_.raw;
      return Error(
          token_.offset,
          absl::StrCat("expected a value after \"", op_text, "\", got ",
                       token_.kind == TokenKind::kEnd ? std::string(got)
                                                      : QuoteForMessage(got)),
          "quote values that are keywords or contain spaces");
    }
    node.value = std::move(token_.value);
    RAPPORT_RETURN_IF_ERROR(Advance());
    return node;
  }

  // A field path is identifiers separated by single dots.
  absl::Status CheckFieldPath(const Token& t) const {
    const absl::string_view path = t.raw;
    bool segment_start = true;
    for (size_t i = 0; i < path.size(); ++i) {
      const char c = path[i];
      if (c == '.') {
        if (segment_start) break;
        segment_start = true;
        continue;
      }
      if (segment_start && absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        break;
      }
      segment_start = false;
      if (i + 1 == path.size()) return absl::OkStatus();
    }
    return Error(t.offset,
                 absl::StrCat("invalid field name ", QuoteForMessage(path)));
  }

  absl::string_view text_;
  size_t pos_ = 0;
  Token token_;
};

}  // namespace

absl::string_view ComparatorText(Comparator op) {
  switch (op) {
    case Comparator::kEq:
      return "=";
    case Comparator::kNe:
      return "!=";
    case Comparator::kLt:
      return "<";
    case Comparator::kLe:
      return "<=";
    case Comparator::kGt:
      return ">";
    case Comparator::kGe:
      return ">=";
    case Comparator::kHas:
      return ":";
  }
  return "?";
}

size_t CharPosition(absl::string_view text, size_t offset) {
  size_t position = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++position;
  }
  // Past the end (e.g. "unexpected end of filter"): one after the last char.
  if (offset > text.size()) position += offset - text.size();
  return position;
}

std::string QuoteForMessage(absl::string_view text) {
  // Messages travel in HTTP/2 trailers, which clients cap (8 KiB by
  // default): never echo unbounded input. Cut at a UTF-8 boundary.
  constexpr size_t kMaxBytes = 64;
  const absl::string_view shown = Utf8Prefix(text, kMaxBytes);
  if (shown.size() == text.size()) {
    return absl::StrCat("\"", absl::Utf8SafeCHexEscape(text), "\"");
  }
  return absl::StrCat("\"", absl::Utf8SafeCHexEscape(shown), "...\" (",
                      text.size(), " bytes)");
}

absl::StatusOr<ParsedFilter> ParseFilter(absl::string_view filter) {
  if (filter.size() > kMaxFilterLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter: too long (", filter.size(),
                     " bytes); the limit is ", kMaxFilterLength));
  }
  return Parser(filter).Parse();
}

absl::Status FilterError(absl::string_view text, size_t offset,
                         absl::string_view what, absl::string_view hint) {
  return absl::InvalidArgumentError(
      absl::StrCat("filter: ", what, " at position ",
                   CharPosition(text, offset), hint.empty() ? "" : "; ", hint));
}

}  // namespace rapport::query
