// rapportctl: the command-line client of Rapport. `rapportctl --help`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"

int main(int argc, char** argv) {
  using rapport::cli::Action;
  using rapport::cli::GlobalFlags;

  CLI::App app{"rapportctl: manage a Rapport CRM server from the terminal.",
               "rapportctl"};
  app.footer(R"(Connection settings: flags, then the environment (RAPPORT_ADDR,
RAPPORT_API_KEY, RAPPORT_TLS_CA, RAPPORT_TLS_CERT, RAPPORT_TLS_KEY), then the
current context of the config file ($RAPPORTCTL_CONFIG or
~/.config/rapport/config.yaml), then 127.0.0.1:50051 in plaintext.

Exit codes: 0 ok, 1 other error, 2 usage, 3 not found,
4 permission denied / unauthenticated, 5 unavailable / deadline exceeded.

Examples:
  rapportctl contacts import customers.csv --report errors.csv
  rapportctl contacts list --filter 'tags:"vip"' --all -o json
  rapportctl contacts export --filter 'tags:"vip"' --format csv -O vips.csv
  rapportctl --addr rapport.example.com:443 --tls-ca ca.pem admin plugins
  rapportctl admin keys create --display-name ci --role READER --ttl 90d
  rapportctl admin audit --filter 'code != "OK"')");
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the sub-command

  GlobalFlags flags;
  app.add_option("--addr", flags.addr,
                 "Server address: host:port, or dns:///name:port for "
                 "client-side load balancing")
      ->envname("RAPPORT_ADDR");
  app.add_option("--api-key", flags.api_key,
                 "API key, sent as 'authorization: Bearer <key>'")
      ->envname("RAPPORT_API_KEY");
  app.add_option("--tls-ca", flags.tls_ca,
                 "PEM file of the CA of the server's certificate (turns TLS "
                 "on)")
      ->envname("RAPPORT_TLS_CA");
  app.add_option("--tls-cert", flags.tls_cert,
                 "PEM client certificate, for mutual TLS")
      ->envname("RAPPORT_TLS_CERT");
  app.add_option("--tls-key", flags.tls_key, "PEM key of --tls-cert")
      ->envname("RAPPORT_TLS_KEY");
  app.add_flag("--insecure", flags.insecure,
               "Plaintext, even if the context or a CA says TLS");
  app.add_option("--context", flags.context,
                 "Config-file context to use instead of current-context");
  app.add_option("-o,--output", flags.output, "Output format")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->capture_default_str();
  app.add_option("--timeout", flags.timeout_seconds,
                 "Deadline of each call, in seconds (streams: none)")
      ->capture_default_str();

  Action action;
  rapport::cli::AddContactCommands(&app, &flags, &action);
  rapport::cli::AddInteractionCommands(&app, &flags, &action);
  rapport::cli::AddAdminCommands(&app, &flags, &action);
  rapport::cli::AddConfigCommands(&app, &flags, &action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr,
                 "error: USAGE: %s\nRun with --help for more information.\n",
                 e.what());
    return rapport::cli::kExitUsage;
  }
  if (!action) {
    return rapport::cli::UsageError("no command given; see --help");
  }
  return action();
}
