// Fuzzes request validation and normalisation (server/validation/
// validation.h) the way the API calls it, on requests in protobuf wire
// format, as gRPC delivers them.
//
// Input: byte 0 picks the request, byte 1 the default phone region
// (US, DE, GB, IN), the rest is the serialized request:
//   'C' CreateContactRequest   -> ValidateRequestId, NormalizeContact
//   'I' ImportContactsRequest  -> NormalizeContact per row ("contacts[i]")
//   'U' UpdateContactRequest   -> ApplyContactUpdate, NormalizeContact
//   'L' LogInteractionRequest  -> ValidateRequestId, NormalizeInteraction
// (any other byte picks one of the four by its value).
//
// Invariants, beyond "does not crash":
//  * every result is OK or INVALID_ARGUMENT whose message starts with the
//    field path ("contact.", "contacts[3].", "interaction.", "update_mask")
//    and is valid UTF-8 without control bytes;
//  * normalisation never touches output-only fields;
//  * a normalised message satisfies every documented rule (trimmed, limits,
//    lower-cased tags and e-mails, E.164 phones, no duplicates, a known
//    lifecycle stage, a derived display name, amounts and times in range),
//    holds valid UTF-8 in every string, and normalises again to itself
//    (idempotence: a retried or re-imported request changes nothing);
//  * ApplyContactUpdate changes only the fields its mask names (and a
//    derived display name), and applying the same update to its own
//    normalised result changes nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "rapport/v1/contact.pb.h"
#include "rapport/v1/contact_service.pb.h"
#include "rapport/v1/interaction.pb.h"
#include "rapport/v1/interaction_service.pb.h"
#include "server/common/time_util.h"
#include "server/validation/validation.h"
#include "tests/fuzz/fuzz_util.h"

namespace rapport::fuzz {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;
using ::google::protobuf::util::MessageDifferencer;
using ::rapport::v1::Contact;
using ::rapport::v1::Interaction;

// Fixed "now" for interactions: the fuzzer must be deterministic.
absl::Time Now() {
  return absl::FromCivil(absl::CivilSecond(2024, 5, 1, 12, 0, 0),
                         absl::UTCTimeZone());
}

std::string Text(const Message& m) { return m.ShortDebugString(); }

bool Same(const Message& a, const Message& b) {
  return MessageDifferencer::Equals(a, b);
}

// Every string in `m`, recursively (maps are repeated entry messages).
void CheckStringsUtf8(const Message& m) {
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          const std::string s = r->GetRepeatedString(m, f, i);
          RAPPORT_FUZZ_CHECK(IsValidUtf8(s), f->full_name(), " ", Show(s));
        }
      } else {
        const std::string s = r->GetString(m, f);
        RAPPORT_FUZZ_CHECK(IsValidUtf8(s), f->full_name(), " ", Show(s));
      }
    } else if (f->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(m, f); ++i) {
          CheckStringsUtf8(r->GetRepeatedMessage(m, f, i));
        }
      } else {
        CheckStringsUtf8(r->GetMessage(m, f));
      }
    }
  }
}

void CheckError(const absl::Status& s, absl::string_view prefix) {
  RAPPORT_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, s);
  RAPPORT_FUZZ_CHECK(absl::StartsWith(s.message(), prefix), "expected ", prefix,
                     ": ", s);
  RAPPORT_FUZZ_CHECK(IsValidUtf8(s.message()), Show(s.message()));
  RAPPORT_FUZZ_CHECK(!HasControlByte(s.message()), Show(s.message()));
}

size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// A single-line text field after normalisation.
void CheckLine(absl::string_view s, size_t max_chars, absl::string_view what) {
  RAPPORT_FUZZ_CHECK(absl::StripAsciiWhitespace(s) == s, what,
                     " not trimmed: ", Show(s));
  RAPPORT_FUZZ_CHECK(CodePoints(s) <= max_chars, what, " too long");
  RAPPORT_FUZZ_CHECK(!HasControlByte(s), what, " has a control byte");
}

template <typename List>
void CheckDistinct(const List& list, absl::string_view what) {
  absl::flat_hash_set<std::string> seen;
  for (const std::string& s : list) {
    RAPPORT_FUZZ_CHECK(seen.insert(s).second, what, " repeats ", Show(s));
  }
}

