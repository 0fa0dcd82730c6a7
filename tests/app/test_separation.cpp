// Audio data for matrix models and `factorch separate`: supervised and unsupervised NMF
// separation of the embedded two-note mixture, WAV inputs with references, and bad input
// (one-line error, exit 2, nothing written).
#include <gtest/gtest.h>

#include <filesystem>

#include "../test_support.h"
#include "app/audio_data.h"
#include "app/run.h"
#include "app/separation.h"
#include "factorch/error.h"
#include "factorch/io/wav.h"
#include "factorch/signal/synthetic.h"

using namespace factorch;
namespace fs = std::filesystem;

namespace {
const std::string kToy =
    "model: {type: nmf, rank: 2, beta: 1, eps: 1.0e-9, normalise: l1, seed: 0}\n"
    "data: {synthetic: {signal: harmonic_notes, train_seconds: 3}, transform: {n_fft: 512, hop: 128}}\n"
    "trainer: {max_iter: 150, tol: 1.0e-7, progress: never}\n";

void write_toy_wavs(const testkit::TempDir& dir, int reference_rate = 5000, int64_t reference_length = 15000) {
  const signal::HarmonicMixture m = signal::harmonic_mixture();
  io::write_wav(dir / "mix.wav", m.mixture, 5000);
  io::write_wav(dir / "a.wav", m.sources[0].slice(0, 0, reference_length), reference_rate);
  io::write_wav(dir / "b.wav", m.sources[1], 5000);
  signal::HarmonicMixtureOptions other;
  other.seed = 1;
  const signal::HarmonicMixture t = signal::harmonic_mixture(other);
  io::write_wav(dir / "train_a.wav", t.sources[0], 5000);
  io::write_wav(dir / "train_b.wav", t.sources[1], 5000);
}
}  // namespace

TEST(Separation, SupervisedNmfSeparatesTheTwoNotes) {
  testkit::TempDir dir;
  const Config c = Config::parse(kToy + "output: {dir: " + dir / "run" + "}\n", "toy.yaml");
  const app::SeparationResult r = app::run_separation(c, {std::nullopt, true, true});
  ASSERT_TRUE(r.has_metrics);
  ASSERT_EQ(r.names, (std::vector<std::string>{"note1", "note2"}));
  for (int j = 0; j < 2; ++j) {
    std::printf("note%d: SDR %.2f SIR %.2f SAR %.2f dB\n", j + 1, r.metrics.sdr[j].item<double>(),
                r.metrics.sir[j].item<double>(), r.metrics.sar[j].item<double>());
    EXPECT_GT(r.metrics.sdr[j].item<double>(), 37.0);  // measured 40.91 / 40.21 dB; margin 3 dB
  }
  for (const char* f : {"sources/note1.wav", "sources/note2.wav", "metrics.json", "factors/W.npy", "checkpoint.pt"})
    EXPECT_TRUE(fs::exists(dir / ("run/" + std::string(f)))) << f;
  // The masked estimates add up to the mixture (Wiener masks sum to one; ISTFT is linear).
  const torch::Tensor mix = app::load_audio_data(c).mixture;
  EXPECT_LT((r.estimates.sum(0) - mix).abs().max().item<double>(), 1e-9);
}

