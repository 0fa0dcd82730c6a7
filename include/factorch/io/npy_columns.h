#pragma once
// Lazy column access to a 2-D .npy matrix (float32/float64, C or Fortran order) too large to
// load: only the requested columns are read (a C-order file is read row segment by row
// segment), so memory is bounded by one block of columns.
#include <cstdint>
#include <fstream>
#include <string>

#include <torch/types.h>

namespace factorch::io {

class NpyColumnReader {
 public:
  /// Opens `path` and parses its header; throws factorch::Error naming the file for a missing
  /// or corrupt file, a non-2-D array or a dtype other than little-endian float32/float64.
  explicit NpyColumnReader(const std::string& path);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  const std::string& path() const { return path_; }

  /// Columns [start, start + count) as a float64 rows × count CPU tensor (count clipped at
  /// the end). Throws on a read error (truncated file).
  torch::Tensor read(int64_t start, int64_t count);

 private:
  std::string path_;
  std::ifstream in_;
  int64_t rows_ = 0, cols_ = 0, item_ = 8, data_offset_ = 0;
  bool fortran_ = false;
};

}  // namespace factorch::io
