#include "factorch/io/wav.h"

#include <sndfile.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "factorch/error.h"
#include "factorch/io/atomic_file.h"

namespace factorch::io {

namespace {

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// Samples to the interleaved frames × channels layout libsndfile expects.
torch::Tensor interleaved(const torch::Tensor& channels_by_frames, torch::ScalarType dtype) {
  return channels_by_frames.t().to(dtype).contiguous();
}

}  // namespace

WavFormat wav_format_from_name(const std::string& name) {
  if (name == "float32" || name == "float") return WavFormat::Float32;
  if (name == "pcm16" || name == "int16") return WavFormat::Pcm16;
  if (name == "pcm24" || name == "int24") return WavFormat::Pcm24;
  throw Error("unknown WAV format '" + name + "' (expected float32, pcm16 or pcm24)");
}

namespace {

SndfilePtr open_audio(const std::string& path, SF_INFO& info) {
  std::error_code ec;
  require(std::filesystem::exists(path, ec), path + ": no such file");
  require(!std::filesystem::is_directory(path, ec), path + ": is a directory, not an audio file");
  SndfilePtr file(sf_open(path.c_str(), SFM_READ, &info));
  // sf_strerror(nullptr) reports why the last sf_open failed ("Format not recognised.").
  require(file != nullptr, path + ": not a readable audio file (" + sf_strerror(nullptr) + ")");
  require(info.frames > 0, path + ": empty audio file (0 samples)");
  require(info.channels > 0, path + ": invalid channel count " + std::to_string(info.channels));
  require(info.samplerate > 0, path + ": invalid sample rate " + std::to_string(info.samplerate));
  return file;
}

// Frames [begin, begin + count) (count < 0: to the end) of an open file, with read_wav's checks
// and channel options.
Audio read_open(SNDFILE* file, const SF_INFO& info, const std::string& path, int64_t begin, int64_t count,
                const ReadOptions& options) {
  require(!(options.channel && options.downmix), path + ": choose either a channel or downmix, not both");
  const int64_t channels = info.channels;
  const sf_count_t want = count < 0 ? info.frames - begin : count;
  if (begin > 0)
    require(sf_seek(file, begin, SEEK_SET) == begin, path + ": cannot seek to sample " + std::to_string(begin) + " (" +
                                                          sf_strerror(file) + ")");
  // Read block by block instead of allocating the frame count of the header up front: a
  // corrupt header can claim far more frames than the file holds. Blocks of ≤ 8 MiB.
  const sf_count_t block = std::max<sf_count_t>(1, (sf_count_t{1} << 20) / channels);
  std::vector<double> chunk(static_cast<size_t>(block * channels)), buffer;
  sf_count_t read = 0;
  while (read < want) {
    const sf_count_t n = sf_readf_double(file, chunk.data(), std::min(block, want - read));
    if (n <= 0) break;
    buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + n * channels);
    read += n;
  }
  require(read > 0, path + ": no samples could be read (" + sf_strerror(file) + ")");
  if (count >= 0)
    require(read == want, path + ": read " + std::to_string(read) + " of the " + std::to_string(want) +
                              " samples from " + std::to_string(begin) + " (" + sf_strerror(file) + ")");

  // clone(): the tensor must own its memory, not view `buffer` (a 1-channel transpose is
  // already contiguous, so contiguous() alone would not copy).
  auto samples = torch::from_blob(buffer.data(), {read, channels}, torch::kFloat64).clone().t().contiguous();
  require(torch::isfinite(samples).all().item<bool>(), path + ": contains non-finite samples (NaN or Inf)");

  channels_read(channels, options, path);
  if (options.mono_as_is && channels == 1) {
    // already one channel: nothing to pick or average
  } else if (options.channel) {
    samples = samples.slice(0, *options.channel, *options.channel + 1).contiguous();
  } else if (options.downmix) {
    samples = samples.mean(0, /*keepdim=*/true);
  }
  return Audio{samples, info.samplerate, path};
}

}  // namespace

int64_t channels_read(int64_t channels, const ReadOptions& options, const std::string& path) {
  if (options.mono_as_is && channels == 1) return 1;
  if (options.channel) {
    const int c = *options.channel;
    require(c >= 0 && c < channels, path + ": channel " + std::to_string(c) + " requested but the file has " +
                                        std::to_string(channels) + " channel(s) (indices start at 0)");
    return 1;
  }
  if (options.downmix) return 1;
  require(!options.require_mono || channels == 1,
          path + ": " + std::to_string(channels) + " channels where mono audio is needed (select a channel or downmix)");
  return channels;
}

