#include "server/query/filter_compiler.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "server/common/status_macros.h"
#include "server/common/time_util.h"

namespace rapport::query {
namespace {

constexpr absl::string_view kLikeEscape = " ESCAPE '!'";

bool IsValidMapKey(absl::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  if (key[0] < 'a' || key[0] > 'z') return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

class Compiler {
 public:
  Compiler(absl::string_view text, const ResourceSchema& schema)
      : text_(text), schema_(schema) {}

  absl::StatusOr<SqlFragment> Compile(const FilterNode& root) {
    RAPPORT_ASSIGN_OR_RETURN(std::string sql, CompileNode(root));
    SqlFragment out;
    // AND / OR nodes come out parenthesised already.
    out.sql = root.kind == FilterNode::Kind::kAnd ||
                      root.kind == FilterNode::Kind::kOr
                  ? std::move(sql)
                  : absl::StrCat("(", sql, ")");
    out.params = std::move(params_);
    return out;
  }

 private:
  absl::Status Error(size_t offset, absl::string_view what,
                     absl::string_view hint = "") const {
    return FilterError(text_, offset, what, hint);
  }

  absl::StatusOr<std::string> CompileNode(const FilterNode& node) {
    switch (node.kind) {
      case FilterNode::Kind::kAnd:
      case FilterNode::Kind::kOr: {
        std::vector<std::string> parts;
        for (const FilterNode& child : node.children) {
          RAPPORT_ASSIGN_OR_RETURN(std::string part, CompileNode(child));
          parts.push_back(std::move(part));
        }
        return absl::StrCat(
            "(",
            absl::StrJoin(
                parts, node.kind == FilterNode::Kind::kAnd ? " AND " : " OR "),
            ")");
      }
      case FilterNode::Kind::kNot: {
        RAPPORT_ASSIGN_OR_RETURN(std::string inner,
                                 CompileNode(node.children.at(0)));
        return absl::StrCat("NOT (", inner, ")");
      }
      case FilterNode::Kind::kComparison:
        return CompileComparison(node);
    }
    return absl::InternalError("unknown filter node");
  }

  std::string KnownFields() const {
    std::vector<std::string> names;
    for (const FieldSpec& f : schema_.fields) {
      if (f.type == FieldType::kStringMap ||
          f.type == FieldType::kJsonStringMap) {
        names.push_back(absl::StrCat(f.name, ".<key>"));
      } else {
        names.push_back(f.name);
      }
    }
    return absl::StrJoin(names, ", ");
  }

  absl::StatusOr<std::string> CompileComparison(const FilterNode& node) {
    if (const FieldSpec* spec = schema_.FindField(node.field)) {
      switch (spec->type) {
        case FieldType::kStringMap:
        case FieldType::kJsonStringMap:
          return CompileMapHas(node, *spec);
        case FieldType::kRepeatedString:
          return CompileRepeated(node, *spec);
        default:
          return CompileScalar(node, *spec);
      }
    }
    const size_t dot = node.field.find('.');
    if (dot != std::string::npos) {
      const FieldSpec* spec = schema_.FindField(node.field.substr(0, dot));
      if (spec != nullptr && (spec->type == FieldType::kStringMap ||
                              spec->type == FieldType::kJsonStringMap)) {
        const std::string key = node.field.substr(dot + 1);
        if (!IsValidMapKey(key)) {
          return Error(node.field_offset + dot + 1,
                       absl::StrCat("attribute key ", QuoteForMessage(key),
                                    " must match [a-z][a-z0-9_]{0,63}"));
        }
        return CompileMapEntry(node, *spec, key);
      }
    }
    return Error(node.field_offset,
                 absl::StrCat("unknown field ", QuoteForMessage(node.field)),
                 absl::StrCat("known fields of ", schema_.resource, ": ",
                              KnownFields()));
  }

  // Appends `p` as the next param and returns "?".
  std::string Bind(SqlParam p) {
    params_.push_back(std::move(p));
    return "?";
  }

  static bool IsPresence(const FilterNode& node) {
    return node.op == Comparator::kHas && !node.value.quoted &&
           node.value.text == "*";
  }

  static bool IsNullLiteral(const FilterValue& v) {
    return !v.quoted && v.text == "null";
  }

  absl::Status ValueError(const FilterNode& node,
                          absl::string_view expects) const {
    return Error(node.value.offset,
                 absl::StrCat(node.field, " expects ", expects, ", got ",
                              QuoteForMessage(node.value.text)));
  }

  absl::Status OperatorError(const FilterNode& node,
                             absl::string_view allowed) const {
    return Error(
        node.op_offset,
        absl::StrCat("operator \"", ComparatorText(node.op),
                     "\" is not supported on ", node.field, "; use ", allowed));
  }

  // `column <sql_op> ?`, made two-valued on nullable columns: negative
  // operators match NULL, positive ones do not.
  std::string ScalarPredicate(const std::string& column, bool nullable,
                              absl::string_view sql_op, SqlParam param,
                              bool like = false) {
    std::string cmp = absl::StrCat(column, " ", sql_op, " ", Bind(param),
                                   like ? kLikeEscape : "");
    if (!nullable) return cmp;
    const bool negative = sql_op == "<>" || sql_op == "NOT LIKE";
    return negative ? absl::StrCat("(", column, " IS NULL OR ", cmp, ")")
                    : absl::StrCat("(", column, " IS NOT NULL AND ", cmp, ")");
  }

  static absl::string_view SqlOp(Comparator op) {
    switch (op) {
      case Comparator::kEq:
      case Comparator::kHas:
        return "=";
      case Comparator::kNe:
        return "<>";
      case Comparator::kLt:
        return "<";
      case Comparator::kLe:
        return "<=";
      case Comparator::kGt:
        return ">";
      case Comparator::kGe:
        return ">=";
    }
    return "=";
  }

  static bool IsEquality(Comparator op) {
    return op == Comparator::kEq || op == Comparator::kNe ||
           op == Comparator::kHas;
  }

  absl::StatusOr<std::string> CompileScalar(const FilterNode& node,
                                            const FieldSpec& spec) {
    const std::string& col = spec.column;
    if (IsPresence(node)) {
      if (spec.nullable) return absl::StrCat(col, " IS NOT NULL");
      if (spec.type == FieldType::kString) return absl::StrCat(col, " <> ''");
      return std::string("TRUE");
    }
    if (spec.nullable && IsNullLiteral(node.value) &&
        (node.op == Comparator::kEq || node.op == Comparator::kNe ||
         node.op == Comparator::kHas)) {
      return absl::StrCat(
          col, node.op == Comparator::kNe ? " IS NOT NULL" : " IS NULL");
    }
    const absl::string_view op = SqlOp(node.op);
    const FilterValue& v = node.value;
    switch (spec.type) {
      case FieldType::kString: {
        if (IsEquality(node.op) && !v.wildcards.empty()) {
          return ScalarPredicate(
              col, spec.nullable,
              node.op == Comparator::kNe ? "NOT LIKE" : "LIKE",
              ToLikePattern(v.text, v.wildcards),
              /*like=*/true);
        }
        return ScalarPredicate(col, spec.nullable, op, v.text);
      }
      case FieldType::kInt64: {
        int64_t n = 0;
        if (!absl::SimpleAtoi(v.text, &n)) {
          return ValueError(
              node, spec.name == "id" || absl::EndsWith(spec.name, "_id")
                        ? "a decimal id"
                        : "an integer");
        }
        return ScalarPredicate(col, spec.nullable, op, n);
      }
      case FieldType::kBool: {
        if (!IsEquality(node.op)) return OperatorError(node, "= or !=");
        if (v.text != "true" && v.text != "false") {
          return ValueError(node, "true or false");
        }
        return ScalarPredicate(col, spec.nullable, op, v.text == "true");
      }
      case FieldType::kEnum: {
        if (!IsEquality(node.op)) return OperatorError(node, "= or !=");
        const google::protobuf::EnumValueDescriptor* ev =
            spec.enum_type->FindValueByName(std::string(v.text));
        if (ev == nullptr || ev->number() == 0) {
          std::vector<std::string> names;
          for (int i = 0; i < spec.enum_type->value_count(); ++i) {
            if (spec.enum_type->value(i)->number() == 0) continue;
            names.push_back(spec.enum_type->value(i)->name());
          }
          return ValueError(
              node, absl::StrCat("one of ", absl::StrJoin(names, ", ")));
        }
        return ScalarPredicate(col, spec.nullable, op,
                               static_cast<int64_t>(ev->number()));
      }
      case FieldType::kTimestamp: {
        absl::StatusOr<absl::Time> t = ParseRfc3339(v.text);
        if (!t.ok()) {
          return ValueError(
              node, "an RFC 3339 timestamp such as \"2024-05-01T12:00:00Z\"");
        }
        if (*t < MinStorableTime() || *t > MaxStorableTime()) {
          return ValueError(node, "a timestamp between years 1000 and 9999");
        }
        return ScalarPredicate(col, spec.nullable, op, ToSqlDateTime(*t));
      }
      default:
        break;
    }
    return absl::InternalError("unhandled field type");
  }

  std::string NextAlias(const FieldSpec& spec) {
    return absl::StrCat(spec.alias_prefix, ++alias_counter_);
  }

  // `EXISTS (SELECT 1 FROM <table> <a> WHERE <a>.contact_id = c.id<extra>)`
  // where `extra(a)` adds conditions on the subquery alias.
  template <typename Extra>
  std::string Exists(const FieldSpec& spec, bool negate, Extra extra) {
    const std::string a = NextAlias(spec);
    std::string sql = absl::StrCat(
        negate ? "NOT EXISTS" : "EXISTS", " (SELECT 1 FROM ", spec.table, " ",
        a, " WHERE ", a, ".contact_id = ", schema_.alias, ".id");
    absl::StrAppend(&sql, extra(a), ")");
    return sql;
  }

  // The value condition for a child-table value column:
  // " AND a1.value = ?" or " AND a1.value LIKE ? ESCAPE '!'".
  std::string ValueCondition(const std::string& column, Comparator op,
                             const FilterValue& v, bool lower_case) {
    std::string text = lower_case ? absl::AsciiStrToLower(v.text) : v.text;
    if (IsEquality(op) && !v.wildcards.empty()) {
      return absl::StrCat(" AND ", column, " LIKE ",
                          Bind(ToLikePattern(text, v.wildcards)), kLikeEscape);
    }
    // Negation is expressed by NOT EXISTS; compare positively inside.
    const absl::string_view sql_op =
        op == Comparator::kNe ? absl::string_view("=") : SqlOp(op);
    return absl::StrCat(" AND ", column, " ", sql_op, " ", Bind(text));
  }

  absl::StatusOr<std::string> CompileRepeated(const FilterNode& node,
                                              const FieldSpec& spec) {
    if (!IsEquality(node.op)) {
      return OperatorError(node,
                           absl::StrCat(spec.name, ":\"value\", = or !="));
    }
    if (IsPresence(node)) {
      return Exists(spec, false, [](const std::string&) { return ""; });
    }
    return Exists(spec, node.op == Comparator::kNe, [&](const std::string& a) {
      return ValueCondition(absl::StrCat(a, ".", spec.value_column), node.op,
                            node.value, spec.lower_case);
    });
  }

  // `attributes:key`, `attributes:"key"`, `attributes:*`.
  absl::StatusOr<std::string> CompileMapHas(const FilterNode& node,
                                            const FieldSpec& spec) {
    if (node.op != Comparator::kHas) {
      return Error(
          node.field_offset,
          absl::StrCat(spec.name, " needs a key: write ", spec.name, ".<key> ",
                       ComparatorText(node.op), " value, or ", spec.name,
                       ":<key> to test ", "that a key is present"));
    }
    if (IsPresence(node)) {
      if (spec.type == FieldType::kJsonStringMap) {
        // Values are stored NULL when there are none, and never as `{}`.
        return absl::StrCat(spec.column, " IS NOT NULL");
      }
      return Exists(spec, false, [](const std::string&) { return ""; });
    }
    if (!IsValidMapKey(node.value.text)) {
      return Error(
          node.value.offset,
          absl::StrCat("attribute key ", QuoteForMessage(node.value.text),
                       " must match [a-z][a-z0-9_]{0,63}"));
    }
    return KeyPresent(spec, node.value.text);
  }

  std::string KeyPresent(const FieldSpec& spec, const std::string& key) {
    if (spec.type == FieldType::kJsonStringMap) {
      return absl::StrCat("JSON_EXTRACT(", spec.column, ", ",
                          Bind(absl::StrCat("$.\"", key, "\"")),
                          ") IS NOT NULL");
    }
    return Exists(spec, false, [&](const std::string& a) {
      return absl::StrCat(" AND ", a, ".", spec.key_column, " = ", Bind(key));
    });
  }

  // `attributes.<key> op value`.
  absl::StatusOr<std::string> CompileMapEntry(const FilterNode& node,
                                              const FieldSpec& spec,
                                              const std::string& key) {
    if (IsPresence(node)) return KeyPresent(spec, key);
    const FilterValue& v = node.value;
    if (spec.type == FieldType::kJsonStringMap) {
      const std::string extract =
          absl::StrCat("JSON_UNQUOTE(JSON_EXTRACT(", spec.column, ", ",
                       Bind(absl::StrCat("$.\"", key, "\"")), "))");
      std::string cmp;
      if (IsEquality(node.op) && !v.wildcards.empty()) {
        cmp =
            absl::StrCat(extract, " LIKE ",
                         Bind(ToLikePattern(v.text, v.wildcards)), kLikeEscape);
      } else {
        const absl::string_view sql_op = node.op == Comparator::kNe
                                             ? absl::string_view("=")
                                             : SqlOp(node.op);
        cmp = absl::StrCat(extract, " ", sql_op, " ", Bind(v.text));
      }
      // A missing key or a NULL column compares as NULL; COALESCE makes it
      // false so that NOT / != are exact complements.
      return absl::StrCat(node.op == Comparator::kNe ? "NOT " : "", "COALESCE(",
                          cmp, ", FALSE)");
    }
    return Exists(spec, node.op == Comparator::kNe, [&](const std::string& a) {
      // Two statements: the key's `?` must be bound before the value's.
      std::string sql =
          absl::StrCat(" AND ", a, ".", spec.key_column, " = ", Bind(key));
      absl::StrAppend(
          &sql, ValueCondition(absl::StrCat(a, ".", spec.value_column), node.op,
                               v, spec.lower_case));
      return sql;
    });
  }

  absl::string_view text_;
  const ResourceSchema& schema_;
  std::vector<SqlParam> params_;
  int alias_counter_ = 0;
};

}  // namespace

std::string ToLikePattern(absl::string_view pattern,
                          const std::vector<size_t>& wildcards) {
  std::string out;
  out.reserve(pattern.size() + 8);
  size_t next = 0;  // index into the sorted `wildcards`
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (next < wildcards.size() && wildcards[next] == i) {
      out.push_back('%');
      ++next;
      continue;
    }
    if (c == '!' || c == '%' || c == '_' || c == '\\') out.push_back('!');
    out.push_back(c);
  }
  return out;
}

absl::StatusOr<SqlFragment> CompileParsedFilter(const ParsedFilter& parsed,
                                                absl::string_view filter_text,
                                                const ResourceSchema& schema) {
  if (parsed.empty) return SqlFragment{};
  return Compiler(filter_text, schema).Compile(parsed.root);
}

absl::StatusOr<SqlFragment> CompileFilter(absl::string_view filter,
                                          const ResourceSchema& schema) {
  RAPPORT_ASSIGN_OR_RETURN(ParsedFilter parsed, ParseFilter(filter));
  return CompileParsedFilter(parsed, filter, schema);
}

}  // namespace rapport::query
