#pragma once
// "513x2000": tensor shapes in error messages.
#include <string>

#include <torch/types.h>

namespace factorch {

inline std::string shape_string(const torch::Tensor& t) {
  std::string s;
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "x" : "") + std::to_string(t.size(i));
  return s;
}

}  // namespace factorch
