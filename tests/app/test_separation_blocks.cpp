// Separation of long recordings block by block (app/separation_blocks.h): the block-wise
// activations, Wiener filtering and overlap-add against the whole-signal computations, and
// `factorch separate` with several blocks against one block.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>

#include "../test_support.h"
#include "app/config.h"
#include "app/experiments/registry.h"
#include "app/separation_blocks.h"
#include "factorch/separation/block_overlap_add.h"
#include "factorch/separation/separation_step.h"
#include "factorch/io/wav.h"
#include "factorch/models/nmf.h"
#include "factorch/signal/frames.h"
#include "factorch/signal/stft.h"
#include "factorch/signal/synthetic.h"
#include "factorch/signal/wiener.h"
#include "factorch/signal/window.h"

using namespace factorch;
namespace fs = std::filesystem;

namespace {

double max_relative(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max()).item<double>();
}

}  // namespace

// H column blocks (one of a single column) = H of the whole matrix, and that H is the NMF
// model's own whole-matrix MU from the same start. Measured ~1e-15; bound 1e-10.
TEST(SeparationBlocks, BlockActivationsEqualWholeMatrixMu) {
  torch::manual_seed(2);
  const int64_t F = 40, K = 6, N = 200, iters = 30;
  const torch::Tensor W = torch::rand({F, K}, torch::kFloat64) + 0.05;
  const torch::Tensor V = torch::mm(W, torch::rand({K, N}, torch::kFloat64)) * (1 + 0.2 * torch::rand({F, N}, torch::kFloat64));
  const Config c = Config::parse("model: {type: nmf, rank: 6, beta: 1, eps: 1.0e-9, fixed_w: true}\n"
                                 "trainer: {max_iter: 30, dtype: float64, progress: never}\n",
                                 "blocks.yaml");
  const ModelEntry& entry = model_entry("nmf");
  const torch::Tensor whole = app::fit_block_activations(c, entry, W, V);
  const torch::Tensor blocks = torch::cat({app::fit_block_activations(c, entry, W, V.slice(1, 0, 70)),
                                           app::fit_block_activations(c, entry, W, V.slice(1, 70, 71)),
                                           app::fit_block_activations(c, entry, W, V.slice(1, 71, N))},
                                          1);
  EXPECT_LT(max_relative(blocks, whole), 1e-10);

  // The model's whole-matrix MU from the documented per-column start.
  NMF nmf(NMFOptions(F, N, K).beta(1).eps(1e-9).fixed_w(true));
  nmf->to(torch::kFloat64);
  const torch::Tensor H0 = (V.mean(0) / (K * W.mean().item<double>())).unsqueeze(0).expand({K, N}).contiguous();
  nmf->set_factor("W", W);
  nmf->set_factor("H", H0);
  const TrainingData data{V, {}, false};
  for (int64_t it = 0; it < iters; ++it) nmf->mu_step(data);
  EXPECT_LT(max_relative(whole, nmf->H().detach()), 1e-10);
  // And it fits: the KL fit improved on the start.
  EXPECT_LT((torch::mm(W, whole) - V).abs().sum().item<double>(), (torch::mm(W, H0) - V).abs().sum().item<double>());
}

