// UpdateContact field masks (AIP-134).

#include <array>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/validation/internal/text.h"
#include "server/validation/validation.h"

namespace rapport::validation {
namespace {

using internal::FieldError;
using internal::Quote;
using ::rapport::v1::Contact;

constexpr std::array<absl::string_view, 14> kTopLevelPaths = {
    "given_name",      "family_name", "display_name", "emails",  "phones",
    "company",         "job_title",   "address",      "tags",    "attributes",
    "lifecycle_stage", "owner",       "source",       "consent",
};

constexpr std::array<absl::string_view, 7> kOutputOnlyPaths = {
    "id",   "create_time",           "update_time", "delete_time",
    "etag", "last_interaction_time", "merged_into",
};

constexpr absl::string_view kValidPaths =
    "given_name, family_name, display_name, emails, phones, company, "
    "job_title, address, address.lines, address.locality, address.region, "
    "address.postal_code, address.country_code, tags, attributes, "
    "attributes.<key>, lifecycle_stage, owner, source, consent, "
    "consent.email_opt_in, consent.sms_opt_in, consent.do_not_contact, *";

// Copies one top-level field from `patch` into `out`. Returns false if
// `field` is not an updatable top-level field.
bool CopyTopLevel(absl::string_view field, const Contact& patch, Contact* out) {
  if (field == "given_name") {
    out->set_given_name(patch.given_name());
  } else if (field == "family_name") {
    out->set_family_name(patch.family_name());
  } else if (field == "display_name") {
    out->set_display_name(patch.display_name());
  } else if (field == "emails") {
    *out->mutable_emails() = patch.emails();
  } else if (field == "phones") {
    *out->mutable_phones() = patch.phones();
  } else if (field == "company") {
    out->set_company(patch.company());
  } else if (field == "job_title") {
    out->set_job_title(patch.job_title());
  } else if (field == "address") {
    if (patch.has_address()) {
      *out->mutable_address() = patch.address();
    } else {
      out->clear_address();
    }
  } else if (field == "tags") {
    *out->mutable_tags() = patch.tags();
  } else if (field == "attributes") {
    *out->mutable_attributes() = patch.attributes();
  } else if (field == "lifecycle_stage") {
    out->set_lifecycle_stage(patch.lifecycle_stage());
  } else if (field == "owner") {
    out->set_owner(patch.owner());
  } else if (field == "source") {
    out->set_source(patch.source());
  } else if (field == "consent") {
    if (patch.has_consent()) {
      *out->mutable_consent() = patch.consent();
    } else {
      out->clear_consent();
    }
  } else {
    return false;
  }
  return true;
}

bool CopyAddressField(absl::string_view field, const Contact& patch,
                      Contact* out) {
  const rapport::v1::PostalAddress& from = patch.address();
  rapport::v1::PostalAddress* to = out->mutable_address();
  if (field == "lines") {
    *to->mutable_lines() = from.lines();
  } else if (field == "locality") {
    to->set_locality(from.locality());
  } else if (field == "region") {
    to->set_region(from.region());
  } else if (field == "postal_code") {
    to->set_postal_code(from.postal_code());
  } else if (field == "country_code") {
    to->set_country_code(from.country_code());
  } else {
    return false;
  }
  return true;
}

bool CopyConsentField(absl::string_view field, const Contact& patch,
                      Contact* out) {
  const rapport::v1::Consent& from = patch.consent();
  rapport::v1::Consent* to = out->mutable_consent();
  if (field == "email_opt_in") {
    to->set_email_opt_in(from.email_opt_in());
  } else if (field == "sms_opt_in") {
    to->set_sms_opt_in(from.sms_opt_in());
  } else if (field == "do_not_contact") {
    to->set_do_not_contact(from.do_not_contact());
  } else {
    return false;
  }
  return true;
}

bool IsOutputOnly(absl::string_view head) {
  for (absl::string_view p : kOutputOnlyPaths) {
    if (p == head) return true;
  }
  return false;
}

absl::Status Unknown(absl::string_view path) {
  return FieldError("update_mask",
                    absl::StrCat("unknown field ", Quote(path),
                                 "; valid paths: ", kValidPaths));
}

}  // namespace

absl::StatusOr<Contact> ApplyContactUpdate(
    const Contact& existing, const Contact& patch,
    const google::protobuf::FieldMask& mask) {
  if (mask.paths_size() == 0) {
    return FieldError("update_mask",
                      "required; name the fields to change, e.g. "
                      "\"given_name,tags\"");
  }
  Contact out = existing;
  bool display_name_in_mask = false;
  for (const std::string& path : mask.paths()) {
    if (path == "*") {
      for (absl::string_view field : kTopLevelPaths) {
        CopyTopLevel(field, patch, &out);
      }
      display_name_in_mask = true;
      continue;
    }
    const size_t dot = path.find('.');
    const absl::string_view head = absl::string_view(path).substr(0, dot);
    if (IsOutputOnly(head)) {
      return FieldError("update_mask",
                        absl::StrCat(Quote(path), " is output only"));
    }
    if (dot == std::string::npos) {
      if (!CopyTopLevel(head, patch, &out)) return Unknown(path);
      if (head == "display_name") display_name_in_mask = true;
      continue;
    }
    const absl::string_view rest = absl::string_view(path).substr(dot + 1);
    if (head == "address") {
      if (!CopyAddressField(rest, patch, &out)) return Unknown(path);
    } else if (head == "consent") {
      if (!CopyConsentField(rest, patch, &out)) return Unknown(path);
    } else if (head == "attributes") {
      if (!internal::IsAttributeKey(rest)) {
        return FieldError(
            "update_mask",
            absl::StrCat(Quote(path),
                         " names an invalid attribute key; keys are 1-64 "
                         "characters of a-z, 0-9 and '_', starting with a "
                         "letter"));
      }
      const std::string key(rest);
      auto it = patch.attributes().find(key);
      if (it != patch.attributes().end()) {
        (*out.mutable_attributes())[key] = it->second;
      } else {
        out.mutable_attributes()->erase(key);
      }
    } else {
      return Unknown(path);
    }
  }
  // Keep a derived display name in step with the fields it came from; keep a
  // display name the user chose.
  if (!display_name_in_mask &&
      existing.display_name() == DeriveDisplayName(existing)) {
    out.clear_display_name();
  }
  return out;
}

}  // namespace rapport::validation
