#include "factorch/io/wav_stream.h"

#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <vector>

#include "factorch/error.h"

namespace factorch::io {

namespace fs = std::filesystem;

struct WavBlockReader::File {
  SNDFILE* handle = nullptr;
  ~File() {
    if (handle) sf_close(handle);
  }
};

struct WavBlockWriter::File {
  SNDFILE* handle = nullptr;
  ~File() {
    if (handle) sf_close(handle);
  }
};

WavBlockReader::WavBlockReader(const std::string& path, const ReadOptions& options)
    : file_(std::make_unique<File>()), path_(path), options_(options) {
  std::error_code ec;
  require(fs::exists(path, ec), path + ": no such file");
  require(!fs::is_directory(path, ec), path + ": is a directory, not an audio file");
  require(!(options.channel && options.downmix), path + ": choose either a channel or downmix, not both");
  SF_INFO info{};
  file_->handle = sf_open(path.c_str(), SFM_READ, &info);
  require(file_->handle != nullptr, path + ": not a readable audio file (" + sf_strerror(nullptr) + ")");
  require(info.frames > 0, path + ": empty audio file (0 samples)");
  require(info.channels > 0, path + ": invalid channel count " + std::to_string(info.channels));
  require(info.samplerate > 0, path + ": invalid sample rate " + std::to_string(info.samplerate));
  require(info.seekable, path + ": the audio format cannot seek, so it cannot be read block by block");
  frames_ = info.frames;
  file_channels_ = info.channels;
  sample_rate_ = info.samplerate;
  out_channels_ = channels_read(file_channels_, options, path);
  if (options.mono_as_is && file_channels_ == 1) {  // nothing to pick or average
    options_.channel.reset();
    options_.downmix = false;
  }
}

WavBlockReader::~WavBlockReader() = default;
WavBlockReader::WavBlockReader(WavBlockReader&&) noexcept = default;
WavBlockReader& WavBlockReader::operator=(WavBlockReader&&) noexcept = default;

torch::Tensor WavBlockReader::read(int64_t start, int64_t count) {
  require(count >= 0, path_ + ": cannot read a negative number of frames");
  auto out = torch::zeros({out_channels_, count}, torch::kFloat64);
  const int64_t first = std::max<int64_t>(start, 0), last = std::min(start + count, frames_);
  if (last <= first) return out;
  require(sf_seek(file_->handle, first, SEEK_SET) == first, path_ + ": cannot seek to frame " + std::to_string(first));
  const int64_t n = last - first;
  auto interleaved = torch::empty({n, file_channels_}, torch::kFloat64);
  const sf_count_t got = sf_readf_double(file_->handle, interleaved.data_ptr<double>(), n);
  require(got == n, path_ + ": could read only " + std::to_string(got) + " of " + std::to_string(n) + " frames at " +
                        std::to_string(first) + " (" + sf_strerror(file_->handle) + ")");
  require(torch::isfinite(interleaved).all().item<bool>(), path_ + ": contains non-finite samples (NaN or Inf)");
  torch::Tensor samples = interleaved.t();  // channels × n
  if (options_.channel)
    samples = samples.slice(0, *options_.channel, *options_.channel + 1);
  else if (options_.downmix)
    samples = samples.mean(0, /*keepdim=*/true);
  out.slice(1, first - start, last - start).copy_(samples);
  return out;
}

namespace {

std::string temporary_name(const std::string& path) {
  static std::atomic<int> counter{0};
  return path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

WavBlockWriter::WavBlockWriter(const std::string& path, int64_t channels, int sample_rate, WavFormat format)
    : file_(std::make_unique<File>()), path_(path), tmp_(temporary_name(path)), channels_(channels), format_(format) {
  require(sample_rate > 0, path + ": invalid sample rate " + std::to_string(sample_rate));
  require(channels >= 1 && channels <= 1024, path + ": unsupported channel count " + std::to_string(channels));
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = static_cast<int>(channels);
  info.format = SF_FORMAT_WAV | (format == WavFormat::Float32 ? SF_FORMAT_FLOAT
                                 : format == WavFormat::Pcm16 ? SF_FORMAT_PCM_16
                                                              : SF_FORMAT_PCM_24);
  require(sf_format_check(&info) != 0, path + ": libsndfile rejects this WAV format");
  file_->handle = sf_open(tmp_.c_str(), SFM_WRITE, &info);
  require(file_->handle != nullptr, path + ": cannot open for writing (" + sf_strerror(nullptr) + ")");
  // No PEAK chunk: it carries the write time, so the same samples would give different bytes.
  sf_command(file_->handle, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
}

WavBlockWriter::~WavBlockWriter() {
  if (committed_) return;
  file_.reset();
  std::error_code ec;
  fs::remove(tmp_, ec);
}

void WavBlockWriter::write(const torch::Tensor& samples) {
  require(!committed_, path_ + ": written after commit");
  require(samples.defined() && (samples.dim() == 1 || samples.dim() == 2) && !samples.is_complex(),
          path_ + ": samples must be real frames or channels × frames");
  auto x = (samples.dim() == 1 ? samples.unsqueeze(0) : samples).detach().to(torch::kCPU, torch::kFloat64);
  require(x.size(0) == channels_, path_ + ": a block of " + std::to_string(x.size(0)) + " channels for a file of " +
                                      std::to_string(channels_));
  const sf_count_t frames = x.size(1);
  if (frames == 0) return;
  require(torch::isfinite(x).all().item<bool>(), path_ + ": cannot write non-finite samples (NaN or Inf)");
  sf_count_t written = 0;
  // Quantised as write_wav: round to nearest and clip, not libsndfile's 2^15 − 1 scale.
  if (format_ == WavFormat::Float32) {
    auto data = x.t().to(torch::kFloat32).contiguous();
    written = sf_writef_float(file_->handle, data.data_ptr<float>(), frames);
  } else if (format_ == WavFormat::Pcm16) {
    auto data = (x * 32768.0).round_().clamp_(-32768.0, 32767.0).t().to(torch::kInt16).contiguous();
    written = sf_writef_short(file_->handle, data.data_ptr<int16_t>(), frames);
  } else {
    auto q = (x * 8388608.0).round_().clamp_(-8388608.0, 8388607.0) * 256.0;
    auto data = q.t().to(torch::kInt32).contiguous();
    written = sf_writef_int(file_->handle, data.data_ptr<int32_t>(), frames);
  }
  require(written == frames, path_ + ": write failed (" + sf_strerror(file_->handle) + ")");
  written_ += frames;
}

void WavBlockWriter::commit() {
  require(!committed_, path_ + ": committed twice");
  require(written_ > 0, path_ + ": no samples to write");
  const int rc = sf_close(file_->handle);
  file_->handle = nullptr;
  require(rc == 0, path_ + ": closing failed (" + sf_error_number(rc) + ")");
  std::error_code ec;
  fs::rename(tmp_, path_, ec);
  require(!ec, path_ + ": cannot rename the finished file into place (" + ec.message() + ")");
  committed_ = true;
}

}  // namespace factorch::io
