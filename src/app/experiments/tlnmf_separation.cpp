// TL-NMF separation: Wiener masks on ΦY, Φᵀ and overlap-add give the sources; the report
// scores every realisation, `factorch separate` writes the sources of the user's mixture.
// `separate` hands its sources to the shared separation step (app/separation_step.h), which
// writes sources/, mixture.wav and metrics.json.
#include <cmath>
#include <cstdio>

#include "app/experiments/tlnmf_app.h"
#include "app/separation.h"
#include "factorch/separation/separation_step.h"
#include "factorch/error.h"
#include "factorch/io/wav.h"
#include "factorch/signal/frames.h"

namespace factorch {

std::vector<torch::Tensor> tlnmf_separate(TLNMFImpl& model, const TLNMFSignals& sig, int64_t r,
                                          const std::vector<int64_t>& mapping) {
  const int64_t T = sig.mixtures.size(1);
  const torch::Tensor Y = signal::frame_signal(sig.mixtures[r], sig.frame_length(), sig.hop, sig.window);
  std::vector<torch::Tensor> out;
  for (const auto& p : model.separate_frames(Y, mapping))
    out.push_back(signal::overlap_add(p.to(torch::kCPU, torch::kFloat64), sig.hop, sig.window, T));
  return out;
}

std::vector<separation::SeparatedMixture> tlnmf_separated(TLNMFImpl& model, const TLNMFSignals& sig,
                                                   const std::vector<int64_t>& mapping) {
  const int64_t R = sig.mixtures.size(0);
  std::vector<separation::SeparatedMixture> out;
  for (int64_t r = 0; r < R; ++r) {
    separation::SeparatedMixture m;
    m.name = R > 1 ? "realisation" + std::to_string(r + 1) : "";
    m.estimates = torch::stack(tlnmf_separate(model, sig, r, mapping));
    m.mixture = sig.mixtures[r];
    const int64_t S = m.estimates.size(0);
    if (model.supervised()) {
      m.names = sig.source_names;
    } else {
      for (int64_t k = 0; k < S; ++k) m.names.push_back("component" + std::to_string(k + 1));
    }
    if (sig.sources.defined()) {
      require(S == sig.sources.size(1), "separation gives " + std::to_string(S) + " sources but there are " +
                                            std::to_string(sig.sources.size(1)) +
                                            " references (set model.component_sources)");
      m.references = sig.sources[r];
      m.reference_names = sig.source_names;
    }
    out.push_back(std::move(m));
  }
  return out;
}

separation::SeparationStepOptions tlnmf_step_options(const Config& c, const TLNMFImpl& model, const TLNMFSignals& sig) {
  separation::SeparationStepOptions step;
  step.sample_rate = static_cast<int>(std::lround(sig.sample_rate));
  step.wav_format = io::wav_format_from_name(c.string("output.wav_format"));
  step.known_assignment = model.supervised();
  return step;
}

RealisationScores RealisationScores::of(const std::vector<eval::MetricsTable>& realisations) {
  require(!realisations.empty(), "no scored realisation");
  const eval::MetricsTable t = realisations.size() == 1 ? realisations.front() : eval::mean_over_mixtures(realisations);
  return {torch::tensor(t.sdr, torch::kFloat64), torch::tensor(t.sir, torch::kFloat64),
          torch::tensor(t.sar, torch::kFloat64)};
}

RealisationScores tlnmf_evaluate(TLNMFImpl& model, const TLNMFSignals& sig, const std::vector<int64_t>& mapping) {
  require(sig.sources.defined(), "no reference sources to evaluate against (set data.references)");
  separation::SeparationStepOptions step;
  step.known_assignment = model.supervised();
  return RealisationScores::of(separation::run_separation_step(tlnmf_separated(model, sig, mapping), step).mixtures);
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
  separation::SeparatedMixture m;
  m.estimates = torch::stack(tlnmf_separate(*model, sig, 0, c.integers("model.component_sources")));
  m.mixture = sig.mixtures[0];
  if (sig.sources.defined()) {
    // Supervised source s is data.train's s-th source (the references are in that order);
    // unsupervised components have no names: each estimate takes the name of the reference
    // it matches (BSS Eval's best permutation) and is then scored as that source.
    m.names = sig.source_names;
    m.references = sig.sources[0];
    if (!model->supervised()) m = separation::matched_to_references(std::move(m));
  } else if (model->supervised()) {
    m.names = sig.source_names;  // data.train's names
  } else {
    for (int64_t s = 0; s < m.estimates.size(0); ++s) m.names.push_back("source" + std::to_string(s));
  }
  separation::SeparationStepOptions step;
  step.out_dir = options.write_outputs ? out_dir : "";
  step.sample_rate = static_cast<int>(std::lround(sig.sample_rate));
  step.wav_format = io::wav_format_from_name(c.string("output.wav_format"));
  step.known_assignment = true;
  step.quiet = options.quiet;
  return app::separation_result({m}, separation::run_separation_step({m}, step), out_dir);
}

}  // namespace factorch
