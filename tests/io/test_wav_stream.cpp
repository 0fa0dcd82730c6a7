#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "../test_support.h"
#include "factorch/error.h"
#include "factorch/io/wav.h"
#include "factorch/io/wav_stream.h"

using namespace factorch;
namespace fs = std::filesystem;

namespace {
std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

// Blocks appended and committed = write_wav of the whole; ranged reads = slices of read_wav,
// zeros outside the file; channel selection as read_wav.
TEST(WavStream, BlocksRoundTripAndRanges) {
  testkit::TempDir dir;
  torch::manual_seed(1);
  const torch::Tensor x = 0.5 * torch::randn({2, 3001}, torch::kFloat64).clamp(-1.9, 1.9);
  for (const auto format : {io::WavFormat::Float32, io::WavFormat::Pcm16}) {
    io::write_wav(dir / "whole.wav", x, 8000, format);
    fs::remove(dir / "blocks.wav");
    {
      io::WavBlockWriter w(dir / "blocks.wav", 2, 8000, format);
      w.write(x.slice(1, 0, 1000));
      w.write(x.slice(1, 1000, 1001));
      w.write(x.slice(1, 1001));
      EXPECT_FALSE(fs::exists(dir / "blocks.wav"));  // only the temporary file until commit
      w.commit();
    }
    const io::Audio whole = io::read_wav(dir / "whole.wav"), blocks = io::read_wav(dir / "blocks.wav");
    EXPECT_TRUE(torch::equal(whole.samples, blocks.samples));
    // The same samples give the same bytes: no PEAK chunk, whose timestamp made two runs'
    // float WAVs differ whenever their writes fell in different seconds.
    const std::string whole_bytes = read_bytes(dir / "whole.wav");
    EXPECT_EQ(whole_bytes, read_bytes(dir / "blocks.wav"));
    EXPECT_EQ(whole_bytes.find("PEAK"), std::string::npos);

    io::ReadOptions one;
    one.channel = 1;
    io::WavBlockReader r(dir / "blocks.wav", one);
    EXPECT_EQ(r.frames(), 3001);
    EXPECT_EQ(r.channels(), 1);
    const torch::Tensor part = r.read(-5, 20);
    EXPECT_TRUE(torch::equal(part.slice(1, 0, 5), torch::zeros({1, 5}, torch::kFloat64)));
    EXPECT_TRUE(torch::equal(part.slice(1, 5), whole.samples.slice(0, 1, 2).slice(1, 0, 15)));
    EXPECT_TRUE(torch::equal(r.read(2990, 20).slice(1, 0, 11), whole.samples.slice(0, 1, 2).slice(1, 2990)));
    EXPECT_TRUE(torch::equal(r.read(5000, 3), torch::zeros({1, 3}, torch::kFloat64)));
  }
}

TEST(WavStream, UncommittedLeavesNothingAndErrorsNameTheFile) {
  testkit::TempDir dir;
  {
    io::WavBlockWriter w(dir / "out/x.wav", 1, 8000);
    w.write(torch::zeros({10}));
  }
  EXPECT_TRUE(fs::is_empty(dir.path() / "out"));  // no target, no temporary
  io::write_wav(dir / "stereo.wav", torch::zeros({2, 100}), 8000);
  io::ReadOptions mono;
  mono.require_mono = true;
  EXPECT_NE(testkit::error_of([&] { io::WavBlockReader(dir / "stereo.wav", mono); }).find("stereo.wav: 2 channels"),
            std::string::npos);
  EXPECT_NE(testkit::error_of([&] { io::WavBlockReader(dir / "missing.wav"); }).find("missing.wav: no such file"),
            std::string::npos);
  io::WavBlockWriter w(dir / "y.wav", 1, 8000);
  EXPECT_THROW(w.write(torch::zeros({2, 5})), Error);
  EXPECT_THROW(w.commit(), Error);  // nothing written
}
