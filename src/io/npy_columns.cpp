#include "factorch/io/npy_columns.h"

#include <algorithm>
#include <vector>

#include "factorch/io/npy.h"

#include "factorch/error.h"

namespace factorch::io {

NpyColumnReader::NpyColumnReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  require(in_.good(), path + ": cannot open");
  in_.seekg(0, std::ios::end);
  const int64_t size = static_cast<int64_t>(in_.tellg());
  require(size >= 0, path + ": cannot open");
  in_.seekg(0);
  // The header alone: the preamble (magic, version, length field), then the length it names
  // (bounded by kMaxNpyHeader): never an allocation the size a corrupt header claims, and no
  // read into the data, of which a data-parallel rank reads only its columns (reading a
  // fixed 1 MiB prefix made every rank read the first MiB of V).
  std::string prefix(static_cast<size_t>(std::min<int64_t>(size, 12)), '\0');
  in_.read(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  require(in_.gcount() == static_cast<std::streamsize>(prefix.size()), path + ": read error");
  const bool v1 = prefix.size() >= 10 && static_cast<unsigned char>(prefix[6]) == 1;
  if (v1 || prefix.size() == 12) {
    int64_t length = 0;
    for (int b = v1 ? 1 : 3; b >= 0; --b) length = (length << 8) | static_cast<unsigned char>(prefix[8 + b]);
    const int64_t want = std::min<int64_t>(size, (v1 ? 10 : 12) + std::min<int64_t>(length, kMaxNpyHeader));
    const size_t have = prefix.size();
    if (want > static_cast<int64_t>(have)) {
      prefix.resize(static_cast<size_t>(want));
      in_.read(prefix.data() + have, static_cast<std::streamsize>(prefix.size() - have));
      require(in_.gcount() == static_cast<std::streamsize>(prefix.size() - have), path + ": read error");
    }
  }
  const NpyHeader h = parse_npy_header(prefix, path);
  require(h.dtype == torch::kFloat64 || h.dtype == torch::kFloat32,
          path + ": streaming needs a little-endian float32/float64 .npy");
  std::string shape = "(";
  for (size_t i = 0; i < h.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(h.shape[i]);
  shape += ")";
  require(h.shape.size() == 2, path + ": streaming needs a 2-D .npy matrix, shape is " + shape);
  rows_ = h.shape[0];
  cols_ = h.shape[1];
  require(rows_ > 0 && cols_ > 0, path + ": the matrix is empty " + shape);
  item_ = h.dtype == torch::kFloat64 ? 8 : 4;
  fortran_ = h.fortran_order;
  data_offset_ = h.data_offset;
  require(size - data_offset_ >= h.nbytes,
          path + ": truncated (" + std::to_string(rows_) + "x" + std::to_string(cols_) + " values expected)");
}

torch::Tensor NpyColumnReader::read(int64_t start, int64_t count) {
  require(start >= 0 && start <= cols_, path_ + ": column " + std::to_string(start) + " is out of range");
  require(count >= 0, path_ + ": negative column count " + std::to_string(count));
  count = std::min(count, cols_ - start);
  const auto dtype = item_ == 8 ? torch::kFloat64 : torch::kFloat32;
  torch::Tensor out = torch::empty({rows_, count}, dtype);
  auto* dst = static_cast<char*>(out.data_ptr());
  in_.clear();
  if (fortran_) {
    // Column-major: the block is contiguous; read it as count × rows and transpose.
    torch::Tensor block = torch::empty({count, rows_}, dtype);
    in_.seekg(data_offset_ + start * rows_ * item_);
    in_.read(static_cast<char*>(block.data_ptr()), count * rows_ * item_);
    require(in_.good(), path_ + ": read error");
    return block.t().contiguous().to(torch::kFloat64);
  }
  for (int64_t r = 0; r < rows_; ++r) {
    in_.seekg(data_offset_ + (r * cols_ + start) * item_);
    in_.read(dst + r * count * item_, count * item_);
    require(in_.good(), path_ + ": read error");
  }
  return out.to(torch::kFloat64);
}

}  // namespace factorch::io
