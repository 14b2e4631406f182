// Input validation and normalisation for the public API: e-mail addresses,
// phone numbers, ids, request ids, Contact and Interaction messages, and
// UpdateContact field masks. Every function is pure (no I/O, no globals other
// than libphonenumber's immutable singleton) and thread-safe; the ones that
// take a message pointer modify only that message.
//
// Errors are INVALID_ARGUMENT with a message that starts with the field path
// ("contact.emails[1]: ...") and says how to fix the input. The helpers that
// take a bare value (NormalizeEmail, NormalizePhone) return a message without
// a path; callers prefix it.
//
// Text rules shared by every field:
//  * Lengths are counted in Unicode code points ("characters", as the proto
//    comments say), except Interaction.body, which is limited in bytes (64
//    KiB).
//  * Text must be valid UTF-8. Control characters (U+0000-U+001F, U+007F,
//    U+0080-U+009F) are rejected, not stripped; only multi-line fields
//    (Interaction.body, attribute values) may contain tab, LF and CR.
//  * Single-line fields are trimmed of leading/trailing ASCII whitespace.
//  * Lower-/upper-casing is ASCII-only (tags "VIP" -> "vip"; "É" is kept).
#ifndef RAPPORT_SERVER_VALIDATION_VALIDATION_H_
#define RAPPORT_SERVER_VALIDATION_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/field_mask.pb.h"
#include "rapport/v1/contact.pb.h"
#include "rapport/v1/interaction.pb.h"

