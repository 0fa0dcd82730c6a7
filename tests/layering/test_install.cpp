// The installed package works for a C++ consumer: `cmake --install` this build into a
// scratch prefix, configure and build examples/nmf_from_wav against it with
// find_package(factorch), run it on a two-tone WAV and check the dictionary it saves.
#include <cmath>
#include <cstdlib>
#include <string>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "../test_support.h"
#include "factorch/io/npy.h"
#include "factorch/io/wav.h"

using namespace factorch;

namespace {

int shell(const std::string& cmd, const std::string& log) {
  return std::system((cmd + " > \"" + log + "\" 2>&1").c_str());
}

}  // namespace

// A sanitized build installs an instrumented library: its consumer must link the runtimes.
#ifdef FACTORCH_SANITIZED
const std::string kSanitizerLink = " -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined";
#else
const std::string kSanitizerLink;
#endif

TEST(Install, ExampleConsumerBuildsAgainstTheInstalledPackage) {
  testkit::TempDir dir;
  const std::string cmake = std::string("\"") + testkit::kCmake + "\"";
  const std::string prefix = dir / "prefix", build = dir / "build", log = dir / "log.txt";

  ASSERT_EQ(shell(cmake + " --install \"" + testkit::kBinaryDir + "\" --prefix \"" + prefix + "\"", log), 0)
      << testkit::read_text(log);
  EXPECT_TRUE(std::filesystem::exists(prefix + "/include/factorch/models/nmf.h"));
  EXPECT_FALSE(std::filesystem::exists(prefix + "/include/app")) << "app headers are not part of the library";

  // Our warning flags are PRIVATE: the consumer's compile lines must not carry them.
  ASSERT_EQ(shell(cmake + " -S \"" + std::string(testkit::kSourceDir) + "/examples/nmf_from_wav\" -B \"" + build +
                      "\" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=\"" + prefix + "\" -DTorch_DIR=\"" +
                      testkit::kTorchDir + "\"" + kSanitizerLink,
                  log),
            0)
      << testkit::read_text(log);
  ASSERT_EQ(shell(cmake + " --build \"" + build + "\" -- VERBOSE=1", log), 0) << testkit::read_text(log);
  const std::string build_log = testkit::read_text(log);
  EXPECT_EQ(build_log.find("-Wextra"), std::string::npos) << "the package leaks warning flags:\n" << build_log;

  // Two steady tones at 500 Hz and 1500 Hz, one after the other, at 8 kHz.
  const int rate = 8000;
  const auto t = torch::arange(2 * rate, torch::kFloat64) / rate;
  const auto first = (t < 1.0).to(torch::kFloat64);
  const auto x = 0.5 * first * torch::sin(2 * M_PI * 500 * t) + 0.5 * (1 - first) * torch::sin(2 * M_PI * 1500 * t);
  io::write_wav(dir / "tones.wav", x, rate);

  ASSERT_EQ(shell("\"" + build + "/nmf_from_wav\" \"" + (dir / "tones.wav") + "\" \"" + (dir / "W.npy") + "\" 2 200",
                  log),
            0)
      << testkit::read_text(log);
  const auto W = io::load_npy(dir / "W.npy");
  ASSERT_EQ(W.sizes(), (torch::IntArrayRef{257, 2}));  // n_fft 512 → 257 bins
  EXPECT_GE(W.min().item<double>(), 0.0);
  // Each component is one tone: the peaks sit at bins 500/8000·512 = 32 and 96, in some order.
  const auto peaks = std::get<1>(W.max(0));
  const int64_t a = std::min(peaks[0].item<int64_t>(), peaks[1].item<int64_t>());
  const int64_t b = std::max(peaks[0].item<int64_t>(), peaks[1].item<int64_t>());
  EXPECT_EQ(a, 32);
  EXPECT_EQ(b, 96);

  // The second program separates a WAV mixture with the library alone (separation/separate.h):
  // two tones together, each learnt from its own clean take (another phase, shorter).
  const auto tone = [&](double hz, double phase, int64_t n) {
    const auto u = torch::arange(n, torch::kFloat64) / rate;
    return 0.4 * torch::sin(2 * M_PI * hz * u + phase) + 0.1 * torch::sin(2 * M_PI * 2 * hz * u + phase);
  };
  io::write_wav(dir / "mix.wav", tone(500, 0, rate) + tone(1500, 1, rate), rate);
  io::write_wav(dir / "a.wav", tone(500, 0, rate), rate);
  io::write_wav(dir / "b.wav", tone(1500, 1, rate), rate);
  io::write_wav(dir / "train_a.wav", tone(500, 2, rate / 2), rate);
  io::write_wav(dir / "train_b.wav", tone(1500, 3, rate / 2), rate);
  ASSERT_EQ(shell("cd \"" + dir.path().string() + "\" && \"" + build +
                      "/separate_wav\" mix.wav sep train_a.wav train_b.wav --references a.wav b.wav",
                  log),
            0)
      << testkit::read_text(log);
  EXPECT_TRUE(std::filesystem::exists(dir / "sep/sources/source1.wav"));
  EXPECT_TRUE(std::filesystem::exists(dir / "sep/sources/source2.wav"));
  const nlohmann::json metrics = nlohmann::json::parse(testkit::read_text(dir / "sep/metrics.json"));
  ASSERT_EQ(metrics["sources"].size(), 2u);
  for (const auto& source : metrics["sources"]) {
    std::printf("separate_wav (installed library): SDR %.2f dB\n", source["sdr"].get<double>());
    EXPECT_GT(source["sdr"].get<double>(), 20.0);
  }
}