// Wiener masks and overlap-add over frame blocks (uneven, one of a single frame) = the
// whole-signal wiener_estimates + istft. Measured ~1e-16; bound 1e-9.
TEST(SeparationBlocks, BlockWienerOverlapAddEqualsWholeSignal) {
  torch::manual_seed(4);
  for (const auto padding : {signal::FramePadding::Zero, signal::FramePadding::None}) {
    signal::StftOptions o;
    o.n_fft = 64, o.hop = 16, o.padding = padding;
    const int64_t T = 1000, S = 2;
    const torch::Tensor x = torch::randn({T}, torch::kFloat64);
    const torch::Tensor X = signal::stft(x, o);
    const int64_t N = X.size(1);
    std::vector<torch::Tensor> parts{torch::rand({X.size(0), N}, torch::kFloat64), torch::rand({X.size(0), N}, torch::kFloat64)};
    const torch::Tensor whole =
        separation::wiener_estimates(X, parts, 2.0, [&](const torch::Tensor& Y) { return signal::istft(Y, o, T); });

    const torch::Tensor w = signal::window_from_name("hann", 64, 0.5, torch::TensorOptions().dtype(torch::kFloat64));
    separation::BlockOverlapAdd ola(S, w, o.hop, -signal::frame_offset(64, o.hop, padding), T);
    std::vector<torch::Tensor> out;
    for (const auto& [n0, n1] : {std::pair<int64_t, int64_t>{0, 7}, {7, 8}, {8, 30}, {30, N}}) {
      std::vector<torch::Tensor> powers, frames;
      for (const auto& p : parts) powers.push_back(p.slice(1, n0, n1).pow(2.0));
      for (const auto& m : signal::apply_masks(X.slice(1, n0, n1), signal::wiener_masks(powers)))
        frames.push_back(torch::fft::irfft(m, o.n_fft, 0));
      out.push_back(ola.push(torch::stack(frames)));
    }
    out.push_back(ola.finish());
    const torch::Tensor blocks = torch::cat(out, 1);
    ASSERT_EQ(blocks.size(1), T);
    EXPECT_LT((blocks - whole).abs().max().item<double>(), 1e-9) << "padding " << static_cast<int>(padding);
  }
}

namespace {

constexpr int kRate = 8000;

// 1.5 s: two notes on for part of the time, references, one training file per source.
void write_session(const testkit::TempDir& dir) {
  const int64_t T = 3 * kRate / 2;
  signal::Envelope first{{{0, 2 * T / 3}}, 64}, last{{{T / 3, T}}, 64};
  const torch::Tensor low = signal::harmonic_source(330, kRate, T, 3, 0.6, first, 1);
  const torch::Tensor high = signal::harmonic_source(523, kRate, T, 3, 0.6, last, 2);
  io::write_wav(dir / "mix.wav", low + high, kRate);
  io::write_wav(dir / "ref_low.wav", low, kRate);
  io::write_wav(dir / "ref_high.wav", high, kRate);
  io::write_wav(dir / "train_low.wav", signal::harmonic_source(330, kRate, kRate / 2, 3, 0.6, {}, 10), kRate);
  io::write_wav(dir / "train_high.wav", signal::harmonic_source(523, kRate, kRate / 2, 3, 0.6, {}, 20), kRate);
}

const char* kConfig =
    "model: {type: nmf, rank: 3, beta: 1, eps: 1.0e-9, normalise: l1}\n"
    "data:\n"
    "  input: mix.wav\n"
    "  train: {low: train_low.wav, high: train_high.wav}\n"
    "  references: {low: ref_low.wav, high: ref_high.wav}\n"
    "  transform: {n_fft: 512, hop: 128}\n"
    "  stream: always\n"
    "trainer: {max_iter: 60, progress: never}\n"
    "output: {eval_window: 0.25}\n";

}  // namespace

