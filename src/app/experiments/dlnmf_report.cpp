// The dlnmf report: NMF (K), L-NMF and DL-NMF (last layer K) for every K of model.compare,
// trained and scored on the same supervised pipeline (the paper's Table 1): the table on
// stdout and in metrics.json (the shared schema: the config's DL-NMF as the run, the other
// rows as named baselines, the table in "details"), the kept discriminative round and why,
// the separated test mixtures under sources/, the baselines' factors under baselines/.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "app/experiments/layered_nmf_data.h"
#include "app/experiments/layered_nmf_models.h"
#include "app/experiments/layered_nmf_report.h"
#include "app/run.h"
#include "factorch/separation/separation_step.h"
#include "factorch/error.h"
#include "factorch/eval/table.h"
#include "factorch/io/wav.h"

namespace factorch::layered {

namespace fs = std::filesystem;

namespace {

std::string sizes_text(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

struct Row {
  std::string method;
  std::vector<int64_t> layers;
  std::vector<eval::MetricsTable> tables;  // one per test mixture
  separation::Scores scores;               // per source, mean over the test mixtures
  std::string name() const {  // under "baselines" in metrics.json, as its folder under baselines/
    if (method == "NMF") return "nmf_K" + std::to_string(layers.back());
    return (method == "L-NMF" ? "lnmf_" : "dlnmf_") + sizes_text(layers);
  }
};

Row scored_row(const std::string& method, const std::vector<int64_t>& layers, const DiscriminativeLayeredNMFImpl& model,
               const separation::SpeechSet& set, const separation::PipelineOptions& p, std::vector<torch::Tensor>* estimates = nullptr) {
  Row r{method, layers, separation::score_mixtures(model, set.test, set.source_names, p, estimates), {}};
  const eval::MetricsTable mean = eval::mean_over_mixtures(r.tables);
  r.scores = {torch::tensor(mean.sdr, torch::kFloat64), torch::tensor(mean.sir, torch::kFloat64),
              torch::tensor(mean.sar, torch::kFloat64)};
  return r;
}


// The comparison's rows of one method: one per source, then the mean over the sources.
void add_scores(eval::Table& t, const Row& r, const std::vector<std::string>& names) {
  const auto row = [&](const std::string& source, const torch::Tensor& sdr, const torch::Tensor& sir, const torch::Tensor& sar) {
    t.add_row({r.method, sizes_text(r.layers), r.name(), source, sdr.item<double>(), sir.item<double>(), sar.item<double>()});
  };
  const separation::Scores& sc = r.scores;
  for (size_t s = 0; s < names.size(); ++s) row(names[s], sc.sdr[s], sc.sir[s], sc.sar[s]);
  row("mean", sc.sdr.mean(), sc.sir.mean(), sc.sar.mean());
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
  // Which discriminative round each DL-NMF kept, and why (one row per K).
  eval::Table training("dlnmf_training", {"layers", "rounds", "best_round", "kept_round", "kept_because",
                                          "validation_mixtures", "validation_sdr"});
  std::vector<std::string> selections;  // which discriminative round each DL-NMF kept, and why
  std::vector<torch::Tensor> estimates;  // the config's own DL-NMF on each test mixture
  size_t own_row = 0;

  // The L-NMF baseline: the DL-NMF with its recorded generative start (round 0) as layers.
  auto lnmf_of = [&](const DiscriminativeLayeredNMFImpl& dl) {
    auto copy = std::dynamic_pointer_cast<DiscriminativeLayeredNMFImpl>(dl.clone());
    const auto init = dl.initial_layers();
    for (size_t l = 0; l < init.size(); ++l) copy->set_factor("W" + std::to_string(l + 1), init[l]);
    return copy;
  };
  auto note_training = [&](const DiscriminativeLayeredNMFImpl& dl) {
    training.add_row({sizes_text(dl.options.layers()), dl.rounds_done(), dl.best_round(), dl.best_round(),
                      dl.selection_reason(), static_cast<int64_t>(set->valid.size()), dl.validation_history()});
    selections.push_back("DL-NMF [" + sizes_text(dl.options.layers()) + "]: kept round " + std::to_string(dl.best_round()) +
                         " of " + std::to_string(dl.rounds_done()) + ": " + dl.selection_reason());
  };

  // The table takes long (≈ 45 s for configs/dlnmf_speakers.yaml): each row is announced
  // on stderr as it is scored, with the time so far.
  const size_t total_rows = ks.size() * (baselines ? 3 : 1);
  auto announce = [&](const Row& r) {
    std::fprintf(stderr, "dlnmf: table row %zu/%zu: %s [%s] mean SDR %.2f dB (%.0f s so far)\n", rows.size(),
                 total_rows, r.method.c_str(), sizes_text(r.layers).c_str(), r.scores.mean_sdr(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  std::fprintf(stderr, "dlnmf: scoring the comparison table (%zu rows: %s K = %s) on %zu test mixture(s)\n",
               total_rows, baselines ? "NMF, L-NMF and DL-NMF at" : "DL-NMF at", sizes_text(ks).c_str(),
               set->test.size());
  for (const int64_t k : ks) {
    std::vector<int64_t> layers = own;
    layers.back() = k;
    if (baselines) {
      auto nmf = make_dlnmf(c, set, cpu_data, {k});
      rows.push_back(scored_row("NMF", {k}, *nmf, *set, p));
      announce(rows.back());
      if (k == own.back()) app::export_factors(*nmf, (fs::path(out_dir) / "baselines" / rows.back().name()).string(), c.strings("output.formats"));
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
      rows.push_back(scored_row("L-NMF", layers, *lnmf, *set, p));
      announce(rows.back());
      if (k == own.back()) app::export_factors(*lnmf, (fs::path(out_dir) / "baselines" / rows.back().name()).string(), c.strings("output.formats"));
    }
    std::vector<torch::Tensor>* keep = k == own.back() ? &estimates : nullptr;
    rows.push_back(scored_row("DL-NMF", layers, *dl_model, *set, p, keep));
    announce(rows.back());
    if (keep) own_row = rows.size() - 1;
    note_training(*dl_model);
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
  // The table in metrics.json: long, one row per method and source (and each mean).
  eval::Table comparison("comparison", {"method", "layers", "name", "source", "sdr", "sir", "sar"});
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
    add_scores(comparison, r, set->source_names);
  }
  // NMF < L-NMF < DL-NMF at each K, with the mean-SDR gaps (dB) behind the flag.
  eval::Table ordering("ordering", {"K", "nmf_lt_lnmf_lt_dlnmf", "lnmf_minus_nmf_db", "dlnmf_minus_lnmf_db"});
  if (baselines) {
    for (size_t i = 0; i + 2 < rows.size(); i += 3) {
      const double a = rows[i].scores.mean_sdr(), b = rows[i + 1].scores.mean_sdr(), d = rows[i + 2].scores.mean_sdr();
      ordering.add_row({rows[i].layers.back(), a < b && b < d, b - a, d - b});
    }
  }
  std::printf("Supervised separation of %zu test mixture(s) (SDR/SIR/SAR in dB, mean over mixtures):\n%s",
              set->test.size(), table.str().c_str());
  if (!set->valid.empty()) std::printf("Round selection on %zu validation mixture(s), mean SDR in dB:\n", set->valid.size());
  for (const std::string& line : selections) std::printf("  %s\n", line.c_str());
  std::fflush(stdout);

  // metrics.json in the shared schema: the config's own DL-NMF is the run's separation, every
  // other row of the table a named baseline; the table, orderings and round selection are
  // DL-NMF's details. Its separated test mixtures go to sources/<mixture>/ through the step.
  eval::Table details("details");
  details.set("sample_rate", static_cast<int64_t>(set->sample_rate));
  details.set("test_mixtures", static_cast<int64_t>(set->test.size()));
  details.set("report_seconds", seconds);
  details.add(std::move(comparison)).add(std::move(ordering)).add(std::move(training));
  separation::SeparationScores scores;
  scores.scored = true;
  scores.mixtures = rows[own_row].tables;
  for (size_t i = 0; i < rows.size(); ++i)
    if (i != own_row) scores.baselines.push_back({rows[i].name(), rows[i].tables});
  std::vector<separation::SeparatedMixture> separated;
  for (size_t i = 0; i < estimates.size(); ++i) {
    separation::SeparatedMixture m;
    m.name = estimates.size() > 1 ? set->test[i].name : "";
    m.names = set->source_names;
    m.estimates = estimates[i];
    m.references = set->test[i].sources;
    m.mixture = set->test[i].mixture;  // played next to its sources by report.html
    separated.push_back(std::move(m));
  }
  separation::SeparationStepOptions step;
  step.out_dir = out_dir;
  step.sample_rate = static_cast<int>(set->sample_rate);
  step.wav_format = io::wav_format_from_name(c.string("output.wav_format"));
  step.details = eval::table_json(details);
  separation::write_separation(separated, scores, step);
}

}  // namespace factorch::layered