void CheckOutputOnlyKept(const Contact& before, const Contact& after) {
  RAPPORT_FUZZ_CHECK(
      before.id() == after.id() && before.etag() == after.etag() &&
          before.merged_into() == after.merged_into() &&
          Same(before.create_time(), after.create_time()) &&
          Same(before.update_time(), after.update_time()) &&
          Same(before.delete_time(), after.delete_time()) &&
          Same(before.last_interaction_time(), after.last_interaction_time()),
      "an output-only field changed");
}

void CheckNormalContact(const Contact& c, const std::string& region) {
  using validation::kMaxNameChars;
  CheckStringsUtf8(c);
  CheckLine(c.given_name(), kMaxNameChars, "given_name");
  CheckLine(c.family_name(), kMaxNameChars, "family_name");
  CheckLine(c.display_name(), validation::kMaxDisplayNameChars, "display_name");
  CheckLine(c.company(), kMaxNameChars, "company");
  CheckLine(c.job_title(), kMaxNameChars, "job_title");
  CheckLine(c.owner(), kMaxNameChars, "owner");
  CheckLine(c.source(), kMaxNameChars, "source");
  if (c.display_name().empty()) {
    RAPPORT_FUZZ_CHECK(validation::DeriveDisplayName(c).empty(),
                       "display_name was not derived");
  }

  RAPPORT_FUZZ_CHECK(c.emails_size() <= int{validation::kMaxEmails});
  CheckDistinct(c.emails(), "emails");
  for (const std::string& e : c.emails()) {
    const absl::StatusOr<std::string> again = validation::NormalizeEmail(e);
    RAPPORT_FUZZ_CHECK(again.ok() && *again == e, Show(e));
  }
  RAPPORT_FUZZ_CHECK(c.phones_size() <= int{validation::kMaxPhones});
  CheckDistinct(c.phones(), "phones");
  for (const std::string& p : c.phones()) {
    const absl::StatusOr<std::string> again =
        validation::NormalizePhone(p, region);
    RAPPORT_FUZZ_CHECK(again.ok() && *again == p && p[0] == '+', Show(p));
  }
  RAPPORT_FUZZ_CHECK(c.tags_size() <= int{validation::kMaxTags});
  CheckDistinct(c.tags(), "tags");
  for (const std::string& t : c.tags()) {
    CheckLine(t, validation::kMaxTagChars, "tag");
    RAPPORT_FUZZ_CHECK(!t.empty() && absl::AsciiStrToLower(t) == t, Show(t));
  }
  RAPPORT_FUZZ_CHECK(c.attributes_size() <= int{validation::kMaxAttributes});
  for (const auto& [key, value] : c.attributes()) {
    RAPPORT_FUZZ_CHECK(CodePoints(value) <=
                       validation::kMaxAttributeValueChars);
    RAPPORT_FUZZ_CHECK(
        !key.empty() && key.size() <= 64 && key[0] >= 'a' && key[0] <= 'z',
        Show(key));
  }
  if (c.has_address()) {
    const rapport::v1::PostalAddress& a = c.address();
    RAPPORT_FUZZ_CHECK(a.lines_size() <= int{validation::kMaxAddressLines});
    for (const std::string& line : a.lines()) {
      RAPPORT_FUZZ_CHECK(!line.empty());
      CheckLine(line, kMaxNameChars, "address line");
    }
    CheckLine(a.locality(), kMaxNameChars, "locality");
    CheckLine(a.region(), kMaxNameChars, "region");
    CheckLine(a.postal_code(), kMaxNameChars, "postal_code");
    RAPPORT_FUZZ_CHECK(
        a.country_code().empty() || validation::IsCountryCode(a.country_code()),
        Show(a.country_code()));
  }
  RAPPORT_FUZZ_CHECK(
      rapport::v1::LifecycleStage_IsValid(c.lifecycle_stage()) &&
          c.lifecycle_stage() != rapport::v1::LIFECYCLE_STAGE_UNSPECIFIED,
      c.lifecycle_stage());
}

// NormalizeContact with all the checks; returns whether it succeeded.
bool NormalizeAndCheck(Contact* c, const std::string& region,
                       absl::string_view path) {
  const Contact before = *c;
  validation::ContactOptions options;
  options.default_region = region;
  const absl::Status s = validation::NormalizeContact(c, options, path);
  CheckOutputOnlyKept(before, *c);
  if (!s.ok()) {
    CheckError(s, absl::StrCat(path, "."));
    return false;
  }
  CheckNormalContact(*c, region);
  Contact again = *c;
  const absl::Status s2 = validation::NormalizeContact(&again, options, path);
  RAPPORT_FUZZ_CHECK(s2.ok() && Same(again, *c), "not idempotent: ", s2,
                     "\n  first:  ", Text(*c), "\n  second: ", Text(again));
  return true;
}