namespace rapport::validation {

// Limits from the proto comments (protos/rapport/v1/*.proto). Characters are
// Unicode code points.
inline constexpr size_t kMaxNameChars = 200;  // given/family name, company,
                                              // job title, owner, source,
                                              // address fields, actor
inline constexpr size_t kMaxDisplayNameChars = 400;
inline constexpr size_t kMaxEmails = 10;
inline constexpr size_t kMaxPhones = 10;
inline constexpr size_t kMaxTags = 50;
inline constexpr size_t kMaxTagChars = 64;
inline constexpr size_t kMaxAttributes = 100;
inline constexpr size_t kMaxAttributeKeyChars = 64;
inline constexpr size_t kMaxAttributeValueChars = 1024;
inline constexpr size_t kMaxAddressLines = 5;
// An address altogether, as stored (JSON in a BLOB column, migration 0004).
// The per-field limits keep it far below (about 10 KB at most); this guards
// the column should they grow.
inline constexpr size_t kMaxAddressStoredBytes = 65535;
inline constexpr size_t kMaxEmailChars = 254;
inline constexpr size_t kMaxPhoneInputBytes = 100;
inline constexpr size_t kMaxChannelChars = 64;
inline constexpr size_t kMaxSubjectChars = 500;
inline constexpr size_t kMaxBodyBytes = 65536;
inline constexpr size_t kMaxRequestIdChars = 128;
inline constexpr absl::Duration kMaxOccurTimeInFuture = absl::Hours(24);

// Trims ASCII whitespace, lower-cases and checks practical RFC 5321/5322
// syntax: exactly one '@'; a local part of 1-64 characters of atext and dots
// (no leading, trailing or double dots; quoted local parts are rejected); a
// domain of at most 253 characters made of at least two labels of 1-63
// characters [a-z0-9-] that neither start nor end with '-', whose last label
// is not all digits (IP literals are rejected); at most 254 characters in
// all. Non-ASCII input is rejected: internationalised domains must be sent in
// punycode ("xn--...").
// Returns the normalised address, or INVALID_ARGUMENT (message without a
// field path, starting with the quoted input).
absl::StatusOr<std::string> NormalizeEmail(absl::string_view raw);

// Parses `raw` with libphonenumber, reading numbers without a leading '+' (or
// international prefix) in `default_region` (ISO 3166-1 alpha-2, e.g. "US",
// "DE"). The number must be *valid* (libphonenumber's IsValidNumber: a known
// number range of its country), not merely of a possible length: a
// syntactically possible but unassigned number is a typo more often than not.
// Numbers with an extension are rejected (E.164 cannot hold one).
// Returns E.164 ("+4930123456"), or INVALID_ARGUMENT (message without a field
// path, starting with the quoted input).
absl::StatusOr<std::string> NormalizePhone(absl::string_view raw,
                                           absl::string_view default_region);

// Returns OK if libphonenumber knows `region` (e.g. "US"), else
// INVALID_ARGUMENT. For checking the server's configured default region.
absl::Status ValidatePhoneRegion(absl::string_view region);

// Parses a resource id: a positive decimal int64 with no sign, whitespace or
// leading zeros, at most 19 digits.
// Returns the id; INVALID_ARGUMENT "<field>: required" when `text` is empty,
// else "<field>: \"<text>\" is not a valid id; ...".
absl::StatusOr<int64_t> ParseId(absl::string_view text,
                                absl::string_view field);

// Returns OK if `request_id` is empty (no idempotency) or 1-128 printable
// ASCII characters (0x21-0x7e); otherwise INVALID_ARGUMENT naming
// "request_id".
absl::Status ValidateRequestId(absl::string_view request_id);

// Options for NormalizeContact.
struct ContactOptions {
  // Region for phone numbers written without a country code.
  std::string default_region = "US";
};

// The display name the server derives for `c`: "given family" (either alone
// when the other is empty), else the primary (first) e-mail, else the
// company, else "". Truncated to kMaxDisplayNameChars characters. Reads the
// fields as they are; call on a normalised contact.
std::string DeriveDisplayName(const rapport::v1::Contact& c);

// Validates and normalises, in place, every input field of `c`:
//  * names, company, job_title, owner, source, display_name, address fields:
//    trimmed; at most kMaxNameChars (display_name kMaxDisplayNameChars);
//  * emails: NormalizeEmail each, duplicates dropped (first kept), at most 10
//    distinct; phones: NormalizePhone (options.default_region) each, deduped,
//    at most 10 distinct; empty entries are rejected;
//  * tags: trimmed, lower-cased, 1-64 characters, deduped, at most 50;
//  * attributes: keys [a-z][a-z0-9_]{0,63}, values at most 1024 characters
//    (not trimmed; tab/LF/CR allowed), at most 100 entries;
//  * address: lines trimmed, empty lines dropped, at most 5 lines of at most
//    200 characters; country_code trimmed, upper-cased, an assigned ISO 3166-1
//    alpha-2 code;
//  * lifecycle_stage: a known value; UNSPECIFIED becomes LEAD; unknown numbers
//    (kept by proto3) are rejected;
//  * display_name: derived with DeriveDisplayName when empty.
// Output-only fields (id, times, etag, merged_into) are not touched.
// `field_path` prefixes error messages: "contact" by default, "contacts[17]"
// for imports.
// Returns OK, or INVALID_ARGUMENT for the first bad field; `c` is then partly
// normalised and must be discarded.
// REQUIRES: c != nullptr.
absl::Status NormalizeContact(rapport::v1::Contact* c,
                              const ContactOptions& options,
                              absl::string_view field_path = "contact");

// Validates and normalises, in place, an interaction to be logged at `now`:
//  * contact_id: required, a ParseId id;
//  * type: required, a known value; direction: a known value (or unset);
//  * channel: trimmed, lower-cased; empty or 1-64 of [a-z0-9_.-];
//  * occur_time: `now` when unset; else valid nanos, not before 1900-01-01,
//    at most 24 hours after `now`;
//  * subject (trimmed, at most 500 characters, single line), body (at most
//    65536 bytes, not trimmed; tab/LF/CR allowed), actor (trimmed, at most
//    200 characters);
//  * amount: when set, currency_code trimmed, upper-cased and an active ISO
//    4217 code (XTS "testing" and XXX "no currency" are refused). PURCHASE and
//    REFUND require an amount with a non-zero amount_minor: PURCHASE must be
//    positive; a REFUND is stored as a positive magnitude (a negative refund
//    amount is made positive: the type carries the sign). Other types accept
//    any amount, negative or zero included (corrections);
//  * attributes: the Contact.attributes rules.
// Output-only fields (id, create_time) are not touched.
// Returns OK, or INVALID_ARGUMENT for the first bad field.
// REQUIRES: i != nullptr.
absl::Status NormalizeInteraction(rapport::v1::Interaction* i, absl::Time now,
                                  absl::string_view field_path = "interaction");

// True if `code` is an active ISO 4217 currency code (upper case), excluding
// XTS and XXX.
bool IsCurrencyCode(absl::string_view code);

// True if `code` is an assigned ISO 3166-1 alpha-2 country code (upper case).
bool IsCountryCode(absl::string_view code);

// Applies an UpdateContact (AIP-134) to `existing`: every field named in
// `mask` is copied from `patch` (cleared when unset there); others are kept.
// Paths: given_name, family_name, display_name, emails, phones, company,
// job_title, address, address.{lines,locality,region,postal_code,
// country_code}, tags, attributes, attributes.<key> (set from `patch`, or
// removed when `patch` lacks the key), lifecycle_stage, owner, source,
// consent, consent.{email_opt_in,sms_opt_in,do_not_contact}, and "*" (every
// updatable field). Repeated fields and maps are replaced whole.
// Display name: when display_name is not in the mask and the existing
// display_name equals DeriveDisplayName(existing) (it was derived, or matches
// what would be derived), it is cleared so that NormalizeContact derives it
// again from the new names/e-mail/company; a display name the user chose is
// kept.
// Returns the merged contact, not yet normalised (call NormalizeContact), or
// INVALID_ARGUMENT: an empty mask ("update_mask: required; ...": an update
// that names no fields is a client bug, not a full replacement), an output
// only path ("update_mask: \"create_time\" is output only"), an unknown path
// (the message lists the valid ones) or an attributes.<key> whose key breaks
// the key rules.
absl::StatusOr<rapport::v1::Contact> ApplyContactUpdate(
    const rapport::v1::Contact& existing, const rapport::v1::Contact& patch,
    const google::protobuf::FieldMask& mask);

}  // namespace rapport::validation

#endif  // RAPPORT_SERVER_VALIDATION_VALIDATION_H_
