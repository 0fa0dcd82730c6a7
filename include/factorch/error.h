#pragma once
// One exception type for every user-facing failure (bad config, bad data, bad files).
// Its message is a single line naming the file/key/value at fault; the CLI prints it
// as "factorch: error: <message>" and exits with status 2.
#include <stdexcept>
#include <string>

namespace factorch {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Throws factorch::Error(message) when `condition` is false.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace factorch
