#pragma once
// Whether a tensor a model kept a product of is still the one it is given, unchanged.
#include <cstdint>

#include <torch/types.h>

namespace factorch {

/// `t` is the tensor `kept` (the same TensorImpl) and has not been modified in place since
/// `kept_version` was read from it (in-place operations bump a tensor's version counter).
inline bool unmodified_since(const torch::Tensor& kept, int64_t kept_version, const torch::Tensor& t) {
  return kept.defined() && kept.unsafeGetTensorImpl() == t.unsafeGetTensorImpl() &&
         kept_version == static_cast<int64_t>(t._version());
}

}  // namespace factorch
