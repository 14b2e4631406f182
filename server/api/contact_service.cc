#include "server/api/contact_service.h"

#include <malloc.h>

#include <functional>
#include <future>
#include <set>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/api/list_params.h"
#include "server/common/grpc_status.h"
#include "server/common/status_macros.h"
#include "server/query/pagination.h"

namespace rapport::api {

using rapport::v1::Contact;
namespace v1 = rapport::v1;

namespace {

// Import limits: per message and on the errors listed back.
constexpr int kMaxImportBatch = 1000;
constexpr int kMaxImportErrorsListed = 10000;
constexpr int kMaxMergeDuplicates = 100;
constexpr int kExportBatch = 500;

// Clears what clients may not set; the server owns these.
void ClearOutputOnly(Contact* c) {
  c->clear_id();
  c->clear_create_time();
  c->clear_update_time();
  c->clear_delete_time();
  c->clear_last_interaction_time();
  c->clear_etag();
  c->clear_merged_into();
}

// Returns the heap a bulk stream freed to the system when the stream ends.
// An import holds a few thousand contacts per stream at its peak; glibc keeps
// what they freed in its per-thread arenas, so without this rapportd's RSS
// stays at the import's peak (~100 MB) long after it (measured in the
// benchmark: 51 MB before an import, 107 MB in point reads after it).
struct TrimHeapAtEnd {
  TrimHeapAtEnd() = default;
  TrimHeapAtEnd(const TrimHeapAtEnd&) = delete;
  TrimHeapAtEnd& operator=(const TrimHeapAtEnd&) = delete;
  ~TrimHeapAtEnd() { malloc_trim(0); }
};

// Runs `store` on a thread of its own, or here when no thread can be
// started (slower, never wrong).
std::future<absl::Status> StoreInBackground(
    const std::function<absl::Status()>& store) {
  try {
    return std::async(std::launch::async, store);
  } catch (const std::system_error&) {
    std::promise<absl::Status> done;
    done.set_value(store());
    return done.get_future();
  }
}

}  // namespace

grpc::Status ContactServiceImpl::CreateContact(
    grpc::ServerContext*, const v1::CreateContactRequest* request,
    Contact* response) {
  if (!request->has_contact()) {
    return ToGrpcStatus(absl::InvalidArgumentError("contact: required"));
  }
  absl::Status status = validation::ValidateRequestId(request->request_id());
  if (!status.ok()) return ToGrpcStatus(status);
  Contact contact = request->contact();
  ClearOutputOnly(&contact);
  status = validation::NormalizeContact(&contact, options_);
  if (!status.ok()) return ToGrpcStatus(status);
  absl::StatusOr<Contact> created =
      store_->Create(contact, request->request_id());
  if (!created.ok()) return ToGrpcStatus(created.status());
  *response = *std::move(created);
  return grpc::Status::OK;
}

grpc::Status ContactServiceImpl::GetContact(
    grpc::ServerContext*, const v1::GetContactRequest* request,
    Contact* response) {
  absl::StatusOr<int64_t> id = validation::ParseId(request->id(), "id");
  if (!id.ok()) return ToGrpcStatus(id.status());
  absl::StatusOr<Contact> contact = store_->Get(*id, request->show_deleted());
  if (!contact.ok()) return ToGrpcStatus(contact.status());
  *response = *std::move(contact);
  return grpc::Status::OK;
}

grpc::Status ContactServiceImpl::UpdateContact(
    grpc::ServerContext*, const v1::UpdateContactRequest* request,
    Contact* response) {
  if (!request->has_contact()) {
    return ToGrpcStatus(absl::InvalidArgumentError("contact: required"));
  }
  absl::StatusOr<int64_t> id =
      validation::ParseId(request->contact().id(), "contact.id");
  if (!id.ok()) return ToGrpcStatus(id.status());
  // Reject a bad mask before touching the database.
  absl::StatusOr<Contact> probe = validation::ApplyContactUpdate(
      Contact(), request->contact(), request->update_mask());
  if (!probe.ok()) return ToGrpcStatus(probe.status());

  absl::StatusOr<Contact> updated = store_->Update(
      *id, request->contact().etag(),
      [&](const Contact& existing) -> absl::StatusOr<Contact> {
        RAPPORT_ASSIGN_OR_RETURN(Contact next, validation::ApplyContactUpdate(
                                                   existing, request->contact(),
                                                   request->update_mask()));
        RAPPORT_RETURN_IF_ERROR(validation::NormalizeContact(&next, options_));
        return next;
      });
  if (!updated.ok()) return ToGrpcStatus(updated.status());
  *response = *std::move(updated);
  return grpc::Status::OK;
}

grpc::Status ContactServiceImpl::DeleteContact(
    grpc::ServerContext*, const v1::DeleteContactRequest* request,
    Contact* response) {
  absl::StatusOr<int64_t> id = validation::ParseId(request->id(), "id");
  if (!id.ok()) return ToGrpcStatus(id.status());
  absl::StatusOr<Contact> deleted = store_->Delete(*id, request->etag());
  if (!deleted.ok()) return ToGrpcStatus(deleted.status());
  *response = *std::move(deleted);
  return grpc::Status::OK;
}

grpc::Status ContactServiceImpl::UndeleteContact(
    grpc::ServerContext*, const v1::UndeleteContactRequest* request,
    Contact* response) {
  absl::StatusOr<int64_t> id = validation::ParseId(request->id(), "id");
  if (!id.ok()) return ToGrpcStatus(id.status());
  absl::StatusOr<Contact> restored = store_->Undelete(*id);
  if (!restored.ok()) return ToGrpcStatus(restored.status());
  *response = *std::move(restored);
  return grpc::Status::OK;
}

grpc::Status ContactServiceImpl::ListContacts(
    grpc::ServerContext*, const v1::ListContactsRequest* request,
    v1::ListContactsResponse* response) {
  absl::StatusOr<int> page_size = query::ClampPageSize(request->page_size());
  if (!page_size.ok()) return ToGrpcStatus(page_size.status());
  absl::Status status = ValidateFreeText(request->query());
  if (!status.ok()) return ToGrpcStatus(status);
  storage::ContactListParams params;
  params.filter = request->filter();
  params.query = request->query();
  params.order_by = request->order_by();
  params.page_token = request->page_token();
  params.page_size = *page_size;
  params.show_deleted = request->show_deleted();
  params.exact_total_size = request->exact_total_size();
  absl::StatusOr<storage::ContactPage> page = store_->List(params);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (Contact& c : page->contacts) *response->add_contacts() = std::move(c);
  response->set_next_page_token(page->next_page_token);
  response->set_total_size(page->total_size);
  response->set_total_size_capped(page->total_size_capped);
  return grpc::Status::OK;
}

grpc::Status ContactServiceImpl::MergeContacts(
    grpc::ServerContext*, const v1::MergeContactsRequest* request,
    Contact* response) {
  absl::StatusOr<int64_t> primary =
      validation::ParseId(request->primary_id(), "primary_id");
  if (!primary.ok()) return ToGrpcStatus(primary.status());
  if (request->duplicate_ids().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "duplicate_ids: required; name the contacts to merge into the "
        "primary"));
  }
  if (request->duplicate_ids_size() > kMaxMergeDuplicates) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("duplicate_ids: at most ", kMaxMergeDuplicates,
                     " per call (got ", request->duplicate_ids_size(), ")")));
  }
  std::vector<int64_t> duplicates;
  std::set<int64_t> seen;
  for (int i = 0; i < request->duplicate_ids_size(); ++i) {
    const std::string field = absl::StrCat("duplicate_ids[", i, "]");
    absl::StatusOr<int64_t> id =
        validation::ParseId(request->duplicate_ids(i), field);
    if (!id.ok()) return ToGrpcStatus(id.status());
    if (*id == *primary) {
      return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
          field, ": the primary contact cannot be its own duplicate")));
    }
    if (!seen.insert(*id).second) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat(field, ": contact ", *id, " is listed twice")));
    }
    duplicates.push_back(*id);
  }
  absl::StatusOr<Contact> merged = store_->Merge(*primary, duplicates);
  if (!merged.ok()) return ToGrpcStatus(merged.status());
  *response = *std::move(merged);
  return grpc::Status::OK;
}