// `factorch separate` with 0.2 s blocks (8 blocks, edges inside frames) = with one block:
// WAV samples to float32 rounding; metrics to 1e-7 relative (measured 4e-9: 60 MU sweeps of
// BLAS products of other sizes, then SIRs near 40 dB whose small interference energy is a
// difference of quadratic forms; margin 25×). The exact-arithmetic parts are tested above.
TEST(SeparationBlocks, CliSeveralBlocksEqualOneBlock) {
  testkit::TempDir dir;
  write_session(dir);
  testkit::write_text(dir / "sep.yaml", kConfig);
  const auto many = testkit::run_factorch("separate sep.yaml --set data.block_seconds=0.2 --out many", dir.path().string());
  ASSERT_EQ(many.status, 0) << many.err;
  EXPECT_NE(many.out.find("report.html not written"), std::string::npos) << many.out;
  const auto one = testkit::run_factorch("separate sep.yaml --set data.block_seconds=100 --out one", dir.path().string());
  ASSERT_EQ(one.status, 0) << one.err;

  const auto a = nlohmann::json::parse(testkit::read_text(dir / "many/metrics.json"));
  const auto b = nlohmann::json::parse(testkit::read_text(dir / "one/metrics.json"));
  ASSERT_EQ(a["sources"].size(), 2u);
  for (size_t j = 0; j < 2; ++j)
    for (const char* key : {"sdr", "sir", "sar"}) {
      const double x = a["sources"][j][key].get<double>(), y = b["sources"][j][key].get<double>();
      EXPECT_LT(std::abs(x - y) / std::max(1.0, std::abs(y)), 1e-7) << key << " " << j;
    }
  // It separates: measured 42.37 / 42.79 dB (one block and several alike); floors 1.3 dB
  // under them (thread count and BLAS change the MU iterates' rounding, not the result).
  const double floor[] = {41.0, 41.5};
  for (size_t j = 0; j < 2; ++j) {
    std::printf("several blocks: source %zu SDR %.2f dB\n", j, a["sources"][j]["sdr"].get<double>());
    EXPECT_GT(a["sources"][j]["sdr"].get<double>(), floor[j]) << j;
  }
  // Framewise: ⌊(1.5 − 0.25 + 0.25)/0.25⌋ = 6 windows, and their medians.
  ASSERT_TRUE(a.contains("framewise"));
  EXPECT_EQ(a["framewise"]["frames"].get<int>(), 6);
  EXPECT_EQ(a["framewise"]["sources"][0]["sdr"].size(), 6u);
  EXPECT_TRUE(a["framewise"]["sources"][1]["median"].contains("sdr"));

  for (const char* name : {"sources/low.wav", "sources/high.wav", "mixture.wav"}) {
    const io::Audio x = io::read_wav((dir.path() / "many" / name).string());
    const io::Audio y = io::read_wav((dir.path() / "one" / name).string());
    ASSERT_EQ(x.frames(), 3 * kRate / 2) << name;
    ASSERT_EQ(x.frames(), y.frames()) << name;
    EXPECT_LT((x.samples - y.samples).abs().max().item<double>(), 1e-6) << name;  // float32 WAV: one rounding step
  }
  const io::Audio mix = io::read_wav((dir.path() / "mix.wav").string());
  const io::Audio copy = io::read_wav((dir.path() / "many/mixture.wav").string());
  EXPECT_TRUE(torch::equal(mix.samples, copy.samples));
}

TEST(SeparationBlocks, StreamAlwaysNeedsTheSupervisedNmfPath) {
  testkit::TempDir dir;
  write_session(dir);
  testkit::write_text(dir / "sep.yaml",
                      "model: {type: nmf, rank: 2}\ndata: {input: mix.wav, stream: always}\n"
                      "output: {dir: out}\n");
  const auto r = testkit::run_factorch("separate sep.yaml", dir.path().string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("data.stream"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("data.train"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir.path() / "out"));
}

// The block path is chosen from what the model's entry states (capabilities.streams and its
// stream_obstacle), not from the type string: the same nmf config streams with the nmf
// entry, also when the entry carries another name, and does not when the entry says the
// model cannot. (On main the path was chosen by `model.type != "nmf"`.)
TEST(SeparationBlocks, StreamingIsTheCapabilityTheEntryStates) {
  const Config c = Config::parse(kConfig, "sep.yaml");
  const ModelEntry& nmf = model_entry("nmf");
  EXPECT_TRUE(app::separates_in_blocks(c, nmf));
  ModelEntry renamed = nmf;
  renamed.name = "convolutive_nmf";
  EXPECT_TRUE(app::separates_in_blocks(c, renamed));
  ModelEntry unable = nmf;
  unable.capabilities.streams = false;
  std::string e = testkit::error_of([&] { app::separates_in_blocks(c, unable); });
  EXPECT_NE(e.find("data.stream"), std::string::npos) << e;
  EXPECT_NE(e.find("model.type nmf does not separate block by block"), std::string::npos) << e;
  ModelEntry coupled = nmf;
  coupled.stream_obstacle = [](const Config&) { return std::string("its activations are coupled"); };
  e = testkit::error_of([&] { app::separates_in_blocks(c, coupled); });
  EXPECT_NE(e.find("always, but its activations are coupled"), std::string::npos) << e;
  // The nmf entry's own obstacle: ARD couples the columns of H.
  Config with_ard = c;
  with_ard.set("model.ard", "l1", "test");
  e = testkit::error_of([&] { app::separates_in_blocks(with_ard, nmf); });
  EXPECT_NE(e.find("model.ard couples the columns of H"), std::string::npos) << e;
}
