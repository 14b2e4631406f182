// The plugin host end to end: a real RapportServer loads real plugin
// libraries (the template plugin built out of tree against the installed
// SDK, and one test plugin per handshake and failure case), serves the
// loaded ones' services over gRPC next to the core, and reports every
// plugin's state in AdminService.ListPlugins.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <fstream>
#include <future>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rapport/sdk/version.h"
#include "rapport/v1/admin_service.grpc.pb.h"
#include "tests/integration/server_fixture.h"

namespace rapport::testing {
namespace {

namespace v1 = rapport::v1;
using ::testing::HasSubstr;

std::string TestPlugin(const std::string& name) {
  return absl::StrCat(RAPPORT_TEST_PLUGIN_DIR, "/lib", name, ".so");
}

std::string HelloPluginPath() {
  std::ifstream in(RAPPORT_HELLO_PLUGIN_PATH_FILE);
  std::string path;
  std::getline(in, path);
  return path;
}

class PluginHostTest : public ServerFixture {
 protected:
  void SetUp() override {
    // ServerFixture::SetUp starts a server without plugins; restart it with.
    ServerFixture::SetUp();
    ASSERT_FALSE(HelloPluginPath().empty())
        << "the sdk_out_of_tree_build fixture did not build the plugin";
    config().plugin_paths = {
        HelloPluginPath(),
        TestPlugin("test_abi_ok"),
        TestPlugin("test_abi_newer_minor"),
        TestPlugin("test_abi_next_major"),
        TestPlugin("test_abi_previous_major"),
        TestPlugin("test_abi_other_toolchain"),
        TestPlugin("test_start_fails"),
        TestPlugin("test_start_throws"),
        TestPlugin("test_not_a_plugin"),
        TestPlugin("test_dup_core_protos"),
        "/nonexistent/libmissing.so",
    };
    config().plugin_config["example.hello"].values["greeting"] = "Hi";
    StartServer();
  }

