#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../test_support.h"
#include "factorch/error.h"
#include "factorch/io/wav.h"

namespace io = factorch::io;
namespace stdfs = std::filesystem;

namespace {

using factorch::testkit::error_of;

class WavTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() /
           ("factorch_wav_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::create_directories(dir_);
  }
  void TearDown() override { stdfs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  stdfs::path dir_;
};

}  // namespace

TEST_F(WavTest, Float32RoundTrip) {
  torch::manual_seed(7);
  const auto x = (torch::rand({2, 1000}, torch::kFloat64) * 2 - 1).to(torch::kFloat32).to(torch::kFloat64);
  io::write_wav(path("a.wav"), x, 16000, io::WavFormat::Float32);
  const auto a = io::read_wav(path("a.wav"));
  EXPECT_EQ(a.sample_rate, 16000);
  EXPECT_EQ(a.channels(), 2);
  EXPECT_EQ(a.frames(), 1000);
  EXPECT_EQ(a.path, path("a.wav"));
  EXPECT_EQ(a.samples.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(a.samples, x));  // float32-representable values are exact
}

TEST_F(WavTest, PcmRoundTrips) {
  torch::manual_seed(8);
  const auto x = torch::rand({1, 3000}, torch::kFloat64) * 1.9 - 0.95;
  for (const auto& [format, bits] : {std::pair{io::WavFormat::Pcm16, 15}, std::pair{io::WavFormat::Pcm24, 23}}) {
    const double step = std::ldexp(1.0, -bits);
    io::write_wav(path("p.wav"), x[0], 8000, format);  // 1-D input is mono
    const auto a = io::read_wav(path("p.wav"));
    ASSERT_EQ(a.samples.sizes(), x.sizes());
    EXPECT_LE((a.samples - x).abs().max().item<double>(), 0.5 * step + 1e-15) << bits;
    // Values on the quantisation grid survive exactly.
    const auto grid = (x / step).round() * step;
    io::write_wav(path("g.wav"), grid, 8000, format);
    EXPECT_TRUE(torch::equal(io::read_wav(path("g.wav")).samples, grid)) << bits;
  }
  // PCM clips instead of wrapping around.
  io::write_wav(path("c.wav"), torch::tensor({1.5, -2.0, 1.0}, torch::kFloat64), 8000, io::WavFormat::Pcm16);
  const auto c = io::read_wav(path("c.wav")).samples[0];
  EXPECT_NEAR(c[0].item<double>(), 32767.0 / 32768, 1e-15);
  EXPECT_EQ(c[1].item<double>(), -1.0);
}

TEST_F(WavTest, ReadsInt16WrittenByLibsndfile) {
  // A file written by another tool: 16-bit PCM stereo via libsndfile's own short path.
  SF_INFO info{};
  info.samplerate = 22050;
  info.channels = 2;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path("ext.wav").c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr);
  const short data[6] = {16384, -32768, 0, 1, -16384, 32767};
  sf_writef_short(f, data, 3);
  sf_close(f);
  const auto a = io::read_wav(path("ext.wav"));
  ASSERT_EQ(a.samples.sizes(), (torch::IntArrayRef{2, 3}));
  EXPECT_EQ(a.samples[0][0].item<double>(), 0.5);
  EXPECT_EQ(a.samples[1][0].item<double>(), -1.0);
  EXPECT_EQ(a.samples[1][1].item<double>(), 1.0 / 32768);
  io::ReadOptions left;
  left.channel = 0;
  EXPECT_TRUE(torch::equal(io::read_wav(path("ext.wav"), left).samples, a.samples.slice(0, 0, 1)));
  io::ReadOptions mix;
  mix.downmix = true;
  EXPECT_TRUE(torch::allclose(io::read_wav(path("ext.wav"), mix).samples, a.samples.mean(0, true)));
}

TEST_F(WavTest, BadInput) {
  EXPECT_NE(error_of([&] { io::read_wav(path("missing.wav")); }).find("missing.wav: no such file"), std::string::npos);
  std::ofstream(path("notes.txt")) << "this is not audio\n";
  EXPECT_NE(error_of([&] { io::read_wav(path("notes.txt")); }).find("notes.txt: not a readable audio file"),
            std::string::npos);
  SF_INFO info{};
  info.samplerate = 8000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  sf_close(sf_open(path("empty.wav").c_str(), SFM_WRITE, &info));
  EXPECT_NE(error_of([&] { io::read_wav(path("empty.wav")); }).find("empty.wav: empty"), std::string::npos);

  io::write_wav(path("st.wav"), torch::zeros({2, 10}, torch::kFloat64), 8000);
  io::ReadOptions third;
  third.channel = 2;
  EXPECT_NE(error_of([&] { io::read_wav(path("st.wav"), third); }).find("has 2 channel"), std::string::npos);
  io::ReadOptions mono;
  mono.require_mono = true;
  EXPECT_NE(error_of([&] { io::read_wav(path("st.wav"), mono); }).find("st.wav: 2 channels"), std::string::npos);

  io::write_wav(path("r1.wav"), torch::zeros({10}, torch::kFloat64), 16000);
  io::write_wav(path("r2.wav"), torch::zeros({10}, torch::kFloat64), 22050);
  const auto msg = error_of([&] { io::require_same_rate(io::read_wav(path("r1.wav")), io::read_wav(path("r2.wav"))); });
  EXPECT_EQ(msg, path("r2.wav") + ": sample rate 22050 Hz differs from 16000 Hz of " + path("r1.wav"));

  // Bad writes leave no file (and no temporary) behind.
  EXPECT_THROW(io::write_wav(path("nan.wav"), torch::tensor({0.0, std::nan("")}, torch::kFloat64), 8000), factorch::Error);
  EXPECT_THROW(io::write_wav(path("zero.wav"), torch::zeros({0}, torch::kFloat64), 8000), factorch::Error);
  EXPECT_THROW(io::write_wav(path("rate.wav"), torch::zeros({4}, torch::kFloat64), 0), factorch::Error);
  EXPECT_THROW(io::wav_format_from_name("mp3"), factorch::Error);
  for (const auto& entry : stdfs::directory_iterator(dir_)) {
    const auto name = entry.path().filename().string();
    EXPECT_TRUE(name.find("tmp") == std::string::npos && name != "nan.wav") << name;
  }
}