TEST(Separation, UnsupervisedAssignmentFromOutputSources) {
  testkit::TempDir dir;
  const std::string model = "model: {type: nmf, rank: 2, beta: 1, eps: 1.0e-9, seed: 1}\n"
                            "data: {synthetic: {signal: harmonic_notes}, transform: {n_fft: 512, hop: 128}}\n"
                            "trainer: {max_iter: 100, progress: never}\n";
  const Config c = Config::parse(model + "output: {dir: " + dir / "run" + ", sources: {low: [0], high: [1]}}\n", "unsup.yaml");
  const app::SeparationResult r = app::run_separation(c, {std::nullopt, true, true});
  EXPECT_EQ(r.names, (std::vector<std::string>{"low", "high"}));
  EXPECT_EQ(r.estimates.sizes(), (std::vector<int64_t>{2, 15000}));
  ASSERT_TRUE(r.has_metrics);  // permutation search against the two notes
  EXPECT_TRUE(fs::exists(dir / "run/sources/high.wav"));
  for (int j = 0; j < 2; ++j) {
    std::printf("unsupervised note%d: SDR %.2f dB\n", j + 1, r.metrics.sdr[j].item<double>());
    EXPECT_GT(r.metrics.sdr[j].item<double>(), 37.0);  // measured 41.50 / 40.83 dB; margin 3.5 dB
  }
  // The assignment is what output.sources says: swapping it swaps the estimates exactly
  // (same seed, same training) and the names follow.
  const Config swapped =
      Config::parse(model + "output: {dir: " + dir / "swapped" + ", sources: {first: [1], second: [0]}}\n", "swap.yaml");
  const app::SeparationResult s = app::run_separation(swapped, {std::nullopt, true, true});
  EXPECT_EQ(s.names, (std::vector<std::string>{"first", "second"}));
  EXPECT_TRUE(torch::equal(s.estimates[0], r.estimates[1]));
  EXPECT_TRUE(torch::equal(s.estimates[1], r.estimates[0]));
  const Config bad = Config::parse(
      "model: {type: nmf, rank: 3}\ndata: {synthetic: {signal: harmonic_notes}}\ntrainer: {max_iter: 1, progress: never}\n"
      "output: {dir: " + dir / "bad" + ", sources: {a: [0], b: [0, 7]}}\n",
      "bad.yaml");
  try {
    app::run_separation(bad, {std::nullopt, true, true});
    FAIL() << "expected an error";
  } catch (const factorch::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml:4: output.sources"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "bad"));
}

TEST(Separation, WavInputTrainsAndSeparatesThroughTheCli) {
  testkit::TempDir dir;
  write_toy_wavs(dir);
  testkit::write_text(dir / "sep.yaml",
                      "model: {type: nmf, rank: 2, beta: 1, eps: 1.0e-9, normalise: l1}\n"
                      "data: {input: mix.wav, train: {a: train_a.wav, b: train_b.wav}, references: {a: a.wav, b: b.wav},\n"
                      "       transform: {exponent: 1, n_fft: 512, hop: 128}}\n"
                      "trainer: {max_iter: 100, progress: never}\n"
                      "output: {dir: out, wav_format: pcm16}\n");
  const auto r = testkit::run_factorch("separate sep.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("wrote out/metrics.json"), std::string::npos) << r.out;
  // The scores, not only the files: each source's SDR in metrics.json.
  const std::string json = testkit::read_text(dir / "out/metrics.json");
  for (size_t at = json.find("\"sdr\": "); at != std::string::npos; at = json.find("\"sdr\": ", at + 1)) {
    const double sdr = std::stod(json.substr(at + 7));
    std::printf("wav supervised: SDR %.2f dB\n", sdr);
    EXPECT_GT(sdr, 25.0);  // measured 27.46 / 27.50 dB (mean 27.48); margin 2.5 dB
  }
  EXPECT_NE(json.find("\"sdr\": "), std::string::npos) << json;
  const io::Audio a = io::read_wav(dir / "out/sources/a.wav");
  EXPECT_EQ(a.sample_rate, 5000);
  EXPECT_EQ(a.frames(), 15000);
  // The same WAV trains a plain NMF: V is the (n_fft/2 + 1) × N magnitude spectrogram.
  testkit::write_text(dir / "train.yaml",
                      "model: {type: nmf, rank: 2}\ndata: {input: " + dir / "mix.wav" +
                          ", transform: {kind: dct, n_fft: 200, hop: 100}}\n"
                      "trainer: {max_iter: 5, progress: never}\noutput: {dir: trained}\n");
  const TrainingData d = app::load_training_data(Config::load(dir / "train.yaml"));
  EXPECT_EQ(d.X.size(0), 200);
  EXPECT_EQ(d.X.size(1), 151);  // zero-padded borders: ⌈(15000 + 100) / 100⌉
  EXPECT_EQ(testkit::run_factorch("train train.yaml -q", dir.path().string()).status, 0);
}

TEST(Separation, BadAudioInputIsAOneLineErrorAndWritesNothing) {
  testkit::TempDir dir;
  write_toy_wavs(dir, 8000);
  testkit::write_text(dir / "not_audio.wav", "this is text, not audio\n");
  const std::string head = "model: {type: nmf, rank: 2}\ntrainer: {max_iter: 3, progress: never}\noutput: {dir: out}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"data: {input: missing.wav}\n", "missing.wav"},
      {"data: {input: not_audio.wav}\n", "not_audio.wav"},
      {"data: {input: mix.wav, references: {a: a.wav, b: b.wav}}\n", "sample rate"},
      {"data: {input: mix.wav, transform: {n_fft: 65536}}\n", "bad.yaml:4: data.transform.n_fft = 65536: window length 65536 exceeds"},
      {"data: {input: mix.wav, transform: {hop: 2048}}\n", "data.transform.hop must not exceed the window length"},
      {"data: {synthetic: {signal: harmonic_notes}, input: mix.wav}\n", "exclusive"},
      {"data: {synthetic: {signal: harmonic_notes, frequencies: [440, 2600]}}\n", "data.synthetic.frequencies"},
      {"data: {input: \"nothing*.wav\"}\n", "data.input (nothing*.wav) matches no file"},
      {"data: {synthetic: {signal: harmonic_notes, linewidth: 3}}\n", "data.synthetic.linewidth does not apply to the signal harmonic_notes"},
      {"data: {input: mix.wav, transform: {kind: cqt}}\n", "data.transform.kind cqt cannot be inverted"},
  };
  for (const auto& [data, expected] : cases) {
    testkit::write_text(dir / "bad.yaml", head + data);
    const auto r = testkit::run_factorch("separate bad.yaml", dir.path().string());
    EXPECT_EQ(r.status, 2) << data << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << data << " → " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir / "out")) << data;
  }
  testkit::write_text(dir / "len.yaml", head + "data: {input: mix.wav, references: {b: b.wav, a2: a.wav}}\n");
  write_toy_wavs(dir, 5000, 12000);
  const auto r = testkit::run_factorch("separate len.yaml", dir.path().string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("has 12000 samples but the mixture"), std::string::npos) << r.err;
}
