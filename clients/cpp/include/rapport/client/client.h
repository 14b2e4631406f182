// rapport::client::Client: one object that calls a Rapport server.
//
// It owns one gRPC channel (plaintext or TLS, optional client certificate),
// built with Rapport's service config: client-side round-robin over every
// address the name resolves to (use "dns:///rapport.ns.svc:50051" for a
// headless Kubernetes Service) and automatic retries with exponential
// back-off of UNAVAILABLE for the idempotent methods (see kServiceConfigJson
// below and clients/README.md).
//
// Thread safety: a Client and its stubs may be used from many threads at
// once; each grpc::ClientContext belongs to one call.
//
// Example:
//
//   rapport::client::ClientOptions options;
//   options.address = "127.0.0.1:50051";
//   auto client = rapport::client::Client::Create(options);
//   if (!client.ok()) { ... }
//   rapport::v1::GetContactRequest request;
//   request.set_id("c_123");
//   rapport::v1::Contact contact;
//   grpc::Status status =
//       (*client)->contacts().GetContact((*client)->Context().get(),
//                                        request, &contact);
#ifndef RAPPORT_CLIENT_CLIENT_H_
#define RAPPORT_CLIENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "rapport/client/export.h"
#include "rapport/v1/admin_service.grpc.pb.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "rapport/v1/interaction_service.grpc.pb.h"

namespace rapport::client {

// The service config every Client uses unless ClientOptions overrides it:
// round_robin load balancing, and retries (at most 5 attempts, back-off
// 0.1 s doubling up to 2 s, only on UNAVAILABLE) for Get*, List*, Export*
// and for CreateContact / LogInteraction. Retrying a create is only safe when
// the request carries a `request_id` (the server then returns the contact the
// first attempt created): ALWAYS set request_id on creates.
RAPPORT_CLIENT_EXPORT extern const char kServiceConfigJson[];

// How to reach the server.
struct ClientOptions {
  // "host:port", or "dns:///name:port" to balance over every address of the
  // name (a headless Service). Required.
  std::string address = "127.0.0.1:50051";
  // TLS on (true) or plaintext (false).
  bool tls = false;
  // PEM file of the CA that signed the server's certificate; empty: the
  // system roots. Only with tls.
  std::string ca_file;
  // PEM files of a client certificate and its key, for mutual TLS. Both or
  // neither. Only with tls.
  std::string cert_file;
  std::string key_file;
  // Optional. Sent as "authorization: Bearer <api_key>" on every call made
  // with a context from Context() / PrepareContext().
  std::string api_key;
  // Deadline of each call made with a context from Context(). Zero: none.
  std::chrono::milliseconds default_deadline = std::chrono::seconds(30);
  // Replaces kServiceConfigJson when not empty.
  std::string service_config_json;
};

// A connection to one Rapport deployment and the typed stubs over it.
class RAPPORT_CLIENT_EXPORT Client {
 public:
  // Builds the channel (it connects lazily, on the first call). Returns
  // INVALID_ARGUMENT if the address is empty or only one of
  // cert_file/key_file is set, NOT_FOUND if a PEM file cannot be read.
  static absl::StatusOr<std::unique_ptr<Client>> Create(
      const ClientOptions& options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // The stubs; they live as long as this Client.
  rapport::v1::ContactService::Stub& contacts() { return *contacts_; }
  rapport::v1::InteractionService::Stub& interactions() {
    return *interactions_;
  }
  rapport::v1::AdminService::Stub& admin() { return *admin_; }

  // The channel, for the stubs of plugin services
  // (e.g. acme::v1::Loyalty::NewStub(client->channel())).
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // A fresh context with the default deadline and the API key.
  std::unique_ptr<grpc::ClientContext> Context() const;

  // A fresh context with `deadline` from now (zero: none) and the API key.
  std::unique_ptr<grpc::ClientContext> Context(
      std::chrono::milliseconds deadline) const;

  // Adds the API key metadata to a context the caller made.
  void PrepareContext(grpc::ClientContext* context) const;

  // Calls ListContacts page after page (following next_page_token) and calls
  // `callback` for every contact, in order, until it returns false. Each
  // page is one call with the default deadline. Returns OK when every page
  // was read or the callback stopped, otherwise the failed call's status.
  grpc::Status ForEachContact(
      const rapport::v1::ListContactsRequest& request,
      const std::function<bool(const rapport::v1::Contact&)>& callback);

  const ClientOptions& options() const { return options_; }

 private:
  Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel);

  const ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<rapport::v1::ContactService::Stub> contacts_;
  std::unique_ptr<rapport::v1::InteractionService::Stub> interactions_;
  std::unique_ptr<rapport::v1::AdminService::Stub> admin_;
};

}  // namespace rapport::client

#endif  // RAPPORT_CLIENT_CLIENT_H_
