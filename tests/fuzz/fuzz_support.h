#pragma once
// Shared by the libFuzzer targets (built with -DFACTORCH_FUZZ=ON and clang; README "Fuzzing").
// A target passes an input when the parser returns or throws factorch::Error; any other
// exception escapes and libFuzzer reports it as a crash, like a sanitizer report.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "factorch/error.h"

namespace factorch::fuzz {

/// A per-process scratch file holding `data` (for parsers that read a path).
inline const std::string& scratch_file(const uint8_t* data, size_t size, const char* ext) {
  static const std::string path = "/tmp/factorch-fuzz-" + std::to_string(::getpid()) + ext;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

template <class F>
int accept_clean_errors(F&& parse) {
  try {
    parse();
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace factorch::fuzz
