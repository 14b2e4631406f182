#include "server/query/order_by.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/query/filter_parser.h"

namespace rapport::query {
namespace {

absl::Status OrderByError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("order_by: ", what));
}

std::string SortableNames(const ResourceSchema& schema) {
  std::vector<std::string> names;
  for (const SortableField& f : schema.sortable) names.push_back(f.name);
  return absl::StrJoin(names, ", ");
}

SortKey MakeKey(const SortableField& f, bool descending) {
  return SortKey{f.name, f.column, f.type, f.nullable, descending};
}

}  // namespace

absl::StatusOr<OrderBy> ParseOrderBy(absl::string_view order_by,
                                     const ResourceSchema& schema) {
  if (order_by.size() > kMaxOrderByLength) {
    return OrderByError(absl::StrCat("too long (", order_by.size(),
                                     " bytes); the limit is ",
                                     kMaxOrderByLength));
  }
  if (absl::StripAsciiWhitespace(order_by).empty()) {
    order_by = schema.default_order_by;
  }
  OrderBy out;
  bool has_id = false;
  int index = 0;
  for (absl::string_view part : absl::StrSplit(order_by, ',')) {
    ++index;
    std::vector<absl::string_view> words =
        absl::StrSplit(part, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty());
    if (words.empty()) {
      return OrderByError(
          absl::StrCat("sort key ", index,
                       " is empty; write e.g. \"create_time desc, id\""));
    }
    if (words.size() > 2) {
      return OrderByError(absl::StrCat(
          "cannot parse ", QuoteForMessage(absl::StripAsciiWhitespace(part)),
          "; write a field name and optionally asc or desc"));
    }
    bool descending = false;
    if (words.size() == 2) {
      const std::string dir = absl::AsciiStrToLower(words[1]);
      if (dir == "desc") {
        descending = true;
      } else if (dir != "asc") {
        return OrderByError(absl::StrCat(
            "unknown direction ", QuoteForMessage(words[1]), " after ",
            QuoteForMessage(words[0]), "; use asc or desc"));
      }
    }
    const std::string name(words[0]);
    const SortableField* f = schema.FindSortable(name);
    if (f == nullptr) {
      return OrderByError(absl::StrCat(
          "cannot sort ", schema.resource, " by ", QuoteForMessage(name),
          "; sortable fields: ", SortableNames(schema)));
    }
    for (const SortKey& k : out.keys) {
      if (k.field == name) {
        return OrderByError(
            absl::StrCat(QuoteForMessage(name), " appears more than once"));
      }
    }
    if (name == schema.id_field) has_id = true;
    out.keys.push_back(MakeKey(*f, descending));
  }
  if (!has_id) {
    const SortableField* id = schema.FindSortable(schema.id_field);
    if (id == nullptr) {
      return absl::InternalError(absl::StrCat("schema ", schema.resource,
                                              " has no sortable id field"));
    }
    out.keys.push_back(MakeKey(*id, out.keys.back().descending));
  } else if (out.keys.back().field != schema.id_field) {
    // Keys after the id never matter (it is unique); dropping them keeps the
    // keyset condition short and the key list canonical.
    while (out.keys.back().field != schema.id_field) out.keys.pop_back();
  }
  std::vector<std::string> terms;
  for (const SortKey& k : out.keys) {
    terms.push_back(absl::StrCat(k.column, k.descending ? " DESC" : " ASC"));
  }
  out.sql = absl::StrCat("ORDER BY ", absl::StrJoin(terms, ", "));
  return out;
}

}  // namespace rapport::query
