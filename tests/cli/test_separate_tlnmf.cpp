// `factorch separate` with TL-NMF on WAV files the test writes: the supervised pair of notes of
// configs/tlnmf_supervised.yaml (300 / 317 Hz at 5 kHz, 0.8 s) with clean training WAVs, and
// unsupervised TL-NMF with components grouped into sources by model.component_sources; plus
// the bad inputs that must be refused before training.
#include <gtest/gtest.h>

#include <filesystem>

#include "../test_support.h"
#include "factorch/io/wav.h"
#include "factorch/signal/synthetic.h"

using namespace factorch;
namespace fs = std::filesystem;

namespace {

constexpr int kRate = 5000;

// Two harmonic notes (2 harmonics, decay 0.5, as the configs) of T samples: note 1 on in the
// first and last third, note 2 in the last two thirds (`shape`: abrupt on/off, or the
// identifiability paper's slowly varying bumps); clean training notes of 0.6 s, other phases.
void write_notes(const testkit::TempDir& dir, double f1, double f2, int64_t T, signal::EnvelopeShape shape) {
  const signal::Envelope first{{{0, T / 3}, {2 * T / 3, T}}, 0, shape}, last{{{T / 3, T}}, 0, shape};
  const torch::Tensor a = signal::harmonic_source(f1, kRate, T, 2, 0.5, first, 1);
  const torch::Tensor b = signal::harmonic_source(f2, kRate, T, 2, 0.5, last, 2);
  io::write_wav(dir / "mix.wav", a + b, kRate);
  io::write_wav(dir / "ref_a.wav", a, kRate);
  io::write_wav(dir / "ref_b.wav", b, kRate);
  io::write_wav(dir / "train_a.wav", signal::harmonic_source(f1, kRate, 3000, 2, 0.5, {}, 11), kRate);
  io::write_wav(dir / "train_b.wav", signal::harmonic_source(f2, kRate, 3000, 2, 0.5, {}, 12), kRate);
}

std::vector<double> sdrs_of(const std::string& json) {
  std::vector<double> out;
  for (size_t at = json.find("\"sdr\": "); at != std::string::npos; at = json.find("\"sdr\": ", at + 1))
    out.push_back(std::stod(json.substr(at + 7)));
  return out;
}

const std::string kTransform = "  transform: {n_fft: 100, hop: 50, window: tukey, tukey_alpha: 0.1}\n";

}  // namespace

