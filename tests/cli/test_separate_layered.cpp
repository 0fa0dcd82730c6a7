// `factorch separate` with layered NMF (lnmf: one L-NMF dictionary stack per source learnt on
// its clean training WAVs) and discriminative layered NMF (dlnmf: the same, then
// discriminative rounds on training mixtures) on WAV files the test writes; the bad inputs that
// must stop before anything is trained; lnmf training on an .npy matrix.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "../test_support.h"
#include "factorch/io/npy.h"
#include "factorch/io/wav.h"
#include "factorch/signal/synthetic.h"

using namespace factorch;
namespace fs = std::filesystem;

namespace {

constexpr int kRate = 8000;

torch::Tensor note(double hz, int64_t length, uint64_t seed, const signal::Envelope& envelope = {}) {
  return signal::harmonic_source(hz, kRate, length, 3, 0.6, envelope, seed);
}

// mix.wav = low + high (each on for part of the second) with its references; two clean
// training files per source; two training mixtures with their sources (dlnmf).
void write_session(const testkit::TempDir& dir) {
  const int64_t T = kRate;
  const signal::Envelope first{{{0, 2 * T / 3}}, 64}, last{{{T / 3, T}}, 64};
  const torch::Tensor low = note(330, T, 1, first), high = note(523, T, 2, last);
  io::write_wav(dir / "mix.wav", low + high, kRate);
  io::write_wav(dir / "ref_low.wav", low, kRate);
  io::write_wav(dir / "ref_high.wav", high, kRate);
  fs::create_directories(dir.path() / "train");
  for (int i = 0; i < 2; ++i) {
    io::write_wav(dir / ("train/low_" + std::to_string(i) + ".wav"), note(330, T / 2, 10 + i), kRate);
    io::write_wav(dir / ("train/high_" + std::to_string(i) + ".wav"), note(523, T / 2, 20 + i), kRate);
    const signal::Envelope early{{{0, T / 3}}, 64}, late{{{T / 6, T / 2}}, 64};
    const torch::Tensor a = note(330, T / 2, 30 + i, early), b = note(523, T / 2, 40 + i, late);
    io::write_wav(dir / ("train/dmix_" + std::to_string(i) + ".wav"), a + b, kRate);
    io::write_wav(dir / ("train/dlow_" + std::to_string(i) + ".wav"), a, kRate);
    io::write_wav(dir / ("train/dhigh_" + std::to_string(i) + ".wav"), b, kRate);
  }
}

std::vector<double> sdrs_of(const std::string& json) {
  std::vector<double> out;
  const size_t end = json.find("\"mean\"");  // the per-source means, before the details
  for (size_t at = json.find("\"sdr\": "); at != std::string::npos && at < end; at = json.find("\"sdr\": ", at + 1))
    out.push_back(std::stod(json.substr(at + 7)));
  return out;
}

const std::string kData = "  input: mix.wav\n"
                          "  train: {low: [\"train/low_*.wav\"], high: [train/high_0.wav, train/high_1.wav]}\n"
                          "  references: {low: ref_low.wav, high: ref_high.wav}\n";

}  // namespace

