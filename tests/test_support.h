#pragma once
// Shared helpers for the test suite: scratch directories, Python reference runs, CLI runs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>

#include "factorch/error.h"

namespace factorch::testkit {

// Paths of this build, defined in the one generated TU build/test_paths.cpp (from
// tests/test_paths.cpp.in), so that no other test TU depends on where the checkout lives
// and compiler caches hit across checkouts.
extern const char* const kSourceDir;
extern const char* const kBinaryDir;
extern const char* const kPython;
extern const char* const kCmake;     ///< the cmake that configured this build
extern const char* const kTorchDir;  ///< LibTorch's CMake package folder

/// The message of the factorch::Error that f() throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

/// A fresh directory under the build tree, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    static std::mt19937_64 rng(std::random_device{}());
    path_ = std::filesystem::path(kBinaryDir) / "test-tmp" / std::to_string(rng());
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// True if kPython can import every module in `modules` (space separated).
inline bool python_has(const std::string& modules) {
  std::string imports;
  std::stringstream ss(modules);
  std::string m;
  while (ss >> m) imports += "import " + m + ";";
  const std::string cmd = std::string("\"") + kPython + "\" -c \"" + imports + "\" > /dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

/// Runs a Python script file with kPython; returns the exit status.
inline int run_python(const std::string& script_path, const std::string& args = "") {
  const std::string cmd = std::string("\"") + kPython + "\" " + script_path + " " + args;
  return std::system(cmd.c_str());
}

struct CommandResult {
  int status = -1;
  std::string out, err;
};

/// Runs build/factorch with `args` (a shell fragment) in directory `cwd`.
inline CommandResult run_factorch(const std::string& args, const std::string& cwd) {
  const std::string out = cwd + "/.stdout", err = cwd + "/.stderr";
  const std::string cmd = "cd \"" + cwd + "\" && \"" + std::string(kBinaryDir) + "/factorch\" " + args + " > \"" +
                          out + "\" 2> \"" + err + "\" < /dev/null";
  const int raw = std::system(cmd.c_str());
  CommandResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

}  // namespace factorch::testkit