TEST(SeparateTlnmf, SupervisedWithCleanTrainingWavs) {
  testkit::TempDir dir;
  write_notes(dir, 300.0, 317.0, 4000, signal::EnvelopeShape::Flat);
  testkit::write_text(dir / "sep.yaml",
                      "model: {type: tlnmf, mode: supervised, objective: is, seed: 0}\n"
                      "data:\n"
                      "  input: mix.wav\n"
                      "  train: {a: [train_a.wav], b: [train_b.wav]}\n"
                      "  references: {a: ref_a.wav, b: ref_b.wav}\n" +
                          kTransform + "trainer: {max_iter: 60, tol: 1.0e-9, progress: never}\noutput: {dir: out}\n");
  const auto r = testkit::run_factorch("separate sep.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.path() / "out/sources/a.wav"));
  EXPECT_TRUE(fs::exists(dir.path() / "out/sources/b.wav"));
  const auto sdr = sdrs_of(testkit::read_text(dir / "out/metrics.json"));
  // The same run with Φ frozen at its initial DCT: what learning Φ adds.
  const auto f = testkit::run_factorch("separate sep.yaml --set model.learn_phi=false --out frozen", dir.path().string());
  ASSERT_EQ(f.status, 0) << f.err;
  const auto frozen = sdrs_of(testkit::read_text(dir / "frozen/metrics.json"));
  ASSERT_GE(sdr.size(), 2u);
  ASSERT_EQ(frozen.size(), sdr.size());
  // Measured: a 8.77 dB, b 8.05 dB; Φ frozen 7.44 / 6.51 dB (configs/tlnmf_supervised.yaml's
  // embedded notes: 8.37 / 7.79, STFT IS-NMF 6.83 dB mean). Learning Φ adds 1.33 / 1.54 dB:
  // asserted 0.9 dB of it, and floors 0.35 dB under the measured SDRs.
  const double floor[] = {8.4, 7.7};
  for (size_t j = 0; j < 2; ++j) {
    std::printf("supervised TL-NMF on WAVs: SDR %.2f dB, Phi frozen %.2f dB\n", sdr[j], frozen[j]);
    EXPECT_GT(sdr[j], floor[j]) << "source " << j;
    EXPECT_GT(sdr[j], frozen[j] + 0.9) << "source " << j;
  }
}

TEST(SeparateTlnmf, UnsupervisedWithComponentSources) {
  testkit::TempDir dir;
  write_notes(dir, 440.0, 466.16, 6000, signal::EnvelopeShape::SineRoot);
  // The identifiability paper's toy as WAVs (440 / 466.16 Hz, slowly varying envelopes, M = 200)
  // with one realisation of 1.2 s: two components, given to the sources in reverse order (each
  // estimate is named after the reference it matches).
  const std::string yaml = "model: {type: tlnmf, rank: 2, component_sources: [1, 0], seed: 0}\n"
                           "data:\n"
                           "  input: mix.wav\n"
                           "  references: {a: ref_a.wav, b: ref_b.wav}\n"
                           "  transform: {n_fft: 200, window: tukey, tukey_alpha: 0.1}\n"
                           "trainer: {max_iter: 80, tol: 1.0e-9, progress: never}\noutput: {dir: out}\n";
  testkit::write_text(dir / "sep.yaml", yaml);
  const auto r = testkit::run_factorch("separate sep.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.path() / "out/sources/a.wav"));
  EXPECT_TRUE(fs::exists(dir.path() / "out/sources/b.wav"));
  const auto sdr = sdrs_of(testkit::read_text(dir / "out/metrics.json"));
  ASSERT_GE(sdr.size(), 2u);
  double mean = 0;
  for (double s : sdr) mean += s / static_cast<double>(sdr.size());
  std::printf("unsupervised TL-NMF on WAVs: mean SDR %.2f dB\n", mean);
  // Measured: mean SDR 26.95 dB (tests/tlnmf's 3-realisation toy: TL-NMF 29.9 dB, DCT-NMF 14.3 dB;
  // with M = 100 the notes 26 Hz apart are not resolved: -4.4 dB). A 6 dB margin, which a
  // fixed-transform NMF does not reach.
  EXPECT_GT(mean, 21.0);

  // Three components grouped into two sources, no references: the sources are written, no metrics.
  testkit::write_text(dir / "noref.yaml", "model: {type: tlnmf, rank: 3, component_sources: [0, 1, 1], seed: 0}\n"
                                          "data:\n  input: mix.wav\n" +
                                              kTransform +
                                              "trainer: {max_iter: 5, progress: never}\noutput: {dir: noref}\n");
  const auto n = testkit::run_factorch("separate noref.yaml", dir.path().string());
  ASSERT_EQ(n.status, 0) << n.err;
  EXPECT_TRUE(fs::exists(dir.path() / "noref/sources/source0.wav"));
  EXPECT_TRUE(fs::exists(dir.path() / "noref/sources/source1.wav"));
  EXPECT_FALSE(fs::exists(dir.path() / "noref/sources/source2.wav"));
  EXPECT_FALSE(fs::exists(dir.path() / "noref/metrics.json"));
  EXPECT_NE(n.out.find("no references"), std::string::npos) << n.out;
}

TEST(SeparateTlnmf, BadInputIsRefusedBeforeTraining) {
  testkit::TempDir dir;
  write_notes(dir, 300.0, 317.0, 4000, signal::EnvelopeShape::Flat);
  struct Case {
    std::string yaml, needle;
  };
  const std::string refs = "  input: mix.wav\n  references: {a: ref_a.wav, b: ref_b.wav}\n";
  const std::string tail = kTransform + "trainer: {max_iter: 5, progress: never}\noutput: {dir: out}\n";
  // (rank vs references is also in tests/cli/test_validate_before_computing.cpp)
  const std::vector<Case> cases = {
      {"model: {type: tlnmf, rank: 3, component_sources: [0, 2, 2]}\ndata:\n" + refs + tail, "model.component_sources"},
      {"model: {type: tlnmf, mode: supervised}\ndata:\n" + refs + "  train: {a: [train_a.wav], b: [\"none_*.wav\"]}\n" + tail,
       "data.train.b"},
      {"model: {type: tlnmf, mode: supervised}\ndata:\n" + refs + "  train: {a: [train_a.wav], c: [train_b.wav]}\n" + tail,
       "data.references"},
      {"model: {type: tlnmf, rank: 2}\ndata:\n" + refs + tail, "data.transform.n_fft"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string yaml = cases[i].yaml;
    if (i == 3) yaml.replace(yaml.find("n_fft: 100"), 10, "n_fft: 8192");
    SCOPED_TRACE(yaml);
    testkit::write_text(dir / "bad.yaml", yaml);
    const auto r = testkit::run_factorch("separate bad.yaml", dir.path().string());
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find(cases[i].needle), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir.path() / "out")) << "nothing may be written on bad input";
  }
}
