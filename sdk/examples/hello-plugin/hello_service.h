// HelloService: the template plugin's logic, served over gRPC. It knows
// nothing of plugin loading or registration; plugin.cc creates it and hands
// it to the host.
//
// Thread-safety: gRPC calls the methods concurrently from its threads; the
// service has no mutable state of its own (the Database and Counter it uses
// are thread-safe).
#ifndef EXAMPLE_HELLO_HELLO_SERVICE_H_
#define EXAMPLE_HELLO_HELLO_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "example/hello/v1/hello.grpc.pb.h"
#include "rapport/sdk/host.h"

namespace example::hello {

// Answers example.hello.v1.HelloService.
class HelloService final : public v1::HelloService::Service {
 public:
  // `greeting` starts every SayHello message ("Hello" -> "Hello, Ada!").
  // `database` and `greetings` belong to the host and stay valid until
  // Plugin::Stop returns; the host stops serving before that.
  HelloService(std::string greeting, rapport::sdk::Database& database,
               rapport::sdk::Counter& greetings);

  // OK with the greeting; INVALID_ARGUMENT if `name` is empty.
  grpc::Status SayHello(grpc::ServerContext* context,
                        const v1::SayHelloRequest* request,
                        v1::SayHelloResponse* response) override;

  // OK with the number of live contacts (in the requested stage, if any);
  // INVALID_ARGUMENT for an unknown stage; the database's error otherwise
  // (UNAVAILABLE when it is down).
  grpc::Status CountContacts(grpc::ServerContext* context,
                             const v1::CountContactsRequest* request,
                             v1::CountContactsResponse* response) override;

 private:
  const std::string greeting_;
  rapport::sdk::Database& database_;
  rapport::sdk::Counter& greetings_;
};

}  // namespace example::hello

#endif  // EXAMPLE_HELLO_HELLO_SERVICE_H_
