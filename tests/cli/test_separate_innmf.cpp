// `factorch separate` with iN-NMF on the user's own WAV files (the paper's Algorithm 2): one
// implicit dictionary per source learnt on clean training audio at n_fft 256, sampled at 512
// for the separation of a mixture; the bad inputs stop before any output.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "../test_support.h"
#include "factorch/io/wav.h"
#include "factorch/signal/synthetic.h"
#include "factorch/train/checkpoint.h"

using namespace factorch;
namespace fs = std::filesystem;

namespace {

constexpr int kRate = 8000;

// Two harmonic tones with different timbres: a bright 330 Hz (slow decay of the partials)
// and a dull 523 Hz. The mixture (1 s) has each on two thirds of the time; the clean training
// takes (0.5 s) have other phases.
void write_session(const testkit::TempDir& dir) {
  const int64_t T = kRate;
  signal::Envelope first{{{0, 2 * T / 3}}, 64}, last{{{T / 3, T}}, 64};
  const torch::Tensor bright = signal::harmonic_source(330, kRate, T, 5, 0.8, first, 1);
  const torch::Tensor dull = signal::harmonic_source(523, kRate, T, 5, 0.3, last, 2);
  io::write_wav(dir / "mix.wav", bright + dull, kRate);
  io::write_wav(dir / "ref_bright.wav", bright, kRate);
  io::write_wav(dir / "ref_dull.wav", dull, kRate);
  io::write_wav(dir / "train_bright.wav", signal::harmonic_source(330, kRate, T / 2, 5, 0.8, {}, 11), kRate);
  io::write_wav(dir / "train_dull.wav", signal::harmonic_source(523, kRate, T / 2, 5, 0.3, {}, 12), kRate);
}

std::vector<double> sdrs_of(const std::string& json) {
  std::vector<double> out;
  for (size_t at = json.find("\"sdr\": "); at != std::string::npos; at = json.find("\"sdr\": ", at + 1))
    out.push_back(std::stod(json.substr(at + 7)));
  return out;
}

// Small networks and few epochs: the test is about the path, the figure is the paper's.
const std::string kModel =
    "model: {type: innmf, rank: 2, width: 16, depth: 2, omega_0: 5, n_frequencies: 6, seed: 1, report_iter: 200, "
    "separation_n_fft: [512]}\n"
    "trainer: {kind: autograd, optimizer: adam, lr: 0.02, max_iter: 150, eval_every: 50, tol: 0, dtype: float32, "
    "progress: never}\n";

}  // namespace

