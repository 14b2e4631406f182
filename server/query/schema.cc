#include "server/query/schema.h"

#include "rapport/v1/contact.pb.h"
#include "rapport/v1/interaction.pb.h"

namespace rapport::query {
namespace {

FieldSpec Scalar(std::string name, FieldType type, std::string column,
                 bool nullable = false) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = type;
  f.column = std::move(column);
  f.nullable = nullable;
  return f;
}

FieldSpec Enum(std::string name, std::string column,
               const google::protobuf::EnumDescriptor* type) {
  FieldSpec f = Scalar(std::move(name), FieldType::kEnum, std::move(column));
  f.enum_type = type;
  return f;
}

FieldSpec Repeated(std::string name, std::string table,
                   std::string value_column, std::string alias_prefix,
                   bool lower_case) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = FieldType::kRepeatedString;
  f.table = std::move(table);
  f.value_column = std::move(value_column);
  f.alias_prefix = std::move(alias_prefix);
  f.lower_case = lower_case;
  return f;
}

ResourceSchema* BuildContactSchema() {
  auto* s = new ResourceSchema;
  s->resource = "contacts";
  s->alias = "c";
  s->id_field = "id";
  s->default_order_by = "id";
  s->fields = {
      Scalar("id", FieldType::kInt64, "c.id"),
      Scalar("given_name", FieldType::kString, "c.given_name"),
      Scalar("family_name", FieldType::kString, "c.family_name"),
      Scalar("display_name", FieldType::kString, "c.display_name"),
      Scalar("company", FieldType::kString, "c.company"),
      Scalar("job_title", FieldType::kString, "c.job_title"),
      Scalar("owner", FieldType::kString, "c.owner"),
      Scalar("source", FieldType::kString, "c.source"),
      Enum("lifecycle_stage", "c.lifecycle_stage",
           rapport::v1::LifecycleStage_descriptor()),
      Scalar("consent.email_opt_in", FieldType::kBool, "c.email_opt_in"),
      Scalar("consent.sms_opt_in", FieldType::kBool, "c.sms_opt_in"),
      Scalar("consent.do_not_contact", FieldType::kBool, "c.do_not_contact"),
      Scalar("create_time", FieldType::kTimestamp, "c.create_time"),
      Scalar("update_time", FieldType::kTimestamp, "c.update_time"),
      Scalar("last_interaction_time", FieldType::kTimestamp,
             "c.last_interaction_time", /*nullable=*/true),
      Scalar("delete_time", FieldType::kTimestamp, "c.delete_time",
             /*nullable=*/true),
      Scalar("merged_into", FieldType::kInt64, "c.merged_into",
             /*nullable=*/true),
      Repeated("emails", "contact_emails", "email", "e", /*lower_case=*/true),
      Repeated("phones", "contact_phones", "phone", "p", /*lower_case=*/false),
      Repeated("tags", "contact_tags", "tag", "t", /*lower_case=*/true),
  };
  FieldSpec attributes;
  attributes.name = "attributes";
  attributes.type = FieldType::kStringMap;
  attributes.table = "contact_attributes";
  attributes.key_column = "name";
  attributes.value_column = "value";
  attributes.alias_prefix = "a";
  s->fields.push_back(std::move(attributes));
  s->sortable = {
      {"id", "c.id", SortType::kInt64, false},
      {"create_time", "c.create_time", SortType::kTimestamp, false},
      {"update_time", "c.update_time", SortType::kTimestamp, false},
      {"last_interaction_time", "c.last_interaction_time", SortType::kTimestamp,
       true},
      {"given_name", "c.given_name", SortType::kString, false},
      {"family_name", "c.family_name", SortType::kString, false},
      {"display_name", "c.display_name", SortType::kString, false},
      {"company", "c.company", SortType::kString, false},
  };
  return s;
}

ResourceSchema* BuildInteractionSchema() {
  auto* s = new ResourceSchema;
  s->resource = "interactions";
  s->alias = "i";
  s->id_field = "id";
  s->default_order_by = "occur_time desc";
  s->fields = {
      Scalar("id", FieldType::kInt64, "i.id"),
      Enum("type", "i.type", rapport::v1::InteractionType_descriptor()),
      Scalar("channel", FieldType::kString, "i.channel"),
      Enum("direction", "i.direction", rapport::v1::Direction_descriptor()),
      Scalar("occur_time", FieldType::kTimestamp, "i.occur_time"),
      Scalar("create_time", FieldType::kTimestamp, "i.create_time"),
      Scalar("actor", FieldType::kString, "i.actor"),
      Scalar("contact_id", FieldType::kInt64, "i.contact_id"),
      Scalar("amount.currency_code", FieldType::kString, "i.amount_currency",
             /*nullable=*/true),
      Scalar("amount.amount_minor", FieldType::kInt64, "i.amount_minor",
             /*nullable=*/true),
      Scalar("attributes", FieldType::kJsonStringMap, "i.attributes",
             /*nullable=*/true),
  };
  s->sortable = {
      {"occur_time", "i.occur_time", SortType::kTimestamp, false},
      {"create_time", "i.create_time", SortType::kTimestamp, false},
      {"id", "i.id", SortType::kInt64, false},
  };
  return s;
}

}  // namespace

const FieldSpec* ResourceSchema::FindField(const std::string& name) const {
  for (const FieldSpec& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const SortableField* ResourceSchema::FindSortable(
    const std::string& name) const {
  for (const SortableField& f : sortable) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const ResourceSchema& ContactSchema() {
  // Leaked on purpose: no destruction-order problems at exit.
  static const ResourceSchema* const schema = BuildContactSchema();
  return *schema;
}

const ResourceSchema& InteractionSchema() {
  static const ResourceSchema* const schema = BuildInteractionSchema();
  return *schema;
}

}  // namespace rapport::query