void FuzzCreate(absl::string_view wire, const std::string& region) {
  rapport::v1::CreateContactRequest request;
  if (!request.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
    return;
  }
  const absl::Status id = validation::ValidateRequestId(request.request_id());
  if (!id.ok()) CheckError(id, "request_id: ");
  Contact c = request.contact();
  NormalizeAndCheck(&c, region, "contact");
}

void FuzzImport(absl::string_view wire, const std::string& region) {
  rapport::v1::ImportContactsRequest request;
  if (!request.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
    return;
  }
  for (int i = 0; i < request.contacts_size() && i < 16; ++i) {
    Contact c = request.contacts(i);
    NormalizeAndCheck(&c, region, absl::StrCat("contacts[", i, "]"));
  }
}

// True if `mask` names top-level `field`, whole or in part.
bool MaskCovers(const google::protobuf::FieldMask& mask,
                absl::string_view field) {
  for (const std::string& path : mask.paths()) {
    if (path == "*" || path == field ||
        absl::StartsWith(path, absl::StrCat(field, "."))) {
      return true;
    }
  }
  return false;
}

void CheckUpdate(const Contact& existing, const Contact& patch,
                 const google::protobuf::FieldMask& mask,
                 const std::string& region) {
  const absl::StatusOr<Contact> out =
      validation::ApplyContactUpdate(existing, patch, mask);
  if (!out.ok()) {
    CheckError(out.status(), "update_mask: ");
    return;
  }
  CheckOutputOnlyKept(existing, *out);
  // Fields the mask does not name are kept; clear the named ones (and the
  // display name, which may be re-derived) on both sides and compare.
  Contact kept = *out;
  Contact was = existing;
  const google::protobuf::Descriptor* d = Contact::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->name() == "display_name" || MaskCovers(mask, f->name())) {
      kept.GetReflection()->ClearField(&kept, f);
      was.GetReflection()->ClearField(&was, f);
    }
  }
  RAPPORT_FUZZ_CHECK(Same(kept, was), "a field outside the mask changed");
  if (MaskCovers(mask, "display_name")) {
    RAPPORT_FUZZ_CHECK(out->display_name() == patch.display_name());
  } else if (existing.display_name() !=
             validation::DeriveDisplayName(existing)) {
    RAPPORT_FUZZ_CHECK(out->display_name() == existing.display_name(),
                       "a chosen display name was dropped");
  }

  // The server's path: apply, then normalise. Retrying the same update on
  // its result must change nothing.
  Contact first = *out;
  if (!NormalizeAndCheck(&first, region, "contact")) return;
  const absl::StatusOr<Contact> retry =
      validation::ApplyContactUpdate(first, patch, mask);
  RAPPORT_FUZZ_CHECK(retry.ok(), retry.status());
  Contact second = *retry;
  validation::ContactOptions options;
  options.default_region = region;
  const absl::Status s = validation::NormalizeContact(&second, options);
  RAPPORT_FUZZ_CHECK(s.ok() && Same(first, second),
                     "retrying the update changed the contact: ", s,
                     "\n  first:  ", Text(first), "\n  second: ", Text(second));
}

// A stored contact as NormalizeContact leaves it, with output-only fields.
const Contact& Existing() {
  static const Contact* const c = [] {
    auto* c = new Contact;
    c->set_id("42");
    c->set_given_name("Ada");
    c->set_family_name("Lovelace");
    c->add_emails("ada@example.com");
    c->add_phones("+442071838750");
    c->set_company("Analytical Engines Ltd");
    c->add_tags("vip");
    (*c->mutable_attributes())["plan"] = "gold";
    c->mutable_address()->add_lines("12 St James's Square");
    c->mutable_address()->set_country_code("GB");
    c->mutable_consent()->set_email_opt_in(true);
    c->set_lifecycle_stage(rapport::v1::CUSTOMER);
    c->set_etag("W/\"3\"");
    c->mutable_create_time()->set_seconds(1700000000);
    validation::ContactOptions options;
    options.default_region = "GB";
    const absl::Status s = validation::NormalizeContact(c, options);
    RAPPORT_FUZZ_CHECK(s.ok(), s);
    return c;
  }();
  return *c;
}

