// Compiled as a source of the separation layer, like upward_include_quoted.cpp (ctest
// layering.downward_include_compiles): headers of lower layers, quoted or angle-bracket, are
// found, so the upward failures are the layer rule and not a broken include path.
// (Headers without LibTorch keep the check fast.)
#include "factorch/error.h"
#include <factorch/io/atomic_file.h>

std::string read_checked(const std::string& path) {
  factorch::require(!path.empty(), "path must not be empty");
  return factorch::io::read_file(path);
}
