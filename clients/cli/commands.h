// rapportctl's command groups. Each Add*Commands registers its sub-commands
// on `app`; a sub-command's callback stores what to run in `*action` (run
// after parsing succeeded) and reads the connection settings from `*flags`.
// `flags` and `action` must outlive the parse and the run.
#ifndef RAPPORT_CLIENTS_CLI_COMMANDS_H_
#define RAPPORT_CLIENTS_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/common.h"

namespace rapport::cli {

using Action = std::function<int()>;

void AddContactCommands(CLI::App* app, GlobalFlags* flags, Action* action);
void AddInteractionCommands(CLI::App* app, GlobalFlags* flags, Action* action);
void AddAdminCommands(CLI::App* app, GlobalFlags* flags, Action* action);
void AddConfigCommands(CLI::App* app, GlobalFlags* flags, Action* action);

}  // namespace rapport::cli

#endif  // RAPPORT_CLIENTS_CLI_COMMANDS_H_
