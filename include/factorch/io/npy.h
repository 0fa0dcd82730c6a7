#pragma once
// NumPy .npy files (format 1.0/2.0/3.0): little-endian float32/float64/int64/int32/uint8/bool,
// C or Fortran order. Written in C order with the tensor's dtype, atomically.
#include <string>

#include <torch/types.h>

namespace factorch::io {

/// Reads an .npy file into a CPU tensor; throws factorch::Error naming the file on a
/// missing/corrupt file or an unsupported dtype.
torch::Tensor load_npy(const std::string& path);

/// Writes a tensor (any device; float32/float64/int64/int32/uint8/bool) as .npy, C order.
void save_npy(const std::string& path, const torch::Tensor& tensor);

/// The bytes of an .npy file for `tensor` (used by save_npy).
std::string npy_bytes(const torch::Tensor& tensor);

}  // namespace factorch::io
