#include "app/audio_shard.h"

#include <algorithm>

#include "app/audio_data.h"
#include "app/data_block.h"
#include "factorch/distributed/communicator.h"
#include "factorch/error.h"
#include "factorch/signal/frames.h"

namespace factorch::app {

io::ReadOptions mono_read_options(const Config& c) {
  io::ReadOptions r;
  if (c.has("data.channel")) r.channel = static_cast<int>(c.integer("data.channel"));
  r.downmix = c.boolean("data.downmix");
  r.require_mono = true;
  r.mono_as_is = true;  // data.channel / data.downmix pick from multichannel files only
  return r;
}

namespace {

void require_enough_frames(const Config& c, const std::string& key, int64_t frames, int world_size) {
  if (frames < world_size)
    c.fail(key, "gives " + std::to_string(frames) + " frames (columns of V), fewer than the " +
                    std::to_string(world_size) + " ranks");
}

}  // namespace

TrainingData load_audio_column_shard(const Config& c, int rank, int world_size, ColumnShard* shard_out) {
  require(has_audio_input(c), c.where("data.input") + ": data.input is not audio");
  if (c.has("data.mask")) c.fail("data.mask", "applies to .npy input only");
  const AudioRepresentation rep(c);
  TrainingData data;
  ColumnShard shard;
  if (c.has("data.synthetic")) {
    // Embedded signals are short: generated whole (the same on every rank), V sliced.
    const AudioData audio = load_audio_data(c);
    const torch::Tensor V = rep.nonnegative(rep.analyse(audio.mixture));
    require_enough_frames(c, "data.synthetic", V.size(1), world_size);
    shard = ColumnShard::split(V.size(1), rank, world_size);
    data.X = shard.slice(V, 1).contiguous();
  } else {
    const std::vector<std::string> inputs = resolve_audio_paths(c, "data.input", c.strings("data.input"));
    if (inputs.size() != 1)
      c.fail("data.input", "must be one mixture for model.type " + c.string("model.type") + ", got " +
                               std::to_string(inputs.size()) + " files");
    const io::ReadOptions r = mono_read_options(c);
    const int64_t M = rep.frame_length(), hop = rep.hop();
    int64_t total = 0;
    try {
      total = signal::frame_count(io::read_wav_info(inputs[0]).frames, M, hop);
    } catch (const Error& e) {
      c.fail("data.input", e.what());
    }
    require_enough_frames(c, "data.input", total, world_size);
    shard = ColumnShard::split(total, rank, world_size);
    torch::Tensor segment;
    try {
      segment = read_frame_segment(inputs[0], r, shard, M, hop)[0];
    } catch (const Error& e) {
      c.fail("data.input", e.what());
    }
    data.X = rep.nonnegative(rep.analyse_unpadded(segment));
  }
  if (shard_out) *shard_out = shard;
  return data;
}

TrainingData load_audio_shard(const Config& c, const std::shared_ptr<distributed::Communicator>& communicator) {
  require(communicator != nullptr, "load_audio_shard: no communicator");
  ColumnShard shard;
  TrainingData data = load_audio_column_shard(c, communicator->rank(), communicator->world_size(), &shard);
  communicator->require_same("shapes of V (data.input through data.transform)",
                             std::to_string(data.X.size(0)) + "x" + std::to_string(shard.total));
  attach_shard(data, shard, communicator);
  return data;
}

TrainingData load_input_shard(const Config& c, const std::shared_ptr<distributed::Communicator>& communicator) {
  return has_audio_input(c) ? load_audio_shard(c, communicator) : load_matrix_shard(c, communicator);
}

}  // namespace factorch::app
