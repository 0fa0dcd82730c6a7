// `factorch separate` with NMF on the user's own WAV files, through the shared data block:
// several training files per source given as a list, a directory and a glob; unsupervised
// separation with components assigned to sources; the bad inputs of the block.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "../test_support.h"
#include "factorch/io/wav.h"
#include "factorch/signal/synthetic.h"

using namespace factorch;
namespace fs = std::filesystem;

namespace {

constexpr int kRate = 8000;

// A harmonic note (3 harmonics) of `seconds`, phases from `seed`.
torch::Tensor note(double hz, double seconds, uint64_t seed) {
  return signal::harmonic_source(hz, kRate, static_cast<int64_t>(seconds * kRate), 3, 0.6, {}, seed);
}

// mix.wav = low + high (each on for part of the time), references, and three clean training
// files per source: low in a list, high in a directory and matched by a glob.
void write_session(const testkit::TempDir& dir) {
  const int64_t T = kRate;  // 1 s
  signal::Envelope first{{{0, 2 * T / 3}}, 64}, last{{{T / 3, T}}, 64};
  const torch::Tensor low = signal::harmonic_source(330, kRate, T, 3, 0.6, first, 1);
  const torch::Tensor high = signal::harmonic_source(523, kRate, T, 3, 0.6, last, 2);
  io::write_wav(dir / "mix.wav", low + high, kRate);
  io::write_wav(dir / "ref_low.wav", low, kRate);
  io::write_wav(dir / "ref_high.wav", high, kRate);
  fs::create_directories(dir.path() / "train/high");
  for (int i = 0; i < 3; ++i) {
    io::write_wav(dir / ("train/low_" + std::to_string(i) + ".wav"), note(330, 0.4, 10 + i), kRate);
    io::write_wav(dir / ("train/high/take_" + std::to_string(i) + ".wav"), note(523, 0.4, 20 + i), kRate);
  }
}

// The per-source SDRs of a metrics.json (the shared schema: "sources": [{name, sdr, …}]).
std::vector<double> sdrs_of(const std::string& json) {
  std::vector<double> out;
  const nlohmann::json doc = nlohmann::json::parse(json);
  for (const auto& s : doc["sources"]) out.push_back(s["sdr"].get<double>());
  return out;
}

const std::string kTrainer = "trainer: {max_iter: 150, tol: 1.0e-7, progress: never}\n";

}  // namespace

