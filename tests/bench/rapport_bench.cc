// rapport_bench: load generator for rapportd with same-run baselines
// (issue 7). See tests/bench/README.md for how to run it and read the output.
//
// Per scenario it measures rapportd through an async gRPC client (one
// CompletionQueue, --concurrency calls outstanding), then two floors at the
// same concurrency: the gRPC floor (an empty unary call to a trivial server
// inside this process) and the storage floor (the SQL rapportd issues for the
// scenario, run directly through Connector/C++, one connection per thread,
// prepared statements). It prints rapport / min(floors) per scenario.
#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <mysql_driver.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench.grpc.pb.h"
#include "rapport/v1/contact_service.grpc.pb.h"
#include "rapport/v1/interaction_service.grpc.pb.h"
#include "server/storage/contact_rows.h"
#include "server/storage/contact_store.h"
#include "server/storage/database.h"

namespace rapport::bench {
namespace {

using rapport::v1::Contact;

// ------------------------------------------------------------- settings --

struct Options {
  std::string target;  // host:port of a running rapportd; empty with --spawn
  bool spawn = false;
  int64_t pid = 0;  // rapportd's pid, for RSS and CPU (set by --spawn)
  std::string work_dir = RAPPORT_BENCH_WORK_DIR;
  std::string rapportd = RAPPORT_BENCH_RAPPORTD;
  std::string rapportd_log = "/dev/null";
  int server_threads = 16;
  std::string db_host = "127.0.0.1";
  int db_port = 3306;
  std::string db_user = "root";
  std::string db_password;
  std::string db_name = "rapport_bench";
  // With --spawn: InnoDB buffer pool and redo log sizes of the spawned
  // MariaDB, sized for the 1M data set (the test fixture's defaults, 128 MB
  // and 96 MB, would measure disk reads and checkpoints, not rapportd).
  int64_t db_buffer_pool_mb = 8192;
  int64_t db_log_file_mb = 512;
  // Sent as "authorization: Bearer"; with --spawn, rapportd's bootstrap
  // admin key.
  std::string api_key = "rapport-bench-admin-key-0123456789abcdef";
  // Data set sizes, ascending: each is loaded (on top of the one before) and
  // benchmarked in turn, in the same database and rapportd.
  std::vector<int64_t> contacts = {100000};
  int interactions_per_contact = 10;
  int concurrency = 16;
  double duration_s = 10;
  double warmup_s = 2;
  int import_streams = 2;
  bool skip_load = false;
  // After GetContact: an open-loop GetContact run at half its throughput,
  // for the target "p99 <= 5 ms at half of peak".
  bool half_load = true;
  // Exit 1 when any row of any size had errors (the CTest smoke run).
  bool fail_on_errors = false;
  std::string json;
  std::string scenarios =
      "GetContact,CreateContact,LogInteraction,ListContacts,"
      "ListContactsNextPage,ListInteractions,ImportContacts,Mixed";
};

// Every call carries the key, the baseline echo calls too, so that both
// send the same metadata bytes; rapportd checks it, the echo server not.
std::string g_authorization;
void Authorize(grpc::ClientContext& ctx) {
  if (!g_authorization.empty())
    ctx.AddMetadata("authorization", g_authorization);
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "rapport_bench: error: %s\n", message.c_str());
  std::exit(1);
}

void Usage() {
  std::printf(
      "usage: rapport_bench [--spawn | --target HOST:PORT [--pid PID]]\n"
      "  --contacts N[,N...] (100000)  data set sizes, ascending: each one\n"
      "                         loaded on top of the one before and run in\n"
      "                         turn, then compared (e.g. 100000,1000000)\n"
      "  --interactions-per-contact N (10)\n"
      "  --concurrency N (16)   --duration SECONDS (10)  --warmup SECONDS "
      "(2)\n"
      "  --import-streams N (2) --scenarios A,B,...      --skip-load\n"
      "  --json FILE            --work-dir DIR           --server-threads N\n"
      "  --db-host H --db-port P --db-user U --db-password P --db-name N\n"
      "  --rapportd PATH        --rapportd-log FILE (/dev/null)\n"
      "  --api-key KEY          (with --spawn: the bootstrap admin key)\n"
      "  --db-buffer-pool-mb N (8192)  --db-log-file-mb N (512)  (--spawn)\n"
      "  --no-half-load         skip GetContact@50%% (the open-loop run at\n"
      "                         half of GetContact's throughput)\n"
      "  --fail-on-errors       exit 1 if a call of any size failed (not\n"
      "                         counting GetContact@50%%'s skipped sends)\n");
}

// --contacts: one size or an ascending, comma-separated list of sizes.
std::vector<int64_t> ParseSizes(const std::string& v) {
  std::vector<int64_t> sizes;
  for (absl::string_view part : absl::StrSplit(v, ',')) {
    int64_t n;
    if (!absl::SimpleAtoi(part, &n) || n < 1 ||
        (!sizes.empty() && n <= sizes.back())) {
      Die("--contacts: positive sizes in ascending order, e.g. 100000,1000000");
    }
    sizes.push_back(n);
  }
  return sizes;
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  auto need = [&](int& i) -> std::string {
    if (i + 1 >= argc) Die(absl::StrCat(argv[i], " needs a value"));
    return argv[++i];
  };
  auto to_int = [](const std::string& flag, const std::string& v) {
    int64_t n;
    if (!absl::SimpleAtoi(v, &n)) Die(absl::StrCat(flag, ": not a number"));
    return n;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      Usage();
      std::exit(0);
    } else if (a == "--spawn") {
      o.spawn = true;
    } else if (a == "--skip-load") {
      o.skip_load = true;
    } else if (a == "--half-load") {
      o.half_load = true;
    } else if (a == "--no-half-load") {
      o.half_load = false;
    } else if (a == "--fail-on-errors") {
      o.fail_on_errors = true;
    } else if (a == "--target") {
      o.target = need(i);
    } else if (a == "--pid") {
      o.pid = to_int(a, need(i));
    } else if (a == "--work-dir") {
      o.work_dir = need(i);
    } else if (a == "--rapportd") {
      o.rapportd = need(i);
    } else if (a == "--rapportd-log") {
      o.rapportd_log = need(i);
    } else if (a == "--server-threads") {
      o.server_threads = static_cast<int>(to_int(a, need(i)));
    } else if (a == "--db-host") {
      o.db_host = need(i);
    } else if (a == "--db-port") {
      o.db_port = static_cast<int>(to_int(a, need(i)));
    } else if (a == "--db-user") {
      o.db_user = need(i);
    } else if (a == "--db-password") {
      o.db_password = need(i);
    } else if (a == "--api-key") {
      o.api_key = need(i);
    } else if (a == "--db-buffer-pool-mb") {
      o.db_buffer_pool_mb = to_int(a, need(i));
    } else if (a == "--db-log-file-mb") {
      o.db_log_file_mb = to_int(a, need(i));
    } else if (a == "--db-name") {
      o.db_name = need(i);
    } else if (a == "--contacts") {
      o.contacts = ParseSizes(need(i));
    } else if (a == "--interactions-per-contact") {
      o.interactions_per_contact = static_cast<int>(to_int(a, need(i)));
    } else if (a == "--concurrency") {
      o.concurrency = static_cast<int>(to_int(a, need(i)));
    } else if (a == "--import-streams") {
      o.import_streams = static_cast<int>(to_int(a, need(i)));
    } else if (a == "--duration") {
      if (!absl::SimpleAtod(need(i), &o.duration_s)) Die("--duration");
    } else if (a == "--warmup") {
      if (!absl::SimpleAtod(need(i), &o.warmup_s)) Die("--warmup");
    } else if (a == "--json") {
      o.json = need(i);
    } else if (a == "--scenarios") {
      o.scenarios = need(i);
    } else {
      Usage();
      Die(absl::StrCat("unknown argument ", a));
    }
  }
  if (o.target.empty()) o.spawn = true;
  if (o.concurrency < 1) Die("bad --concurrency");
  return o;
}

// ------------------------------------------------------------ utilities --

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string LoadAverage() {
  std::vector<std::string> parts =
      absl::StrSplit(ReadFile("/proc/loadavg"), ' ');
  if (parts.size() < 3) return "?";
  return absl::StrCat(parts[0], " ", parts[1], " ", parts[2]);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Die("bind");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// rapportd's resource use, from /proc (when its pid is known).
struct ProcSample {
  int64_t rss_kb = 0;
  int64_t hwm_kb = 0;
  double cpu_s = 0;  // utime + stime
};

ProcSample SampleProc(int64_t pid) {
  ProcSample s;
  if (pid <= 0) return s;
  for (absl::string_view line :
       absl::StrSplit(ReadFile(absl::StrCat("/proc/", pid, "/status")), '\n')) {
    auto field = [&](absl::string_view name, int64_t* out) {
      if (absl::ConsumePrefix(&line, name)) {
        line = absl::StripAsciiWhitespace(line);
        absl::ConsumeSuffix(&line, " kB");
        (void)absl::SimpleAtoi(line, out);
      }
    };
    field("VmRSS:", &s.rss_kb);
    field("VmHWM:", &s.hwm_kb);
  }
  const std::string stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos) {
    std::vector<std::string> f = absl::StrSplit(stat.substr(paren + 2), ' ');
    // After ") ": state is field 3 of stat(5), so utime (14) is index 11.
    int64_t utime = 0, stime = 0;
    if (f.size() > 12 && absl::SimpleAtoi(f[11], &utime) &&
        absl::SimpleAtoi(f[12], &stime)) {
      s.cpu_s = static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK);
    }
  }
  return s;
}

// Resets VmHWM so the next sample is the peak of one scenario.
void ResetPeakRss(int64_t pid) {
  if (pid <= 0) return;
  std::ofstream(absl::StrCat("/proc/", pid, "/clear_refs")) << "5";
}

// ----------------------------------------------------------- statistics --

