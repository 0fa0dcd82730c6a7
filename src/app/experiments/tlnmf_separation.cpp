// TL-NMF separation: Wiener masks on ΦY, Φᵀ and overlap-add give the sources; the report
// scores every realisation, `factorch separate` writes the sources of the user's mixture.
// This is the one place where TL-NMF turns masks into signals and metrics (the shared
// separation step can take over the writing of sources/ and metrics.json here).
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "app/experiments/tlnmf_app.h"
#include "app/separation.h"
#include "factorch/error.h"
#include "factorch/eval/bss.h"
#include "factorch/eval/metrics_json.h"
#include "factorch/io/wav.h"
#include "factorch/signal/frames.h"

namespace factorch {

namespace fs = std::filesystem;

std::vector<torch::Tensor> tlnmf_separate(TLNMFImpl& model, const TLNMFSignals& sig, int64_t r,
                                          const std::vector<int64_t>& mapping) {
  const int64_t T = sig.mixtures.size(1);
  const torch::Tensor Y = signal::frame_signal(sig.mixtures[r], sig.frame_length(), sig.hop, sig.window);
  std::vector<torch::Tensor> out;
  for (const auto& p : model.separate_frames(Y, mapping))
    out.push_back(signal::overlap_add(p.to(torch::kCPU, torch::kFloat64), sig.hop, sig.window, T));
  return out;
}

SeparationScores tlnmf_evaluate(TLNMFImpl& model, const TLNMFSignals& sig, const std::vector<int64_t>& mapping) {
  require(sig.sources.defined(), "no reference sources to evaluate against (set data.references)");
  const int64_t R = sig.mixtures.size(0), S = sig.sources.size(1), T = sig.mixtures.size(1);
  SeparationScores out;
  out.sdr = torch::zeros({S}, torch::kFloat64);
  out.sir = torch::zeros({S}, torch::kFloat64);
  out.sar = torch::zeros({S}, torch::kFloat64);
  out.estimates = torch::zeros({R, S, T}, torch::kFloat64);
  for (int64_t r = 0; r < R; ++r) {
    const auto est = tlnmf_separate(model, sig, r, mapping);
    require(static_cast<int64_t>(est.size()) == S, "separation gives " + std::to_string(est.size()) +
                                                       " sources but there are " + std::to_string(S) +
                                                       " references (set model.component_sources)");
    const torch::Tensor E = torch::stack(est);
    const eval::BssEvalResult b = eval::bss_eval_sources(sig.sources[r], E);
    out.sdr += b.sdr;
    out.sir += b.sir;
    out.sar += b.sar;
    for (int64_t j = 0; j < S; ++j) out.estimates[r][j].copy_(E[b.permutation[j]]);
  }
  out.sdr /= R;
  out.sir /= R;
  out.sar /= R;
  return out;
}

app::SeparationResult separate_tlnmf(const Config& c, const app::RunOptions& options) {
  // Everything is read and checked (counts, rates, lengths, frame size, grouping) before training.
  const app::Dataset data = load_tlnmf_data(c);
  const TLNMFSignals& sig = tlnmf_signals_of(data);
  const std::string out_dir = c.string("output.dir");
  const app::RunResult run = app::fit_model(c, build_tlnmf(c, data), data.matrix, options, out_dir);
  require(run.result.ok, "training failed: " + run.result.stop_reason);
  auto* model = dynamic_cast<TLNMFImpl*>(run.model.get());
  require(model != nullptr, "tlnmf separate: the model is not a TL-NMF");
  model->to(torch::kCPU, torch::kFloat64);

  // The user's mixture is realisation 0 (the embedded signal may have several).
  torch::Tensor estimates = torch::stack(tlnmf_separate(*model, sig, 0, c.integers("model.component_sources")));
  app::SeparationResult out;
  out.out_dir = out_dir;
  if (sig.sources.defined()) {
    // Supervised source s is data.train's s-th source (the references are in that order);
    // unsupervised components have no names: each estimate takes the name of the reference
    // it matches (BSS Eval's best permutation) and is then scored as that source.
    if (!model->supervised()) {
      const eval::BssEvalResult b = eval::bss_eval_sources(sig.sources[0], estimates);
      estimates = estimates.index_select(0, torch::tensor(b.permutation, torch::kLong));
    }
    eval::BssEvalOptions known;
    known.compute_permutation = false;
    out.metrics = eval::bss_eval_sources(sig.sources[0], estimates, known);
    out.has_metrics = true;
    out.names = out.reference_names = sig.source_names;
  } else if (model->supervised()) {
    out.names = sig.source_names;  // data.train's names
  } else {
    for (int64_t s = 0; s < estimates.size(0); ++s) out.names.push_back("source" + std::to_string(s));
  }
  out.estimates = estimates;
  if (options.write_outputs) {
    const io::WavFormat format = io::wav_format_from_name(c.string("output.wav_format"));
    const int rate = static_cast<int>(std::lround(sig.sample_rate));
    io::write_wav((fs::path(out_dir) / "mixture.wav").string(), sig.mixtures[0], rate, format);
    for (size_t s = 0; s < out.names.size(); ++s)
      io::write_wav((fs::path(out_dir) / "sources" / (out.names[s] + ".wav")).string(), out.estimates[s], rate, format);
    if (out.has_metrics) {
      eval::BssEvalOptions known;
      known.compute_permutation = false;
      eval::write_json((fs::path(out_dir) / "metrics.json").string(),
                       eval::bss_metrics_json(out.metrics, out.reference_names, out.names, known));
    } else if (!options.quiet) {
      std::printf("no references: metrics not written\n");
    }
  }
  return out;
}

}  // namespace factorch
