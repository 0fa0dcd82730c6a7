#pragma once
// Data parallelism over the columns of V (frames of audio), written once for every model that
// holds per-column tensors: which columns a rank holds, the samples its frames need, and the
// DataShard that makes the models sum over ranks. A C++ user shards a run with these and a
// Communicator; the app's loaders (app/column_shard.h, app/audio_shard.h) add the config keys.
//
//   const auto shard = distributed::ColumnShard::split(V.size(1), comm->rank(), comm->world_size());
//   TrainingData data(shard.slice(V, 1));
//   distributed::attach_shard(data, shard, comm);
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "factorch/io/wav.h"
#include "factorch/models/factor_model.h"

namespace factorch::distributed {

class Communicator;

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

/// Marks `data` as `shard` of a run whose sums go through `communicator` (data.shard).
void attach_shard(TrainingData& data, const ColumnShard& shard, const std::shared_ptr<Communicator>& communicator);

/// The samples under frames [shard.begin, shard.end) of a signal of `length` samples framed
/// with frame length M and hop `hop` (signal/frames.h, FramePadding::Zero): [first, first + span)
/// in the signal's indices, of which [read_begin, read_end) exist (the rest is the padding's
/// zeros). Framing segment() unpadded gives exactly the single-process columns.
struct FrameSamples {
  int64_t first = 0, span = 0;
  int64_t read_begin = 0, read_end = 0;

  static FrameSamples of(const ColumnShard& shard, int64_t length, int64_t M, int64_t hop);
  /// The C × (read_end − read_begin) samples → the C × span segment (zeros where padded).
  torch::Tensor segment(const torch::Tensor& samples) const;
};

/// The samples of the WAV `path` under the frames of `shard` (channels × span, see
/// FrameSamples): only [read_begin, read_end) is read. Frame it with FramePadding::None.
torch::Tensor read_frame_segment(const std::string& path, const io::ReadOptions& options, const ColumnShard& shard,
                                 int64_t M, int64_t hop);

}  // namespace factorch::distributed