struct Result {
  std::string scenario;
  std::string system;  // "rapport", "grpc_floor", "storage_floor"
  double seconds = 0;
  int64_t ops = 0;    // calls (or transactions) completed after warm-up
  int64_t items = 0;  // contacts for ImportContacts, else = ops
  int64_t errors = 0;
  std::string first_error;
  std::vector<double> latencies_ms;
  ProcSample proc_begin, proc_end;
  int64_t peak_rss_kb = 0;
  std::string load_average;
  bool not_implemented = false;
  double offered_rate = 0;  // calls/s scheduled (open-loop runs only)

  double Throughput() const { return seconds > 0 ? items / seconds : 0; }
  double Percentile(double p) {
    if (latencies_ms.empty()) return 0;
    std::sort(latencies_ms.begin(), latencies_ms.end());
    size_t i = static_cast<size_t>(p * (latencies_ms.size() - 1) + 0.5);
    return latencies_ms[std::min(i, latencies_ms.size() - 1)];
  }
  double CpuCores() const {
    return seconds > 0 ? (proc_end.cpu_s - proc_begin.cpu_s) / seconds : 0;
  }
};

// The results of one data size (one entry of --contacts).
struct SizeRun {
  int64_t contacts = 0;  // the data set's size (the --contacts entry)
  // Live contacts in the table: the data set plus what earlier sizes'
  // write scenarios created.
  size_t live_contacts = 0;
  double load_contacts_per_s = 0;  // 0: nothing imported for this size
  double load_seconds = 0;
  double data_mb = 0;  // the database's data + indexes after the load
  std::vector<Result> results;

  const Result* Find(const std::string& sc, const std::string& sys) const {
    for (const Result& r : results) {
      if (r.scenario == sc && r.system == sys) return &r;
    }
    return nullptr;
  }
  // rapport / min(storage floor, gRPC floor) (ImportContacts: / storage
  // floor); 0 for other rows and without floors.
  double Ratio(const Result& r) const {
    if (r.system != "rapport") return 0;
    const Result* g = Find(r.scenario, "grpc_floor");
    const Result* s = Find(r.scenario, "storage_floor");
    double floor = 0;
    if (g && s) floor = std::min(g->Throughput(), s->Throughput());
    if (r.scenario == "ImportContacts" && s) floor = s->Throughput();
    return floor > 0 ? r.Throughput() / floor : 0;
  }
};

// One row of the comparison between sizes: a scenario's rapport row (or the
// data load's contacts/s) at each size.
struct Comparison {
  std::string scenario;
  std::vector<double> throughput;  // at each size
  std::vector<double> ratio;       // at each size; 0: no floors

  // From the first size to the last, in %; NaN when the first is 0.
  double ChangePct() const {
    const double first = throughput.front();
    return first > 0 ? 100 * (throughput.back() - first) / first : NAN;
  }
  // The issue's target: cost flat (within 15%) from the first to the last.
  bool Flat() const { return std::abs(ChangePct()) <= 15; }
  std::string Verdict() const {
    if (std::isnan(ChangePct())) return "n/a";
    return Flat() ? "flat" : absl::StrFormat("%+.0f%%", ChangePct());
  }
};

// 1234567 -> "1,234,567".
std::string WithCommas(int64_t n) {
  const std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// 100000 -> "100k", 1000000 -> "1M": the comparison's column labels.
std::string ShortSize(int64_t n) {
  if (n % 1000000 == 0) return absl::StrCat(n / 1000000, "M");
  if (n % 1000 == 0) return absl::StrCat(n / 1000, "k");
  return absl::StrCat(n);
}

// `v` with `decimals` decimals, "-" when not positive.
std::string Fixed(double v, int decimals) {
  return v > 0 ? absl::StrFormat("%.*f", decimals, v) : "-";
}

// ------------------------------------------------------- data generation --

const char* kTags[] = {"vip", "newsletter", "partner", "b2b", "trial"};

// The open-loop GetContact run at half of GetContact's throughput.
const char kHalfLoad[] = "GetContact@50%";

// The ListContacts scenarios' filter (1/35 of the contacts match).
const char kListFilter[] = "lifecycle_stage = CUSTOMER AND tags:\"vip\"";

Contact MakeContact(int64_t n, const std::string& prefix) {
  Contact c;
  c.set_given_name(absl::StrCat("Given", n % 9973));
  c.set_family_name(absl::StrCat("Family", n));
  c.add_emails(absl::StrCat(prefix, n, "@bench.example.com"));
  c.add_phones(absl::StrFormat("+4420%08d", n % 100000000));
  c.set_company(absl::StrCat("Company ", n % 997));
  c.set_lifecycle_stage(static_cast<rapport::v1::LifecycleStage>(1 + n % 5));
  c.add_tags(kTags[n % 5]);
  if (n % 7 == 0) c.add_tags("vip");
  (*c.mutable_attributes())["plan"] = n % 3 == 0 ? "gold" : "silver";
  return c;
}

rapport::v1::Interaction MakeInteraction(int64_t contact_id, int64_t n) {
  rapport::v1::Interaction i;
  i.set_contact_id(absl::StrCat(contact_id));
  i.set_type(rapport::v1::CALL);
  i.set_channel("phone");
  i.set_direction(rapport::v1::INBOUND);
  i.mutable_occur_time()->set_seconds(1700000000 + n % 10000000);
  i.set_subject(absl::StrCat("bench call ", n));
  return i;
}

// ------------------------------------------------------------- database --

std::unique_ptr<sql::Connection> Connect(const Options& o, bool with_db) {
  sql::ConnectOptionsMap opts;
  opts["hostName"] = sql::SQLString(absl::StrCat("tcp://", o.db_host));
  opts["port"] = o.db_port;
  opts["userName"] = sql::SQLString(o.db_user);
  opts["password"] = sql::SQLString(o.db_password);
  if (with_db) opts["schema"] = sql::SQLString(o.db_name);
  opts["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  std::unique_ptr<sql::Connection> conn(
      sql::mysql::get_mysql_driver_instance()->connect(opts));
  std::unique_ptr<sql::Statement> st(conn->createStatement());
  // The session settings rapportd uses.
  for (const char* setup : rapport::storage::SessionSetupStatements()) {
    st->execute(setup);
  }
  return conn;
}

std::string QueryOne(sql::Connection& conn, const std::string& sql) {
  std::unique_ptr<sql::Statement> st(conn.createStatement());
  std::unique_ptr<sql::ResultSet> rs(st->executeQuery(sql));
  return rs->next() ? std::string(rs->getString(1)) : "";
}

// ---------------------------------------------------------- spawned stack --

struct Spawned {
  pid_t rapportd = 0;
  std::string dir;
  bool db_started = false;
};
Spawned g_spawned;

void StopSpawned() {
  std::fflush(stdout);  // before the fixture's own output
  if (g_spawned.rapportd > 0) {
    kill(g_spawned.rapportd, SIGTERM);
    int status;
    for (int i = 0; i < 200; ++i) {
      if (waitpid(g_spawned.rapportd, &status, WNOHANG) != 0) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    kill(g_spawned.rapportd, SIGKILL);
    waitpid(g_spawned.rapportd, &status, 0);
    g_spawned.rapportd = 0;
  }
  if (g_spawned.db_started) {
    const std::string cmd =
        absl::StrCat(RAPPORT_BENCH_FIXTURE, " stop '", g_spawned.dir, "'");
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "rapport_bench: stopping MariaDB failed\n");
    }
    g_spawned.db_started = false;
  }
}

void Spawn(Options& o) {
  g_spawned.dir = o.work_dir;
  std::printf("spawning MariaDB (tests/support/mariadb_fixture.sh) in %s\n",
              o.work_dir.c_str());
  std::fflush(stdout);
  const std::string cmd = absl::StrCat(
      "MARIADB_FIXTURE_ARGS='--innodb-buffer-pool-size=", o.db_buffer_pool_mb,
      "M --innodb-log-file-size=", o.db_log_file_mb, "M' ",
      RAPPORT_BENCH_FIXTURE, " start '", o.work_dir, "' >/dev/null");
  if (std::system(cmd.c_str()) != 0) Die("could not start MariaDB");
  g_spawned.db_started = true;
  std::atexit(StopSpawned);
  int port = 0;
  if (!absl::SimpleAtoi(Trim(ReadFile(o.work_dir + "/port")), &port)) {
    Die("no MariaDB port");
  }
  o.db_host = "127.0.0.1";
  o.db_port = port;
  o.db_user = "root";
  o.db_password = "";
  {
    std::unique_ptr<sql::Connection> root = Connect(o, false);
    std::unique_ptr<sql::Statement> st(root->createStatement());
    st->execute(absl::StrCat("CREATE DATABASE IF NOT EXISTS ", o.db_name,
                             " CHARACTER SET utf8mb4 COLLATE "
                             "utf8mb4_unicode_ci"));
  }
  const int listen = FreePort();
  const int metrics = FreePort();
  const std::string plugin_dir = o.work_dir + "/no-plugins";
  const std::string mk = absl::StrCat("mkdir -p '", plugin_dir, "'");
  if (std::system(mk.c_str()) != 0) Die("mkdir");
  std::vector<std::string> env = {
      "RAPPORT_INSECURE=1",
      absl::StrCat("RAPPORT_BOOTSTRAP_ADMIN_KEY=", o.api_key),
      // The per-key limiter stays on (its cost is part of every call) but
      // high enough never to trip: the benchmark is one key at full speed.
      "RAPPORT_RATE_PER_KEY=10000000", "RAPPORT_RATE_BURST=10000000",
      absl::StrCat("RAPPORT_LISTEN=127.0.0.1:", listen),
      absl::StrCat("RAPPORT_METRICS_LISTEN=127.0.0.1:", metrics),
      "RAPPORT_DB_HOST=127.0.0.1", absl::StrCat("RAPPORT_DB_PORT=", port),
      "RAPPORT_DB_USER=root",
      "RAPPORT_DB_PASSWORD=", absl::StrCat("RAPPORT_DB_NAME=", o.db_name),
      absl::StrCat("RAPPORT_THREADS=", o.server_threads),
      absl::StrCat("RAPPORT_PLUGIN_DIR=", plugin_dir), "PATH=/usr/bin:/bin"};
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    int fd = open(o.rapportd_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    char* args[] = {o.rapportd.data(), nullptr};
    execve(o.rapportd.c_str(), args, envp.data());
    _exit(127);
  }
  g_spawned.rapportd = pid;
  o.pid = pid;
  o.target = absl::StrCat("127.0.0.1:", listen);
  std::printf("spawned rapportd (pid %d) on %s, %d threads\n", pid,
              o.target.c_str(), o.server_threads);
}

