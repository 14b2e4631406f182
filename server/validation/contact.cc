// Contact normalisation.

#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/common/status_macros.h"
#include "server/common/stored_json.h"
#include "server/validation/internal/text.h"
#include "server/validation/validation.h"

namespace rapport::validation {
namespace {

using internal::FieldError;
using internal::TrimAndCheck;
using internal::WithPath;
using ::rapport::v1::Contact;

// Normalises every entry of a repeated string field with `normalize`, drops
// duplicates (keeping the first) and checks the count of distinct entries.
template <typename Normalize>
absl::Status NormalizeList(
    google::protobuf::RepeatedPtrField<std::string>* list,
    absl::string_view path, size_t max_entries, absl::string_view what,
    Normalize normalize) {
  absl::flat_hash_set<std::string> seen;
  google::protobuf::RepeatedPtrField<std::string> out;
  for (int i = 0; i < list->size(); ++i) {
    const std::string entry_path = absl::StrCat(path, "[", i, "]");
    absl::StatusOr<std::string> value = normalize(list->Get(i), entry_path);
    if (!value.ok()) return value.status();
    if (seen.insert(*value).second) out.Add(std::move(*value));
  }
  if (static_cast<size_t>(out.size()) > max_entries) {
    return FieldError(path, absl::StrCat("at most ", max_entries, " ", what,
                                         " (got ", out.size(), " distinct)"));
  }
  list->Swap(&out);
  return absl::OkStatus();
}

absl::StatusOr<std::string> NormalizeTag(const std::string& raw,
                                         absl::string_view path) {
  std::string tag = absl::AsciiStrToLower(absl::StripAsciiWhitespace(raw));
  if (tag.empty()) return FieldError(path, "a tag must not be empty");
  RAPPORT_RETURN_IF_ERROR(
      internal::CheckText(tag, path, kMaxTagChars, internal::Lines::kSingle));
  return tag;
}

absl::Status NormalizeAddress(rapport::v1::PostalAddress* a,
                              absl::string_view path) {
  const std::string lines_path = absl::StrCat(path, ".lines");
  google::protobuf::RepeatedPtrField<std::string> lines;
  for (int i = 0; i < a->lines_size(); ++i) {
    std::string line = a->lines(i);
    RAPPORT_RETURN_IF_ERROR(TrimAndCheck(
        &line, absl::StrCat(lines_path, "[", i, "]"), kMaxNameChars));
    if (!line.empty()) lines.Add(std::move(line));
  }
  if (static_cast<size_t>(lines.size()) > kMaxAddressLines) {
    return FieldError(lines_path,
                      absl::StrCat("at most ", kMaxAddressLines, " lines (got ",
                                   lines.size(), ")"));
  }
  a->mutable_lines()->Swap(&lines);
  RAPPORT_RETURN_IF_ERROR(TrimAndCheck(
      a->mutable_locality(), absl::StrCat(path, ".locality"), kMaxNameChars));
  RAPPORT_RETURN_IF_ERROR(TrimAndCheck(
      a->mutable_region(), absl::StrCat(path, ".region"), kMaxNameChars));
  RAPPORT_RETURN_IF_ERROR(TrimAndCheck(a->mutable_postal_code(),
                                       absl::StrCat(path, ".postal_code"),
                                       kMaxNameChars));
  std::string* country = a->mutable_country_code();
  absl::StripAsciiWhitespace(country);
  absl::AsciiStrToUpper(country);
  if (!country->empty() && !IsCountryCode(*country)) {
    return FieldError(absl::StrCat(path, ".country_code"),
                      absl::StrCat(internal::Quote(*country),
                                   " is not an ISO 3166-1 alpha-2 country "
                                   "code; use two letters such as \"DE\" or "
                                   "\"US\""));
  }
  return absl::OkStatus();
}

}  // namespace

std::string DeriveDisplayName(const Contact& c) {
  std::string name;
  if (!c.given_name().empty() && !c.family_name().empty()) {
    name = absl::StrCat(c.given_name(), " ", c.family_name());
  } else if (!c.given_name().empty() || !c.family_name().empty()) {
    name = c.given_name().empty() ? c.family_name() : c.given_name();
  } else if (c.emails_size() > 0) {
    name = c.emails(0);
  } else {
    name = c.company();
  }
  if (!internal::IsValidUtf8(name)) return name;  // rejected elsewhere
  name = std::string(internal::TruncateCodePoints(name, kMaxDisplayNameChars));
  absl::StripTrailingAsciiWhitespace(&name);
  return name;
}

absl::Status NormalizeContact(Contact* c, const ContactOptions& options,
                              absl::string_view field_path) {
  const auto path = [&](absl::string_view field) {
    return absl::StrCat(field_path, ".", field);
  };
  RAPPORT_RETURN_IF_ERROR(
      TrimAndCheck(c->mutable_given_name(), path("given_name"), kMaxNameChars));
  RAPPORT_RETURN_IF_ERROR(TrimAndCheck(c->mutable_family_name(),
                                       path("family_name"), kMaxNameChars));
  RAPPORT_RETURN_IF_ERROR(TrimAndCheck(
      c->mutable_display_name(), path("display_name"), kMaxDisplayNameChars));
  RAPPORT_RETURN_IF_ERROR(
      TrimAndCheck(c->mutable_company(), path("company"), kMaxNameChars));
  RAPPORT_RETURN_IF_ERROR(
      TrimAndCheck(c->mutable_job_title(), path("job_title"), kMaxNameChars));
  RAPPORT_RETURN_IF_ERROR(
      TrimAndCheck(c->mutable_owner(), path("owner"), kMaxNameChars));
  RAPPORT_RETURN_IF_ERROR(
      TrimAndCheck(c->mutable_source(), path("source"), kMaxNameChars));

  RAPPORT_RETURN_IF_ERROR(NormalizeList(
      c->mutable_emails(), path("emails"), kMaxEmails, "e-mail addresses",
      [](const std::string& raw,
         absl::string_view entry_path) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> email = NormalizeEmail(raw);
        if (!email.ok()) return WithPath(email.status(), entry_path);
        return email;
      }));
  RAPPORT_RETURN_IF_ERROR(NormalizeList(
      c->mutable_phones(), path("phones"), kMaxPhones, "phone numbers",
      [&](const std::string& raw,
          absl::string_view entry_path) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> phone =
            NormalizePhone(raw, options.default_region);
        if (!phone.ok()) return WithPath(phone.status(), entry_path);
        return phone;
      }));
  RAPPORT_RETURN_IF_ERROR(NormalizeList(c->mutable_tags(), path("tags"),
                                        kMaxTags, "tags", NormalizeTag));
  RAPPORT_RETURN_IF_ERROR(
      internal::CheckAttributes(c->attributes(), path("attributes")));
  if (c->has_address()) {
    RAPPORT_RETURN_IF_ERROR(
        NormalizeAddress(c->mutable_address(), path("address")));
    // Each field is within its own limit, but all of them together must also
    // fit the stored form (JSON in a 4096-byte column): five 200-character
    // lines of 4-byte characters would not.
    const std::string json = PostalAddressToJson(c->address());
    if (json.size() > kMaxAddressStoredBytes) {
      return FieldError(
          path("address"),
          absl::StrCat("too long altogether: ", json.size(),
                       " bytes when stored, at most ", kMaxAddressStoredBytes,
                       " (shorten the lines)"));
    }
  }

  const int stage = c->lifecycle_stage();
  if (!rapport::v1::LifecycleStage_IsValid(stage)) {
    return FieldError(path("lifecycle_stage"),
                      absl::StrCat("unknown value ", stage,
                                   "; use LEAD, PROSPECT, CUSTOMER, INACTIVE "
                                   "or CHURNED"));
  }
  if (stage == rapport::v1::LIFECYCLE_STAGE_UNSPECIFIED) {
    c->set_lifecycle_stage(rapport::v1::LEAD);
  }

  if (c->display_name().empty()) c->set_display_name(DeriveDisplayName(*c));
  return absl::OkStatus();
}

}  // namespace rapport::validation