grpc::Status ContactServiceImpl::ImportContacts(
    grpc::ServerContext*, grpc::ServerReader<v1::ImportContactsRequest>* reader,
    v1::ImportContactsResponse* response) {
  TrimHeapAtEnd trim;
  v1::ImportContactsRequest batch;
  int64_t index = 0;
  auto add_error = [&](int64_t row, const absl::Status& status) {
    response->set_failed_count(response->failed_count() + 1);
    if (response->errors_size() >= kMaxImportErrorsListed) return;
    v1::ImportError* error = response->add_errors();
    error->set_index(row);
    std::string message(status.message());
    // Messages start with the field path ("contacts[3].emails[0]: ..."):
    // split it off into `field`.
    const std::string prefix = absl::StrCat("contacts[", row, "]");
    if (absl::StartsWith(message, prefix)) {
      const size_t colon = message.find(": ");
      if (colon != std::string::npos) {
        std::string field =
            message.substr(prefix.size(), colon - prefix.size());
        if (!field.empty() && field[0] == '.') field.erase(0, 1);
        error->set_field(field);
        message = message.substr(colon + 2);
      }
    } else if (absl::StartsWith(message, "contact.")) {
      const size_t colon = message.find(": ");
      if (colon != std::string::npos) {
        error->set_field(message.substr(8, colon - 8));
        message = message.substr(colon + 2);
      }
    }
    error->set_message(message);
  };
  // The database stores one message while the next one is read and
  // normalised (for 1,000 contacts ~22 ms of CPU beside ~70 ms of mostly
  // waiting on MySQL): one stream of 1,000-contact messages went from 10k to
  // 14-15k contacts/s (tests/bench, load phase with --import-streams 1).
  // Messages are still stored one at a time and in order, so every row sees
  // the rows before it, and results and errors are applied in row order.
  struct Batch {
    std::vector<storage::ImportRow> rows;
    std::vector<int64_t> row_index;  // each row's index in the stream
    std::vector<storage::ImportRowResult> results;
  };
  Batch storing;
  std::future<absl::Status> stored;  // storing's ImportBatch, when valid()
  // Waits for the message being stored and counts its results.
  auto finish_storing = [&]() -> grpc::Status {
    if (!stored.valid()) return grpc::Status::OK;
    absl::Status status = stored.get();
    if (!status.ok()) {
      return ToGrpcStatus(absl::Status(
          status.code(),
          absl::StrCat(
              status.message(), " (rows before index ", storing.row_index[0],
              " were stored: ", response->created_count(), " created, ",
              response->updated_count(), " updated; resend from that index)")));
    }
    for (size_t i = 0; i < storing.results.size(); ++i) {
      switch (storing.results[i].outcome) {
        case storage::ImportOutcome::kCreated:
          response->set_created_count(response->created_count() + 1);
          break;
        case storage::ImportOutcome::kUpdated:
          response->set_updated_count(response->updated_count() + 1);
          break;
        case storage::ImportOutcome::kFailed:
          add_error(storing.row_index[i], storing.results[i].status);
          break;
      }
    }
    return grpc::Status::OK;
  };
  while (reader->Read(&batch)) {
    if (batch.contacts_size() > kMaxImportBatch) {
      if (grpc::Status s = finish_storing(); !s.ok()) return s;
      return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
          "contacts: at most ", kMaxImportBatch, " per message (got ",
          batch.contacts_size(), "); split the batch")));
    }
    Batch next;
    next.rows.reserve(batch.contacts_size());
    std::vector<std::pair<int64_t, absl::Status>> invalid;
    for (Contact& contact : *batch.mutable_contacts()) {
      const int64_t row = index++;
      response->set_received_count(response->received_count() + 1);
      storage::ImportRow r;
      r.display_name_derived = contact.display_name().empty();
      r.stage_defaulted =
          contact.lifecycle_stage() == v1::LIFECYCLE_STAGE_UNSPECIFIED;
      ClearOutputOnly(&contact);
      absl::Status status = validation::NormalizeContact(
          &contact, options_, absl::StrCat("contacts[", row, "]"));
      if (!status.ok()) {
        invalid.emplace_back(row, std::move(status));
        continue;
      }
      r.contact = std::move(contact);
      next.rows.push_back(std::move(r));
      next.row_index.push_back(row);
    }
    if (grpc::Status s = finish_storing(); !s.ok()) return s;
    for (const auto& [row, status] : invalid) add_error(row, status);
    if (next.rows.empty()) continue;
    storing = std::move(next);
    stored = StoreInBackground([this, &storing] {
      return store_->ImportBatch(storing.rows, &storing.results);
    });
  }
  return finish_storing();
}

