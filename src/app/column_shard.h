#pragma once
// Data parallelism over the columns of V, written once for every matrix model: which
// columns a rank holds, reading only those (lazily, from the .npy file), and the DataShard
// that tells the models to sum over ranks. A front end that turns audio into V can reuse
// ColumnShard and attach_shard() as they are (it only has to produce its columns).
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/types.h>

#include "app/config.h"
#include "factorch/models/factor_model.h"

namespace factorch::distributed {
class Communicator;
}

namespace factorch::app {

/// The contiguous columns [begin, end) of `total` that rank `rank` of `world_size` holds:
/// balanced, the first total mod world_size ranks one column more.
struct ColumnShard {
  int64_t begin = 0, end = 0, total = 0;
  int rank = 0, world_size = 1;

  static ColumnShard split(int64_t total, int rank, int world_size);
  int64_t size() const { return end - begin; }
  /// Every rank's number of columns (for gathering).
  std::vector<int64_t> counts() const;
  /// This rank's part of a tensor that has all `total` columns along `dim`.
  torch::Tensor slice(const torch::Tensor& full, int64_t dim) const;
};

/// The shard of data.input (an F×N .npy matrix) for `rank` of `world_size`: only its columns
/// are read (io::NpyColumnReader), in float64, and data.mask likewise. Fails naming the key
/// for audio input (app/audio_shard.h computes its shard), a missing file, or a mask of another shape.
TrainingData load_column_shard(const Config& config, int rank, int world_size, ColumnShard* shard_out = nullptr);

/// load_column_shard + attach_shard through `communicator`, after checking that every rank
/// sees the same shape of data.input (the same path may hold different files on different
/// nodes): the load_shard of matrix models.
TrainingData load_matrix_shard(const Config& config, const std::shared_ptr<distributed::Communicator>& communicator);

/// Marks `data` as `shard` of a run whose sums go through `communicator` (data.shard).
void attach_shard(TrainingData& data, const ColumnShard& shard,
                  const std::shared_ptr<distributed::Communicator>& communicator);

}  // namespace factorch::app
