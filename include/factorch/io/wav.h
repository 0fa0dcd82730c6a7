#pragma once
// Audio file I/O through libsndfile. Samples are channels × frames float64 in [-1, 1];
// rates are never converted silently: files that must agree are checked with
// require_same_rate().
#include <torch/types.h>

#include <optional>
#include <string>

namespace factorch::io {

struct Audio {
  torch::Tensor samples;  // channels × frames, float64, CPU
  int sample_rate = 0;
  std::string path;

  int64_t channels() const { return samples.size(0); }
  int64_t frames() const { return samples.size(1); }
  double duration() const { return static_cast<double>(frames()) / sample_rate; }
};

struct ReadOptions {
  std::optional<int> channel;  // keep only this channel (0-based) → 1 × frames
  bool downmix = false;        // average all channels → 1 × frames
  bool require_mono = false;   // a multichannel file without channel/downmix is an error
  // A mono file is read as it is: channel/downmix only pick from multichannel files (the
  // rule of the data.* block, where one channel of a stereo mixture goes with mono clips).
  bool mono_as_is = false;
};

/// Checks `options` against a file of `channels` channels (errors name `path`) and says how many
/// channels a read returns: the one rule of read_wav, WavBlockReader and callers that check
/// headers before reading.
int64_t channels_read(int64_t channels, const ReadOptions& options, const std::string& path);

enum class WavFormat { Float32, Pcm16, Pcm24 };

/// "float32" | "pcm16" | "pcm24" (also "float", "int16", "int24"); anything else throws.
WavFormat wav_format_from_name(const std::string& name);

/// Reads any format libsndfile knows (WAV int16/int24/int32/float/double, FLAC, ...).
/// Throws factorch::Error naming `path` for a missing/non-audio/empty file, a bad channel
/// index or non-finite samples.
Audio read_wav(const std::string& path, const ReadOptions& options = {});

/// What the header of an audio file says (nothing else is read).
struct AudioInfo {
  int64_t frames = 0;
  int channels = 0;
  int sample_rate = 0;
};
/// Throws as read_wav does for a missing or unreadable file.
AudioInfo read_wav_info(const std::string& path);

/// The samples [begin, begin + count) of `path` only (a seek, then those frames): what a
/// data-parallel rank reads of a long recording. The range must lie inside the file; the
/// options and checks are those of read_wav (the same values as read_wav's columns there).
Audio read_wav_range(const std::string& path, int64_t begin, int64_t count, const ReadOptions& options = {});

/// Writes a WAV file atomically. `samples` is frames (mono) or channels × frames, any
/// dtype/device; PCM formats clip to [-1, 1) with rounding (x·2^15 or x·2^23), so a
/// write → read round trip is exact for values on that grid.
void write_wav(const std::string& path, const torch::Tensor& samples, int sample_rate,
               WavFormat format = WavFormat::Float32);

/// Throws "b: sample rate X Hz differs from Y Hz of a" when the rates differ.
void require_same_rate(const Audio& a, const Audio& b);

}  // namespace factorch::io