  std::map<std::string, v1::Plugin> PluginsByPath() {
    auto admin = v1::AdminService::NewStub(channel());
    v1::ListPluginsResponse response;
    grpc::Status status = admin->ListPlugins(
        Context().get(), v1::ListPluginsRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::map<std::string, v1::Plugin> out;
    for (const v1::Plugin& p : response.plugins()) out[p.path()] = p;
    return out;
  }

  // Calls a method of a plugin service through the generic stub, building
  // messages from the descriptors the plugin registered when it loaded (the
  // test cannot link the plugin's generated code: it would be a second copy).
  grpc::Status CallPlugin(const std::string& service, const std::string& method,
                          const std::map<std::string, std::string>& fields,
                          std::map<std::string, std::string>* reply) {
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    const auto* svc = pool->FindServiceByName(service);
    if (svc == nullptr)
      return grpc::Status(grpc::StatusCode::INTERNAL, "no service");
    const auto* m = svc->FindMethodByName(method);
    google::protobuf::DynamicMessageFactory factory(pool);
    std::unique_ptr<google::protobuf::Message> request(
        factory.GetPrototype(m->input_type())->New());
    for (const auto& [name, value] : fields) {
      request->GetReflection()->SetString(
          request.get(), m->input_type()->FindFieldByName(name), value);
    }
    std::string bytes = request->SerializeAsString();
    grpc::Slice slice(bytes);
    grpc::ByteBuffer send(&slice, 1), receive;
    grpc::GenericStub stub(channel());
    auto context = Context();
    std::promise<grpc::Status> done;
    stub.UnaryCall(context.get(), absl::StrCat("/", service, "/", method),
                   grpc::StubOptions(), &send, &receive,
                   [&done](grpc::Status s) { done.set_value(s); });
    grpc::Status status = done.get_future().get();
    if (!status.ok()) return status;
    std::vector<grpc::Slice> slices;
    (void)receive.Dump(&slices);
    std::string out;
    for (const auto& s : slices)
      out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    std::unique_ptr<google::protobuf::Message> response(
        factory.GetPrototype(m->output_type())->New());
    response->ParseFromString(out);
    const auto* d = m->output_type();
    for (int i = 0; i < d->field_count(); ++i) {
      const auto* f = d->field(i);
      if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
        (*reply)[f->name()] =
            response->GetReflection()->GetString(*response, f);
      } else if (f->cpp_type() ==
                 google::protobuf::FieldDescriptor::CPPTYPE_INT64) {
        (*reply)[f->name()] =
            absl::StrCat(response->GetReflection()->GetInt64(*response, f));
      }
    }
    return status;
  }
};

TEST_F(PluginHostTest, OutOfTreePluginIsLoadedAndServed) {
  auto plugins = PluginsByPath();
  const v1::Plugin& hello = plugins[HelloPluginPath()];
  EXPECT_EQ(hello.name(), "example.hello");
  EXPECT_EQ(hello.state(), v1::Plugin::LOADED) << hello.reason();
  EXPECT_EQ(hello.sdk_version(), absl::StrCat(RAPPORT_SDK_VERSION_MAJOR, ".",
                                              RAPPORT_SDK_VERSION_MINOR, ".",
                                              RAPPORT_SDK_VERSION_PATCH));
  EXPECT_THAT(hello.services(),
              ::testing::ElementsAre("example.hello.v1.HelloService"));

  std::map<std::string, std::string> reply;
  grpc::Status s = CallPlugin("example.hello.v1.HelloService", "SayHello",
                              {{"name", "Ada"}}, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(reply["message"], HasSubstr("Ada"));
  EXPECT_THAT(reply["message"], HasSubstr("Hi"));  // from its config section

  s = CallPlugin("example.hello.v1.HelloService", "SayHello", {{"name", ""}},
                 &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PluginHostTest, PluginReadsCoreTablesThroughTheGuard) {
  MustCreate(MakeContact("Ada", "Lovelace", "ada@example.com"));
  MustCreate(MakeContact("Alan", "Turing", "alan@example.com"));
  std::map<std::string, std::string> reply;
  grpc::Status s =
      CallPlugin("example.hello.v1.HelloService", "CountContacts", {}, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::string count;
  for (const auto& [k, v] : reply) count = v;
  EXPECT_EQ(count, "2");
}

TEST_F(PluginHostTest, EveryHandshakeCaseIsReported) {
  auto plugins = PluginsByPath();
  auto expect = [&](const std::string& lib, v1::Plugin::State state,
                    const std::string& reason) {
    const v1::Plugin& p = plugins[TestPlugin(lib)];
    EXPECT_EQ(p.state(), state) << lib << ": " << p.reason();
    EXPECT_THAT(p.reason(), HasSubstr(reason)) << lib;
  };
  expect("test_abi_ok", v1::Plugin::LOADED, "");
  expect("test_abi_newer_minor", v1::Plugin::REJECTED,
         "newer than this server");
  expect("test_abi_next_major", v1::Plugin::REJECTED,
         "major version must match");
  expect("test_abi_previous_major", v1::Plugin::REJECTED,
         "major version must match");
  expect("test_abi_other_toolchain", v1::Plugin::REJECTED,
         "not binary compatible");
  expect("test_start_fails", v1::Plugin::FAILED, "refusing to start");
  expect("test_start_throws", v1::Plugin::FAILED, "boom in Start");
  expect("test_not_a_plugin", v1::Plugin::REJECTED, "not a Rapport plugin");
  expect("test_dup_core_protos", v1::Plugin::REJECTED, "crashed while loading");
  const v1::Plugin& missing = plugins["/nonexistent/libmissing.so"];
  EXPECT_EQ(missing.state(), v1::Plugin::REJECTED);
  EXPECT_THAT(missing.reason(), HasSubstr("no such file"));
}

TEST_F(PluginHostTest, CoreKeepsServingWhateverThePluginsDid) {
  v1::Contact created =
      MustCreate(MakeContact("Grace", "Hopper", "grace@example.com"));
  v1::GetContactRequest get;
  get.set_id(created.id());
  v1::Contact got;
  ASSERT_TRUE(contacts().GetContact(Context().get(), get, &got).ok());
  EXPECT_EQ(got.display_name(), "Grace Hopper");
}

TEST_F(PluginHostTest, RequiredPluginThatFailsStopsTheServer) {
  StopServer();
  config().required_plugins = {"test.start_fails"};
  auto server = app::RapportServer::Start(config());
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(server.status().message()),
              HasSubstr("required plugin test.start_fails is FAILED"));
}

TEST_F(PluginHostTest, RequiredPluginThatLoadsIsFine) {
  StopServer();
  config().required_plugins = {"example.hello", "test.abi_ok"};
  StartServer();
  EXPECT_EQ(PluginsByPath()[HelloPluginPath()].state(), v1::Plugin::LOADED);
}

}  // namespace
}  // namespace rapport::testing
