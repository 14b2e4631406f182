// Random input never crashes the validators and only ever yields OK or
// INVALID_ARGUMENT. Seeded, so failures reproduce.

#include <cstdint>
#include <random>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/validation/validation.h"

namespace rapport::validation {
namespace {

constexpr absl::string_view kAlphabet =
    "abcXYZ019@.+-_ ()/#\"'\\\t\n\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
    "\xff\xc0\xed\xa0";

std::string RandomText(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> length(0, 300);
  std::uniform_int_distribution<int> mode(0, 1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  const int n = length(rng);
  const bool raw = mode(rng) == 0;
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += raw ? static_cast<char>(byte(rng)) : kAlphabet[pick(rng)];
  }
  return s;
}

bool OkOrInvalid(const absl::Status& s) {
  return s.ok() || s.code() == absl::StatusCode::kInvalidArgument;
}

TEST(Robustness, RandomBytesNeverCrash) {
  std::mt19937_64 rng(20240501);
  const char* regions[] = {"US", "DE", "GB", "", "XX", "\xff"};
  for (int i = 0; i < 20000; ++i) {
    const std::string text = RandomText(rng);
    const absl::StatusOr<std::string> email = NormalizeEmail(text);
    ASSERT_TRUE(OkOrInvalid(email.status())) << email.status();
    if (email.ok()) {
      // Normalisation is idempotent.
      ASSERT_EQ(*NormalizeEmail(*email), *email);
    }
    const absl::StatusOr<std::string> phone =
        NormalizePhone(text, regions[i % 6]);
    ASSERT_TRUE(OkOrInvalid(phone.status())) << phone.status();
    if (phone.ok()) {
      ASSERT_EQ(*NormalizePhone(*phone, "US"), *phone);
    }
    const absl::StatusOr<int64_t> id = ParseId(text, "id");
    ASSERT_TRUE(OkOrInvalid(id.status())) << id.status();
    if (id.ok()) {
      ASSERT_GT(*id, 0);
    }
    ASSERT_TRUE(OkOrInvalid(ValidateRequestId(text)));
  }
}

TEST(Robustness, RandomContactsNeverCrash) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    rapport::v1::Contact c;
    c.set_given_name(RandomText(rng));
    c.set_display_name(RandomText(rng));
    c.add_emails(RandomText(rng));
    c.add_phones(RandomText(rng));
    c.add_tags(RandomText(rng));
    (*c.mutable_attributes())[RandomText(rng)] = RandomText(rng);
    c.mutable_address()->set_country_code(RandomText(rng));
    c.set_lifecycle_stage(
        static_cast<rapport::v1::LifecycleStage>(static_cast<int>(rng())));
    ASSERT_TRUE(OkOrInvalid(NormalizeContact(&c, {})));

    rapport::v1::Interaction in;
    in.set_contact_id(RandomText(rng));
    in.set_type(static_cast<rapport::v1::InteractionType>(rng() % 14));
    in.set_channel(RandomText(rng));
    in.mutable_occur_time()->set_seconds(static_cast<int64_t>(rng()));
    in.mutable_occur_time()->set_nanos(static_cast<int32_t>(rng()));
    in.mutable_amount()->set_currency_code(RandomText(rng));
    in.mutable_amount()->set_amount_minor(static_cast<int64_t>(rng()));
    in.set_body(RandomText(rng));
    ASSERT_TRUE(OkOrInvalid(NormalizeInteraction(&in, absl::UnixEpoch())));
  }
}

}  // namespace
}  // namespace rapport::validation
