// `factorch separate` with lnmf and dlnmf: the one function that turns the trained compound
// model into separated sources, scores and files (to be routed through the shared separation
// step, app/separation_step.h, once it exists: only separate_layered changes then).
#include <cstdio>
#include <filesystem>

#include "app/experiments/layered_nmf_data.h"
#include "app/experiments/layered_nmf_models.h"
#include "app/experiments/layered_nmf_report.h"
#include "factorch/error.h"
#include "factorch/eval/metrics_json.h"
#include "factorch/io/wav.h"

namespace factorch::layered {

namespace fs = std::filesystem;

namespace {

// The trained compound model: lnmf = per-source L-NMF dictionaries (trainer.max_iter joint
// sweeps each); dlnmf = the same start (model.source_iter) then its discriminative rounds.
std::shared_ptr<DiscriminativeLayeredNMFImpl> trained_model(const Config& c, const app::Dataset& data,
                                                            const app::RunOptions& options, const std::string& out_dir) {
  const LayeredData& part = data.get<LayeredData>();
  if (c.string("model.type") == "lnmf") {
    auto model = supervised_model(c, *part.speech, 1, c.integers("model.layers"), c.integer("trainer.max_iter"));
    if (options.write_outputs) app::export_factors(model->factors(), out_dir, c.strings("output.formats"));
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
  const io::WavFormat format = io::wav_format_from_name(c.string("output.wav_format"));
  const std::string out_dir = c.string("output.dir");
  const bool several = part.inputs.size() > 1;

  const auto model = trained_model(c, data, options, out_dir);

  app::SeparationResult out;
  out.out_dir = out_dir;
  eval::BssEvalOptions bss;
  bss.compute_permutation = false;  // supervised: estimate s belongs to source s
  eval::BssEvalResult total;
  eval::Json details = eval::Json::array();
  for (const separation::Mixture& m : part.inputs) {
    const torch::Tensor estimates = separation::separate_mixture(*model, m.mixture, p);
    // One mixture: sources/<name>.wav; several: sources/<mixture>/<name>.wav.
    const std::string prefix = several ? m.name + "/" : "";
    for (const std::string& name : names) out.names.push_back(prefix + name);
    if (!out.estimates.defined()) out.estimates = estimates;
    if (options.write_outputs) {
      for (size_t s = 0; s < names.size(); ++s)
        io::write_wav((fs::path(out_dir) / "sources" / (prefix + names[s] + ".wav")).string(), estimates[s],
                      part.speech->sample_rate, format);
      // The mixture too, so that report.html can play it next to the sources.
      io::write_wav((fs::path(out_dir) / (several ? "mixtures/" + m.name + ".wav" : std::string("mixture.wav"))).string(),
                    m.mixture, part.speech->sample_rate, format);
    }
    if (!part.has_references) continue;
    const eval::BssEvalResult r = eval::bss_eval_sources(m.sources, estimates, bss);
    details.push(eval::bss_metrics_json(r, names, names, bss).set("mixture", m.name));
    if (!total.sdr.defined()) {
      total = r;
      total.sdr = r.sdr.clone(), total.sir = r.sir.clone(), total.sar = r.sar.clone();
    } else {
      total.sdr += r.sdr, total.sir += r.sir, total.sar += r.sar;
    }
  }
  if (!part.has_references) {
    if (!options.quiet) std::printf("no references: metrics not written\n");
    return out;
  }
  const double n = static_cast<double>(part.inputs.size());
  total.sdr /= n, total.sir /= n, total.sar /= n;  // the mean over mixtures, per source
  out.has_metrics = true;
  out.metrics = total;
  out.reference_names = names;  // with several mixtures, each row is the mean over them
  if (options.write_outputs) {
    eval::Json json = eval::bss_metrics_json(total, names, names, bss);
    json.set("mixtures", static_cast<int64_t>(part.inputs.size()));
    json.set("details", details);
    eval::write_json((fs::path(out_dir) / "metrics.json").string(), json);
  }
  return out;
}

}  // namespace factorch::layered