TEST(SeparateNmf, SupervisedWithSeveralTrainingFilesPerSource) {
  testkit::TempDir dir;
  write_session(dir);
  testkit::write_text(dir / "sep.yaml",
                      "model: {type: nmf, rank: 3, beta: 1, eps: 1.0e-9, normalise: l1}\n"
                      "data:\n"
                      "  input: mix.wav\n"
                      "  train: {low: [train/low_0.wav, train/low_1.wav, train/low_2.wav], high: [train/high]}\n"
                      "  references: {low: ref_low.wav, high: ref_high.wav}\n"
                      "  transform: {n_fft: 512, hop: 128}\n" +
                          kTrainer + "output: {dir: out}\n");
  const auto r = testkit::run_factorch("separate sep.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.path() / "out/sources/low.wav"));
  EXPECT_TRUE(fs::exists(dir.path() / "out/sources/high.wav"));
  const auto sdr = sdrs_of(testkit::read_text(dir / "out/metrics.json"));
  ASSERT_GE(sdr.size(), 2u);
  for (double s : sdr) {
    std::printf("supervised (3 training files per source): SDR %.2f dB\n", s);
    EXPECT_GT(s, 35.0);  // measured 38.52 / 39.39 dB; margin 3.5 dB
  }
  // The same sources as globs: the same files, so the same separation.
  testkit::write_text(dir / "glob.yaml",
                      "model: {type: nmf, rank: 3, beta: 1, eps: 1.0e-9, normalise: l1}\n"
                      "data:\n"
                      "  input: mix.wav\n"
                      "  train: {low: [\"train/low_*.wav\"], high: [\"train/high/take_?.wav\"]}\n"
                      "  references: {low: ref_low.wav, high: ref_high.wav}\n"
                      "  transform: {n_fft: 512, hop: 128}\n" +
                          kTrainer + "output: {dir: out_glob}\n");
  const auto g = testkit::run_factorch("separate glob.yaml", dir.path().string());
  ASSERT_EQ(g.status, 0) << g.err;
  EXPECT_EQ(testkit::read_text(dir / "out_glob/metrics.json"), testkit::read_text(dir / "out/metrics.json"));
}

TEST(SeparateNmf, UnsupervisedComponentsAssignedToSources) {
  testkit::TempDir dir;
  write_session(dir);
  testkit::write_text(dir / "sep.yaml",
                      "model: {type: nmf, rank: 2, beta: 1, eps: 1.0e-9, seed: 0}\n"
                      "data: {input: mix.wav, references: {low: ref_low.wav, high: ref_high.wav}, "
                      "transform: {n_fft: 512, hop: 128}}\n" +
                          kTrainer + "output: {dir: out, sources: {a: [0], b: [1]}}\n");
  const auto r = testkit::run_factorch("separate sep.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto sdr = sdrs_of(testkit::read_text(dir / "out/metrics.json"));
  ASSERT_GE(sdr.size(), 2u);
  for (double s : sdr) {
    std::printf("unsupervised (rank 2, permutation-matched): SDR %.2f dB\n", s);
    EXPECT_GT(s, 27.0);  // measured 30.87 / 30.85 dB; margin 3.8 dB
  }
}

TEST(SeparateNmf, BadInputsOfTheDataBlockStopBeforeAnyOutput) {
  testkit::TempDir dir;
  write_session(dir);
  fs::create_directories(dir.path() / "empty");
  io::write_wav(dir / "short.wav", note(330, 0.01, 1), kRate);
  const std::string head = "model: {type: nmf, rank: 2}\ntrainer: {max_iter: 2, progress: never}\noutput: {dir: out}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"data: {input: mix.wav, train: {low: [\"nothing_*.wav\"], high: [train/high]}}\n",
       "data.train.low (nothing_*.wav) matches no file"},
      {"data: {input: mix.wav, train: {low: [], high: [train/high]}}\n", "data.train.low has no files"},
      {"data: {input: mix.wav, train: {low: [empty], high: [train/high]}}\n", "is a directory with no .wav/.flac file"},
      {"data: {input: [mix.wav, mix.wav]}\n", "data.input must be one mixture for model.type nmf, got 2 files"},
      {"data: {input: short.wav, transform: {n_fft: 512}}\n", "data.transform.n_fft = 512"},
      {"data: {input: mix.wav, references: {low: ref_low.wav}, train: {low: [train/low_0.wav], high: [train/high]}}\n",
       "data.references must name the same sources in the same order as data.train"},
  };
  for (const auto& [data, needle] : cases) {
    testkit::write_text(dir / "bad.yaml", head + data);
    const auto r = testkit::run_factorch("separate bad.yaml", dir.path().string());
    EXPECT_EQ(r.status, 2) << data << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << data << " → " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir.path() / "out")) << data;
  }
}

TEST(SeparateMultichannelNmf, StereoWavWithItsSourceImages) {
  testkit::TempDir dir;
  const int64_t T = kRate;  // 1 s
  signal::Envelope first{{{0, 2 * T / 3}}, 64}, last{{{T / 3, T}}, 64};
  const torch::Tensor low = signal::harmonic_source(330, kRate, T, 4, 0.7, first, 1);
  const torch::Tensor high = signal::harmonic_source(523, kRate, T, 4, 0.7, last, 2);
  const torch::Tensor img_low = torch::stack({low, 0.3 * low}), img_high = torch::stack({0.4 * high, high});
  io::write_wav(dir / "stereo.wav", img_low + img_high, kRate);
  io::write_wav(dir / "low.wav", img_low, kRate);
  io::write_wav(dir / "high.wav", img_high, kRate);
  testkit::write_text(dir / "mc.yaml",
                      "model: {type: multichannel_nmf, sources: 2, rank: 2}\n"
                      "data: {input: stereo.wav, references: {low: low.wav, high: high.wav}, "
                      "transform: {n_fft: 512, hop: 128}}\n"
                      "trainer: {max_iter: 150, tol: 0, progress: never}\noutput: {dir: out}\n");
  const auto r = testkit::run_factorch("separate mc.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  const io::Audio est = io::read_wav(dir / "out/sources/low.wav");
  EXPECT_EQ(est.channels(), 2);  // a source image has the mixture's channels
  EXPECT_TRUE(fs::exists(dir.path() / "out/sources/high.wav"));
  const std::string json = testkit::read_text(dir / "out/metrics.json");
  EXPECT_NE(json.find("\"bss_eval_images\""), std::string::npos) << json;
  for (double s : sdrs_of(json)) {
    std::printf("multichannel separate (stereo WAV): SDR %.2f dB\n", s);
    EXPECT_GT(s, 34.0);  // measured 37.14 / 37.41 dB; margin 3 dB
  }
}
