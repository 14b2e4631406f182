#include "server/storage/list_query.h"

#include <cppconn/resultset.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/common/status_macros.h"
#include "server/query/filter_compiler.h"
#include "server/query/pagination.h"

namespace rapport::storage {

absl::StatusOr<ListPlan> PlanList(const ListSpec& spec) {
  ListPlan plan;
  RAPPORT_ASSIGN_OR_RETURN(SqlFragment filter,
                           query::CompileFilter(spec.filter, *spec.schema));
  RAPPORT_ASSIGN_OR_RETURN(plan.order,
                           query::ParseOrderBy(spec.order_by, *spec.schema));

  std::vector<std::string> where;
  std::vector<SqlParam> params;
  auto add = [&](const SqlFragment& f) {
    if (f.sql.empty()) return;
    where.push_back(f.sql);
    params.insert(params.end(), f.params.begin(), f.params.end());
  };
  for (const SqlFragment& f : spec.conditions) add(f);
  add(filter);
  const std::string count_where =
      where.empty() ? ""
                    : absl::StrCat(" WHERE ", absl::StrJoin(where, " AND "));
  plan.count.params = params;
  if (spec.count_limit) {
    // A derived table with LIMIT stops the scan at the limit (both MySQL 8.0
    // and MariaDB); COUNT(*) over the table itself would read every match.
    plan.count.sql = absl::StrCat("SELECT COUNT(*) FROM (SELECT 1 FROM ",
                                  spec.from, count_where, " LIMIT ?) matches");
    plan.count.params.push_back(*spec.count_limit);
  } else {
    plan.count.sql =
        absl::StrCat("SELECT COUNT(*) FROM ", spec.from, count_where);
  }

  if (!spec.page_token.empty()) {
    RAPPORT_ASSIGN_OR_RETURN(
        query::Cursor cursor,
        query::DecodePageToken(spec.page_token, spec.request_description));
    RAPPORT_ASSIGN_OR_RETURN(SqlFragment keyset,
                             query::KeysetCondition(plan.order, cursor));
    add(keyset);
    plan.carried_total_size = cursor.total_size;
  }
  std::vector<std::string> keys;
  for (const query::SortKey& k : plan.order.keys) keys.push_back(k.column);
  plan.key_column = spec.select_columns + 1;
  plan.page.sql = absl::StrCat(
      "SELECT ", spec.select, ", ", absl::StrJoin(keys, ", "), " FROM ",
      spec.from,
      where.empty() ? ""
                    : absl::StrCat(" WHERE ", absl::StrJoin(where, " AND ")),
      " ", plan.order.sql, " LIMIT ?");
  plan.page.params = std::move(params);
  plan.page.params.push_back(static_cast<int64_t>(spec.page_size) + 1);
  return plan;
}

SortKeyText ReadSortKeys(const ListPlan& plan, sql::ResultSet& rs) {
  SortKeyText row;
  for (size_t i = 0; i < plan.order.keys.size(); ++i) {
    const int col = plan.key_column + static_cast<int>(i);
    if (rs.isNull(col)) {
      row.push_back(std::nullopt);
    } else {
      row.push_back(std::string(rs.getString(col)));
    }
  }
  return row;
}

absl::StatusOr<std::string> NextPageToken(const ListPlan& plan,
                                          const ListSpec& spec,
                                          const SortKeyText& last_row,
                                          std::optional<int64_t> total_size) {
  RAPPORT_ASSIGN_OR_RETURN(query::Cursor cursor,
                           query::CursorFromRowText(plan.order, last_row));
  cursor.total_size = total_size;
  return query::EncodePageToken(cursor, spec.request_description);
}

std::vector<SqlFragment> FreeTextConditions(absl::string_view text,
                                            absl::string_view column) {
  std::vector<SqlFragment> out;
  for (absl::string_view word :
       absl::StrSplit(text, absl::ByAnyChar(" \t,;"), absl::SkipEmpty())) {
    std::string lower = absl::AsciiStrToLower(word);
    SqlFragment f;
    f.sql = absl::StrCat(column, " LIKE ? ESCAPE '!'");
    f.params.push_back(
        absl::StrCat("%", query::ToLikePattern(lower, /*wildcards=*/{}), "%"));
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace rapport::storage
