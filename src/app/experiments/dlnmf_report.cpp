// The dlnmf report: NMF (K), L-NMF and DL-NMF (last layer K) for every K of model.compare,
// trained and scored on the same supervised pipeline (the paper's Table 1): the table on
// stdout and in metrics.json, the kept discriminative round and why, the separated test
// mixtures under sources/, the baselines' factors under baselines/.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "app/experiments/layered_nmf_data.h"
#include "app/experiments/layered_nmf_models.h"
#include "app/experiments/layered_nmf_report.h"
#include "app/run.h"
#include "factorch/error.h"
#include "factorch/eval/metrics_json.h"
#include "factorch/io/wav.h"

namespace factorch::layered {

namespace fs = std::filesystem;

namespace {

struct Row {
  std::string method;
  std::vector<int64_t> layers;
  separation::Scores scores;
};

std::string sizes_text(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

eval::Json scores_json(const separation::Scores& sc, const std::vector<std::string>& names) {
  eval::Json out = eval::Json::object();
  for (const auto& [label, t] : {std::pair<const char*, torch::Tensor>{"sdr", sc.sdr}, {"sir", sc.sir}, {"sar", sc.sar}}) {
    eval::Json per = eval::Json::object();
    for (size_t s = 0; s < names.size(); ++s) per.set(names[s], t[s].item<double>());
    per.set("mean", t.mean().item<double>());
    out.set(label, per);
  }
  return out;
}

}  // namespace

void report_dlnmf(const Config& c, FactorModelImpl& trained, const app::Dataset& dataset, const std::string& out_dir) {
  auto* model = dynamic_cast<DiscriminativeLayeredNMFImpl*>(&trained);
  require(model != nullptr, "dlnmf report: the trained model is not a DL-NMF");
  const auto start = std::chrono::steady_clock::now();
  const auto set = dataset.get<LayeredData>().speech;  // loaded once by load_dlnmf
  if (set->test.empty()) {
    std::fprintf(stderr, "factorch: dlnmf: no test mixtures, nothing to separate\n");
    return;
  }
  const separation::PipelineOptions p = pipeline_options(c);
  const std::vector<int64_t> own = c.integers("model.layers");
  std::vector<int64_t> ks = c.integers("model.compare");
  if (ks.empty()) ks = {own.back()};
  const bool baselines = c.boolean("model.baselines");
  const TrainingData cpu_data = dataset.matrix.to(torch::kCPU, torch::kFloat64);
  std::vector<Row> rows;
  eval::Json training = eval::Json::array();
  std::vector<std::string> selections;  // which discriminative round each DL-NMF kept, and why

  // The L-NMF baseline: the DL-NMF with its recorded generative start (round 0) as layers.
  auto lnmf_of = [&](const DiscriminativeLayeredNMFImpl& dl) {
    auto copy = std::dynamic_pointer_cast<DiscriminativeLayeredNMFImpl>(dl.clone());
    const auto init = dl.initial_layers();
    for (size_t l = 0; l < init.size(); ++l) copy->set_factor("W" + std::to_string(l + 1), init[l]);
    return copy;
  };
  auto note_training = [&](const DiscriminativeLayeredNMFImpl& dl) {
    eval::Json j = eval::Json::object();
    j.set("layers", sizes_text(dl.options.layers()));
    j.set("rounds", dl.rounds_done());
    j.set("best_round", dl.best_round());
    j.set("kept_round", dl.best_round());
    j.set("kept_because", dl.selection_reason());
    j.set("validation_mixtures", static_cast<int64_t>(set->valid.size()));
    selections.push_back("DL-NMF [" + sizes_text(dl.options.layers()) + "]: kept round " + std::to_string(dl.best_round()) +
                         " of " + std::to_string(dl.rounds_done()) + ": " + dl.selection_reason());
    eval::Json v = eval::Json::array();
    for (double x : dl.validation_history()) v.push(x);
    j.set("validation_sdr", v);
    training.push(j);
  };

  for (const int64_t k : ks) {
    std::vector<int64_t> layers = own;
    layers.back() = k;
    if (baselines) {
      auto nmf = make_dlnmf(c, set, cpu_data, {k});
      rows.push_back({"NMF", {k}, separation::evaluate(*nmf, set->test, p)});
      if (k == own.back()) app::export_factors(nmf->factors(), (fs::path(out_dir) / "baselines" / ("nmf_K" + std::to_string(k))).string(), c.strings("output.formats"));
    }
    std::shared_ptr<DiscriminativeLayeredNMFImpl> dl;
    DiscriminativeLayeredNMFImpl* dl_model = nullptr;
    if (k == own.back()) {
      dl_model = model;
    } else {
      // Same K₁: the trained model's layer-1 pre-training is reused, not recomputed.
      dl = make_dlnmf(c, set, cpu_data, layers, layers.size() > 1 ? model->first_layer_pretraining()
                                                                    : std::vector<PretrainedLayer>{});
      app::RunOptions quiet;
      quiet.write_outputs = false;
      quiet.quiet = true;
      app::fit_model(c, dl, cpu_data, quiet, "");
      dl_model = dl.get();
    }
    if (baselines) {
      auto lnmf = lnmf_of(*dl_model);
      rows.push_back({"L-NMF", layers, separation::evaluate(*lnmf, set->test, p)});
      if (k == own.back()) app::export_factors(lnmf->factors(), (fs::path(out_dir) / "baselines" / ("lnmf_" + sizes_text(layers))).string(), c.strings("output.formats"));
    }
    std::vector<torch::Tensor> estimates;
    rows.push_back({"DL-NMF", layers, separation::evaluate(*dl_model, set->test, p, k == own.back() ? &estimates : nullptr)});
    note_training(*dl_model);
    for (size_t i = 0; i < estimates.size(); ++i) {
      // The test mixture too, played next to its sources by report.html.
      io::write_wav((fs::path(out_dir) / "mixtures" / (set->test[i].name + ".wav")).string(), set->test[i].mixture,
                    set->sample_rate);
      for (size_t s = 0; s < set->source_names.size(); ++s)
        io::write_wav((fs::path(out_dir) / "sources" / (set->test[i].name + "_" + set->source_names[s] + ".wav")).string(),
                      estimates[i][s], set->sample_rate);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Table on stdout and in metrics.json.
  std::ostringstream table;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-7s %-10s", "method", "layers");
  table << buf;
  for (const auto& n : set->source_names) {
    std::snprintf(buf, sizeof buf, " | %-6.6s SDR    SIR    SAR", n.c_str());
    table << buf;
  }
  table << " | mean SDR\n";
  eval::Json jrows = eval::Json::array();
  for (const Row& r : rows) {
    std::snprintf(buf, sizeof buf, "%-7s %-10s", r.method.c_str(), ("[" + sizes_text(r.layers) + "]").c_str());
    table << buf;
    for (size_t s = 0; s < set->source_names.size(); ++s) {
      std::snprintf(buf, sizeof buf, " |      %6.2f %6.2f %6.2f", r.scores.sdr[s].item<double>(), r.scores.sir[s].item<double>(),
                    r.scores.sar[s].item<double>());
      table << buf;
    }
    std::snprintf(buf, sizeof buf, " | %6.2f\n", r.scores.mean_sdr());
    table << buf;
    eval::Json j = scores_json(r.scores, set->source_names);
    j.set("method", r.method);
    j.set("layers", sizes_text(r.layers));
    jrows.push(j);
  }
  eval::Json ordering = eval::Json::object();
  eval::Json margins = eval::Json::object();  // mean-SDR gaps (dB) behind each ordering flag
  if (baselines) {
    for (size_t i = 0; i + 2 < rows.size(); i += 3) {
      const double a = rows[i].scores.mean_sdr(), b = rows[i + 1].scores.mean_sdr(), d = rows[i + 2].scores.mean_sdr();
      ordering.set("K=" + std::to_string(rows[i].layers.back()), a < b && b < d);
      eval::Json m = eval::Json::object();
      m.set("lnmf_minus_nmf", b - a);
      m.set("dlnmf_minus_lnmf", d - b);
      margins.set("K=" + std::to_string(rows[i].layers.back()), m);
    }
  }
  std::printf("Supervised separation of %zu test mixture(s) (SDR/SIR/SAR in dB, mean over mixtures):\n%s",
              set->test.size(), table.str().c_str());
  if (!set->valid.empty()) std::printf("Round selection on %zu validation mixture(s), mean SDR in dB:\n", set->valid.size());
  for (const std::string& line : selections) std::printf("  %s\n", line.c_str());
  std::fflush(stdout);

  eval::Json out = eval::Json::object();
  eval::Json names = eval::Json::array();
  for (const auto& n : set->source_names) names.push(n);
  out.set("sources", names);
  out.set("sample_rate", static_cast<int64_t>(set->sample_rate));
  out.set("test_mixtures", static_cast<int64_t>(set->test.size()));
  out.set("table", jrows);
  out.set("ordering_nmf_lt_lnmf_lt_dlnmf", ordering);
  out.set("ordering_margins_db", margins);
  out.set("dlnmf_training", training);
  out.set("report_seconds", seconds);
  eval::write_json((fs::path(out_dir) / "metrics.json").string(), out);
}

}  // namespace factorch::layered
