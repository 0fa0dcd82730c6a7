// `factorch separate` with lnmf and dlnmf: the trained compound model's Wiener estimates of
// each mixture of data.input, handed to the shared separation step (app/separation_step.h).

#include "app/experiments/layered_nmf_data.h"
#include "app/experiments/layered_nmf_models.h"
#include "app/experiments/layered_nmf_report.h"
#include "app/separation.h"
#include "factorch/separation/separation_step.h"
#include "factorch/error.h"
#include "factorch/eval/metrics_table.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/wav.h"

#include <filesystem>

namespace factorch::layered {

namespace {

// The trained compound model: lnmf = per-source L-NMF dictionaries (trainer.max_iter joint
// sweeps each); dlnmf = the same start (model.source_iter) then its discriminative rounds.
std::shared_ptr<DiscriminativeLayeredNMFImpl> trained_model(const Config& c, const app::Dataset& data,
                                                            const app::RunOptions& options, const std::string& out_dir) {
  const LayeredData& part = data.get<LayeredData>();
  if (c.string("model.type") == "lnmf") {
    auto model = supervised_model(c, *part.speech, 1, c.integers("model.layers"), c.integer("trainer.max_iter"));
    if (options.write_outputs) {
      // Per-source fits, not one trainer run: no history.csv or checkpoint.pt, but the config
      // that reproduces them and the learnt layers.
      io::write_file_atomically((std::filesystem::path(out_dir) / "config.resolved.yaml").string(), c.dump());
      app::export_factors(*model, out_dir, c.strings("output.formats"));
    }
    return model;
  }
  auto model = std::dynamic_pointer_cast<DiscriminativeLayeredNMFImpl>(build_dlnmf(c, data));
  const app::RunResult run = app::fit_model(c, model, data.matrix, options, out_dir);
  require(run.result.ok, "training failed: " + run.result.stop_reason);
  return model;
}

}  // namespace

app::SeparationResult separate_layered(const Config& c, const app::RunOptions& options) {
  // Everything is read and cross-checked before anything is trained or written.
  const app::Dataset data = load_for_separation(c);
  const LayeredData& part = data.get<LayeredData>();
  const std::vector<std::string>& names = part.speech->source_names;
  const separation::PipelineOptions p = pipeline_options(c);
  const std::string out_dir = c.string("output.dir");
  const bool several = part.inputs.size() > 1;

  const auto model = trained_model(c, data, options, out_dir);

  // The shared step writes sources/<name>.wav (several mixtures: sources/<mixture>/<name>.wav),
  // scores them against the references and writes metrics.json.
  std::vector<separation::SeparatedMixture> mixtures;
  for (const separation::Mixture& m : part.inputs) {
    separation::SeparatedMixture separated;
    separated.name = several ? m.name : "";
    separated.names = names;
    separated.estimates = separation::separate_mixture(*model, m.mixture, p);
    if (part.has_references) separated.references = m.sources;
    separated.mixture = m.mixture;
    mixtures.push_back(std::move(separated));
  }
  separation::SeparationStepOptions step;
  step.out_dir = options.write_outputs ? out_dir : "";
  step.sample_rate = part.speech->sample_rate;
  step.wav_format = io::wav_format_from_name(c.string("output.wav_format"));
  step.known_assignment = true;  // supervised: estimate s belongs to source s
  step.quiet = options.quiet;
  return app::separation_result(mixtures, separation::run_separation_step(mixtures, step), out_dir);
}

}  // namespace factorch::layered
