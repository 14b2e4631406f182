// Prints the name and first e-mail of every customer tagged "vip".
// Usage: list_vips [--addr HOST:PORT] [--api-key KEY]
#include <cstring>
#include <iostream>
#include <string>

#include "rapport/client/client.h"

int main(int argc, char** argv) {
  rapport::client::ClientOptions options;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--addr") == 0) options.address = argv[i + 1];
    if (std::strcmp(argv[i], "--api-key") == 0) options.api_key = argv[i + 1];
  }
  auto client = rapport::client::Client::Create(options);
  if (!client.ok()) {
    std::cerr << "error: " << client.status().ToString() << "\n";
    return 1;
  }
  rapport::v1::ListContactsRequest request;
  request.set_filter("lifecycle_stage = CUSTOMER AND tags:\"vip\"");
  grpc::Status status = (*client)->ForEachContact(
      request, [](const rapport::v1::Contact& contact) {
        std::cout << contact.display_name() << "\t"
                  << (contact.emails().empty() ? "" : contact.emails(0))
                  << "\n";
        return true;  // keep going
      });
  if (!status.ok()) {
    std::cerr << "error: " << status.error_code() << ": "
              << status.error_message() << "\n";
    return 1;
  }
  return 0;
}
