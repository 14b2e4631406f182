// rapportctl contacts …: the ContactService, including CSV import/export.
#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/csv.h"
#include "cli/output.h"

namespace rapport::cli {
namespace {

using rapport::v1::Contact;

std::string DisplayName(const Contact& c) {
  if (!c.display_name().empty()) return c.display_name();
  return std::string(absl::StripAsciiWhitespace(
      absl::StrCat(c.given_name(), " ", c.family_name())));
}

std::string StageName(rapport::v1::LifecycleStage stage) {
  if (stage == rapport::v1::LIFECYCLE_STAGE_UNSPECIFIED) return "";
  return rapport::v1::LifecycleStage_Name(stage);
}

Table ContactTable(const google::protobuf::RepeatedPtrField<Contact>& list) {
  Table table({"ID", "NAME", "EMAIL", "COMPANY", "STAGE", "TAGS"});
  for (const Contact& c : list) {
    table.AddRow({c.id(), DisplayName(c), c.emails().empty() ? "" : c.emails(0),
                  c.company(), StageName(c.lifecycle_stage()),
                  absl::StrJoin(c.tags(), ",")});
  }
  return table;
}

void PrintContact(const Contact& contact, const GlobalFlags& flags) {
  google::protobuf::RepeatedPtrField<Contact> one;
  *one.Add() = contact;
  PrintResult(contact, flags.output, [&] { return ContactTable(one); });
}

bool ParseStage(const std::string& text, rapport::v1::LifecycleStage* stage) {
  if (text.empty()) {
    *stage = rapport::v1::LIFECYCLE_STAGE_UNSPECIFIED;
    return true;
  }
  return rapport::v1::LifecycleStage_Parse(absl::AsciiStrToUpper(text), stage);
}

// The contact fields settable from flags (create and update).
struct ContactFlags {
  std::string given_name, family_name, display_name, company, job_title,
      lifecycle_stage, owner, source;
  std::vector<std::string> emails, phones, tags, attrs;
  // Each option with the update_mask path it sets.
  std::vector<std::pair<CLI::Option*, std::string>> options;
};

void AddContactFlags(CLI::App* command, ContactFlags* f) {
  auto add = [&](const char* name, auto* value, const char* help,
                 const char* path) {
    f->options.emplace_back(command->add_option(name, *value, help), path);
  };
  add("--given-name", &f->given_name, "Given name", "given_name");
  add("--family-name", &f->family_name, "Family name", "family_name");
  add("--display-name", &f->display_name, "Display name", "display_name");
  add("--email", &f->emails, "E-mail (repeat for more)", "emails");
  add("--phone", &f->phones, "Phone (repeat for more)", "phones");
  add("--company", &f->company, "Company", "company");
  add("--job-title", &f->job_title, "Job title", "job_title");
  add("--tag", &f->tags, "Tag (repeat for more)", "tags");
  add("--attr", &f->attrs, "Attribute KEY=VALUE (repeat for more)",
      "attributes");
  add("--lifecycle-stage", &f->lifecycle_stage,
      "LEAD, PROSPECT, CUSTOMER, INACTIVE or CHURNED", "lifecycle_stage");
  add("--owner", &f->owner, "Owner", "owner");
  add("--source", &f->source, "Source", "source");
}

// Fills `contact` (and `mask`, if not null, with the flags given). Returns
// kExitOk, or kExitUsage after printing the problem.
int FillContact(const ContactFlags& f, Contact* contact,
                google::protobuf::FieldMask* mask) {
  contact->set_given_name(f.given_name);
  contact->set_family_name(f.family_name);
  contact->set_display_name(f.display_name);
  contact->set_company(f.company);
  contact->set_job_title(f.job_title);
  contact->set_owner(f.owner);
  contact->set_source(f.source);
  for (const auto& e : f.emails) contact->add_emails(e);
  for (const auto& p : f.phones) contact->add_phones(p);
  for (const auto& t : f.tags) contact->add_tags(t);
  for (const std::string& item : f.attrs) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError(absl::StrCat("--attr ", item, ": expected KEY=VALUE"));
    }
    (*contact->mutable_attributes())[item.substr(0, eq)] = item.substr(eq + 1);
  }
  rapport::v1::LifecycleStage stage;
  if (!ParseStage(f.lifecycle_stage, &stage)) {
    return UsageError(
        absl::StrCat("--lifecycle-stage: unknown stage ", f.lifecycle_stage));
  }
  contact->set_lifecycle_stage(stage);
  if (mask != nullptr) {
    for (const auto& [option, path] : f.options) {
      if (option->count() > 0) mask->add_paths(path);
    }
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// CSV mapping (documented in clients/README.md).

enum class Column {
  kIgnored,
  kGivenName,
  kFamilyName,
  kDisplayName,
  kEmails,
  kPhones,
  kCompany,
  kJobTitle,
  kTags,
  kLifecycleStage,
  kOwner,
  kSource,
  kAttr,
  kAttributesJson,
  kEmailOptIn,
  kSmsOptIn,
  kDoNotContact
};

struct ColumnSpec {
  Column column = Column::kIgnored;
  std::string attr_key;  // kAttr only
};

const std::map<std::string, Column>& ColumnNames() {
  static const auto* names = new std::map<std::string, Column>{
      {"given_name", Column::kGivenName},
      {"family_name", Column::kFamilyName},
      {"display_name", Column::kDisplayName},
      {"email", Column::kEmails},
      {"emails", Column::kEmails},
      {"phone", Column::kPhones},
      {"phones", Column::kPhones},
      {"company", Column::kCompany},
      {"job_title", Column::kJobTitle},
      {"tags", Column::kTags},
      {"tag", Column::kTags},
      {"lifecycle_stage", Column::kLifecycleStage},
      {"owner", Column::kOwner},
      {"source", Column::kSource},
      {"attributes", Column::kAttributesJson},
      {"consent.email_opt_in", Column::kEmailOptIn},
      {"consent.sms_opt_in", Column::kSmsOptIn},
      {"consent.do_not_contact", Column::kDoNotContact},
      // Written by `contacts export`; import matches by e-mail instead.
      {"id", Column::kIgnored},
  };
  return *names;
}

// The header's columns; INVALID_ARGUMENT naming an unknown column.
absl::StatusOr<std::vector<ColumnSpec>> ParseHeader(
    const std::vector<std::string>& header) {
  std::vector<ColumnSpec> specs;
  for (const std::string& raw : header) {
    std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(raw));
    if (specs.empty() && absl::StartsWith(name, "\xef\xbb\xbf")) {
      name = name.substr(3);  // UTF-8 byte order mark
    }
    ColumnSpec spec;
    if (absl::StartsWith(name, "attr.") && name.size() > 5) {
      spec.column = Column::kAttr;
      // Keep the key's case from the header.
      spec.attr_key = std::string(absl::StripAsciiWhitespace(raw)).substr(5);
    } else if (auto it = ColumnNames().find(name); it != ColumnNames().end()) {
      spec.column = it->second;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown column \"", raw,
          "\" (see `rapportctl contacts import --help` for the mapping)"));
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

std::vector<std::string> SplitList(const std::string& value) {
  std::vector<std::string> items;
  for (absl::string_view item : absl::StrSplit(value, ';')) {
    item = absl::StripAsciiWhitespace(item);
    if (!item.empty()) items.emplace_back(item.data(), item.size());
  }
  return items;
}

bool ParseBool(const std::string& text, bool* value) {
  std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (t == "true" || t == "1" || t == "yes") {
    *value = true;
  } else if (t == "false" || t == "0" || t == "no" || t.empty()) {
    *value = false;
  } else {
    return false;
  }
  return true;
}

struct RowError {
  int64_t row;
  std::string field;
  std::string message;
};

// Maps one CSV record to a contact. Returns false and fills `error` (without
// the row) when the record cannot be mapped.
bool RowToContact(const std::vector<ColumnSpec>& specs,
                  const std::vector<std::string>& fields, Contact* contact,
                  RowError* error) {
  if (fields.size() != specs.size()) {
    error->message = absl::StrCat("the row has ", fields.size(),
                                  " fields, the header has ", specs.size());
    return false;
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string value(absl::StripAsciiWhitespace(fields[i]));
    switch (specs[i].column) {
      case Column::kIgnored:
        break;
      case Column::kGivenName:
        contact->set_given_name(value);
        break;
      case Column::kFamilyName:
        contact->set_family_name(value);
        break;
      case Column::kDisplayName:
        contact->set_display_name(value);
        break;
      case Column::kEmails:
        for (auto& v : SplitList(value)) contact->add_emails(v);
        break;
      case Column::kPhones:
        for (auto& v : SplitList(value)) contact->add_phones(v);
        break;
      case Column::kCompany:
        contact->set_company(value);
        break;
      case Column::kJobTitle:
        contact->set_job_title(value);
        break;
      case Column::kTags:
        for (auto& v : SplitList(value)) contact->add_tags(v);
        break;
      case Column::kLifecycleStage: {
        rapport::v1::LifecycleStage stage;
        if (!ParseStage(value, &stage)) {
          error->field = "lifecycle_stage";
          error->message = absl::StrCat(
              "\"", value,
              "\" is not one of LEAD, PROSPECT, CUSTOMER, INACTIVE, CHURNED");
          return false;
        }
        contact->set_lifecycle_stage(stage);
        break;
      }
      case Column::kOwner:
        contact->set_owner(value);
        break;
      case Column::kSource:
        contact->set_source(value);
        break;
      case Column::kAttr:
        if (!value.empty()) {
          (*contact->mutable_attributes())[specs[i].attr_key] = value;
        }
        break;
      case Column::kAttributesJson: {
        if (value.empty()) break;
        google::protobuf::Struct object;
        if (!google::protobuf::util::JsonStringToMessage(value, &object).ok()) {
          error->field = "attributes";
          error->message = "expected a JSON object of strings";
          return false;
        }
        for (const auto& [key, v] : object.fields()) {
          if (v.kind_case() != google::protobuf::Value::kStringValue) {
            error->field = absl::StrCat("attributes.", key);
            error->message = "expected a string";
            return false;
          }
          (*contact->mutable_attributes())[key] = v.string_value();
        }
        break;
      }
      case Column::kEmailOptIn:
      case Column::kSmsOptIn:
      case Column::kDoNotContact: {
        bool flag;
        const char* name =
            specs[i].column == Column::kEmailOptIn ? "consent.email_opt_in"
            : specs[i].column == Column::kSmsOptIn ? "consent.sms_opt_in"
                                                   : "consent.do_not_contact";
        if (!ParseBool(value, &flag)) {
          error->field = name;
          error->message =
              absl::StrCat("\"", value, "\" is not true/false/yes/no/1/0");
          return false;
        }
        rapport::v1::Consent* consent = contact->mutable_consent();
        if (specs[i].column == Column::kEmailOptIn) {
          consent->set_email_opt_in(flag);
        } else if (specs[i].column == Column::kSmsOptIn) {
          consent->set_sms_opt_in(flag);
        } else {
          consent->set_do_not_contact(flag);
        }
        break;
      }
    }
  }
  return true;
}

const std::vector<std::string>& ExportColumns() {
  static const auto* columns =
      new std::vector<std::string>{"id",
                                   "given_name",
                                   "family_name",
                                   "display_name",
                                   "emails",
                                   "phones",
                                   "company",
                                   "job_title",
                                   "tags",
                                   "lifecycle_stage",
                                   "owner",
                                   "source",
                                   "attributes",
                                   "consent.email_opt_in",
                                   "consent.sms_opt_in",
                                   "consent.do_not_contact"};
  return *columns;
}

std::vector<std::string> ContactToRow(const Contact& c) {
  std::string attributes;
  if (!c.attributes().empty()) {
    google::protobuf::Struct object;
    for (const auto& [key, value] : c.attributes()) {
      (*object.mutable_fields())[key].set_string_value(value);
    }
    attributes = MessageToJson(object, /*pretty=*/false);
  }
  auto yes_no = [](bool b) { return std::string(b ? "true" : "false"); };
  return {c.id(),
          c.given_name(),
          c.family_name(),
          c.display_name(),
          absl::StrJoin(c.emails(), ";"),
          absl::StrJoin(c.phones(), ";"),
          c.company(),
          c.job_title(),
          absl::StrJoin(c.tags(), ";"),
          StageName(c.lifecycle_stage()),
          c.owner(),
          c.source(),
          attributes,
          yes_no(c.consent().email_opt_in()),
          yes_no(c.consent().sms_opt_in()),
          yes_no(c.consent().do_not_contact())};
}

// Progress on stderr: a redrawn line on a terminal, else a plain line every
// few seconds; always a final line.
class Progress {
 public:
  Progress(std::string verb, bool enabled)
      : verb_(std::move(verb)),
        enabled_(enabled),
        tty_(StderrIsTerminal()),
        start_(std::chrono::steady_clock::now()),
        last_(start_) {}

  void Update(int64_t rows) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    auto interval =
        tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(2000);
    if (now - last_ < interval) return;
    last_ = now;
    std::fprintf(
        stderr,
        tty_ ? "\r%s %lld rows  %.0f rows/s   " : "%s %lld rows  %.0f rows/s\n",
        verb_.c_str(), static_cast<long long>(rows), Rate(rows, now));
    std::fflush(stderr);
  }

  void Done(int64_t rows) {
    if (!enabled_) return;
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "%s%s %lld rows in %.1f s (%.0f rows/s)\n",
                 tty_ ? "\r" : "", verb_.c_str(), static_cast<long long>(rows),
                 seconds, Rate(rows, now));
  }