TEST(SeparateLayered, LnmfSeparatesTheUsersWavs) {
  testkit::TempDir dir;
  write_session(dir);
  // No transform block: V = |X|^2 (the data block's default); the gains are ratios of
  // magnitudes (model.mask_exponent 1 on V^(1/2)).
  testkit::write_text(dir / "sep.yaml", "model: {type: lnmf, layers: [8, 3], pretrain_iter: 50, separation_iter: 100}\n"
                                        "data:\n" + kData + "  transform: {n_fft: 512, hop: 128}\n"
                                        "trainer: {max_iter: 50, progress: never}\noutput: {dir: out}\n");
  const auto r = testkit::run_factorch("separate sep.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* f : {"out/sources/low.wav", "out/sources/high.wav", "out/mixture.wav", "out/factors/low_W1.npy", "out/config.resolved.yaml",
                        "out/factors/high_W2.npy"})
    EXPECT_TRUE(fs::exists(dir.path() / f)) << f;
  const auto sdr = sdrs_of(testkit::read_text(dir / "out/metrics.json"));
  ASSERT_EQ(sdr.size(), 2u);
  // Measured 34.33 (low), 35.10 (high) dB, the same on 1 and 2 threads: floors 1 dB under.
  const double floor[] = {33.3, 34.1};
  for (size_t j = 0; j < 2; ++j) {
    std::printf("lnmf separate: SDR %.2f dB\n", sdr[j]);
    EXPECT_GT(sdr[j], floor[j]) << "source " << j;
  }
  // Two mixtures (the same audio twice): sources/<mixture>/<name>.wav, and the per-source
  // means over the mixtures equal the single mixture's scores (the same model, deterministic).
  fs::copy_file(dir.path() / "mix.wav", dir.path() / "mix2.wav");
  testkit::write_text(dir / "two.yaml", "model: {type: lnmf, layers: [8, 3], pretrain_iter: 50, separation_iter: 100}\n"
                                        "data:\n  input: [mix.wav, mix2.wav]\n"
                                        "  train: {low: [\"train/low_*.wav\"], high: [train/high_0.wav, train/high_1.wav]}\n"
                                        "  references: {low: [ref_low.wav, ref_low.wav], high: [ref_high.wav, ref_high.wav]}\n"
                                        "  transform: {n_fft: 512, hop: 128}\n"
                                        "trainer: {max_iter: 50, progress: never}\noutput: {dir: two}\n");
  const auto t = testkit::run_factorch("separate two.yaml", dir.path().string());
  ASSERT_EQ(t.status, 0) << t.err;
  EXPECT_TRUE(fs::exists(dir.path() / "two/sources/mix/low.wav"));
  EXPECT_TRUE(fs::exists(dir.path() / "two/sources/mix2/high.wav"));
  const auto two = sdrs_of(testkit::read_text(dir / "two/metrics.json"));
  ASSERT_EQ(two.size(), 2u);
  for (size_t s = 0; s < 2; ++s) EXPECT_NEAR(two[s], sdr[s], 1e-6);
  // Without references: the sources, and one line instead of metrics.
  testkit::write_text(dir / "noref.yaml", "model: {type: lnmf, layers: [8, 3], pretrain_iter: 20}\n"
                                          "data: {input: mix.wav, train: {low: [train/low_0.wav], high: [train/high_0.wav]},\n"
                                          "       transform: {n_fft: 512, hop: 128, exponent: 1}}\n"
                                          "trainer: {max_iter: 5, progress: never}\noutput: {dir: noref}\n");
  const auto n = testkit::run_factorch("separate noref.yaml", dir.path().string());
  ASSERT_EQ(n.status, 0) << n.err;
  EXPECT_NE((n.out + n.err).find("no references: metrics"), std::string::npos) << n.out << n.err;
  EXPECT_TRUE(fs::exists(dir.path() / "noref/sources/high.wav"));
  EXPECT_FALSE(fs::exists(dir.path() / "noref/metrics.json"));
}

