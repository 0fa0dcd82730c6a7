#pragma once
// Small helpers shared by the CLI commands: argument scanning and uniform error reporting.
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <c10/util/Exception.h>

#include "cli/commands.h"
#include "factorch/error.h"

namespace factorch::cli {

/// A bad command line (unknown option, missing value or argument): reported in one line
/// with a pointer to the command's --help, exit status 1.
class UsageError : public Error {
 public:
  UsageError(const std::string& command, const std::string& message)
      : Error("factorch " + command + ": " + message + " (see `factorch " + command + " --help`)") {}
};

/// Prints a UsageError's line and returns 1 (for commands that do not use guarded()).
inline int report_usage_error(const UsageError& e) {
  std::fprintf(stderr, "%s\n", e.what());
  return 1;
}

/// Runs body(); UsageError → its one line and status 1; factorch::Error → "factorch: error: <msg>" and status 2; LibTorch errors
/// are cut to their first line (no backtraces for users).
inline int guarded(const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    return report_usage_error(e);
  } catch (const Error& e) {
    std::fprintf(stderr, "factorch: error: %s\n", e.what());
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    std::fprintf(stderr, "factorch: error: %s\n", msg.substr(0, msg.find('\n')).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "factorch: error: %s\n", e.what());
  }
  return 2;
}

/// Iterates over args; `value()` consumes the next argument of an option or throws.
class ArgScanner {
 public:
  ArgScanner(const Args& args, std::string command) : args_(args), command_(std::move(command)) {}
  bool next() { return ++i_ < args_.size(); }
  const std::string& current() const { return args_[i_]; }
  std::string value() {
    if (i_ + 1 >= args_.size()) throw UsageError(command_, "option " + args_[i_] + " needs a value");
    return args_[++i_];
  }
  /// The values following the current option up to the next "--option".
  std::vector<std::string> values() {
    std::vector<std::string> out;
    while (i_ + 1 < args_.size() && args_[i_ + 1].rfind("--", 0) != 0) out.push_back(args_[++i_]);
    if (out.empty()) throw UsageError(command_, "option " + args_[i_] + " needs at least one value");
    return out;
  }
  [[noreturn]] void unknown() const { throw UsageError(command_, "unknown option '" + args_[i_] + "'"); }

 private:
  const Args& args_;
  std::string command_;
  size_t i_ = static_cast<size_t>(-1);
};

/// The options that `train` and `separate` share: --set, --out, --device, --dtype as config
/// overrides, --quiet. Returns false when the current argument is none of them. origins[i] is
/// how overrides[i] was typed, so that an error names the flag the user gave (Config::load).
template <class RunOptions>
bool scan_run_option(ArgScanner& a, std::vector<std::string>& overrides, std::vector<std::string>& origins,
                     RunOptions& options) {
  const std::string& arg = a.current();
  const auto flag = [&](const std::string& key) {
    const std::string value = a.value();
    overrides.push_back(key + "=" + value);
    origins.push_back(arg + " " + value);
  };
  if (arg == "--set") {
    overrides.push_back(a.value());
    origins.emplace_back();  // "--set key=value"
  } else if (arg == "--out") {
    flag("output.dir");
  } else if (arg == "--device") {
    flag("trainer.device");
  } else if (arg == "--dtype") {
    flag("trainer.dtype");
  } else if (arg == "--quiet" || arg == "-q") {
    options.quiet = true;
  } else {
    return false;
  }
  return true;
}

}  // namespace factorch::cli