void WaitServing(const Options& o) {
  auto channel =
      grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials());
  auto stub = rapport::v1::ContactService::NewStub(channel);
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    grpc::ClientContext ctx;
    Authorize(ctx);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(2));
    rapport::v1::ListContactsRequest req;
    req.set_page_size(1);
    rapport::v1::ListContactsResponse resp;
    if (stub->ListContacts(&ctx, req, &resp).ok()) return;
    absl::SleepFor(absl::Milliseconds(200));
  }
  Die("rapportd did not serve within 60 s");
}

// ---------------------------------------------------------- gRPC floor --

class EchoImpl final : public ::bench::Echo::Service {
  grpc::Status Call(grpc::ServerContext*, const ::bench::Empty*,
                    ::bench::Empty*) override {
    return grpc::Status::OK;
  }
};

// ------------------------------------------------------ async load loop --

// One outstanding unary call; Finish() is called on completion.
struct Op {
  virtual ~Op() = default;
  grpc::ClientContext ctx;
  grpc::Status status;
  absl::Time start;
  int64_t items = 1;
};

template <typename Resp>
struct TypedOp : Op {
  Resp resp;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Resp>> reader;
};

// Starts one call on `cq` with tag = the returned Op.
using Starter = std::function<Op*(grpc::CompletionQueue* cq, std::mt19937_64&)>;

// The warm-up ended: rapportd's CPU and peak RSS are measured from here.
void StartMeasuring(int64_t pid, Result* r) {
  r->proc_begin = SampleProc(pid);
  ResetPeakRss(pid);
}

// A measured call that completed at `done`.
void RecordCall(const Op& op, absl::Time done, Result* r) {
  if (op.status.ok()) {
    ++r->ops;
    r->items += op.items;
    r->latencies_ms.push_back(absl::ToDoubleMilliseconds(done - op.start));
  } else if (r->errors++ == 0) {
    r->first_error =
        absl::StrCat(op.status.error_code(), ": ", op.status.error_message());
  }
}

// The run ended: rapportd's CPU and peak RSS, the load average.
void FinishRun(const Options& o, int64_t pid, Result* r) {
  r->proc_end = SampleProc(pid);
  r->peak_rss_kb = r->proc_end.hwm_kb;
  r->seconds = o.duration_s;
  r->load_average = LoadAverage();
}

template <typename Req, typename Resp, typename Stub, typename Fn>
Op* StartCall(Stub* stub, Fn method, const Req& req,
              grpc::CompletionQueue* cq) {
  auto* op = new TypedOp<Resp>;
  Authorize(op->ctx);
  op->ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  op->start = absl::Now();
  op->reader = (stub->*method)(&op->ctx, req, cq);
  op->reader->Finish(&op->resp, &op->status, op);
  return op;
}

void RunClosedLoop(const Options& o, const Starter& start, int64_t pid,
                   Result* r) {
  grpc::CompletionQueue cq;
  std::mt19937_64 rng(42);
  ResetPeakRss(pid);
  const absl::Time begin = absl::Now();
  const absl::Time measure_from = begin + absl::Seconds(o.warmup_s);
  const absl::Time end = measure_from + absl::Seconds(o.duration_s);
  int outstanding = 0;
  for (int i = 0; i < o.concurrency; ++i, ++outstanding) start(&cq, rng);
  bool measuring = false;
  void* tag;
  bool ok;
  while (outstanding > 0 && cq.Next(&tag, &ok)) {
    std::unique_ptr<Op> op(static_cast<Op*>(tag));
    --outstanding;
    const absl::Time now = absl::Now();
    if (!measuring && now >= measure_from) {
      measuring = true;
      StartMeasuring(pid, r);
    }
    if (measuring && op->start >= measure_from && now <= end) {
      RecordCall(*op, now, r);
    }
    if (now < end) {
      start(&cq, rng);
      ++outstanding;
    }
  }
  FinishRun(o, pid, r);
}

// Open loop: calls are sent at fixed times begin + k / rate whether or not
// earlier ones have completed, all from one CompletionQueue. Latency runs
// from a call's scheduled send time, so a client or server that falls
// behind shows up in the latencies instead of silently lowering the rate
// (no coordinated omission). Every call scheduled after the warm-up and
// before the end counts, however late it completes. At most `max_outstanding`
// calls are in flight; a send skipped at that cap counts as an error.
void RunOpenLoop(const Options& o, const Starter& start, double rate,
                 int max_outstanding, int64_t pid, Result* r) {
  grpc::CompletionQueue cq;
  std::mt19937_64 rng(43);
  r->offered_rate = rate;
  ResetPeakRss(pid);
  const absl::Time begin = absl::Now();
  const absl::Time measure_from = begin + absl::Seconds(o.warmup_s);
  const absl::Time end = measure_from + absl::Seconds(o.duration_s);
  auto send_time = [&](int64_t k) {
    return begin + absl::Seconds(static_cast<double>(k) / rate);
  };
  int64_t next = 0;  // index of the next call to send
  int outstanding = 0;
  bool measuring = false;
  while (true) {
    absl::Time now = absl::Now();
    if (!measuring && now >= measure_from) {
      measuring = true;
      StartMeasuring(pid, r);
    }
    // Every call whose time has come, late ones at once.
    for (absl::Time at = send_time(next); at <= now && at < end;
         at = send_time(++next)) {
      const bool counted = at >= measure_from;
      if (outstanding >= max_outstanding) {
        if (counted && r->errors++ == 0) {
          r->first_error = absl::StrCat(
              "not sent: ", max_outstanding,
              " calls outstanding (the open-loop cap); the server is not "
              "keeping up with ",
              absl::StrFormat("%.0f", rate), " calls/s");
        }
        continue;
      }
      Op* op = start(&cq, rng);
      op->start = at;
      ++outstanding;
    }
    const absl::Time next_send = send_time(next);
    if (next_send >= end && outstanding == 0) break;
    absl::Time wake = next_send < end ? next_send : absl::InfiniteFuture();
    if (!measuring) wake = std::min(wake, measure_from);
    void* tag;
    bool ok;
    const grpc::CompletionQueue::NextStatus got =
        wake == absl::InfiniteFuture()
            ? (cq.Next(&tag, &ok) ? grpc::CompletionQueue::GOT_EVENT
                                  : grpc::CompletionQueue::SHUTDOWN)
            : cq.AsyncNext(&tag, &ok, absl::ToChronoTime(wake));
    if (got == grpc::CompletionQueue::SHUTDOWN) break;
    if (got != grpc::CompletionQueue::GOT_EVENT) continue;
    std::unique_ptr<Op> op(static_cast<Op*>(tag));
    --outstanding;
    now = absl::Now();
    if (op->start < measure_from || op->start >= end) continue;
    RecordCall(*op, now, r);
  }
  FinishRun(o, pid, r);
}

// ------------------------------------------------------- storage floor --

// One thread per concurrency slot, one connection each; `work` runs one
// scenario operation (one transaction when it writes) and returns its items.
using SqlWork = std::function<int64_t(sql::Connection&, std::mt19937_64&,
                                      int thread, int64_t seq)>;

void RunSqlThreads(const Options& o, int threads, const SqlWork& work,
                   Result* r) {
  std::vector<std::unique_ptr<sql::Connection>> conns;
  for (int i = 0; i < threads; ++i) conns.push_back(Connect(o, true));
  const absl::Time begin = absl::Now();
  const absl::Time measure_from = begin + absl::Seconds(o.warmup_s);
  const absl::Time end = measure_from + absl::Seconds(o.duration_s);
  std::vector<Result> per(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t);
      Result& mine = per[t];
      for (int64_t seq = 0;; ++seq) {
        const absl::Time s = absl::Now();
        if (s >= end) break;
        int64_t items = 0;
        bool ok = true;
        try {
          items = work(*conns[t], rng, t, seq);
        } catch (const sql::SQLException& e) {
          ok = false;
          if (mine.errors == 0) mine.first_error = e.what();
          try {
            std::unique_ptr<sql::Statement> st(conns[t]->createStatement());
            st->execute("ROLLBACK");
          } catch (const sql::SQLException&) {
          }
        }
        const absl::Time f = absl::Now();
        if (s < measure_from || f > end) continue;
        if (ok) {
          ++mine.ops;
          mine.items += items;
          mine.latencies_ms.push_back(absl::ToDoubleMilliseconds(f - s));
        } else {
          ++mine.errors;
        }
      }
    });
  }
  for (std::thread& th : pool) th.join();
  for (Result& p : per) {
    r->ops += p.ops;
    r->items += p.items;
    r->errors += p.errors;
    if (r->first_error.empty()) r->first_error = p.first_error;
    r->latencies_ms.insert(r->latencies_ms.end(), p.latencies_ms.begin(),
                           p.latencies_ms.end());
  }
  r->seconds = o.duration_s;
  r->load_average = LoadAverage();
}

// The SQL rapportd issues: contacts read with the server's own SELECT list
// (server/storage/contact_rows.h); the rest is copied from server/storage
// (kept in step by hand; see README.md).
using rapport::storage::kContactSelect;

const char kInteractionSelect[] =
    "i.id, i.contact_id, i.type, i.channel, i.direction, i.occur_time, "
    "i.subject, i.body, i.amount_currency, i.amount_minor, i.attributes, "
    "i.actor, i.create_time";

void DrainAll(sql::ResultSet* rs) {
  std::unique_ptr<sql::ResultSet> owned(rs);
  while (owned->next()) {
    for (unsigned c = 1; c <= owned->getMetaData()->getColumnCount(); ++c) {
      (void)owned->getString(c);
    }
  }
}

// Per-connection prepared statements for the storage floor.
struct Stmts {
  std::map<std::string, std::unique_ptr<sql::PreparedStatement>> cache;
  sql::PreparedStatement* Get(sql::Connection& conn, const std::string& sql) {
    auto& slot = cache[sql];
    if (!slot) slot.reset(conn.prepareStatement(sql));
    return slot.get();
  }
};

