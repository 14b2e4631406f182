// The small JSON documents rapportd keeps in text columns: attribute maps
// (contacts.attributes_json, interactions.attributes) and postal addresses
// (contacts.address). Every contact and interaction read parses one or two of
// them, so reading goes through simdjson, not protobuf's JSON converter
// (which cost ~14% of rapportd's CPU per GetContact: it builds a type
// resolver and an object writer for each document). Anything the fast reader
// does not expect (a number, a null, an unknown key) is handed to protobuf's
// parser, so every document that read before still reads the same.
// Thread-safe (pure functions; the parsers are per thread).
#ifndef RAPPORT_SERVER_COMMON_STORED_JSON_H_
#define RAPPORT_SERVER_COMMON_STORED_JSON_H_

#include <google/protobuf/map.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rapport/v1/contact.pb.h"

namespace rapport {

using StringMap = google::protobuf::Map<std::string, std::string>;

// `map` as a JSON object of strings, keys in byte order; "" when empty.
std::string StringMapToJson(const StringMap& map);

// Adds the members of a JSON object of strings to `out`. A member whose
// value is not a string reads as "" (as protobuf's Struct::string_value()
// did). INVALID_ARGUMENT when `json` is not a JSON object.
absl::Status ParseStringMapJson(absl::string_view json, StringMap* out);

// `address` as protobuf's MessageToJsonString writes it: lowerCamelCase
// names in field order, empty fields left out.
std::string PostalAddressToJson(const rapport::v1::PostalAddress& address);

// Reads what PostalAddressToJson (or protobuf's JSON printer) wrote into
// `out`; accepts whatever protobuf's JSON parser accepts. INVALID_ARGUMENT
// otherwise.
absl::Status ParsePostalAddressJson(absl::string_view json,
                                    rapport::v1::PostalAddress* out);

}  // namespace rapport

#endif  // RAPPORT_SERVER_COMMON_STORED_JSON_H_
