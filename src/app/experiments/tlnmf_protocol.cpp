// The GCM paper's protocol (Sec. III-C): the whole experiment (R realisations, separation,
// scores averaged over them) repeated with new phases and initialisations; the figures are
// mean (std) over repetitions. A repetition's realisations are new data, loaded once each.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "app/data_block.h"
#include "app/experiments/tlnmf_app.h"
#include "factorch/error.h"

namespace factorch {

namespace {

// Mean and sample standard deviation over repetitions of realisation-averaged scores.
struct ScoreSpread {
  torch::Tensor mean, std;  // 3 × S: SDR, SIR, SAR per source
  double overall_mean = 0, overall_std = 0;  // of the mean SDR over sources
};

ScoreSpread spread_of(const std::vector<RealisationScores>& runs) {
  std::vector<torch::Tensor> rows;
  for (const auto& r : runs) rows.push_back(torch::stack({r.sdr, r.sir, r.sar}));
  const torch::Tensor all = torch::stack(rows);  // repeats × 3 × S
  const bool several = all.size(0) > 1;
  ScoreSpread out;
  out.mean = all.mean(0);
  out.std = several ? all.std(0) : torch::zeros_like(out.mean);
  const torch::Tensor sdr = all.select(1, 0).mean(1);
  out.overall_mean = sdr.mean().item<double>();
  out.overall_std = several ? sdr.std().item<double>() : 0.0;
  return out;
}

// One method's spread: a row per source, the mean SDR over sources as attributes.
eval::Table spread_table(const std::string& name, const ScoreSpread& s, const std::vector<std::string>& names) {
  eval::Table t(name, {"source", "sdr_mean", "sdr_std", "sir_mean", "sir_std", "sar_mean", "sar_std"}, "sources");
  for (int64_t k = 0; k < s.mean.size(1); ++k) {
    std::vector<eval::TableValue> row{k < static_cast<int64_t>(names.size()) ? names[k] : std::to_string(k)};
    for (int m = 0; m < 3; ++m) {
      row.emplace_back(s.mean[m][k].item<double>());
      row.emplace_back(s.std[m][k].item<double>());
    }
    t.add_row(std::move(row));
  }
  t.set("mean_sdr", s.overall_mean).set("mean_sdr_std", s.overall_std);
  return t;
}

void print_spread(const char* label, const ScoreSpread& s, const std::vector<std::string>& names) {
  std::printf("%-22s", label);
  const char* metric[3] = {"SDR", "SIR", "SAR"};
  for (int64_t k = 0; k < s.mean.size(1); ++k) {
    std::printf("  %s", k < static_cast<int64_t>(names.size()) ? names[k].c_str() : std::to_string(k).c_str());
    for (int m = 0; m < 3; ++m)
      std::printf(" %s %6.2f (%.2f)", metric[m], s.mean[m][k].item<double>(), s.std[m][k].item<double>());
  }
  std::printf("  | mean SDR %.2f (%.2f) dB\n", s.overall_mean, s.overall_std);
}

}  // namespace

void tlnmf_protocol(const Config& c, const RealisationScores& first, const std::optional<RealisationScores>& first_dct,
                    const TLNMFSignals& sig, eval::Table& details) {
  const int64_t repeats = c.integer("model.repeats");
  const std::vector<int64_t> mapping = c.integers("model.component_sources");
  std::vector<RealisationScores> tl_runs{first}, dct_runs;
  if (first_dct) dct_runs.push_back(*first_dct);
  const int64_t R = sig.mixtures.size(0), restarts = c.integer("model.restarts");
  // Every repetition is announced, the run's own (scored above) as 1/repeats, each with its
  // mean SDRs and, for the ones run here, their time.
  auto announce = [&](int64_t i, const std::string& when) {
    std::fprintf(stderr, "tlnmf: repetition %lld/%lld: TL-NMF %.2f dB, DCT-NMF %.2f dB (%s)\n",
                 static_cast<long long>(i + 1), static_cast<long long>(repeats), tl_runs.back().sdr.mean().item<double>(),
                 first_dct ? dct_runs.back().sdr.mean().item<double>() : std::nan(""), when.c_str());
  };
  announce(0, "the run above");
  for (int64_t i = 1; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> ov = {"model.seed=" + std::to_string(c.integer("model.seed") + i * restarts),
                                   "trainer.progress=never", "model.baseline=false", "model.plot=false"};
    if (!c.has("data.input"))
      ov.push_back("data.synthetic.seed=" + std::to_string(app::SyntheticParams(c).integer("seed") + i * R));
    // Both models of a repetition see the same new realisations.
    const app::Dataset rd = load_tlnmf_data(tlnmf_derived_config(c, ov));
    for (const bool learn : {true, false}) {
      if (!learn && !first_dct) continue;
      std::vector<std::string> o = ov;
      o.push_back(std::string("model.learn_phi=") + (learn ? "true" : "false"));
      if (!learn && c.string("model.phi_init") == "random") o.push_back("model.phi_init=dct");
      const Config rc = tlnmf_derived_config(c, o);
      app::RunOptions ro;
      ro.write_outputs = false;
      ro.quiet = true;
      const app::RunResult run = app::fit_model(rc, build_tlnmf(rc, rd), rd.matrix, ro, "");
      require(run.result.ok, "tlnmf report: repetition " + std::to_string(i) + " failed (non-finite objective)");
      auto* m = dynamic_cast<TLNMFImpl*>(run.model.get());
      m->to(torch::kCPU, torch::kFloat64);
      (learn ? tl_runs : dct_runs).push_back(tlnmf_evaluate(*m, tlnmf_signals_of(rd), mapping));
    }
    char took[32];
    std::snprintf(took, sizeof took, "%.0f s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    announce(i, took);
  }
  eval::Table protocol("protocol");
  protocol.set("repeats", repeats).set("realisations", R).set("std", "sample standard deviation over repetitions");
  std::printf("tlnmf: %lld repetitions of %lld realisations, mean (std) over repetitions:\n",
              static_cast<long long>(repeats), static_cast<long long>(R));
  const ScoreSpread tl = spread_of(tl_runs);
  protocol.add(spread_table("tlnmf", tl, sig.source_names));
  print_spread("  TL-NMF:", tl, sig.source_names);
  if (!dct_runs.empty()) {
    const ScoreSpread d = spread_of(dct_runs);
    protocol.add(spread_table("dct_nmf", d, sig.source_names));
    print_spread("  DCT-NMF (fixed Phi):", d, sig.source_names);
  }
  details.add(std::move(protocol));
}

}  // namespace factorch