void Exec(sql::Connection& conn, const char* sql) {
  std::unique_ptr<sql::Statement> st(conn.createStatement());
  st->execute(sql);
}

int64_t LastId(Stmts& s, sql::Connection& conn) {
  std::unique_ptr<sql::ResultSet> rs(
      s.Get(conn, "SELECT LAST_INSERT_ID()")->executeQuery());
  rs->next();
  return rs->getInt64(1);
}

// The outbox write every change makes (server/storage/outbox.cc).
void OutboxSql(Stmts& s, sql::Connection& conn, int type, int64_t contact_id,
               const std::string& payload) {
  auto* ins = s.Get(conn,
                    "INSERT INTO outbox_events (type, contact_id, payload, "
                    "create_time) VALUES (?, ?, ?, NOW(6))");
  ins->setInt(1, type);
  ins->setInt64(2, contact_id);
  ins->setString(3, payload);
  ins->executeUpdate();
  const int64_t id = LastId(s, conn);
  auto* del = s.Get(conn,
                    "INSERT INTO outbox_deliveries (subscriber, event_id, "
                    "contact_id, state, attempts, next_attempt_time) "
                    "SELECT subscriber, ?, ?, 0, 0, NOW(6) FROM "
                    "outbox_subscriptions WHERE (types & ?) <> 0");
  del->setInt64(1, id);
  del->setInt64(2, contact_id);
  del->setInt64(3, int64_t{1} << type);
  del->executeUpdate();
}

// ------------------------------------------------------------- the run --

struct Bench {
  Options o;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<rapport::v1::ContactService::Stub> contacts;
  std::unique_ptr<rapport::v1::InteractionService::Stub> interactions;
  std::vector<int64_t> ids;
  std::atomic<int64_t> unique{0};  // for new e-mails
  SizeRun current;                 // the size being run
  std::vector<SizeRun> runs;       // the sizes run, in order
  std::string interactions_load_method;
  std::string echo_target;
  std::unique_ptr<grpc::Server> echo_server;
  std::unique_ptr<EchoImpl> echo_impl;
  std::map<std::string, std::string> machine;
  // ListContactsNextPage: later pages of the ListContacts listing.
  struct NextPage {
    std::string token;     // next_page_token of the page before
    int64_t after_id = 0;  // last contact id of the page before (the cursor)
  };
  std::vector<NextPage> next_pages;
  std::string next_pages_error;

  int64_t RandomId(std::mt19937_64& rng) {
    return ids[std::uniform_int_distribution<size_t>(0, ids.size() - 1)(rng)];
  }
  std::string NewPrefix() {
    return absl::StrCat("n", getpid(), "-", unique.fetch_add(1), "-");
  }

