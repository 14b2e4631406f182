// Fuzzes AIP-132 order_by parsing (server/query/order_by.h). The whole input
// is the `order_by` text of a list request, parsed for the contact and the
// interaction schema.
//
// Invariants, beyond "does not crash":
//  * the result is OK or INVALID_ARGUMENT "order_by: ...";
//  * an accepted sort names only sortable fields, each once, with the
//    schema's column, type and nullability, and ends with the id field (so
//    the order is total and keyset pagination exact);
//  * its SQL is exactly "ORDER BY " + the keys' columns and directions:
//    nothing from the request text;
//  * the canonical spelling of an accepted sort ("a desc, id asc") parses to
//    the same sort (a fixed point), also with directions in upper case; and
//    the input with extra whitespace around its keys parses the same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "server/query/order_by.h"
#include "server/query/schema.h"
#include "tests/fuzz/fuzz_util.h"

namespace rapport::fuzz {
namespace {

using query::OrderBy;
using query::ResourceSchema;
using query::SortKey;

bool SameOrder(const OrderBy& a, const OrderBy& b) {
  if (a.sql != b.sql || a.keys.size() != b.keys.size()) return false;
  for (size_t i = 0; i < a.keys.size(); ++i) {
    const SortKey& x = a.keys[i];
    const SortKey& y = b.keys[i];
    if (x.field != y.field || x.column != y.column || x.type != y.type ||
        x.nullable != y.nullable || x.descending != y.descending) {
      return false;
    }
  }
  return true;
}

std::string Canonical(const OrderBy& order) {
  std::vector<std::string> terms;
  for (const SortKey& k : order.keys) {
    terms.push_back(absl::StrCat(k.field, k.descending ? " desc" : " asc"));
  }
  return absl::StrJoin(terms, ", ");
}

void CheckAccepted(const OrderBy& order, const ResourceSchema& schema,
                   absl::string_view text) {
  RAPPORT_FUZZ_CHECK(!order.keys.empty());
  RAPPORT_FUZZ_CHECK(order.keys.back().field == schema.id_field, "last key ",
                     order.keys.back().field, " for ", Show(text));
  std::vector<std::string> terms;
  for (size_t i = 0; i < order.keys.size(); ++i) {
    const SortKey& k = order.keys[i];
    const query::SortableField* f = schema.FindSortable(k.field);
    RAPPORT_FUZZ_CHECK(f != nullptr, "unsortable ", Show(k.field));
    RAPPORT_FUZZ_CHECK(
        k.column == f->column && k.type == f->type && k.nullable == f->nullable,
        "key ", k.field, " differs from the schema");
    for (size_t j = 0; j < i; ++j) {
      RAPPORT_FUZZ_CHECK(order.keys[j].field != k.field, "repeated ", k.field);
    }
    terms.push_back(absl::StrCat(k.column, k.descending ? " DESC" : " ASC"));
  }
  const std::string sql = absl::StrCat("ORDER BY ", absl::StrJoin(terms, ", "));
  RAPPORT_FUZZ_CHECK(order.sql == sql, Show(order.sql), " != ", Show(sql));
}

void FuzzSchema(absl::string_view text, const ResourceSchema& schema) {
  const absl::StatusOr<OrderBy> order = query::ParseOrderBy(text, schema);
  if (!order.ok()) {
    RAPPORT_FUZZ_CHECK(
        order.status().code() == absl::StatusCode::kInvalidArgument,
        order.status());
    RAPPORT_FUZZ_CHECK(absl::StartsWith(order.status().message(), "order_by: "),
                       order.status());
    RAPPORT_FUZZ_CHECK(!HasControlByte(order.status().message()),
                       "control byte in ", Show(order.status().message()));
    return;
  }
  CheckAccepted(*order, schema, text);

  const std::string canonical = Canonical(*order);
  const absl::StatusOr<OrderBy> reparsed =
      query::ParseOrderBy(canonical, schema);
  RAPPORT_FUZZ_CHECK(reparsed.ok() && SameOrder(*reparsed, *order),
                     Show(canonical),
                     " does not parse back: ", reparsed.status());

  // Directions are case-insensitive.
  std::string shouted_text = canonical;
  absl::StrReplaceAll({{" desc", " DeSC"}, {" asc", " ASC"}}, &shouted_text);
  const absl::StatusOr<OrderBy> shouted =
      query::ParseOrderBy(shouted_text, schema);
  RAPPORT_FUZZ_CHECK(shouted.ok() && SameOrder(*shouted, *order),
                     Show(shouted_text), ": ", shouted.status());

  const std::string spaced =
      absl::StrCat(" \t", absl::StrReplaceAll(text, {{",", " ,\n"}}), "\r\n");
  if (spaced.size() <= query::kMaxOrderByLength) {
    const absl::StatusOr<OrderBy> s = query::ParseOrderBy(spaced, schema);
    RAPPORT_FUZZ_CHECK(s.ok() && SameOrder(*s, *order), Show(spaced), ": ",
                       s.status());
  }
}

}  // namespace
}  // namespace rapport::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  rapport::fuzz::FuzzSchema(text, rapport::query::ContactSchema());
  rapport::fuzz::FuzzSchema(text, rapport::query::InteractionSchema());
  return 0;
}
