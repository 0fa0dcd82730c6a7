#pragma once
// Sub-commands of the `factorch` CLI. Each takes the arguments after its name, prints
// to stdout/stderr and returns the process exit status (0 ok, 1 usage, 2 error).
// tools/factorch/main.cpp only dispatches; the logic lives in the library so tests can
// call it in-process.
#include <string>
#include <vector>

namespace factorch::cli {

using Args = std::vector<std::string>;

int train(const Args& args);     // src/cli/train_command.cpp
int export_(const Args& args);   // src/cli/export_command.cpp
int info(const Args& args);      // src/cli/info_command.cpp
int config(const Args& args);    // src/cli/config_command.cpp  (documents every key)
int separate(const Args& args);  // src/cli/separate_command.cpp
int eval(const Args& args);      // src/cli/eval_command.cpp   (BSS metrics of WAV files)
int report(const Args& args);    // src/cli/report_command.cpp (report.html of a run directory)

}  // namespace factorch::cli
