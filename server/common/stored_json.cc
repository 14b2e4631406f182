#include "server/common/stored_json.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <simdjson.h>

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"

namespace rapport {
namespace {

// A parser keeps buffers the size of the largest document it has read. Each
// thread keeps one for the common small documents; a large one (attributes
// may reach ~400 KB) gets a parser of its own, so that no server thread
// holds megabytes after one big contact.
constexpr size_t kMaxPooledDocumentBytes = 16 * 1024;

class ParserFor {
 public:
  explicit ParserFor(absl::string_view json)
      : parser_(json.size() <= kMaxPooledDocumentBytes ? ThreadParser()
                                                       : own_) {}
  simdjson::dom::parser& get() { return parser_; }

 private:
  static simdjson::dom::parser& ThreadParser() {
    thread_local simdjson::dom::parser parser;
    return parser;
  }
  simdjson::dom::parser own_;
  simdjson::dom::parser& parser_;
};

void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  log::AppendJsonEscaped(text, out);
  out->push_back('"');
}

void AppendMember(absl::string_view name, absl::string_view value,
                  std::string* out) {
  if (out->size() > 1) out->push_back(',');
  AppendJsonString(name, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

absl::Status Unreadable(absl::string_view what, absl::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrCat("unreadable ", what, " JSON: ", reason));
}

// The reader of last resort, for documents the fast path does not expect.
absl::Status ParseStringMapSlowly(absl::string_view json, StringMap* out) {
  google::protobuf::Struct object;
  const auto status =
      google::protobuf::util::JsonStringToMessage(std::string(json), &object);
  if (!status.ok()) return Unreadable("attributes", status.ToString());
  for (const auto& [name, value] : object.fields()) {
    (*out)[name] = value.string_value();
  }
  return absl::OkStatus();
}

// The address members other than `lines`, under both names protobuf's
// parser accepts.
std::string* AddressField(std::string_view name,
                          rapport::v1::PostalAddress* address) {
  if (name == "locality") return address->mutable_locality();
  if (name == "region") return address->mutable_region();
  if (name == "postalCode" || name == "postal_code") {
    return address->mutable_postal_code();
  }
  if (name == "countryCode" || name == "country_code") {
    return address->mutable_country_code();
  }
  return nullptr;
}

// The fast path: false for anything but an object of the known members with
// string values (and `lines`, an array of strings).
bool ParsePostalAddressQuickly(absl::string_view json,
                               rapport::v1::PostalAddress* out) {
  ParserFor parser(json);
  simdjson::dom::object object;
  if (parser.get().parse(json.data(), json.size()).get(object)) return false;
  for (const auto [name, value] : object) {
    std::string_view text;
    if (name == "lines") {
      simdjson::dom::array lines;
      if (value.get(lines)) return false;
      for (const simdjson::dom::element line : lines) {
        if (line.get(text)) return false;
        out->add_lines(text.data(), text.size());
      }
      continue;
    }
    std::string* field = AddressField(name, out);
    if (field == nullptr || value.get(text)) return false;
    field->assign(text.data(), text.size());
  }
  return true;
}

}  // namespace

std::string StringMapToJson(const StringMap& map) {
  if (map.empty()) return "";
  // Sorted, so that equal maps are stored as equal text.
  std::vector<std::pair<absl::string_view, absl::string_view>> members(
      map.begin(), map.end());
  std::sort(members.begin(), members.end());
  std::string json = "{";
  for (const auto& [name, value] : members) AppendMember(name, value, &json);
  json.push_back('}');
  return json;
}

absl::Status ParseStringMapJson(absl::string_view json, StringMap* out) {
  ParserFor parser(json);
  simdjson::dom::object object;
  if (parser.get().parse(json.data(), json.size()).get(object)) {
    return ParseStringMapSlowly(json, out);
  }
  for (const auto [name, value] : object) {
    std::string_view text;
    if (value.get(text) != simdjson::SUCCESS) text = {};  // not a string
    (*out)[std::string(name)] = std::string(text);
  }
  return absl::OkStatus();
}

std::string PostalAddressToJson(const rapport::v1::PostalAddress& address) {
  std::string json = "{";
  if (!address.lines().empty()) {
    json.append("\"lines\":[");
    for (int i = 0; i < address.lines_size(); ++i) {
      if (i > 0) json.push_back(',');
      AppendJsonString(address.lines(i), &json);
    }
    json.push_back(']');
  }
  const std::pair<absl::string_view, const std::string*> fields[] = {
      {"locality", &address.locality()},
      {"region", &address.region()},
      {"postalCode", &address.postal_code()},
      {"countryCode", &address.country_code()}};
  for (const auto& [name, value] : fields) {
    if (!value->empty()) AppendMember(name, *value, &json);
  }
  json.push_back('}');
  return json;
}

absl::Status ParsePostalAddressJson(absl::string_view json,
                                    rapport::v1::PostalAddress* out) {
  rapport::v1::PostalAddress address;
  if (!ParsePostalAddressQuickly(json, &address)) {
    address.Clear();
    const auto status = google::protobuf::util::JsonStringToMessage(
        std::string(json), &address);
    if (!status.ok()) return Unreadable("address", status.ToString());
  }
  *out = std::move(address);
  return absl::OkStatus();
}

}  // namespace rapport