  void Setup() {
    if (o.spawn) Spawn(o);
    channel = grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials());
    contacts = rapport::v1::ContactService::NewStub(channel);
    interactions = rapport::v1::InteractionService::NewStub(channel);
    WaitServing(o);
    grpc::ServerBuilder builder;
    int echo_port = 0;
    echo_impl = std::make_unique<EchoImpl>();
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &echo_port);
    builder.RegisterService(echo_impl.get());
    echo_server = builder.BuildAndStart();
    echo_target = absl::StrCat("127.0.0.1:", echo_port);
    DescribeMachine();
  }

  void DescribeMachine() {
    machine["nproc"] = absl::StrCat(std::thread::hardware_concurrency());
    for (absl::string_view line :
         absl::StrSplit(ReadFile("/proc/cpuinfo"), '\n')) {
      if (absl::ConsumePrefix(&line, "model name")) {
        absl::ConsumePrefix(&line, "\t: ");
        machine["cpu"] = std::string(line);
        break;
      }
    }
    for (absl::string_view line :
         absl::StrSplit(ReadFile("/proc/meminfo"), '\n')) {
      if (absl::ConsumePrefix(&line, "MemTotal:")) {
        machine["memory"] = std::string(absl::StripAsciiWhitespace(line));
      }
    }
    std::unique_ptr<sql::Connection> conn = Connect(o, true);
    machine["mariadb_version"] = QueryOne(*conn, "SELECT VERSION()");
    machine["innodb_flush_log_at_trx_commit"] =
        QueryOne(*conn, "SELECT @@innodb_flush_log_at_trx_commit");
    machine["innodb_buffer_pool_size"] =
        QueryOne(*conn, "SELECT @@innodb_buffer_pool_size");
    machine["innodb_log_file_size"] =
        QueryOne(*conn, "SELECT @@innodb_log_file_size");
    machine["sync_binlog"] = QueryOne(*conn, "SELECT @@sync_binlog");
    machine["load_average_at_start"] = LoadAverage();
  }

  // Loads, benchmarks and prints one data size (an entry of --contacts) in
  // the database the sizes before left.
  void RunSize(int64_t size) {
    std::printf("\n== %s ==\n", SizeTitle(size).c_str());
    std::fflush(stdout);
    current = SizeRun();
    current.contacts = size;
    next_pages.clear();  // the tokens carry total_size: collected per size
    next_pages_error.clear();
    Load(size);
    RunAll();
    PrintSize(current);
    runs.push_back(std::move(current));
  }

  std::string SizeTitle(int64_t size) const {
    return absl::StrCat(WithCommas(size), " contacts \u00d7 ",
                        o.interactions_per_contact, " interactions");
  }

  // Brings the data set to `size` contacts and reads their ids, which the
  // scenarios pick from. Contacts that earlier sizes' write scenarios created
  // stay in the table: they are counted in live_contacts, never picked.
  void Load(int64_t size) {
    std::unique_ptr<sql::Connection> conn = Connect(o, true);
    if (!o.skip_load) ImportMissing(*conn, size);
    ids.clear();
    {
      std::unique_ptr<sql::Statement> st(conn->createStatement());
      std::unique_ptr<sql::ResultSet> rs(st->executeQuery(
          "SELECT contact_id FROM contact_emails WHERE live = 1 AND email "
          "LIKE 'c%@bench.example.com' ORDER BY contact_id"));
      while (rs->next()) ids.push_back(rs->getInt64(1));
    }
    if (ids.empty()) Die("no contacts to benchmark");
    current.live_contacts = std::stoll(QueryOne(
        *conn, "SELECT COUNT(*) FROM contacts WHERE delete_time IS NULL"));

    // Interactions through LogInteraction would take minutes at 100k x 10;
    // they are bulk-loaded with INSERT ... SELECT (no outbox events).
    interactions_load_method = "direct SQL INSERT ... SELECT (no outbox)";
    if (!o.skip_load && o.interactions_per_contact > 0) {
      LoadInteractions(*conn);
    }
    current.data_mb = DataMegabytes(*conn);
    if (o.spawn) Settle(*conn);  // never changes settings of a --target DB
  }

  // The database's files (MariaDB's tablespace list; 0 elsewhere), to compare
  // with the buffer pool in the machine line.
  double DataMegabytes(sql::Connection& conn) {
    try {
      return std::stod(QueryOne(
                 conn,
                 "SELECT COALESCE(SUM(file_size), 0) FROM "
                 "information_schema.innodb_sys_tablespaces WHERE name LIKE "
                 "CONCAT(DATABASE(), '/%')")) /
             (1 << 20);
    } catch (const std::exception&) {
      return 0;
    }
  }

  // Writes the pages the load dirtied before measuring: otherwise the page
  // cleaner flushes them during the first scenarios (GetContact's p99 at
  // half load doubled in a run that started right after the bulk load).
  void Settle(sql::Connection& conn) {
    try {
      // At the default I/O capacity (200 pages/s) this takes minutes.
      const std::string restore = absl::StrCat(
          "SET GLOBAL innodb_max_dirty_pages_pct = ",
          QueryOne(conn, "SELECT @@GLOBAL.innodb_max_dirty_pages_pct"),
          ", GLOBAL innodb_io_capacity = ",
          QueryOne(conn, "SELECT @@GLOBAL.innodb_io_capacity"),
          ", GLOBAL innodb_io_capacity_max = ",
          QueryOne(conn, "SELECT @@GLOBAL.innodb_io_capacity_max"));
      std::unique_ptr<sql::Statement> st(conn.createStatement());
      st->execute(
          "SET GLOBAL innodb_io_capacity_max = 100000, GLOBAL "
          "innodb_io_capacity = 50000, GLOBAL innodb_max_dirty_pages_pct = 0");
      const absl::Time t0 = absl::Now();
      int64_t dirty = 0;
      do {
        absl::SleepFor(absl::Milliseconds(500));
        dirty = std::stoll(QueryOne(
            conn,
            "SELECT variable_value FROM information_schema.global_status "
            "WHERE variable_name = 'INNODB_BUFFER_POOL_PAGES_DIRTY'"));
      } while (dirty > 100 && absl::Now() - t0 < absl::Seconds(120));
      st->execute(restore);
      std::printf("flushed the load's dirty pages in %.1f s (%lld left)\n",
                  absl::ToDoubleSeconds(absl::Now() - t0),
                  static_cast<long long>(dirty));
    } catch (const std::exception& e) {
      std::printf("could not flush dirty pages first: %s\n", e.what());
    }
    std::fflush(stdout);
  }

  // Imports the data set's contacts (c<n>@bench.example.com, n < size) that
  // are not there yet through ImportContacts (--import-streams streams of
  // 1000-contact messages). The contacts scenarios create have other
  // e-mails and do not count.
  void ImportMissing(sql::Connection& conn, int64_t size) {
    const int64_t have = std::stoll(
        QueryOne(conn,
                 "SELECT COUNT(*) FROM contact_emails WHERE live = 1 AND "
                 "email LIKE 'c%@bench.example.com'"));
    if (have >= size) return;
    const int64_t todo = size - have;
    std::printf("loading %lld contacts through ImportContacts (%d streams)\n",
                static_cast<long long>(todo), o.import_streams);
    std::fflush(stdout);
    std::atomic<int64_t> next{have};
    std::atomic<int64_t> failed{0};
    const absl::Time t0 = absl::Now();
    std::vector<std::thread> threads;
    for (int s = 0; s < o.import_streams; ++s) {
      threads.emplace_back([&] {
        grpc::ClientContext ctx;
        Authorize(ctx);
        rapport::v1::ImportContactsResponse resp;
        auto writer = contacts->ImportContacts(&ctx, &resp);
        while (true) {
          const int64_t from = next.fetch_add(1000);
          if (from >= size) break;
          rapport::v1::ImportContactsRequest req;
          for (int64_t n = from; n < std::min(from + 1000, size); ++n) {
            *req.add_contacts() = MakeContact(n, "c");
          }
          if (!writer->Write(req)) break;
        }
        writer->WritesDone();
        grpc::Status st = writer->Finish();
        if (!st.ok()) {
          std::fprintf(stderr, "import stream failed: %s\n",
                       st.error_message().c_str());
        }
        failed += resp.failed_count();
      });
    }
    for (std::thread& t : threads) t.join();
    current.load_seconds = absl::ToDoubleSeconds(absl::Now() - t0);
    current.load_contacts_per_s = todo / current.load_seconds;
    std::printf("  %.1f s, %.0f contacts/s, %lld failed rows\n",
                current.load_seconds, current.load_contacts_per_s,
                static_cast<long long>(failed.load()));
  }

  // Bulk-loads --interactions-per-contact interactions for the live contacts
  // above the last one bulk-loaded before (actor 'bench'), one INSERT ...
  // SELECT per 5000 contacts. For a later size these are the contacts it
  // added and those earlier sizes' scenarios created.
  void LoadInteractions(sql::Connection& conn) {
    const int64_t loaded_through = std::stoll(
        QueryOne(conn,
                 "SELECT COALESCE(MAX(contact_id), 0) FROM interactions "
                 "WHERE actor = 'bench'"));
    const size_t first = static_cast<size_t>(
        std::upper_bound(ids.begin(), ids.end(), loaded_through) - ids.begin());
    if (first == ids.size()) return;
    std::printf(
        "bulk-loading %d interactions per contact for %zu contacts (direct "
        "SQL)\n",
        o.interactions_per_contact, ids.size() - first);
    std::fflush(stdout);
    std::vector<std::string> nums;
    for (int i = 0; i < o.interactions_per_contact; ++i) {
      nums.push_back(absl::StrCat("SELECT ", i, " AS n"));
    }
    const std::string sql = absl::StrCat(
        "INSERT INTO interactions (contact_id, type, channel, direction, "
        "occur_time, subject, actor, create_time) SELECT c.id, 3, 'phone', "
        "1, TIMESTAMP('2024-01-01') + INTERVAL (c.id * 10 + k.n) MINUTE, "
        "CONCAT('bench call ', k.n), 'bench', NOW(6) FROM contacts c "
        "CROSS JOIN (",
        absl::StrJoin(nums, " UNION ALL "), ") k WHERE c.id BETWEEN ? AND ?");
    std::unique_ptr<sql::PreparedStatement> ps(conn.prepareStatement(sql));
    for (size_t i = first; i < ids.size(); i += 5000) {
      ps->setInt64(1, ids[i]);
      ps->setInt64(2, ids[std::min(i + 4999, ids.size() - 1)]);
      ps->executeUpdate();
    }
  }

  Result MakeResult(const std::string& scenario, const std::string& system) {
    Result r;
    r.scenario = scenario;
    r.system = system;
    return r;
  }

  void RunGrpcFloor(const std::string& scenario) {
    auto ch =
        grpc::CreateChannel(echo_target, grpc::InsecureChannelCredentials());
    auto stub = ::bench::Echo::NewStub(ch);
    Result r = MakeResult(scenario, "grpc_floor");
    ::bench::Empty empty;
    RunClosedLoop(
        o,
        [&](grpc::CompletionQueue* cq, std::mt19937_64&) {
          return StartCall<::bench::Empty, ::bench::Empty>(
              stub.get(), &::bench::Echo::Stub::AsyncCall, empty, cq);
        },
        /*pid=*/0, &r);
    current.results.push_back(std::move(r));
  }

  // ---- rapport scenarios --

  Op* GetContact(grpc::CompletionQueue* cq, std::mt19937_64& rng) {
    rapport::v1::GetContactRequest req;
    req.set_id(absl::StrCat(RandomId(rng)));
    return StartCall<rapport::v1::GetContactRequest, Contact>(
        contacts.get(), &rapport::v1::ContactService::Stub::AsyncGetContact,
        req, cq);
  }
  Op* CreateContact(grpc::CompletionQueue* cq, std::mt19937_64& rng) {
    rapport::v1::CreateContactRequest req;
    *req.mutable_contact() = MakeContact(rng() % 1000000, NewPrefix());
    return StartCall<rapport::v1::CreateContactRequest, Contact>(
        contacts.get(), &rapport::v1::ContactService::Stub::AsyncCreateContact,
        req, cq);
  }
  Op* LogInteraction(grpc::CompletionQueue* cq, std::mt19937_64& rng) {
    rapport::v1::LogInteractionRequest req;
    *req.mutable_interaction() =
        MakeInteraction(RandomId(rng), static_cast<int64_t>(rng() % 1000000));
    return StartCall<rapport::v1::LogInteractionRequest,
                     rapport::v1::Interaction>(
        interactions.get(),
        &rapport::v1::InteractionService::Stub::AsyncLogInteraction, req, cq);
  }
  // A page of the ListContacts scenarios' listing (first page: no token).
  static rapport::v1::ListContactsRequest ListRequest(
      const std::string& page_token) {
    rapport::v1::ListContactsRequest req;
    req.set_page_size(50);
    req.set_filter(kListFilter);
    req.set_page_token(page_token);
    return req;
  }
  Op* ListContacts(grpc::CompletionQueue* cq, std::mt19937_64&) {
    const rapport::v1::ListContactsRequest req = ListRequest("");
    return StartCall<rapport::v1::ListContactsRequest,
                     rapport::v1::ListContactsResponse>(
        contacts.get(), &rapport::v1::ContactService::Stub::AsyncListContacts,
        req, cq);
  }
  // A later page of the ListContacts listing: the token carries total_size,
  // so rapportd runs the page query only (no COUNT).
  Op* ListContactsNextPage(grpc::CompletionQueue* cq, std::mt19937_64& rng) {
    const rapport::v1::ListContactsRequest req =
        ListRequest(RandomNextPage(rng).token);
    return StartCall<rapport::v1::ListContactsRequest,
                     rapport::v1::ListContactsResponse>(
        contacts.get(), &rapport::v1::ContactService::Stub::AsyncListContacts,
        req, cq);
  }
  const NextPage& RandomNextPage(std::mt19937_64& rng) const {
    return next_pages[std::uniform_int_distribution<size_t>(
        0, next_pages.size() - 1)(rng)];
  }
  // Pages through the ListContacts listing once, keeping the tokens of
  // pages 2..21 and the keyset cursor (last id of the page before) of each.
  void CollectNextPages() {
    if (!next_pages.empty() || !next_pages_error.empty()) return;
    std::string token;
    for (int page = 1; page <= 20; ++page) {
      grpc::ClientContext ctx;
      Authorize(ctx);
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
      const rapport::v1::ListContactsRequest req = ListRequest(token);
      rapport::v1::ListContactsResponse resp;
      const grpc::Status st = contacts->ListContacts(&ctx, req, &resp);
      if (!st.ok()) {
        next_pages_error = absl::StrCat(
            "paging ListContacts: ", st.error_code(), ": ", st.error_message());
        return;
      }
      if (resp.next_page_token().empty()) break;
      NextPage next;
      next.token = resp.next_page_token();
      if (resp.contacts().empty() ||
          !absl::SimpleAtoi(resp.contacts().rbegin()->id(), &next.after_id)) {
        next_pages_error = "paging ListContacts: a page without a last id";
        return;
      }
      token = next.token;
      next_pages.push_back(std::move(next));
    }
    if (next_pages.empty()) {
      next_pages_error =
          "the ListContacts filter matches one page only: no later page "
          "(load more --contacts)";
    }
  }
  Op* ListInteractions(grpc::CompletionQueue* cq, std::mt19937_64& rng) {
    rapport::v1::ListInteractionsRequest req;
    req.set_contact_id(absl::StrCat(RandomId(rng)));
    req.set_page_size(50);
    return StartCall<rapport::v1::ListInteractionsRequest,
                     rapport::v1::ListInteractionsResponse>(
        interactions.get(),
        &rapport::v1::InteractionService::Stub::AsyncListInteractions, req, cq);
  }
  // 70% reads (50 Get, 10 ListContacts, 10 ListInteractions), 30% writes
  // (15 CreateContact, 15 LogInteraction).
  Op* Mixed(grpc::CompletionQueue* cq, std::mt19937_64& rng) {
    const int dice = static_cast<int>(rng() % 100);
    if (dice < 50) return GetContact(cq, rng);
    if (dice < 60) return ListContacts(cq, rng);
    if (dice < 70) return ListInteractions(cq, rng);
    if (dice < 85) return CreateContact(cq, rng);
    return LogInteraction(cq, rng);
  }

  void RunRapportUnary(const std::string& scenario) {
    Result r = MakeResult(scenario, "rapport");
    Starter start;
    using namespace std::placeholders;
    if (scenario == "GetContact")
      start = std::bind(&Bench::GetContact, this, _1, _2);
    if (scenario == "CreateContact")
      start = std::bind(&Bench::CreateContact, this, _1, _2);
    if (scenario == "LogInteraction")
      start = std::bind(&Bench::LogInteraction, this, _1, _2);
    if (scenario == "ListContacts")
      start = std::bind(&Bench::ListContacts, this, _1, _2);
    if (scenario == "ListContactsNextPage")
      start = std::bind(&Bench::ListContactsNextPage, this, _1, _2);
    if (scenario == "ListInteractions")
      start = std::bind(&Bench::ListInteractions, this, _1, _2);
    if (scenario == "Mixed") start = std::bind(&Bench::Mixed, this, _1, _2);
    RunClosedLoop(o, start, o.pid, &r);
    current.results.push_back(std::move(r));
  }

  // ImportContacts: --import-streams client streams, each call one message
  // of 1000 new contacts; latency per call, throughput in contacts/s.
  void RunRapportImport() {
    Result r = MakeResult("ImportContacts", "rapport");
    const int streams = std::max(1, std::min(o.import_streams, o.concurrency));
    ResetPeakRss(o.pid);
    const absl::Time measure_from = absl::Now() + absl::Seconds(o.warmup_s);
    const absl::Time end = measure_from + absl::Seconds(o.duration_s);
    std::vector<Result> per(streams);
    std::vector<std::thread> threads;
    // Samples rapportd when the warm-up ends.
    std::thread sampler([&] {
      absl::SleepFor(measure_from - absl::Now());
      StartMeasuring(o.pid, &r);
    });
    for (int s = 0; s < streams; ++s) {
      threads.emplace_back([&, s] {
        while (absl::Now() < end) {
          rapport::v1::ImportContactsRequest req;
          const std::string prefix = NewPrefix();
          for (int n = 0; n < 1000; ++n)
            *req.add_contacts() = MakeContact(n, prefix);
          const absl::Time t0 = absl::Now();
          grpc::ClientContext ctx;
          Authorize(ctx);
          rapport::v1::ImportContactsResponse resp;
          auto writer = contacts->ImportContacts(&ctx, &resp);
          writer->Write(req);
          writer->WritesDone();
          grpc::Status st = writer->Finish();
          const absl::Time t1 = absl::Now();
          if (t0 < measure_from || t1 > end) continue;
          if (st.ok() && resp.failed_count() == 0) {
            ++per[s].ops;
            per[s].items += resp.created_count();
            per[s].latencies_ms.push_back(absl::ToDoubleMilliseconds(t1 - t0));
          } else {
            ++per[s].errors;
            if (per[s].first_error.empty()) {
              per[s].first_error = st.ok() ? "rows failed" : st.error_message();
            }
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
    sampler.join();
    for (Result& p : per) {
      r.ops += p.ops;
      r.items += p.items;
      r.errors += p.errors;
      if (r.first_error.empty()) r.first_error = p.first_error;
      r.latencies_ms.insert(r.latencies_ms.end(), p.latencies_ms.begin(),
                            p.latencies_ms.end());
    }
    FinishRun(o, o.pid, &r);
    current.results.push_back(std::move(r));
  }

  // ---- storage floors: the SQL rapportd issues for each scenario --

  SqlWork StorageWork(const std::string& scenario) {
    auto stmts = std::make_shared<std::vector<Stmts>>(o.concurrency);
    const std::string get_sql = absl::StrCat("SELECT ", kContactSelect,
                                             " FROM contacts c WHERE c.id = ?");
    auto get = [this, stmts, get_sql](sql::Connection& c, std::mt19937_64& rng,
                                      int t, int64_t) -> int64_t {
      auto* ps = (*stmts)[t].Get(c, get_sql);
      ps->setInt64(1, RandomId(rng));
      DrainAll(ps->executeQuery());
      return 1;
    };
    // CreateContact (contact_store.cc Create): e-mail check, INSERT contact,
    // child rows, read back, outbox event, in one transaction.
    auto create = [this, stmts, get_sql](sql::Connection& c,
                                         std::mt19937_64& rng, int t,
                                         int64_t) -> int64_t {
      Stmts& s = (*stmts)[t];
      const Contact k = MakeContact(rng() % 1000000, NewPrefix());
      Exec(c, "START TRANSACTION");
      auto* chk = s.Get(c,
                        "SELECT contact_id FROM contact_emails WHERE email = "
                        "? AND live = 1 AND contact_id <> ?");
      chk->setString(1, k.emails(0));
      chk->setInt64(2, 0);
      DrainAll(chk->executeQuery());
      auto* ins = s.Get(
          c,
          "INSERT INTO contacts (given_name, family_name, display_name, "
          "company, job_title, owner, source, lifecycle_stage, email_opt_in, "
          "sms_opt_in, do_not_contact, address, search_text, create_time, "
          "update_time, last_interaction_time, emails_list, phones_list, "
          "tags_list, attributes_json, version, lists_version) VALUES (?, ?, "
          "?, ?, '', '', '', ?, 0, 0, 0, NULL, ?, NOW(6), NOW(6), NULL, ?, ?, "
          "?, '{\"plan\":\"gold\"}', 1, 1)");
      ins->setString(1, k.given_name());
      ins->setString(2, k.family_name());
      ins->setString(3, k.given_name() + " " + k.family_name());
      ins->setString(4, k.company());
      ins->setInt(5, k.lifecycle_stage());
      ins->setString(6, k.emails(0));
      ins->setString(7, k.emails(0));
      ins->setString(8, k.phones(0));
      ins->setString(9, k.tags(0));
      ins->executeUpdate();
      const int64_t id = LastId(s, c);
      auto child = [&](const char* sql, const std::string& v, bool pos) {
        auto* p = s.Get(c, sql);
        p->setInt64(1, id);
        p->setString(2, v);
        (void)pos;
        p->executeUpdate();
      };
      child(
          "INSERT INTO contact_emails (contact_id, position, email, live) "
          "VALUES (?, 0, ?, 1)",
          k.emails(0), true);
      child(
          "INSERT INTO contact_phones (contact_id, position, phone) VALUES "
          "(?, 0, ?)",
          k.phones(0), true);
      child("INSERT INTO contact_tags (contact_id, tag) VALUES (?, ?)",
            k.tags(0), false);
      child(
          "INSERT INTO contact_attributes (contact_id, name, value) VALUES "
          "(?, 'plan', ?)",
          "gold", false);
      auto* rd = s.Get(c, get_sql);
      rd->setInt64(1, id);
      DrainAll(rd->executeQuery());
      OutboxSql(s, c, 1, id, std::string(400, 'x'));
      Exec(c, "COMMIT");
      return 1;
    };
    // LogInteraction (interaction_store.cc Log), then the Get it returns.
    auto log = [this, stmts](sql::Connection& c, std::mt19937_64& rng, int t,
                             int64_t) -> int64_t {
      Stmts& s = (*stmts)[t];
      const int64_t contact = RandomId(rng);
      Exec(c, "START TRANSACTION");
      auto* up = s.Get(
          c,
          "UPDATE contacts SET last_interaction_time = CASE WHEN "
          "last_interaction_time IS NULL OR last_interaction_time < ? THEN ? "
          "ELSE last_interaction_time END WHERE id = ? AND delete_time IS "
          "NULL");
      up->setString(1, "2025-01-01 00:00:00");
      up->setString(2, "2025-01-01 00:00:00");
      up->setInt64(3, contact);
      up->executeUpdate();
      auto* ins = s.Get(
          c,
          "INSERT INTO interactions (contact_id, type, channel, direction, "
          "occur_time, subject, body, amount_currency, amount_minor, "
          "attributes, actor, create_time) VALUES (?, 3, 'phone', 1, ?, ?, "
          "NULL, NULL, NULL, NULL, '', NOW(6))");
      ins->setInt64(1, contact);
      ins->setString(2, "2024-06-01 00:00:00");
      ins->setString(3, "bench call");
      ins->executeUpdate();
      const int64_t id = LastId(s, c);
      OutboxSql(s, c, 7, contact, std::string(200, 'x'));
      Exec(c, "COMMIT");
      auto* rd = s.Get(c, absl::StrCat("SELECT ", kInteractionSelect,
                                       " FROM interactions i WHERE i.id = ?"));
      rd->setInt64(1, id);
      DrainAll(rd->executeQuery());
      return 1;
    };
    // ListContacts with `lifecycle_stage = CUSTOMER AND tags:"vip"`: the
    // page query server/storage/list_query.cc PlanList builds (the filter as
    // server/query/filter_compiler.cc compiles it, EXISTS for tags; the sort
    // key column after the contact's; keyset order by id; page 50 + 1).
    const std::string list_where =
        " FROM contacts c WHERE c.delete_time IS NULL AND (c.lifecycle_stage "
        "= ? AND EXISTS (SELECT 1 FROM contact_tags t1 WHERE t1.contact_id = "
        "c.id AND t1.tag = ?))";
    const std::string list_sql =
        absl::StrCat("SELECT ", kContactSelect, ", c.id", list_where,
                     " ORDER BY c.id ASC LIMIT ?");
    // total_size's count stops at the server's limit (PlanList's count_limit).
    const std::string count_sql = absl::StrCat("SELECT COUNT(*) FROM (SELECT 1",
                                               list_where, " LIMIT ?) matches");
    auto list = [stmts, list_sql, count_sql](sql::Connection& c,
                                             std::mt19937_64&, int t,
                                             int64_t) -> int64_t {
      auto* ps = (*stmts)[t].Get(c, list_sql);
      ps->setInt(1, 3);
      ps->setString(2, "vip");
      ps->setInt(3, 51);
      DrainAll(ps->executeQuery());
      // The first page of a listing longer than one page counts total_size:
      // a COUNT over the same filter (later pages get it from the token).
      auto* count = (*stmts)[t].Get(c, count_sql);
      count->setInt(1, 3);
      count->setString(2, "vip");
      count->setInt64(3, rapport::storage::kTotalSizeCountLimit);
      DrainAll(count->executeQuery());
      return 1;
    };
    // ListContactsNextPage: the same page query with the keyset condition
    // query::KeysetCondition builds for `c.id ASC` after the filter, and no
    // COUNT (total_size comes in the token).
    const std::string next_sql =
        absl::StrCat("SELECT ", kContactSelect, ", c.id", list_where,
                     " AND (c.id > ?) ORDER BY c.id ASC LIMIT ?");
    auto list_next = [this, stmts, next_sql](sql::Connection& c,
                                             std::mt19937_64& rng, int t,
                                             int64_t) -> int64_t {
      auto* ps = (*stmts)[t].Get(c, next_sql);
      ps->setInt(1, 3);
      ps->setString(2, "vip");
      ps->setInt64(3, RandomNextPage(rng).after_id);
      ps->setInt(4, 51);
      DrainAll(ps->executeQuery());
      return 1;
    };
    auto list_i = [this, stmts](sql::Connection& c, std::mt19937_64& rng, int t,
                                int64_t) -> int64_t {
      auto* ps = (*stmts)[t].Get(
          c, absl::StrCat("SELECT ", kInteractionSelect,
                          " FROM interactions i WHERE i.contact_id = ? "
                          "ORDER BY i.occur_time DESC, i.id DESC LIMIT ?"));
      ps->setInt64(1, RandomId(rng));
      ps->setInt(2, 51);
      DrainAll(ps->executeQuery());
      return 1;
    };
    // ImportContacts floor: what one 1000-contact message needs at least
    // with multi-row statements: a lookup of the e-mails, the contacts,
    // their child rows and one outbox event each, in one transaction.
    auto import = [this](sql::Connection& c, std::mt19937_64&, int,
                         int64_t) -> int64_t {
      const std::string prefix = NewPrefix();
      std::vector<Contact> rows;
      for (int n = 0; n < 1000; ++n) rows.push_back(MakeContact(n, prefix));
      std::unique_ptr<sql::Statement> st(c.createStatement());
      auto q = [&](const std::string& v) {
        return absl::StrCat("'", v, "'");  // bench data has no quotes
      };
      st->execute("START TRANSACTION");
      std::vector<std::string> emails, vals;
      for (const Contact& k : rows) emails.push_back(q(k.emails(0)));
      DrainAll(st->executeQuery(absl::StrCat(
          "SELECT email, contact_id FROM contact_emails WHERE live = 1 AND "
          "email IN (",
          absl::StrJoin(emails, ","), ")")));
      for (const Contact& k : rows) {
        vals.push_back(absl::StrCat(
            "(", q(k.given_name()), ",", q(k.family_name()), ",",
            q(k.given_name() + " " + k.family_name()), ",", q(k.company()),
            ",'','','',", k.lifecycle_stage(), ",0,0,0,NULL,", q(k.emails(0)),
            ",NOW(6),NOW(6),NULL,", q(k.emails(0)), ",", q(k.phones(0)), ",",
            q(k.tags(0)), ",'{\"plan\":\"gold\"}',1,1)"));
      }
      st->execute(absl::StrCat(
          "INSERT INTO contacts (given_name, family_name, display_name, "
          "company, job_title, owner, source, lifecycle_stage, email_opt_in, "
          "sms_opt_in, do_not_contact, address, search_text, create_time, "
          "update_time, last_interaction_time, emails_list, phones_list, "
          "tags_list, attributes_json, version, lists_version) VALUES ",
          absl::StrJoin(vals, ",")));
      const int64_t first = std::stoll(QueryOne(c, "SELECT LAST_INSERT_ID()"));
      std::vector<std::string> e, p, tg, a, ev;
      for (size_t i = 0; i < rows.size(); ++i) {
        const int64_t id = first + static_cast<int64_t>(i);
        e.push_back(absl::StrCat("(", id, ",0,", q(rows[i].emails(0)), ",1)"));
        p.push_back(absl::StrCat("(", id, ",0,", q(rows[i].phones(0)), ")"));
        tg.push_back(absl::StrCat("(", id, ",", q(rows[i].tags(0)), ")"));
        a.push_back(absl::StrCat("(", id, ",'plan','gold')"));
        ev.push_back(absl::StrCat("(1,", id, ",REPEAT('x',400),NOW(6))"));
      }
      st->execute(
          absl::StrCat("INSERT INTO contact_emails (contact_id, "
                       "position, email, live) VALUES ",
                       absl::StrJoin(e, ",")));
      st->execute(absl::StrCat(
          "INSERT INTO contact_phones (contact_id, position, phone) VALUES ",
          absl::StrJoin(p, ",")));
      st->execute(
          absl::StrCat("INSERT INTO contact_tags (contact_id, tag) VALUES ",
                       absl::StrJoin(tg, ",")));
      st->execute(absl::StrCat(
          "INSERT INTO contact_attributes (contact_id, name, value) VALUES ",
          absl::StrJoin(a, ",")));
      st->execute(
          absl::StrCat("INSERT INTO outbox_events (type, contact_id, "
                       "payload, create_time) VALUES ",
                       absl::StrJoin(ev, ",")));
      st->execute("COMMIT");
      return static_cast<int64_t>(rows.size());
    };
    auto mixed = [=](sql::Connection& c, std::mt19937_64& rng, int t,
                     int64_t seq) -> int64_t {
      const int dice = static_cast<int>(rng() % 100);
      if (dice < 50) return get(c, rng, t, seq);
      if (dice < 60) return list(c, rng, t, seq);
      if (dice < 70) return list_i(c, rng, t, seq);
      if (dice < 85) return create(c, rng, t, seq);
      return log(c, rng, t, seq);
    };
    if (scenario == "GetContact") return get;
    if (scenario == "CreateContact") return create;
    if (scenario == "LogInteraction") return log;
    if (scenario == "ListContacts") return list;
    if (scenario == "ListContactsNextPage") return list_next;
    if (scenario == "ListInteractions") return list_i;
    if (scenario == "ImportContacts") return import;
    return mixed;
  }

  void RunStorageFloor(const std::string& scenario) {
    Result r = MakeResult(scenario, "storage_floor");
    const int threads =
        scenario == "ImportContacts"
            ? std::max(1, std::min(o.import_streams, o.concurrency))
            : o.concurrency;
    RunSqlThreads(o, threads, StorageWork(scenario), &r);
    current.results.push_back(std::move(r));
  }

  // GetContact@50%: GetContact in open loop at half the throughput the
  // closed-loop GetContact run just reached (the target is p99 <= 5 ms
  // there). At most 10 x --concurrency calls are outstanding.
  void RunGetContactHalfLoad() {
    const Result* peak = current.Find("GetContact", "rapport");
    if (peak == nullptr || peak->Throughput() <= 0) {
      std::printf("scenario %s skipped: GetContact completed no call\n",
                  kHalfLoad);
      std::fflush(stdout);
      return;
    }
    const double rate = 0.5 * peak->Throughput();
    std::printf("scenario %s (open loop, %.0f calls/s) ...\n", kHalfLoad, rate);
    std::fflush(stdout);
    Result r = MakeResult(kHalfLoad, "rapport");
    using namespace std::placeholders;
    RunOpenLoop(o, std::bind(&Bench::GetContact, this, _1, _2), rate,
                10 * o.concurrency, o.pid, &r);
    current.results.push_back(std::move(r));
  }

  void RunAll() {
    const std::vector<std::string> scenarios = absl::StrSplit(o.scenarios, ',');
    for (const std::string& sc : scenarios) {
      std::printf("scenario %s ...\n", sc.c_str());
      std::fflush(stdout);
      if (sc == "ListContactsNextPage") {
        CollectNextPages();
        if (next_pages.empty()) {
          Result r = MakeResult(sc, "rapport");
          r.errors = 1;
          r.first_error = next_pages_error;
          current.results.push_back(std::move(r));
          continue;
        }
        std::printf("  %zu later pages collected\n", next_pages.size());
        std::fflush(stdout);
      }
      if (sc == "ImportContacts") {
        RunRapportImport();
      } else if (sc == "GetContactInsights" || sc == "LoyaltyGetAccount") {
        Result r = MakeResult(sc, "rapport");
        r.not_implemented = true;
        current.results.push_back(std::move(r));
        continue;
      } else {
        RunRapportUnary(sc);
      }
      RunStorageFloor(sc);
      RunGrpcFloor(sc);
      if (sc == "GetContact" && o.half_load) RunGetContactHalfLoad();
    }
    for (const char* sc : {"GetContactInsights", "LoyaltyGetAccount"}) {
      if (o.scenarios.find(sc) != std::string::npos) continue;
      Result r = MakeResult(sc, "rapport");
      r.not_implemented = true;
      current.results.push_back(std::move(r));
    }
  }

  // The size's table: the same as a one-size run's, under a title line.
  void PrintSize(SizeRun& run) {
    std::printf("\n== %s ==%s\n", SizeTitle(run.contacts).c_str(),
                run.live_contacts > static_cast<size_t>(run.contacts)
                    ? absl::StrCat(" (", WithCommas(run.live_contacts),
                                   " live contacts: with those earlier "
                                   "scenarios created)")
                          .c_str()
                    : "");
    std::printf(
        "machine: %s, %s CPUs, %s; MariaDB %s, "
        "innodb_flush_log_at_trx_commit=%s, buffer pool %s B, redo log %s B\n",
        machine["cpu"].c_str(), machine["nproc"].c_str(),
        machine["memory"].c_str(), machine["mariadb_version"].c_str(),
        machine["innodb_flush_log_at_trx_commit"].c_str(),
        machine["innodb_buffer_pool_size"].c_str(),
        machine["innodb_log_file_size"].c_str());
    std::printf(
        "settings: %zu live contacts, %d interactions/contact (%s), "
        "concurrency %d, import streams %d, warm-up %.1f s, %.1f s "
        "per scenario, rapportd threads %d\n",
        run.live_contacts, o.interactions_per_contact,
        interactions_load_method.c_str(), o.concurrency, o.import_streams,
        o.warmup_s, o.duration_s, o.server_threads);
    std::printf("database: %.0f MB of data and indexes\n", run.data_mb);
    if (run.load_seconds > 0) {
      std::printf("load: ImportContacts %.0f contacts/s over %.1f s\n",
                  run.load_contacts_per_s, run.load_seconds);
    }
    std::printf("\n%-20s %-13s %10s %8s %8s %8s %8s %6s %8s %6s %8s  %s\n",
                "scenario", "system", "ops/s", "p50 ms", "p90 ms", "p99 ms",
                "max ms", "errors", "RSS MB", "CPU", "ratio", "load avg");
    for (Result& r : run.results) {
      if (r.not_implemented) {
        std::printf("%-20s %-13s n/a (not implemented)\n", r.scenario.c_str(),
                    r.system.c_str());
        continue;
      }
      const double ratio = run.Ratio(r);
      std::printf(
          "%-20s %-13s %10.0f %8.2f %8.2f %8.2f %8.1f %6lld %8s %6s %8s  %s\n",
          r.scenario.c_str(), r.system.c_str(), r.Throughput(),
          r.Percentile(0.5), r.Percentile(0.9), r.Percentile(0.99),
          r.Percentile(1.0), static_cast<long long>(r.errors),
          r.system == "rapport" && r.peak_rss_kb
              ? absl::StrFormat("%.0f", r.peak_rss_kb / 1024.0).c_str()
              : "",
          r.system == "rapport" && o.pid
              ? absl::StrFormat("%.2f", r.CpuCores()).c_str()
              : "",
          ratio > 0 ? absl::StrFormat("%.2f", ratio).c_str() : "",
          r.load_average.c_str());
      if (!r.first_error.empty()) {
        std::printf("    first error: %s\n",
                    r.first_error.substr(0, 200).c_str());
      }
    }
    for (Result& r : run.results) {
      if (r.scenario != kHalfLoad) continue;
      const double p99 = r.Percentile(0.99);
      std::printf(
          "\nGetContact p99 at 50%% of peak (%.0f calls/s offered, %.0f "
          "achieved): %.2f ms (target <= 5 ms: %s)\n",
          r.offered_rate, r.Throughput(), p99,
          r.ops > 0 && r.errors == 0 && p99 <= 5 ? "met" : "not met");
    }
    std::fflush(stdout);
  }

  // The rapport rows of every scenario (and the data load) at each size.
  std::vector<Comparison> Compare() const {
    std::vector<Comparison> rows;
    for (const Result& r : runs.front().results) {
      if (r.system != "rapport" || r.not_implemented || r.scenario == kHalfLoad)
        continue;
      Comparison row{r.scenario, {}, {}};
      for (const SizeRun& run : runs) {
        const Result* at = run.Find(r.scenario, "rapport");
        row.throughput.push_back(at ? at->Throughput() : 0);
        row.ratio.push_back(at ? run.Ratio(*at) : 0);
      }
      rows.push_back(std::move(row));
    }
    Comparison load{"load", {}, {}};
    for (const SizeRun& run : runs) {
      load.throughput.push_back(run.load_contacts_per_s);
      load.ratio.push_back(0);
    }
    rows.push_back(std::move(load));
    return rows;
  }

  // With more than one size: each scenario's ops/s and ratio at each size
  // and the change from the first size to the last.
  void PrintComparison() const {
    if (runs.size() < 2) return;
    std::printf("\n== from %s to %s contacts (live: %s to %s) ==\n",
                WithCommas(runs.front().contacts).c_str(),
                WithCommas(runs.back().contacts).c_str(),
                WithCommas(runs.front().live_contacts).c_str(),
                WithCommas(runs.back().live_contacts).c_str());
    std::string ops, ratios;
    for (const SizeRun& run : runs) {
      absl::StrAppend(
          &ops, absl::StrFormat(" %11s", "ops/s@" + ShortSize(run.contacts)));
      absl::StrAppend(
          &ratios,
          absl::StrFormat(" %11s", "ratio@" + ShortSize(run.contacts)));
    }
    std::printf("%-20s%s %8s%s  %s\n", "scenario", ops.c_str(), "change",
                ratios.c_str(), "flat?");
    for (const Comparison& c : Compare()) {
      ops.clear();
      ratios.clear();
      for (size_t i = 0; i < runs.size(); ++i) {
        absl::StrAppend(&ops,
                        absl::StrFormat(" %11s", Fixed(c.throughput[i], 0)));
        absl::StrAppend(&ratios,
                        absl::StrFormat(" %11s", Fixed(c.ratio[i], 2)));
      }
      const std::string change =
          std::isnan(c.ChangePct()) ? "n/a"
                                    : absl::StrFormat("%+.1f%%", c.ChangePct());
      std::printf("%-20s%s %8s%s  %s\n", c.scenario.c_str(), ops.c_str(),
                  change.c_str(), ratios.c_str(), c.Verdict().c_str());
    }
    std::printf(
        "\nchange: ops/s from the first size to the last; flat: within "
        "15%% (the target for every scenario but exports). load: the data "
        "load's contacts/s (of the contacts each size added).\n");
  }

  void PrintLegend() const {
    std::printf(
        "\nops/s: calls/s (ImportContacts: contacts/s). ratio = rapport / "
        "min(storage floor, gRPC floor) (ImportContacts: / storage floor).\n"
        "GetContact@50%%: open loop at half of GetContact's ops/s, latency "
        "from each call's scheduled send time.\n"
        "RSS: rapportd's peak (VmHWM) in the scenario; CPU: rapportd cores "
        "used.\n");
  }

  // Whether a call of any size failed. GetContact@50%'s errors are sends
  // skipped at its cap (a server, or machine, not keeping up): not counted.
  bool AnyErrors() const {
    for (const SizeRun& run : runs) {
      for (const Result& r : run.results) {
        if (r.errors > 0 && r.scenario != kHalfLoad) return true;
      }
    }
    return false;
  }

  static std::string JsonString(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
      if (ch == '"' || ch == '\\') {
        out += '\\';
        out += ch;
      } else if (static_cast<unsigned char>(ch) < 0x20) {
        out += absl::StrFormat("\\u%04x", ch);
      } else {
        out += ch;
      }
    }
    return out + "\"";
  }

  // What a one-size run writes (without the trailing newline); with
  // `with_contacts`, the size first.
  std::string SizeJson(SizeRun& run, bool with_contacts) {
    std::string j = "{\n  ";
    if (with_contacts)
      absl::StrAppend(&j, "\"contacts\": ", run.contacts, ",\n  ");
    absl::StrAppend(&j, "\"machine\": {");
    bool first = true;
    for (const auto& [k, v] : machine) {
      absl::StrAppend(&j, first ? "" : ", ", JsonString(k), ": ",
                      JsonString(v));
      first = false;
    }
    absl::StrAppend(
        &j, "},\n  \"settings\": {\"contacts\": ", run.live_contacts,
        ", \"interactions_per_contact\": ", o.interactions_per_contact,
        ", \"interactions_load\": ", JsonString(interactions_load_method),
        ", \"concurrency\": ", o.concurrency,
        ", \"import_streams\": ", o.import_streams,
        ", \"warmup_s\": ", o.warmup_s, ", \"duration_s\": ", o.duration_s,
        ", \"rapportd_threads\": ", o.server_threads,
        ", \"load_contacts_per_s\": ", run.load_contacts_per_s,
        ", \"data_mb\": ", run.data_mb, "},\n  \"results\": [");
    first = true;
    for (Result& r : run.results) {
      absl::StrAppend(&j, first ? "\n    " : ",\n    ");
      first = false;
      if (r.not_implemented) {
        absl::StrAppend(&j, "{\"scenario\": ", JsonString(r.scenario),
                        ", \"system\": \"rapport\", \"not_implemented\": "
                        "true}");
        continue;
      }
      absl::StrAppend(&j, "{\"scenario\": ", JsonString(r.scenario),
                      ", \"system\": ", JsonString(r.system),
                      ", \"throughput\": ", r.Throughput(),
                      ", \"ops\": ", r.ops, ", \"items\": ", r.items,
                      ", \"errors\": ", r.errors,
                      ", \"p50_ms\": ", r.Percentile(0.5),
                      ", \"p90_ms\": ", r.Percentile(0.9),
                      ", \"p99_ms\": ", r.Percentile(0.99),
                      ", \"max_ms\": ", r.Percentile(1.0),
                      ", \"peak_rss_kb\": ", r.peak_rss_kb,
                      ", \"cpu_cores\": ", r.CpuCores(),
                      ", \"ratio_to_floor\": ", run.Ratio(r),
                      r.offered_rate > 0
                          ? absl::StrCat(", \"offered_rate\": ", r.offered_rate)
                          : "",
                      ", \"load_average\": ", JsonString(r.load_average),
                      ", \"first_error\": ", JsonString(r.first_error), "}");
    }
    absl::StrAppend(&j, "\n  ]\n}");
    return j;
  }

  static std::string ComparisonJson(const Comparison& c) {
    const double change = c.ChangePct();
    return absl::StrCat(
        "{\"scenario\": ", JsonString(c.scenario), ", \"throughput\": [",
        absl::StrJoin(c.throughput, ", "), "], \"ratio_to_floor\": [",
        absl::StrJoin(c.ratio, ", "), "], \"change_pct\": ",
        std::isnan(change) ? "null" : absl::StrCat(change),
        ", \"flat\": ", c.Flat() ? "true" : "false", "}");
  }

  // One size: what it always wrote. Several: {"sizes": [each size's
  // object with "contacts"], "comparison": [a row per scenario]}.
  void WriteJson() {
    if (o.json.empty()) return;
    std::string j;
    if (runs.size() == 1) {
      j = SizeJson(runs.front(), false);
    } else {
      std::vector<std::string> sizes, rows;
      for (SizeRun& run : runs) {
        sizes.push_back(
            absl::StrReplaceAll(SizeJson(run, true), {{"\n", "\n    "}}));
      }
      for (const Comparison& c : Compare()) rows.push_back(ComparisonJson(c));
      j = absl::StrCat("{\n  \"sizes\": [\n    ",
                       absl::StrJoin(sizes, ",\n    "),
                       "\n  ],\n  \"comparison\": [\n    ",
                       absl::StrJoin(rows, ",\n    "), "\n  ]\n}");
    }
    std::ofstream(o.json) << j << "\n";
    std::printf("wrote %s\n", o.json.c_str());
  }
};

}  // namespace
}  // namespace rapport::bench

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  rapport::bench::Bench bench;
  bench.o = rapport::bench::ParseOptions(argc, argv);
  if (!bench.o.api_key.empty()) {
    rapport::bench::g_authorization = "Bearer " + bench.o.api_key;
  }
  try {
    bench.Setup();
    for (int64_t size : bench.o.contacts) bench.RunSize(size);
  } catch (const sql::SQLException& e) {
    rapport::bench::Die(absl::StrCat("SQL: ", e.what()));
  }
  bench.PrintComparison();
  bench.PrintLegend();
  bench.WriteJson();
  if (bench.echo_server) bench.echo_server->Shutdown();
  if (bench.o.fail_on_errors && bench.AnyErrors()) {
    std::fflush(stdout);
    std::fprintf(stderr, "rapport_bench: calls failed (--fail-on-errors)\n");
    return 1;
  }
  return 0;
}
