// TL-NMF's report after `factorch train`: the learnt atoms, the separation of every
// realisation and its scores, the baselines, the repeated protocol, metrics.json and plots.
// Everything comes from the run's Dataset: nothing is loaded again.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "app/experiments/tlnmf_app.h"
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

eval::Json scores_json(const SeparationScores& s, const std::vector<std::string>& names) {
  eval::Json j = eval::Json::object(), per = eval::Json::array();
  for (int64_t k = 0; k < s.sdr.size(0); ++k) {
    eval::Json e = eval::Json::object();
    e.set("source", k < static_cast<int64_t>(names.size()) ? names[k] : std::to_string(k));
    e.set("sdr", s.sdr[k].item<double>()).set("sir", s.sir[k].item<double>()).set("sar", s.sar[k].item<double>());
    per.push(e);
  }
  j.set("sources", per);
  j.set("mean_sdr", s.sdr.mean().item<double>()).set("mean_sir", s.sir.mean().item<double>());
  j.set("mean_sar", s.sar.mean().item<double>());
  return j;
}

void write_sources(const std::string& dir, const SeparationScores& s, const TLNMFSignals& sig) {
  const int rate = static_cast<int>(std::lround(sig.sample_rate));
  io::write_wav((fs::path(dir) / "sources" / "mixture.wav").string(), sig.mixtures[0], rate);
  for (int64_t k = 0; k < s.estimates.size(1); ++k) {
    const std::string name = k < static_cast<int64_t>(sig.source_names.size()) ? sig.source_names[k] : std::to_string(k);
    io::write_wav((fs::path(dir) / "sources" / (name + ".wav")).string(), s.estimates[0][k], rate);
  }
}

void print_scores(const char* label, const SeparationScores& s) {
  std::printf("%-26s", label);
  for (int64_t k = 0; k < s.sdr.size(0); ++k)
    std::printf("  src%lld SDR %6.2f SIR %6.2f SAR %6.2f", static_cast<long long>(k), s.sdr[k].item<double>(),
                s.sir[k].item<double>(), s.sar[k].item<double>());
  std::printf("  | mean SDR %.2f dB\n", s.sdr.mean().item<double>());
}

}  // namespace

void report_tlnmf(const Config& c, FactorModelImpl& base_model, const app::Dataset& data, const std::string& out_dir) {
  auto* model = dynamic_cast<TLNMFImpl*>(&base_model);
  require(model != nullptr, "tlnmf report: the model is not a TL-NMF");
  model->to(torch::kCPU, torch::kFloat64);
  const TLNMFSignals& sig = tlnmf_signals_of(data);
  const std::vector<int64_t> mapping = c.integers("model.component_sources");
  eval::Json metrics = eval::Json::object();
  metrics.set("model", model->supervised() ? "supervised TL-NMF" : (model->options.learn_phi() ? "TL-NMF" : "fixed-transform NMF"));
  metrics.set("sample_rate", sig.sample_rate).set("realisations", static_cast<int64_t>(sig.mixtures.size(0)));

  // Atoms: the 8 most energetic rows of Φ (as exported), their peak frequency, and per
  // component the atom with the largest weight in w_k.
  const NamedTensors f = model->factors();
  const torch::Tensor Phi = *f.find("Phi"), W = *f.find("W");
  const int64_t top = std::min<int64_t>(8, Phi.size(0));
  const auto freqs = atom_peak_frequencies(Phi.narrow(0, 0, top), sig.sample_rate);
  eval::Json atoms = eval::Json::array();
  std::printf("tlnmf: peak frequency of the %lld most energetic atoms (Hz):", static_cast<long long>(top));
  for (double hz : freqs) {
    std::printf(" %.2f", hz);
    atoms.push(hz);
  }
  std::printf("\n");
  metrics.set("atom_frequencies_hz", atoms);
  if (!model->supervised()) {
    eval::Json comp = eval::Json::array();
    const torch::Tensor peak_rows = W.argmax(0);
    const auto cf = atom_peak_frequencies(Phi.index_select(0, peak_rows), sig.sample_rate);
    for (int64_t k = 0; k < W.size(1); ++k) {
      std::printf("tlnmf: component %lld: main atom %lld, fundamental %.2f Hz\n", static_cast<long long>(k),
                  static_cast<long long>(peak_rows[k].item<int64_t>()), cf[k]);
      comp.push(cf[k]);
    }
    metrics.set("component_frequencies_hz", comp);
  }

  std::optional<SeparationScores> mine, dct;
  if (sig.sources.defined()) {
    mine = tlnmf_evaluate(*model, sig, mapping);
    metrics.set("separation", scores_json(*mine, sig.source_names));
    write_sources(out_dir, *mine, sig);
    print_scores(model->options.learn_phi() ? "TL-NMF:" : "fixed-transform NMF:", *mine);
  } else {
    // No references: write the separated sources of the (single) input.
    const auto est = tlnmf_separate(*model, sig, 0, mapping);
    const int rate = static_cast<int>(std::lround(sig.sample_rate));
    for (size_t k = 0; k < est.size(); ++k)
      io::write_wav((fs::path(out_dir) / "sources" / ("source" + std::to_string(k) + ".wav")).string(), est[k], rate);
    std::printf("tlnmf: no references (data.references): sources written, separation not scored\n");
  }

  if (c.boolean("model.baseline") && model->options.learn_phi()) {
    dct = tlnmf_dct_baseline(c, data, mapping, out_dir);
    if (dct) {
      const std::string bdir = (fs::path(out_dir) / "baseline").string();
      write_sources(bdir, *dct, sig);
      eval::Json bj = eval::Json::object();
      bj.set("model", "DCT-NMF (fixed Phi)").set("separation", scores_json(*dct, sig.source_names));
      eval::write_json((fs::path(bdir) / "metrics.json").string(), bj);
      metrics.set("baseline_dct_nmf", scores_json(*dct, sig.source_names));
      print_scores("DCT-NMF (fixed Phi):", *dct);
    }
    if (model->supervised() && mine) {
      const SeparationScores ss = supervised_stft_isnmf(c, sig);
      metrics.set("baseline_stft_isnmf", scores_json(ss, sig.source_names));
      print_scores("supervised IS-NMF (STFT):", ss);
    } else if (model->supervised()) {
      std::printf("tlnmf: supervised IS-NMF baseline not scored (no reference sources)\n");
    }
  }
  if (c.integer("model.repeats") > 1 && mine && model->options.learn_phi()) tlnmf_protocol(c, *mine, dct, sig, metrics);
  eval::write_json((fs::path(out_dir) / "metrics.json").string(), metrics);

  if (c.boolean("model.plot")) {
    // Pictures without Python: the 8 most energetic atoms (rows: atoms, columns: samples) and
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
