#pragma once
// Audio files in pieces, for recordings too long to hold in memory (wav.h reads and writes
// whole files). WavBlockReader seeks and reads any range of frames; WavBlockWriter appends
// blocks to a temporary file beside the target and renames it over the target in commit()
// (the atomic rule of atomic_file.h: an interrupted or failed run leaves no half-written file).
//
//   io::WavBlockReader in("mix.wav", mono);
//   io::WavBlockWriter out("est.wav", 1, in.sample_rate());
//   for (int64_t t = 0; t < in.frames(); t += B) out.write(process(in.read(t, B)));
//   out.commit();
#include <torch/types.h>

#include <memory>
#include <string>

#include "factorch/io/wav.h"

namespace factorch::io {

class WavBlockReader {
 public:
  /// Opens `path` (any format libsndfile reads); errors as read_wav (missing, not audio,
  /// empty, bad channel index, multichannel where mono is required).
  explicit WavBlockReader(const std::string& path, const ReadOptions& options = {});
  ~WavBlockReader();
  WavBlockReader(WavBlockReader&&) noexcept;
  WavBlockReader& operator=(WavBlockReader&&) noexcept;

  int64_t frames() const { return frames_; }
  int sample_rate() const { return sample_rate_; }
  /// Channels of what read() returns (1 with a channel, downmix or require_mono).
  int64_t channels() const { return out_channels_; }
  const std::string& path() const { return path_; }

  /// Frames [start, start + count) as channels() × count float64; frames before 0 or past
  /// the end are zeros (the zero padding of a framed signal). Non-finite samples → Error.
  torch::Tensor read(int64_t start, int64_t count);

 private:
  struct File;
  std::unique_ptr<File> file_;
  std::string path_;
  ReadOptions options_;
  int64_t frames_ = 0, file_channels_ = 0, out_channels_ = 0;
  int sample_rate_ = 0;
};

class WavBlockWriter {
 public:
  /// Opens a temporary file next to `path` (parent directories are created).
  WavBlockWriter(const std::string& path, int64_t channels, int sample_rate, WavFormat format = WavFormat::Float32);
  /// Without commit() the temporary file is removed.
  ~WavBlockWriter();
  WavBlockWriter(const WavBlockWriter&) = delete;
  WavBlockWriter& operator=(const WavBlockWriter&) = delete;

  /// Appends frames (mono) or channels × frames, any dtype; quantised as write_wav.
  void write(const torch::Tensor& samples);
  int64_t frames() const { return written_; }
  /// Closes and renames the file over `path`. An empty file (nothing written) → Error.
  void commit();
  const std::string& path() const { return path_; }

 private:
  struct File;
  std::unique_ptr<File> file_;
  std::string path_, tmp_;
  int64_t channels_ = 0, written_ = 0;
  WavFormat format_;
  bool committed_ = false;
};

}  // namespace factorch::io
