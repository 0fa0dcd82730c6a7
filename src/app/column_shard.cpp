#include "app/column_shard.h"

#include <algorithm>

#include "app/audio_data.h"
#include "factorch/distributed/communicator.h"
#include "factorch/error.h"
#include "factorch/io/npy_columns.h"

namespace factorch::app {

namespace {

torch::Tensor read_columns(const Config& c, const std::string& key, const ColumnShard* shard, int64_t* rows,
                           int64_t* cols, int rank, int world_size, ColumnShard* made) {
  const std::string path = c.strings(key).at(0);
  try {
    io::NpyColumnReader reader(path);
    *rows = reader.rows();
    *cols = reader.cols();
    const ColumnShard s = shard ? *shard : ColumnShard::split(reader.cols(), rank, world_size);
    if (made) *made = s;
    if (shard && reader.cols() != shard->total) return {};
    return reader.read(s.begin, s.size());
  } catch (const Error& e) {
    c.fail(key, std::string("cannot be read: ") + e.what());
  }
}

}  // namespace

TrainingData load_column_shard(const Config& c, int rank, int world_size, ColumnShard* shard_out) {
  if (has_audio_input(c))
    c.fail("data.input", "is audio: its shard is computed by app::load_audio_column_shard (app/audio_shard.h), "
                         "not read as .npy columns");
  if (!c.has("data.input")) c.fail("data.input", "is required (an F×N nonnegative .npy matrix)");
  ColumnShard shard;
  int64_t rows = 0, cols = 0;
  TrainingData data;
  data.X = read_columns(c, "data.input", nullptr, &rows, &cols, rank, world_size, &shard);
  if (shard.total < world_size)
    c.fail("data.input", "has " + std::to_string(shard.total) + " columns, fewer than the " +
                             std::to_string(world_size) + " ranks");
  if (c.has("data.mask")) {
    int64_t mrows = 0, mcols = 0;
    data.mask = read_columns(c, "data.mask", &shard, &mrows, &mcols, rank, world_size, nullptr);
    if (mrows != rows || mcols != cols)
      c.fail("data.mask", "(" + c.string("data.mask") + ") is " + std::to_string(mrows) + "x" + std::to_string(mcols) +
                              " but data.input is " + std::to_string(rows) + "x" + std::to_string(cols));
  }
  if (shard_out) *shard_out = shard;
  return data;
}

TrainingData load_matrix_shard(const Config& c, const std::shared_ptr<distributed::Communicator>& communicator) {
  require(communicator != nullptr, "load_matrix_shard: no communicator");
  ColumnShard shard;
  TrainingData data = load_column_shard(c, communicator->rank(), communicator->world_size(), &shard);
  communicator->require_same("shapes of data.input", std::to_string(data.X.size(0)) + "x" + std::to_string(shard.total));
  attach_shard(data, shard, communicator);
  return data;
}

}  // namespace factorch::app
