#pragma once
// Data parallelism for audio input: a rank computes only its columns (frames) of V, from only
// the samples that those frames cover (a seek into the WAV, io::read_wav_range). The framing
// of signal/frames.h zero-pads both edges, so a rank's segment is its samples with the
// padding's zeros put back where its frames reach past the signal; framing that segment
// unpadded gives exactly the single-process columns. Embedded signals (data.synthetic) are
// small: they are generated whole and V is sliced.
#include <cstdint>
#include <memory>
#include <string>

#include <torch/types.h>

#include "app/column_shard.h"
#include "app/config.h"
#include "factorch/io/wav.h"

namespace factorch::distributed {
class Communicator;
}

namespace factorch::app {

using distributed::FrameSamples;
using distributed::read_frame_segment;

/// How data.input is read as one signal: data.channel or data.downmix, else a mono file.
io::ReadOptions mono_read_options(const Config& config);

/// The shard of the V of audio input (one WAV in data.input with data.channel / data.downmix,
/// or data.synthetic) for `rank` of `world_size`, through data.transform: only this rank's
/// columns are computed, from only the samples they need. Fails naming the key for a list of
/// several files, fewer frames than ranks, or data.mask.
TrainingData load_audio_column_shard(const Config& config, int rank, int world_size, ColumnShard* shard_out = nullptr);

/// load_audio_column_shard + attach_shard, after checking that every rank sees the same shape
/// of V: the load_shard of matrix models on audio input.
TrainingData load_audio_shard(const Config& config, const std::shared_ptr<distributed::Communicator>& communicator);

/// load_audio_shard for audio input, else load_matrix_shard (an F×N .npy).
TrainingData load_input_shard(const Config& config, const std::shared_ptr<distributed::Communicator>& communicator);

}  // namespace factorch::app
