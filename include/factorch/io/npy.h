#pragma once
// NumPy .npy files (format 1.0/2.0/3.0): little-endian float32/float64/int64/int32/uint8/bool,
// C or Fortran order. Written in C order with the tensor's dtype, atomically.
#include <string>
#include <vector>

#include <torch/types.h>

namespace factorch::io {

/// Reads an .npy file into a CPU tensor; throws factorch::Error naming the file on a
/// missing/corrupt file or an unsupported dtype.
torch::Tensor load_npy(const std::string& path);

/// Writes a tensor (any device; float32/float64/int64/int32/uint8/bool) as .npy, C order.
void save_npy(const std::string& path, const torch::Tensor& tensor);

/// The bytes of an .npy file for `tensor` (used by save_npy).
std::string npy_bytes(const torch::Tensor& tensor);

/// The tensor in the bytes of an .npy file (`name` names it in errors).
torch::Tensor npy_from_bytes(const std::string& bytes, const std::string& name);

/// What an .npy header says. Parsing checks everything a reader relies on: magic, version,
/// a header no longer than kMaxNpyHeader, a known dtype, a shape of ≤ 32 non-negative
/// dimensions whose byte size does not overflow.
struct NpyHeader {
  torch::ScalarType dtype = torch::kFloat64;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;  ///< bytes before the data
  int64_t numel = 0;
  int64_t nbytes = 0;  ///< numel × item size
};
constexpr int64_t kMaxNpyHeader = 1 << 20;

/// Parses the header at the start of `prefix` (at least the whole header; the data may follow).
NpyHeader parse_npy_header(const std::string& prefix, const std::string& name);

}  // namespace factorch::io
