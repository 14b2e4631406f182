// Declarative descriptions of what a list method may filter and sort on, and
// how each field maps to SQL. Column and table names in SQL text come only
// from these static tables, never from requests.
// Thread-safe: the schemas are immutable singletons built on first use.
#ifndef RAPPORT_SERVER_QUERY_SCHEMA_H_
#define RAPPORT_SERVER_QUERY_SCHEMA_H_

#include <string>
#include <vector>

namespace google::protobuf {
class EnumDescriptor;
}  // namespace google::protobuf

namespace rapport::query {

enum class FieldType {
  kString,     // VARCHAR column; `*` in = / != values is a wildcard
  kInt64,      // BIGINT column; value is a decimal integer
  kBool,       // TINYINT 0/1 column; value is true / false
  kEnum,       // TINYINT column holding a proto enum number; value is a name
  kTimestamp,  // DATETIME(6) column; value is an RFC 3339 timestamp
  kRepeatedString,  // rows of a child table: `tags:"vip"`, `emails = "x"`
  kStringMap,       // name/value rows of a child table: `attributes.k = v`
  kJsonStringMap,   // a JSON object column of strings: `attributes.k = v`
};

// One filterable field.
struct FieldSpec {
  std::string name;  // as written in filters, e.g. "consent.email_opt_in"
  FieldType type = FieldType::kString;
  // Scalars: the qualified column, e.g. "c.email_opt_in".
  // kJsonStringMap: the JSON column, e.g. "i.attributes".
  std::string column;
  bool nullable = false;
  // kEnum: the proto enum (owned by the generated code, never deleted).
  const google::protobuf::EnumDescriptor* enum_type = nullptr;
  // kRepeatedString / kStringMap: the child table, its value column, the
  // column of the map key (kStringMap), and the alias prefix of the EXISTS
  // subquery ("e" gives e1, e2, ...).
  std::string table;
  std::string value_column;
  std::string key_column;
  std::string alias_prefix;
  // Values are lower-cased before comparing (stored values are lower-case).
  bool lower_case = false;
};

// The SQL type of a sort key, which says how to read it from a row.
enum class SortType { kInt64, kString, kTimestamp };

// One field order_by may name.
struct SortableField {
  std::string name;    // as written in order_by
  std::string column;  // qualified column, e.g. "c.create_time"
  SortType type = SortType::kInt64;
  bool nullable = false;
};

// Everything the query layer knows about one resource.
struct ResourceSchema {
  std::string resource;  // "contacts"
  std::string alias;     // table alias in the caller's FROM: "c"
  std::vector<FieldSpec> fields;
  std::vector<SortableField> sortable;
  // The name of the unique, non-null sort field used as final tie-breaker.
  std::string id_field;
  std::string default_order_by;

  // Returns nullptr when there is no such field.
  const FieldSpec* FindField(const std::string& name) const;
  const SortableField* FindSortable(const std::string& name) const;
};

// Contacts, queried as `FROM contacts c`.
const ResourceSchema& ContactSchema();
// Interactions, queried as `FROM interactions i`.
const ResourceSchema& InteractionSchema();

}  // namespace rapport::query

#endif  // RAPPORT_SERVER_QUERY_SCHEMA_H_
