#include "rapport/client/client.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace rapport::client {


namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Create(
    const ClientOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("address: must not be empty");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "cert_file, key_file: give both or neither");
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadPem(options.ca_file);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *std::move(ca);
    }
    if (!options.cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadPem(options.cert_file);
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadPem(options.key_file);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *std::move(cert);
      ssl.pem_private_key = *std::move(key);
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(options.service_config_json.empty()
                                ? std::string(kServiceConfigJson)
                                : options.service_config_json);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.address, credentials, args);
  return std::unique_ptr<Client>(new Client(options, std::move(channel)));
}

Client::Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      contacts_(rapport::v1::ContactService::NewStub(channel_)),
      interactions_(rapport::v1::InteractionService::NewStub(channel_)),
      admin_(rapport::v1::AdminService::NewStub(channel_)) {}

Client::~Client() = default;

std::unique_ptr<grpc::ClientContext> Client::Context() const {
  return Context(options_.default_deadline);
}

std::unique_ptr<grpc::ClientContext> Client::Context(
    std::chrono::milliseconds deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (deadline.count() > 0) {
    context->set_deadline(std::chrono::system_clock::now() + deadline);
  }
  PrepareContext(context.get());
  return context;
}

void Client::PrepareContext(grpc::ClientContext* context) const {
  if (!options_.api_key.empty()) {
    context->AddMetadata("authorization",
                         absl::StrCat("Bearer ", options_.api_key));
  }
}

grpc::Status Client::ForEachContact(
    const rapport::v1::ListContactsRequest& request,
    const std::function<bool(const rapport::v1::Contact&)>& callback) {
  rapport::v1::ListContactsRequest page_request = request;
  while (true) {
    rapport::v1::ListContactsResponse page;
    grpc::Status status =
        contacts_->ListContacts(Context().get(), page_request, &page);
    if (!status.ok()) return status;
    for (const rapport::v1::Contact& contact : page.contacts()) {
      if (!callback(contact)) return grpc::Status::OK;
    }
    if (page.next_page_token().empty()) return grpc::Status::OK;
    page_request.set_page_token(page.next_page_token());
  }
}

}  // namespace rapport::client