TEST(SeparateLayered, DlnmfTrainsDiscriminativelyThenSeparatesTheInput) {
  testkit::TempDir dir;
  write_session(dir);
  testkit::write_text(dir / "sep.yaml",
                      "model: {type: dlnmf, layers: [8, 3], pretrain_iter: 50, source_iter: 50, h_iter: 20, w_iter: 5,\n"
                      "        separation_iter: 100, patience: 0}\n"
                      "data:\n" + kData +
                          "  disc_mixtures: [\"train/dmix_*.wav\"]\n"
                          "  disc_sources: {low: [\"train/dlow_*.wav\"], high: [\"train/dhigh_*.wav\"]}\n"
                          "  transform: {n_fft: 512, hop: 128, exponent: 1}\n"
                          "trainer: {max_iter: 3, progress: never}\noutput: {dir: out}\n");
  const auto r = testkit::run_factorch("separate sep.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* f : {"out/sources/low.wav", "out/sources/high.wav", "out/checkpoint.pt", "out/history.csv"})
    EXPECT_TRUE(fs::exists(dir.path() / f)) << f;
  const auto sdr = sdrs_of(testkit::read_text(dir / "out/metrics.json"));
  // The same run without discriminative rounds (trainer.max_iter 0): the L-NMF it starts from.
  const auto l = testkit::run_factorch("separate sep.yaml --set trainer.max_iter=0 --out lnmf", dir.path().string());
  ASSERT_EQ(l.status, 0) << l.err;
  const auto lnmf = sdrs_of(testkit::read_text(dir / "lnmf/metrics.json"));
  ASSERT_EQ(sdr.size(), 2u);
  ASSERT_EQ(lnmf.size(), 2u);
  // Measured 35.33 (low), 36.16 (high) dB; without the rounds 36.06 / 36.89 dB. On this easy
  // toy the discriminative rounds (patience 0: the last round is kept) cost 0.73 dB: they
  // are asserted to change the separation, not to improve it (DLNMF.OrderingAndExports-
  // OnSyntheticSpeakers asserts the improvement, 1.75 / 1.84 dB, on the speakers toy).
  // A no-op discriminative stage gives the same SDR to the last digit.
  const double floor[] = {34.3, 35.1};
  for (size_t j = 0; j < 2; ++j) {
    std::printf("dlnmf separate: SDR %.2f dB, without the discriminative rounds %.2f dB\n", sdr[j], lnmf[j]);
    EXPECT_GT(sdr[j], floor[j]) << "source " << j;
    EXPECT_GT(std::abs(sdr[j] - lnmf[j]), 0.35) << "source " << j;
  }
}

TEST(SeparateLayered, BadInputStopsBeforeAnyOutput) {
  testkit::TempDir dir;
  write_session(dir);
  io::write_wav(dir / "short.wav", note(330, 200, 1), kRate);
  io::write_wav(dir / "mix16k.wav", note(330, 8000, 1), 16000);
  const std::string head = "trainer: {max_iter: 2, progress: never}\noutput: {dir: out}\n";
  const std::string lnmf = "model: {type: lnmf, layers: [4, 2]}\n" + head;
  const std::string train = "train: {low: [train/low_0.wav], high: [train/high_0.wav]}";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {lnmf + "data: {input: mix.wav, " + train + ", references: {low: ref_low.wav, mid: ref_high.wav}}\n",
       "data.references.mid is not a source of data.train"},
      {lnmf + "data: {input: mix.wav, " + train + ", references: {low: ref_low.wav}}\n",
       "data.references has no files for source 'high'"},
      {lnmf + "data: {input: [mix.wav, mix.wav], " + train + ", references: {low: ref_low.wav, high: ref_high.wav}}\n",
       "data.references.low lists 1 files for 2 mixtures in data.input"},
      {lnmf + "data: {input: mix16k.wav, " + train + "}\n", "has sample rate 16000 Hz"},
      {lnmf + "data: {input: short.wav, " + train + ", transform: {n_fft: 512}}\n", "data.transform.n_fft"},
      {lnmf + "data: {input: mix.wav, train: {low: [train/low_0.wav]}}\n", "data.train needs at least two sources"},
      {lnmf + "data: {" + train + "}\n", "data.input is required"},
      {lnmf + "data: {input: [mix.wav, train/../mix.wav], " + train + "}\n", "data.input names two mixtures 'mix'"},
      {"model: {type: dlnmf, layers: [4, 2]}\n" + head + "data: {input: mix.wav, " + train + "}\n",
       "data.disc_mixtures is required"},
  };
  for (const auto& [yaml, needle] : cases) {
    testkit::write_text(dir / "bad.yaml", yaml);
    const auto r = testkit::run_factorch("separate bad.yaml", dir.path().string());
    EXPECT_EQ(r.status, 2) << yaml << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << yaml << " → " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir.path() / "out")) << yaml;
  }
}

// The case: `model.type: lnmf` with `data.input: x.npy` (which configs/lnmf_speakers.yaml
// advertises) failed with "data.representation must be a string".
TEST(SeparateLayered, LnmfTrainsOnAnNpyMatrix) {
  testkit::TempDir dir;
  torch::manual_seed(3);
  io::save_npy(dir / "x.npy", torch::rand({12, 30}, torch::kFloat64) + 0.05);
  testkit::write_text(dir / "npy.yaml", "model: {type: lnmf, layers: [6, 3], pretrain_iter: 20}\ndata: {input: x.npy}\n"
                                        "trainer: {max_iter: 20, progress: never}\noutput: {dir: out}\n");
  const auto r = testkit::run_factorch("train npy.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(io::load_npy(dir / "out/factors/W1.npy").sizes(), (std::vector<int64_t>{12, 6}));
  EXPECT_EQ(io::load_npy(dir / "out/factors/W2.npy").sizes(), (std::vector<int64_t>{6, 3}));
  EXPECT_EQ(io::load_npy(dir / "out/factors/H.npy").sizes(), (std::vector<int64_t>{3, 30}));
}