TEST(SeparateInnmf, DictionariesLearntAtOneSizeSeparateAtAnother) {
  testkit::TempDir dir;
  write_session(dir);
  testkit::write_text(dir / "sep.yaml", kModel +
                                            "data:\n"
                                            "  input: mix.wav\n"
                                            "  train: {bright: [train_bright.wav], dull: [train_dull.wav]}\n"
                                            "  references: {bright: ref_bright.wav, dull: ref_dull.wav}\n"
                                            "  transform: {n_fft: 256, window: sine, exponent: 0.5}\n"
                                            "output: {dir: out}\n");
  const auto r = testkit::run_factorch("separate sep.yaml", dir.path().string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir.path() / "out/sources/bright.wav"));
  EXPECT_TRUE(fs::exists(dir.path() / "out/sources/dull.wav"));
  const io::Audio a = io::read_wav((dir.path() / "out/sources/bright.wav").string());
  EXPECT_EQ(a.sample_rate, kRate);
  EXPECT_EQ(a.frames(), kRate);
  const auto sdr = sdrs_of(testkit::read_text(dir / "out/metrics.json"));
  ASSERT_GE(sdr.size(), 2u);
  // Measured 27.84 / 15.21 dB on 2 threads (27.6 / 15.6 on 1): a floor per source, about
  // 1 dB under the lower of the two.
  const double floor[] = {26.6, 14.2};
  for (size_t j = 0; j < 2; ++j) {
    std::printf("iN-NMF trained at n_fft 256, separating at 512: SDR %.2f dB\n", sdr[j]);
    EXPECT_GT(sdr[j], floor[j]) << "source " << j;
  }
  // A complete run directory, as every model's separate run writes it: the resolved config,
  // a checkpoint with each source's dictionary model (under "<source>_") that `factorch info`
  // reads, and a report that names the model and shows the config. (Before: neither file, and
  // a page headed "model.type evaluation" without a configuration section.)
  const std::string resolved = testkit::read_text(dir / "out/config.resolved.yaml");
  EXPECT_NE(resolved.find("type: innmf"), std::string::npos) << resolved;
  ASSERT_TRUE(fs::exists(dir.path() / "out/checkpoint.pt"));
  const io::Checkpoint ck = io::load_checkpoint(dir / "out/checkpoint.pt");
  EXPECT_EQ(ck.model_type, "innmf");
  EXPECT_EQ(ck.config_yaml, resolved);
  for (const char* source : {"bright", "dull"}) {
    const torch::Tensor* W = ck.factors.find(std::string(source) + "_W");
    ASSERT_NE(W, nullptr) << source;
    EXPECT_EQ(W->sizes(), (std::vector<int64_t>{129, 2})) << "rank 2 templates on the 256-point training grid";
    EXPECT_NE(ck.factors.find(std::string(source) + "_coordinates"), nullptr) << source;
    const auto& keys = ck.parameters.keys();
    EXPECT_TRUE(std::any_of(keys.begin(), keys.end(), [&](const std::string& k) {
      return k.rfind(std::string(source) + "_W_net.", 0) == 0;
    })) << source << ": its dictionary network's weights";
  }
  const auto info = testkit::run_factorch("info out/checkpoint.pt", dir.path().string());
  EXPECT_EQ(info.status, 0) << info.err;
  const std::string page = testkit::read_text(dir / "out/report.html");
  EXPECT_NE(page.find("model.type <b>innmf</b>"), std::string::npos) << page.substr(0, 1500);
  EXPECT_NE(page.find("<section id=\"config\">"), std::string::npos);

  // Without references: the sources, and one line instead of metrics. (These dictionaries
  // are learnt on 256 and 512 together, model.joint_n_fft, through the same path.)
  std::string joint = kModel;
  joint.replace(joint.find("separation_n_fft: [512]}"), 24, "separation_n_fft: [512], spectral_kernel: true, joint_n_fft: [512]}");
  testkit::write_text(dir / "noref.yaml", joint +
                                              "data:\n"
                                              "  input: mix.wav\n"
                                              "  train: {bright: [train_bright.wav], dull: [train_dull.wav]}\n"
                                              "  transform: {n_fft: 256, window: sine, exponent: 0.5}\n"
                                              "output: {dir: out_noref}\n");
  const auto n = testkit::run_factorch("separate noref.yaml", dir.path().string());
  ASSERT_EQ(n.status, 0) << n.err;
  EXPECT_TRUE(fs::exists(dir.path() / "out_noref/sources/dull.wav"));
  EXPECT_FALSE(fs::exists(dir.path() / "out_noref/metrics.json"));
  EXPECT_NE(n.out.find("no references: metrics.json not written"), std::string::npos) << n.out;
  EXPECT_NE(n.out.find("learning the implicit dictionary of dull at n_fft = 256 + 512"), std::string::npos) << n.out;
}

TEST(SeparateInnmf, BadInputsStopBeforeAnyOutput) {
  testkit::TempDir dir;
  write_session(dir);
  const std::string head = "trainer: {kind: autograd, max_iter: 2, progress: never}\noutput: {dir: out}\n";
  const std::string model = "model: {type: innmf, rank: 2, separation_n_fft: [512]}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"data: {input: mix.wav, references: {bright: ref_bright.wav, dull: ref_dull.wav}}\n",
       "data.train is required by factorch separate with model.type innmf"},
      {"data: {input: mix.wav, train: {bright: [train_bright.wav], dull: [train_dull.wav]}, transform: {n_fft: 8192}}\n",
       "data.transform.n_fft"},
      {"data: {input: mix.wav, train: {bright: [train_bright.wav], dull: [train_dull.wav]}}\n"
       "model: {type: innmf, rank: 2, separation_n_fft: [256, 16384]}\n",
       "model.separation_n_fft"},
      {"data: {input: mix.wav, train: {bright: [train_bright.wav], dull: [train_dull.wav]}}\n"
       "model: {type: innmf, rank: 2, spectral_kernel: true, joint_n_fft: [8192]}\n",
       "model.joint_n_fft 8192 is not a DFT size between 2 and the training signal's 4000 samples"},
      {"data: {input: mix.wav, train: {bright: [train_bright.wav], dull: [train_dull.wav]}, transform: {kind: cqt}}\n",
       "data.transform.kind must be stft"},
  };
  for (const auto& [data, needle] : cases) {
    testkit::write_text(dir / "bad.yaml", head + (data.find("model:") == std::string::npos ? model : "") + data);
    const auto r = testkit::run_factorch("separate bad.yaml", dir.path().string());
    EXPECT_EQ(r.status, 2) << data << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << data << " → " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(dir.path() / "out")) << data;
  }
}