 private:
  double Rate(int64_t rows, std::chrono::steady_clock::time_point now) const {
    double seconds = std::chrono::duration<double>(now - start_).count();
    return seconds > 0 ? static_cast<double>(rows) / seconds : 0.0;
  }

  const std::string verb_;
  const bool enabled_;
  const bool tty_;
  const std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

struct ImportArgs {
  std::string file;
  std::string report;
  int batch_size = 500;
  bool no_progress = false;
};

int RunImport(const GlobalFlags& flags, const ImportArgs& args) {
  if (args.batch_size < 1 || args.batch_size > 5000) {
    return UsageError("--batch-size: between 1 and 5000");
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (args.file != "-") {
    file.open(args.file, std::ios::binary);
    if (!file) {
      return ReportError(
          absl::NotFoundError(absl::StrCat("cannot open ", args.file)));
    }
    in = &file;
  }
  auto client = Connect(flags);
  if (!client.ok()) return ReportError(client.status());
  std::unique_ptr<grpc::ClientContext> context =
      (*client)->Context(std::chrono::milliseconds(0));
  rapport::v1::ImportContactsResponse response;
  std::unique_ptr<grpc::ClientWriter<rapport::v1::ImportContactsRequest>>
      stream = (*client)->contacts().ImportContacts(context.get(), &response);

  std::vector<ColumnSpec> specs;
  absl::Status header_error;
  std::vector<RowError> errors;    // client-side and server-side
  std::vector<int64_t> sent_rows;  // stream index -> file row
  rapport::v1::ImportContactsRequest batch;
  int64_t data_rows = 0;
  bool stream_broken = false;
  Progress progress("imported", !args.no_progress);
  auto flush = [&]() {
    if (batch.contacts_size() == 0) return true;
    if (!stream->Write(batch)) {
      stream_broken = true;
      return false;
    }
    batch.clear_contacts();
    return true;
  };
  absl::Status read =
      ReadCsv(*in, [&](std::vector<std::string>& fields, int64_t row) -> bool {
        if (row == 1) {
          absl::StatusOr<std::vector<ColumnSpec>> parsed = ParseHeader(fields);
          if (!parsed.ok()) {
            header_error = parsed.status();
            return false;
          }
          specs = *std::move(parsed);
          return true;
        }
        if (fields.size() == 1 && fields[0].empty()) return true;  // blank
        ++data_rows;
        Contact contact;
        RowError error{row, "", ""};
        if (!RowToContact(specs, fields, &contact, &error)) {
          errors.push_back(std::move(error));
        } else {
          *batch.add_contacts() = std::move(contact);
          sent_rows.push_back(row);
          if (batch.contacts_size() >= args.batch_size && !flush()) {
            return false;
          }
        }
        progress.Update(data_rows);
        return true;
      });
  bool ok_so_far = read.ok() && header_error.ok() && !stream_broken;
  if (ok_so_far) ok_so_far = flush();
  if (!ok_so_far) context->TryCancel();
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (!header_error.ok()) {
    return ReportError(absl::InvalidArgumentError(
        absl::StrCat(args.file, ": ", header_error.message())));
  }
  if (!read.ok()) {
    return ReportError(absl::InvalidArgumentError(
        absl::StrCat(args.file, ": ", read.message())));
  }
  if (!status.ok()) return ReportError(status);
  if (specs.empty()) {
    return ReportError(absl::InvalidArgumentError(
        absl::StrCat(args.file, ": empty file (a header row is required)")));
  }
  progress.Done(data_rows);

  for (const rapport::v1::ImportError& e : response.errors()) {
    int64_t row =
        e.index() >= 0 && e.index() < static_cast<int64_t>(sent_rows.size())
            ? sent_rows[e.index()]
            : -1;
    errors.push_back(RowError{row, e.field(), e.message()});
  }
  std::sort(errors.begin(), errors.end(),
            [](const RowError& a, const RowError& b) { return a.row < b.row; });

  // The summary: counts over the whole file; errors[].index is the file row.
  rapport::v1::ImportContactsResponse summary;
  summary.set_received_count(data_rows);
  summary.set_created_count(response.created_count());
  summary.set_updated_count(response.updated_count());
  summary.set_failed_count(static_cast<int64_t>(errors.size()));
  for (const RowError& e : errors) {
    rapport::v1::ImportError* out = summary.add_errors();
    out->set_index(e.row);
    out->set_field(e.field);
    out->set_message(e.message);
  }
  if (!args.report.empty()) {
    std::ofstream report(args.report, std::ios::trunc);
    if (!report) {
      return ReportError(absl::PermissionDeniedError(
          absl::StrCat("cannot write ", args.report)));
    }
    report << CsvLine({"row", "field", "message"});
    for (const RowError& e : errors) {
      report << CsvLine({absl::StrCat(e.row), e.field, e.message});
    }
  }
  PrintResult(summary, flags.output, [&] {
    Table table({"ROWS", "CREATED", "UPDATED", "FAILED"});
    table.AddRow({absl::StrCat(data_rows),
                  absl::StrCat(summary.created_count()),
                  absl::StrCat(summary.updated_count()),
                  absl::StrCat(summary.failed_count())});
    return table;
  });
  if (!errors.empty()) {
    if (args.report.empty()) {
      size_t shown = std::min<size_t>(errors.size(), 20);
      for (size_t i = 0; i < shown; ++i) {
        std::fprintf(
            stderr, "row %lld: %s%s%s\n", static_cast<long long>(errors[i].row),
            errors[i].field.c_str(), errors[i].field.empty() ? "" : ": ",
            errors[i].message.c_str());
      }
      if (shown < errors.size()) {
        std::fprintf(stderr, "… and %zu more (use --report FILE)\n",
                     errors.size() - shown);
      }
    }
    std::fprintf(
        stderr, "error: INVALID_ARGUMENT: %zu of %lld rows failed%s\n",
        errors.size(), static_cast<long long>(data_rows),
        args.report.empty() ? "" : absl::StrCat("; see ", args.report).c_str());
    return kExitOther;
  }
  return kExitOk;
}

struct ExportArgs {
  std::string filter, query, format = "csv", out = "-";
  bool show_deleted = false;
  bool no_progress = false;
};

int RunExport(const GlobalFlags& flags, const ExportArgs& args) {
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (args.out != "-") {
    file.open(args.out, std::ios::binary | std::ios::trunc);
    if (!file) {
      return ReportError(
          absl::PermissionDeniedError(absl::StrCat("cannot write ", args.out)));
    }
    out = &file;
  }
  auto client = Connect(flags);
  if (!client.ok()) return ReportError(client.status());
  std::unique_ptr<grpc::ClientContext> context =
      (*client)->Context(std::chrono::milliseconds(0));
  rapport::v1::ExportContactsRequest request;
  request.set_filter(args.filter);
  request.set_query(args.query);
  request.set_show_deleted(args.show_deleted);
  auto stream = (*client)->contacts().ExportContacts(context.get(), request);
  bool csv = args.format == "csv";
  if (csv) *out << CsvLine(ExportColumns());
  Progress progress("exported", !args.no_progress && args.out != "-");
  int64_t rows = 0;
  rapport::v1::ExportContactsResponse chunk;
  while (stream->Read(&chunk)) {
    for (const Contact& contact : chunk.contacts()) {
      if (csv) {
        *out << CsvLine(ContactToRow(contact));
      } else {
        *out << MessageToJson(contact, /*pretty=*/false) << "\n";
      }
      ++rows;
    }
    progress.Update(rows);
  }
  grpc::Status status = stream->Finish();
  out->flush();
  if (!status.ok()) return ReportError(status);
  if (!*out) {
    return ReportError(
        absl::DataLossError(absl::StrCat("writing ", args.out, " failed")));
  }
  progress.Done(rows);
  return kExitOk;
}

}  // namespace

void AddContactCommands(CLI::App* app, GlobalFlags* flags, Action* action) {
  CLI::App* group = app->add_subcommand("contacts", "Manage contacts");
  group->require_subcommand(1);
  group->footer(R"(Examples:
  rapportctl contacts import customers.csv --report errors.csv
  rapportctl contacts list --filter 'lifecycle_stage = CUSTOMER AND tags:"vip"'
  rapportctl contacts export --filter 'tags:"vip"' -O vips.csv)");

  // contacts create
  auto create_flags = std::make_shared<ContactFlags>();
  auto request_id = std::make_shared<std::string>();
  CLI::App* create = group->add_subcommand("create", "Create a contact");
  create->footer(R"(Examples:
  rapportctl contacts create --given-name Ada --family-name Lovelace \
      --email ada@example.com --tag vip --lifecycle-stage CUSTOMER
  rapportctl contacts create --display-name "Acme Ltd" --attr plan=gold -o json)");
  AddContactFlags(create, create_flags.get());
  create->add_option("--request-id", *request_id,
                     "Idempotency key (default: a random UUID)");
  create->callback([=] {
    *action = [=]() -> int {
      rapport::v1::CreateContactRequest request;
      if (int rc =
              FillContact(*create_flags, request.mutable_contact(), nullptr);
          rc != kExitOk) {
        return rc;
      }
      request.set_request_id(request_id->empty() ? NewRequestId()
                                                 : *request_id);
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      Contact result;
      grpc::Status status = (*client)->contacts().CreateContact(
          (*client)->Context().get(), request, &result);
      if (!status.ok()) return ReportError(status);
      PrintContact(result, *flags);
      return kExitOk;
    };
  });

  // contacts get
  struct GetArgs {
    std::string id;
    bool show_deleted = false;
  };
  auto get_args = std::make_shared<GetArgs>();
  CLI::App* get = group->add_subcommand("get", "Show one contact");
  get->footer(
      "Examples:\n  rapportctl contacts get c_123\n"
      "  rapportctl contacts get c_123 --show-deleted -o yaml");
  get->add_option("ID", get_args->id, "Contact id")->required();
  get->add_flag("--show-deleted", get_args->show_deleted,
                "Also a soft-deleted contact");
  get->callback([=] {
    *action = [=]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::GetContactRequest request;
      request.set_id(get_args->id);
      request.set_show_deleted(get_args->show_deleted);
      Contact result;
      grpc::Status status = (*client)->contacts().GetContact(
          (*client)->Context().get(), request, &result);
      if (!status.ok()) return ReportError(status);
      PrintContact(result, *flags);
      return kExitOk;
    };
  });