grpc::Status ContactServiceImpl::ExportContacts(
    grpc::ServerContext* context, const v1::ExportContactsRequest* request,
    grpc::ServerWriter<v1::ExportContactsResponse>* writer) {
  TrimHeapAtEnd trim;
  absl::Status status = ValidateFreeText(request->query());
  if (!status.ok()) return ToGrpcStatus(status);
  storage::ContactListParams params;
  params.filter = request->filter();
  params.query = request->query();
  params.show_deleted = request->show_deleted();
  bool client_gone = false;
  status =
      store_->Export(params, kExportBatch, [&](std::vector<Contact>& contacts) {
        if (context->IsCancelled()) {
          client_gone = true;
          return false;
        }
        v1::ExportContactsResponse message;
        for (Contact& c : contacts) *message.add_contacts() = std::move(c);
        if (!writer->Write(message)) {
          client_gone = true;
          return false;
        }
        return true;
      });
  if (!status.ok()) return ToGrpcStatus(status);
  if (client_gone) {
    return grpc::Status(grpc::StatusCode::CANCELLED,
                        "the client stopped reading the export");
  }
  return grpc::Status::OK;
}

grpc::Status ContactServiceImpl::EraseContact(
    grpc::ServerContext*, const v1::EraseContactRequest* request,
    v1::EraseContactResponse* response) {
  absl::StatusOr<int64_t> id = validation::ParseId(request->id(), "id");
  if (!id.ok()) return ToGrpcStatus(id.status());
  absl::StatusOr<int64_t> erased = store_->Erase(*id);
  if (!erased.ok()) return ToGrpcStatus(erased.status());
  response->set_id(absl::StrCat(*id));
  response->set_erased_interaction_count(*erased);
  return grpc::Status::OK;
}

}  // namespace rapport::api
