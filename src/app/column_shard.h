#pragma once
// Data parallelism over the columns of a .npy V from the config: each rank reads only its
// columns (lazily, io::NpyColumnReader) of data.input and data.mask. The shard itself
// (ColumnShard, attach_shard) is the library's (factorch/distributed/column_shard.h).
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/types.h>

#include "app/config.h"
#include "factorch/distributed/column_shard.h"
#include "factorch/models/factor_model.h"

namespace factorch::app {

using distributed::ColumnShard;
using distributed::attach_shard;

/// The shard of data.input (an F×N .npy matrix) for `rank` of `world_size`: only its columns
/// are read (io::NpyColumnReader), in float64, and data.mask likewise. Fails naming the key
/// for audio input (app/audio_shard.h computes its shard), a missing file, or a mask of another shape.
TrainingData load_column_shard(const Config& config, int rank, int world_size, ColumnShard* shard_out = nullptr);

/// load_column_shard + attach_shard through `communicator`, after checking that every rank
/// sees the same shape of data.input (the same path may hold different files on different
/// nodes): the load_shard of matrix models.
TrainingData load_matrix_shard(const Config& config, const std::shared_ptr<distributed::Communicator>& communicator);

}  // namespace factorch::app
