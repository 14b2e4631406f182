// rapport.v1.ContactService: validates every request at the edge, then calls
// the contact store. Thread-safe: handlers run concurrently on gRPC's
// bounded thread pool and share only the (thread-safe) store.
#ifndef RAPPORT_SERVER_API_CONTACT_SERVICE_H_
#define RAPPORT_SERVER_API_CONTACT_SERVICE_H_

#include "rapport/v1/contact_service.grpc.pb.h"
#include "server/storage/contact_store.h"
#include "server/validation/validation.h"

namespace rapport::api {

class ContactServiceImpl final : public rapport::v1::ContactService::Service {
 public:
  // `store` is not owned and must outlive the service.
  ContactServiceImpl(storage::ContactStore* store,
                     validation::ContactOptions options)
      : store_(store), options_(std::move(options)) {}

  grpc::Status CreateContact(grpc::ServerContext* context,
                             const rapport::v1::CreateContactRequest* request,
                             rapport::v1::Contact* response) override;
  grpc::Status GetContact(grpc::ServerContext* context,
                          const rapport::v1::GetContactRequest* request,
                          rapport::v1::Contact* response) override;
  grpc::Status UpdateContact(grpc::ServerContext* context,
                             const rapport::v1::UpdateContactRequest* request,
                             rapport::v1::Contact* response) override;
  grpc::Status DeleteContact(grpc::ServerContext* context,
                             const rapport::v1::DeleteContactRequest* request,
                             rapport::v1::Contact* response) override;
  grpc::Status UndeleteContact(
      grpc::ServerContext* context,
      const rapport::v1::UndeleteContactRequest* request,
      rapport::v1::Contact* response) override;
  grpc::Status ListContacts(
      grpc::ServerContext* context,
      const rapport::v1::ListContactsRequest* request,
      rapport::v1::ListContactsResponse* response) override;
  grpc::Status MergeContacts(grpc::ServerContext* context,
                             const rapport::v1::MergeContactsRequest* request,
                             rapport::v1::Contact* response) override;
  grpc::Status ImportContacts(
      grpc::ServerContext* context,
      grpc::ServerReader<rapport::v1::ImportContactsRequest>* reader,
      rapport::v1::ImportContactsResponse* response) override;
  grpc::Status ExportContacts(
      grpc::ServerContext* context,
      const rapport::v1::ExportContactsRequest* request,
      grpc::ServerWriter<rapport::v1::ExportContactsResponse>* writer) override;
  grpc::Status EraseContact(
      grpc::ServerContext* context,
      const rapport::v1::EraseContactRequest* request,
      rapport::v1::EraseContactResponse* response) override;

 private:
  storage::ContactStore* const store_;  // not owned
  const validation::ContactOptions options_;
};

}  // namespace rapport::api

#endif  // RAPPORT_SERVER_API_CONTACT_SERVICE_H_