Audio read_wav(const std::string& path, const ReadOptions& options) {
  SF_INFO info{};
  SndfilePtr file = open_audio(path, info);
  return read_open(file.get(), info, path, 0, -1, options);
}

AudioInfo read_wav_info(const std::string& path) {
  SF_INFO info{};
  SndfilePtr file = open_audio(path, info);
  return {info.frames, info.channels, info.samplerate};
}

Audio read_wav_range(const std::string& path, int64_t begin, int64_t count, const ReadOptions& options) {
  SF_INFO info{};
  SndfilePtr file = open_audio(path, info);
  require(begin >= 0 && count >= 1 && begin + count <= info.frames,
          path + ": samples [" + std::to_string(begin) + ", " + std::to_string(begin + count) + ") lie outside its " +
              std::to_string(info.frames) + " samples");
  return read_open(file.get(), info, path, begin, count, options);
}

void write_wav(const std::string& path, const torch::Tensor& samples, int sample_rate, WavFormat format) {
  require(samples.defined() && (samples.dim() == 1 || samples.dim() == 2),
          path + ": samples must be a 1-D (frames) or 2-D (channels × frames) tensor");
  require(!samples.is_complex(), path + ": cannot write complex samples");
  require(sample_rate > 0, path + ": invalid sample rate " + std::to_string(sample_rate));
  auto x = samples.dim() == 1 ? samples.unsqueeze(0) : samples;
  x = x.detach().to(torch::kCPU, torch::kFloat64);
  require(x.size(1) > 0, path + ": no samples to write");
  require(x.size(0) >= 1 && x.size(0) <= 1024, path + ": unsupported channel count " + std::to_string(x.size(0)));
  require(torch::isfinite(x).all().item<bool>(), path + ": cannot write non-finite samples (NaN or Inf)");

  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = static_cast<int>(x.size(0));
  info.format = SF_FORMAT_WAV | (format == WavFormat::Float32 ? SF_FORMAT_FLOAT
                                 : format == WavFormat::Pcm16 ? SF_FORMAT_PCM_16
                                                              : SF_FORMAT_PCM_24);
  require(sf_format_check(&info) != 0, path + ": libsndfile rejects this WAV format");
  const sf_count_t frames = x.size(1);

  write_atomically(path, [&](const std::string& tmp) {
    SF_INFO tmp_info = info;
    SndfilePtr file(sf_open(tmp.c_str(), SFM_WRITE, &tmp_info));
    require(file != nullptr, path + ": cannot open for writing (" + sf_strerror(nullptr) + ")");
    // No PEAK chunk: it carries the write time, so the same samples would give different bytes.
    sf_command(file.get(), SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
    sf_count_t written = 0;
    // PCM is quantised here (round to nearest, clip to the integer range) rather than by
    // libsndfile, whose write scale (2^15 - 1) differs from its read scale (2^15).
    if (format == WavFormat::Float32) {
      auto data = interleaved(x, torch::kFloat32);
      written = sf_writef_float(file.get(), data.data_ptr<float>(), frames);
    } else if (format == WavFormat::Pcm16) {
      auto data = interleaved((x * 32768.0).round_().clamp_(-32768.0, 32767.0), torch::kInt16);
      written = sf_writef_short(file.get(), data.data_ptr<int16_t>(), frames);
    } else {
      // 24-bit PCM goes through libsndfile's int path, which keeps the top 24 of 32 bits.
      auto q = (x * 8388608.0).round_().clamp_(-8388608.0, 8388607.0) * 256.0;
      auto data = interleaved(q, torch::kInt32);
      written = sf_writef_int(file.get(), data.data_ptr<int32_t>(), frames);
    }
    require(written == frames, path + ": write failed (" + sf_strerror(file.get()) + ")");
    const int rc = sf_close(file.release());
    require(rc == 0, path + ": closing failed (" + sf_error_number(rc) + ")");
  });
}

void require_same_rate(const Audio& a, const Audio& b) {
  require(a.sample_rate == b.sample_rate, b.path + ": sample rate " + std::to_string(b.sample_rate) +
                                              " Hz differs from " + std::to_string(a.sample_rate) + " Hz of " +
                                              a.path);
}

}  // namespace factorch::io