  // contacts list
  struct ListArgs {
    std::string filter, query, order_by, page_token;
    int page_size = 0;
    bool all = false, show_deleted = false, exact_total_size = false;
  };
  auto list_args = std::make_shared<ListArgs>();
  CLI::App* list = group->add_subcommand("list", "List contacts");
  list->footer(R"(Examples:
  rapportctl contacts list --filter 'lifecycle_stage = CUSTOMER AND tags:"vip"'
  rapportctl contacts list --query ada --page-size 20
  rapportctl contacts list --filter 'attributes.plan = "gold"' --all -o json)");
  list->add_option("--filter", list_args->filter, "AIP-160 filter");
  list->add_option("--query", list_args->query, "Free-text search");
  list->add_option("--order-by", list_args->order_by, "Ordering");
  list->add_option("--page-size", list_args->page_size,
                   "Page size (server default 50, at most 1000)");
  list->add_option("--page-token", list_args->page_token,
                   "next_page_token of a previous page");
  list->add_flag("--all", list_args->all, "Follow page tokens to the end");
  list->add_flag("--show-deleted", list_args->show_deleted,
                 "Include soft-deleted contacts");
  list->add_flag("--exact-total", list_args->exact_total_size,
                 "Count every match for total_size (default: up to 1,000)");
  list->callback([=] {
    *action = [=]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::ListContactsRequest request;
      request.set_filter(list_args->filter);
      request.set_query(list_args->query);
      request.set_order_by(list_args->order_by);
      request.set_page_size(list_args->page_size);
      request.set_page_token(list_args->page_token);
      request.set_show_deleted(list_args->show_deleted);
      request.set_exact_total_size(list_args->exact_total_size);
      rapport::v1::ListContactsResponse all;
      while (true) {
        rapport::v1::ListContactsResponse page;
        grpc::Status status = (*client)->contacts().ListContacts(
            (*client)->Context().get(), request, &page);
        if (!status.ok()) return ReportError(status);
        for (auto& item : *page.mutable_contacts()) {
          *all.add_contacts() = std::move(item);
        }
        all.set_next_page_token(page.next_page_token());
        all.set_total_size(page.total_size());
        all.set_total_size_capped(page.total_size_capped());
        if (!list_args->all || page.next_page_token().empty()) break;
        request.set_page_token(page.next_page_token());
      }
      PrintResult(all, flags->output,
                  [&] { return ContactTable(all.contacts()); });
      if (flags->output == "table" && !all.next_page_token().empty()) {
        std::fprintf(stderr, "more: --page-token %s (or --all)\n",
                     all.next_page_token().c_str());
      }
      return kExitOk;
    };
  });

  // contacts update
  auto update_flags = std::make_shared<ContactFlags>();
  struct UpdateArgs {
    std::string id, etag;
  };
  auto update_args = std::make_shared<UpdateArgs>();
  CLI::App* update = group->add_subcommand(
      "update", "Change the given fields of a contact (others are kept)");
  update->footer(R"(Examples:
  rapportctl contacts update c_123 --lifecycle-stage CUSTOMER --tag vip
  rapportctl contacts update c_123 --company "Acme" --etag W/"3")");
  update->add_option("ID", update_args->id, "Contact id")->required();
  update->add_option("--etag", update_args->etag,
                     "Only if the contact still has this etag (else ABORTED)");
  AddContactFlags(update, update_flags.get());
  update->callback([=] {
    *action = [=]() -> int {
      rapport::v1::UpdateContactRequest request;
      if (int rc = FillContact(*update_flags, request.mutable_contact(),
                               request.mutable_update_mask());
          rc != kExitOk) {
        return rc;
      }
      if (request.update_mask().paths().empty()) {
        return UsageError("give at least one field to change; see --help");
      }
      request.mutable_contact()->set_id(update_args->id);
      request.mutable_contact()->set_etag(update_args->etag);
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      Contact result;
      grpc::Status status = (*client)->contacts().UpdateContact(
          (*client)->Context().get(), request, &result);
      if (!status.ok()) return ReportError(status);
      PrintContact(result, *flags);
      return kExitOk;
    };
  });

  // contacts delete
  auto delete_args = std::make_shared<UpdateArgs>();
  CLI::App* del = group->add_subcommand(
      "delete", "Soft-delete a contact (undelete restores it)");
  del->footer("Example:\n  rapportctl contacts delete c_123");
  del->add_option("ID", delete_args->id, "Contact id")->required();
  del->add_option("--etag", delete_args->etag, "Only if it has this etag");
  del->callback([=] {
    *action = [=]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::DeleteContactRequest request;
      request.set_id(delete_args->id);
      request.set_etag(delete_args->etag);
      Contact result;
      grpc::Status status = (*client)->contacts().DeleteContact(
          (*client)->Context().get(), request, &result);
      if (!status.ok()) return ReportError(status);
      PrintContact(result, *flags);
      return kExitOk;
    };
  });

  // contacts undelete
  auto undelete_id = std::make_shared<std::string>();
  CLI::App* undelete =
      group->add_subcommand("undelete", "Restore a soft-deleted contact");
  undelete->footer("Example:\n  rapportctl contacts undelete c_123");
  undelete->add_option("ID", *undelete_id, "Contact id")->required();
  undelete->callback([=] {
    *action = [=]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::UndeleteContactRequest request;
      request.set_id(*undelete_id);
      Contact result;
      grpc::Status status = (*client)->contacts().UndeleteContact(
          (*client)->Context().get(), request, &result);
      if (!status.ok()) return ReportError(status);
      PrintContact(result, *flags);
      return kExitOk;
    };
  });

  // contacts merge
  struct MergeArgs {
    std::string primary;
    std::vector<std::string> duplicates;
  };
  auto merge_args = std::make_shared<MergeArgs>();
  CLI::App* merge =
      group->add_subcommand("merge", "Merge duplicates into a primary contact");
  merge->footer(
      "Example:\n  rapportctl contacts merge c_primary c_dup1 c_dup2");
  merge->add_option("PRIMARY", merge_args->primary, "Primary contact id")
      ->required();
  merge
      ->add_option("DUPLICATES", merge_args->duplicates,
                   "Duplicate contact ids")
      ->required();
  merge->callback([=] {
    *action = [=]() -> int {
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::MergeContactsRequest request;
      request.set_primary_id(merge_args->primary);
      for (const auto& id : merge_args->duplicates) {
        request.add_duplicate_ids(id);
      }
      Contact result;
      grpc::Status status = (*client)->contacts().MergeContacts(
          (*client)->Context().get(), request, &result);
      if (!status.ok()) return ReportError(status);
      PrintContact(result, *flags);
      return kExitOk;
    };
  });

  // contacts erase
  struct EraseArgs {
    std::string id;
    bool yes = false;
  };
  auto erase_args = std::make_shared<EraseArgs>();
  CLI::App* erase = group->add_subcommand(
      "erase",
      "Privacy erasure: remove a contact and its interactions for good");
  erase->footer("Example:\n  rapportctl contacts erase c_123 --yes");
  erase->add_option("ID", erase_args->id, "Contact id")->required();
  erase->add_flag("--yes", erase_args->yes,
                  "Confirm: erasure cannot be undone");
  erase->callback([=] {
    *action = [=]() -> int {
      if (!erase_args->yes) {
        return UsageError("erasure cannot be undone; add --yes to confirm");
      }
      auto client = Connect(*flags);
      if (!client.ok()) return ReportError(client.status());
      rapport::v1::EraseContactRequest request;
      request.set_id(erase_args->id);
      rapport::v1::EraseContactResponse result;
      grpc::Status status = (*client)->contacts().EraseContact(
          (*client)->Context().get(), request, &result);
      if (!status.ok()) return ReportError(status);
      PrintResult(result, flags->output, [&] {
        Table table({"ID", "ERASED INTERACTIONS"});
        table.AddRow(
            {result.id(), absl::StrCat(result.erased_interaction_count())});
        return table;
      });
      return kExitOk;
    };
  });

  // contacts import
  auto import_args = std::make_shared<ImportArgs>();
  CLI::App* import = group->add_subcommand(
      "import", "Import (upsert by e-mail) contacts from a CSV file");
  import->footer(R"(The first row names the columns (case-insensitive):
  given_name, family_name, display_name, company, job_title, owner, source
  email | emails      e-mails, separated by ';'
  phone | phones      phone numbers, separated by ';'
  tag | tags          tags, separated by ';'
  lifecycle_stage     LEAD, PROSPECT, CUSTOMER, INACTIVE or CHURNED
  attr.<key>          the attribute <key> (empty cells are skipped)
  attributes          a JSON object of strings (as written by export)
  consent.email_opt_in, consent.sms_opt_in, consent.do_not_contact
                      true/false/yes/no/1/0
  id                  ignored (contacts are matched by e-mail)
A row whose e-mail belongs to a live contact updates it; any other row
creates a contact. Bad rows never stop the import: they are listed in
--report (CSV: row,field,message; row 1 is the header) and the command
exits 1.

Examples:
  rapportctl contacts import customers.csv --report errors.csv
  cat customers.csv | rapportctl contacts import - -o json)");
  import->add_option("FILE", import_args->file, "CSV file, or - for stdin")
      ->required();
  import->add_option("--report", import_args->report,
                     "Write the rows that failed to this CSV file");
  import
      ->add_option("--batch-size", import_args->batch_size,
                   "Rows per stream message")
      ->capture_default_str();
  import->add_flag("--no-progress", import_args->no_progress,
                   "No progress on stderr");
  import->callback([=] {
    *action = [=]() -> int { return RunImport(*flags, *import_args);
};
}  // namespace rapport::cli
);

// contacts export
auto export_args = std::make_shared<ExportArgs>();
CLI::App* exp = group->add_subcommand(
    "export", "Stream contacts to a CSV or JSON Lines file");
exp->footer(R"(The CSV has the columns import reads (plus id), so an export
can be edited and imported again.

Examples:
  rapportctl contacts export --filter 'tags:"vip"' -O vips.csv
  rapportctl contacts export --format jsonl -O - | jq .emails)");
exp->add_option("--filter", export_args->filter, "AIP-160 filter");
exp->add_option("--query", export_args->query, "Free-text search");
exp->add_option("--format", export_args->format, "csv or jsonl")
    ->check(CLI::IsMember({"csv", "jsonl"}))
    ->capture_default_str();
exp->add_option("-O,--output-file", export_args->out,
                "File to write, - for stdout")
    ->capture_default_str();
exp->add_flag("--show-deleted", export_args->show_deleted,
              "Include soft-deleted contacts");
exp->add_flag("--no-progress", export_args->no_progress,
              "No progress on stderr");
exp->callback([=] {
  *action = [=]() -> int { return RunExport(*flags, *export_args); };
});
}

}  // namespace rapport::cli
