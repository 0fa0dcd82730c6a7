#include "factorch/io/npy_columns.h"

#include <vector>

#include "factorch/error.h"

namespace factorch::io {

NpyColumnReader::NpyColumnReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  require(in_.good(), path + ": cannot open");
  char magic[10];
  in_.read(magic, 10);
  require(in_.gcount() == 10 && std::string(magic, 6) == "\x93NUMPY", path + ": not an .npy file");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_len = static_cast<unsigned char>(magic[8]) | (static_cast<unsigned char>(magic[9]) << 8);
  int64_t prefix = 10;
  if (major >= 2) {
    char more[2];
    in_.read(more, 2);
    require(in_.gcount() == 2, path + ": truncated .npy header");
    header_len |= (static_cast<uint32_t>(static_cast<unsigned char>(more[0])) << 16) |
                  (static_cast<uint32_t>(static_cast<unsigned char>(more[1])) << 24);
    prefix = 12;
  }
  std::string header(header_len, '\0');
  in_.read(header.data(), header_len);
  require(static_cast<uint32_t>(in_.gcount()) == header_len, path + ": truncated .npy header");
  data_offset_ = prefix + header_len;
  if (header.find("'<f8'") != std::string::npos) {
    item_ = 8;
  } else if (header.find("'<f4'") != std::string::npos) {
    item_ = 4;
  } else {
    throw Error(path + ": streaming needs a little-endian float32/float64 .npy");
  }
  fortran_ = header.find("'fortran_order': True") != std::string::npos;
  const size_t open = header.find('(', header.find("'shape'")), close = header.find(')', open);
  require(open != std::string::npos && close != std::string::npos, path + ": .npy header has no shape");
  const std::string shape = header.substr(open + 1, close - open - 1);
  const size_t comma = shape.find(',');
  try {
    require(comma != std::string::npos && shape.find_first_not_of(" ", comma + 1) != std::string::npos &&
                shape.find(',', comma + 1) == std::string::npos,
            "");
    rows_ = std::stoll(shape.substr(0, comma));
    cols_ = std::stoll(shape.substr(comma + 1));
  } catch (const std::exception&) {
    throw Error(path + ": streaming needs a 2-D .npy matrix, shape is (" + shape + ")");
  }
  require(rows_ > 0 && cols_ > 0, path + ": the matrix is empty (" + shape + ")");
  in_.seekg(0, std::ios::end);
  require(static_cast<int64_t>(in_.tellg()) >= data_offset_ + rows_ * cols_ * item_,
          path + ": truncated (" + std::to_string(rows_) + "x" + std::to_string(cols_) + " values expected)");
}

torch::Tensor NpyColumnReader::read(int64_t start, int64_t count) {
  require(start >= 0 && start <= cols_, path_ + ": column " + std::to_string(start) + " is out of range");
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