void FuzzUpdate(absl::string_view wire, const std::string& region) {
  rapport::v1::UpdateContactRequest request;
  if (!request.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
    return;
  }
  const Contact& patch = request.contact();
  // What the API does first, to reject a bad mask before the database.
  CheckUpdate(Contact(), patch, request.update_mask(), region);
  CheckUpdate(Existing(), patch, request.update_mask(), region);
  // And on a stored contact that differs from the fixed one: the patch
  // itself, as created.
  Contact stored = patch;
  validation::ContactOptions options;
  options.default_region = region;
  if (validation::NormalizeContact(&stored, options).ok()) {
    CheckUpdate(stored, patch, request.update_mask(), region);
  }
}

void FuzzLog(absl::string_view wire) {
  rapport::v1::LogInteractionRequest request;
  if (!request.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
    return;
  }
  const absl::Status id = validation::ValidateRequestId(request.request_id());
  if (!id.ok()) CheckError(id, "request_id: ");
  Interaction i = request.interaction();
  const Interaction before = i;
  const absl::Status s = validation::NormalizeInteraction(&i, Now());
  RAPPORT_FUZZ_CHECK(
      i.id() == before.id() && Same(i.create_time(), before.create_time()),
      "an output-only field changed");
  if (!s.ok()) {
    CheckError(s, "interaction.");
    return;
  }
  CheckStringsUtf8(i);
  RAPPORT_FUZZ_CHECK(validation::ParseId(i.contact_id(), "contact_id").ok());
  RAPPORT_FUZZ_CHECK(rapport::v1::InteractionType_IsValid(i.type()) &&
                     i.type() != rapport::v1::INTERACTION_TYPE_UNSPECIFIED);
  RAPPORT_FUZZ_CHECK(rapport::v1::Direction_IsValid(i.direction()));
  RAPPORT_FUZZ_CHECK(i.channel().size() <= validation::kMaxChannelChars);
  for (char c : i.channel()) {
    RAPPORT_FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                           c == '_' || c == '.' || c == '-',
                       Show(i.channel()));
  }
  RAPPORT_FUZZ_CHECK(i.has_occur_time());
  const absl::Time occur = ToAbslTime(i.occur_time());
  RAPPORT_FUZZ_CHECK(i.occur_time().nanos() >= 0 &&
                     i.occur_time().nanos() <= 999999999);
  RAPPORT_FUZZ_CHECK(occur <= Now() + validation::kMaxOccurTimeInFuture &&
                         occur >= absl::FromCivil(absl::CivilSecond(1900, 1, 1),
                                                  absl::UTCTimeZone()),
                     Text(i.occur_time()));
  CheckLine(i.subject(), validation::kMaxSubjectChars, "subject");
  RAPPORT_FUZZ_CHECK(i.body().size() <= validation::kMaxBodyBytes);
  CheckLine(i.actor(), validation::kMaxNameChars, "actor");
  RAPPORT_FUZZ_CHECK(i.attributes_size() <= int{validation::kMaxAttributes});
  if (i.has_amount()) {
    RAPPORT_FUZZ_CHECK(validation::IsCurrencyCode(i.amount().currency_code()),
                       Show(i.amount().currency_code()));
  }
  if (i.type() == rapport::v1::PURCHASE || i.type() == rapport::v1::REFUND) {
    RAPPORT_FUZZ_CHECK(i.has_amount() && i.amount().amount_minor() > 0,
                       i.amount().amount_minor());
  }
  Interaction again = i;
  const absl::Status s2 = validation::NormalizeInteraction(&again, Now());
  RAPPORT_FUZZ_CHECK(s2.ok() && Same(again, i), "not idempotent: ", s2,
                     "\n  first:  ", Text(i), "\n  second: ", Text(again));
}

}  // namespace
}  // namespace rapport::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // Protobuf logs every string field it refuses to parse for invalid UTF-8;
  // such inputs are expected here, and a million log lines slow the fuzzer.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static const char* const kRegions[] = {"US", "DE", "GB", "IN"};
  const std::string region = kRegions[data[1] % 4];
  const absl::string_view wire(reinterpret_cast<const char*>(data) + 2,
                               size - 2);
  char kind = static_cast<char>(data[0]);
  if (kind != 'C' && kind != 'I' && kind != 'U' && kind != 'L') {
    kind = "CIUL"[data[0] % 4];
  }
  switch (kind) {
    case 'C':
      rapport::fuzz::FuzzCreate(wire, region);
      break;
    case 'I':
      rapport::fuzz::FuzzImport(wire, region);
      break;
    case 'U':
      rapport::fuzz::FuzzUpdate(wire, region);
      break;
    default:
      rapport::fuzz::FuzzLog(wire);
  }
  return 0;
}
