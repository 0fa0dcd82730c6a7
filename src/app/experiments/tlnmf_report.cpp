// TL-NMF's report after `factorch train`: the learnt atoms, the separation of every
// realisation and its scores, the baselines, the repeated protocol, metrics.json and plots.
// Everything comes from the run's Dataset: nothing is loaded again.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "app/experiments/tlnmf_app.h"
#include "app/report.h"
#include "factorch/error.h"
#include "factorch/io/png.h"
#include "factorch/io/wav.h"

namespace factorch {

namespace fs = std::filesystem;

std::vector<double> atom_peak_frequencies(const torch::Tensor& atoms, double sample_rate) {
  const int64_t n_fft = 1 << 16;
  const torch::Tensor mag = torch::fft_rfft(atoms.to(torch::kCPU, torch::kFloat64), n_fft, 1).abs().clamp_min(1e-300).log();
  const auto a = mag.accessor<double, 2>();
  std::vector<double> out;
  for (int64_t m = 0; m < mag.size(0); ++m) {
    int64_t best = 0;
    for (int64_t k = 1; k < mag.size(1); ++k)
      if (a[m][k] > a[m][best]) best = k;
    double delta = 0;
    if (best > 0 && best + 1 < mag.size(1)) {
      const double l = a[m][best - 1], c = a[m][best], r = a[m][best + 1];
      const double den = l - 2 * c + r;
      if (den < 0) delta = 0.5 * (l - r) / den;
    }
    out.push_back((static_cast<double>(best) + delta) * sample_rate / static_cast<double>(n_fft));
  }
  return out;
}

namespace {

void print_scores(const char* label, const eval::MetricsTable& t) {
  std::printf("%-26s", label);
  for (size_t k = 0; k < t.size(); ++k)
    std::printf("  %s SDR %6.2f SIR %6.2f SAR %6.2f", t.names[k].c_str(), t.sdr[k], t.sir[k], t.sar[k]);
  std::printf("  | mean SDR %.2f dB\n", t.mean_sdr());
}

eval::MetricsTable mean_table(const std::vector<eval::MetricsTable>& realisations) {
  return realisations.size() == 1 ? realisations.front() : eval::mean_over_mixtures(realisations);
}

}  // namespace

void report_tlnmf(const Config& c, FactorModelImpl& base_model, const app::Dataset& data, const std::string& out_dir) {
  auto* model = dynamic_cast<TLNMFImpl*>(&base_model);
  require(model != nullptr, "tlnmf report: the model is not a TL-NMF");
  model->to(torch::kCPU, torch::kFloat64);
  const TLNMFSignals& sig = tlnmf_signals_of(data);
  const std::vector<int64_t> mapping = c.integers("model.component_sources");
  // metrics.json is the shared schema (eval/metrics_table.h); TL-NMF's extras go in "details".
  eval::Table details("details");
  details.set("model", model->supervised() ? "supervised TL-NMF" : (model->options.learn_phi() ? "TL-NMF" : "fixed-transform NMF"));
  details.set("sample_rate", sig.sample_rate).set("realisations", static_cast<int64_t>(sig.mixtures.size(0)));

  // Atoms: the app::kShownAtoms most energetic rows of Φ (as exported), their peak frequency,
  // and per component the atom with the largest weight in w_k.
  const NamedTensors f = model->factors();
  const torch::Tensor Phi = *f.find("Phi"), W = *f.find("W");
  const int64_t top = std::min<int64_t>(app::kShownAtoms, Phi.size(0));
  const auto freqs = atom_peak_frequencies(Phi.narrow(0, 0, top), sig.sample_rate);
  std::vector<double> atoms;
  std::printf("tlnmf: peak frequency of the %lld most energetic atoms (Hz):", static_cast<long long>(top));
  for (double hz : freqs) {
    std::printf(" %.2f", hz);
    atoms.push_back(hz);
  }
  std::printf("\n");
  details.set("atom_frequencies_hz", atoms);
  if (!model->supervised()) {
    std::vector<double> comp;
    const torch::Tensor peak_rows = W.argmax(0);
    const auto cf = atom_peak_frequencies(Phi.index_select(0, peak_rows), sig.sample_rate);
    for (int64_t k = 0; k < W.size(1); ++k) {  // numbered from 1, as sources/…/component<k>.wav
      std::printf("tlnmf: component %lld: main atom %lld, fundamental %.2f Hz\n", static_cast<long long>(k + 1),
                  static_cast<long long>(peak_rows[k].item<int64_t>()), cf[k]);
      comp.push_back(cf[k]);
    }
    details.set("component_frequencies_hz", comp);
  }

  // Every realisation separated, the baselines on the same mixtures; scored first (the
  // protocol needs the scores), then the step writes sources/, baselines/ and metrics.json.
  const std::vector<separation::SeparatedMixture> mine = tlnmf_separated(*model, sig, mapping);
  std::vector<separation::BaselineSeparation> baselines;
  if (c.boolean("model.baseline") && model->options.learn_phi()) {
    if (auto dct = tlnmf_dct_baseline(c, data, mapping, out_dir)) baselines.push_back({"dct_nmf", std::move(*dct)});
    if (model->supervised() && sig.sources.defined()) {
      baselines.push_back({"stft_isnmf", supervised_stft_isnmf(c, sig)});
    } else if (model->supervised()) {
      std::printf("tlnmf: supervised IS-NMF baseline not scored (no reference sources)\n");
    }
  }
  separation::SeparationStepOptions step = tlnmf_step_options(c, *model, sig);
  separation::SeparationScores scores = separation::run_separation_step(mine, step, baselines);
  if (scores.scored) {
    print_scores(model->options.learn_phi() ? "TL-NMF:" : "fixed-transform NMF:", mean_table(scores.mixtures));
    std::optional<RealisationScores> dct;
    for (const auto& b : scores.baselines) {
      print_scores(b.name == "dct_nmf" ? "DCT-NMF (fixed Phi):" : "supervised IS-NMF (STFT):", mean_table(b.mixtures));
      if (b.name == "dct_nmf") dct = RealisationScores::of(b.mixtures);
    }
    if (c.integer("model.repeats") > 1 && model->options.learn_phi())
      tlnmf_protocol(c, RealisationScores::of(scores.mixtures), dct, sig, details);
  }
  step.out_dir = out_dir;
  step.details = eval::table_json(details);
  separation::write_separation(mine, scores, step, baselines);

  if (c.boolean("model.plot")) {
    // Pictures without Python: the most energetic atoms (rows: atoms, columns: samples) and
    // their power spectra (columns: 0 … fs/2, dB), as heatmaps. tools/plot_tlnmf.py draws
    // nicer curves from factors/Phi.npy where matplotlib is installed.
    const torch::Tensor atoms8 = Phi.narrow(0, 0, top).to(torch::kCPU, torch::kFloat64);
    io::write_png_heatmap((fs::path(out_dir) / "atoms.png").string(),
                          atoms8.repeat_interleave(8, 0), /*log_scale=*/false);
    const torch::Tensor spectra = torch::fft_rfft(atoms8, 1024, 1).abs().pow(2);
    io::write_png_heatmap((fs::path(out_dir) / "atom_spectra.png").string(),
                          spectra.repeat_interleave(8, 0), /*log_scale=*/true);
    std::printf("tlnmf: atoms.png and atom_spectra.png written (rows: the %lld most energetic atoms)\n",
                static_cast<long long>(top));
  }
}

}  // namespace factorch
