#include "app/separation.h"

#include <cstdio>


#include "app/audio_data.h"
#include "factorch/error.h"
#include "factorch/io/wav.h"
#include "factorch/separation/separate.h"
#include "app/separation_blocks.h"
#include "app/experiments/registry.h"

namespace factorch::app {

namespace {

struct Grouping {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> components;
};

// output.sources, or component k → source k (named after the references when they match).
Grouping unsupervised_grouping(const Config& c, int64_t rank, const std::vector<std::string>& reference_names) {
  Grouping g;
  if (!c.has("output.sources")) {
    const bool named = static_cast<int64_t>(reference_names.size()) == rank;
    for (int64_t k = 0; k < rank; ++k) {
      g.names.push_back(named ? reference_names[k] : "component" + std::to_string(k));
      g.components.push_back({k});
    }
    return g;
  }
  std::vector<bool> used(rank, false);
  for (const auto& kv : c.node("output.sources")) {
    g.names.push_back(kv.first.Scalar());
    g.components.emplace_back();
    for (const auto& item : kv.second) {
      int64_t k = -1;
      try {
        k = item.as<int64_t>();
      } catch (const YAML::Exception&) {
      }
      if (k < 0 || k >= rank)
        c.fail("output.sources", kv.first.Scalar() + ": component '" + item.Scalar() + "' is not in 0.." +
                                     std::to_string(rank - 1));
      if (used[k]) c.fail("output.sources", "component " + std::to_string(k) + " is assigned twice");
      used[k] = true;
      g.components.back().push_back(k);
    }
    if (g.components.back().empty()) c.fail("output.sources", kv.first.Scalar() + " has no component");
  }
  return g;
}

// The factor the model describes as its dictionary (the shared path fixes it).
FactorDescription dictionary_of(FactorModelImpl& model) {
  const FactorDescriptions described = model.describe_factors();
  const FactorDescription* d = whole_factor(described, FactorRole::Dictionary);
  require(d != nullptr, "model " + model.type() + " describes no dictionary to separate with");
  return *d;
}

}  // namespace

SeparationResult run_separation(const Config& c, const RunOptions& options) {
  const std::string type = c.string("model.type");
  const ModelEntry& entry = model_entry(type);
  if (entry.separate) return entry.separate(c, options);
  require(entry.capabilities.separates && !entry.load_data,
          c.where("model.type") + ": factorch separate works with models of V ≈ WH on an audio representation; "
                                  "model.type " + type + " separates in the report of factorch train");
  if (!has_audio_input(c)) c.fail("data.input", "must be audio (a WAV file or data.synthetic) for factorch separate");
  // Long recordings: block by block, in memory bounded by data.block_seconds.
  if (separates_in_blocks(c, entry)) return run_block_separation(c, entry, options);

  // Everything is loaded and checked before training or writing anything.
  const AudioRepresentation rep(c);
  const AudioData audio = load_audio_data(c);
  rep.analyse(audio.mixture);  // a mixture shorter than one frame fails here, naming data.transform.n_fft
  const bool supervised = !audio.training.empty();
  const std::string out_dir = c.string("output.dir");
  if (!supervised) {
    // Validate before computing: the grouping of components and, with references, the
    // number of sources that the metrics compare.
    const Grouping planned = unsupervised_grouping(c, c.integer("model.rank"), audio.source_names);
    if (audio.references.defined() && static_cast<int64_t>(planned.names.size()) != audio.references.size(0))
      c.fail(c.has("output.sources") ? "output.sources" : "model.rank",
             "gives " + std::to_string(planned.names.size()) + " separated sources but there are " +
                 std::to_string(audio.references.size(0)) +
                 " references to score them against (group the components with output.sources)");
  }

  Grouping groups;
  std::vector<torch::Tensor> dictionaries;
  if (supervised) {
    const int64_t rank = c.integer("model.rank");
    dictionaries = learn_source_dictionaries(c, entry, rep, audio.training, options);
    for (size_t s = 0; s < audio.training.size(); ++s) {
      groups.names.push_back(audio.source_names[s]);
      groups.components.emplace_back();
      for (int64_t k = 0; k < rank; ++k) groups.components.back().push_back(static_cast<int64_t>(s) * rank + k);
    }
  }
  // The model's parts of the mixture's V: supervised, the activations on the concatenated,
  // fixed dictionaries; unsupervised, the model learnt on the mixture, grouped by
  // output.sources.
  const auto model_parts = [&](const torch::Tensor& V) {
    TrainingData data;
    data.X = V;
    RunResult run;
    if (supervised) {
      const Config mix = mixture_fit_config(c, static_cast<int64_t>(dictionaries.size()));
      std::shared_ptr<FactorModelImpl> model = build_model(entry, mix, data);
      model->set_factor(dictionary_of(*model).name, torch::cat(dictionaries, 1));
      run = fit_model(mix, model, data, options, out_dir);
    } else {
      run = fit_model(c, build_model(entry, c, data), data, options, out_dir);
    }
    require(run.result.ok, "training failed: " + run.result.stop_reason);
    NamedTensors f = run.model->factors();
    const FactorDescriptions described = run.model->describe_factors();
    const FactorDescription* Wd = whole_factor(described, FactorRole::Dictionary);
    const FactorDescription* Hd = whole_factor(described, FactorRole::Activations);
    require(Wd && Hd, "model.type " + type + " describes no dictionary and activations to separate with");
    const torch::Tensor W = f[Wd->name].to(torch::kCPU, torch::kFloat64), H = f[Hd->name].to(torch::kCPU, torch::kFloat64);
    if (!supervised) groups = unsupervised_grouping(c, W.size(1), audio.source_names);
    std::vector<torch::Tensor> parts;
    for (const auto& idx : groups.components) {
      const torch::Tensor k = torch::tensor(idx, torch::kLong);
      parts.push_back(torch::mm(W.index_select(1, k), H.index_select(0, k)));
    }
    return parts;
  };
  separation::SeparatedMixture separated = separation::separate(audio.mixture, rep.representation(), model_parts).mixture;
  separated.names = groups.names;
  if (audio.references.defined()) {
    require(separated.estimates.size(0) == audio.references.size(0),
            std::to_string(separated.estimates.size(0)) + " separated sources but " +
                std::to_string(audio.references.size(0)) + " references");
    separated.references = audio.references;
    separated.reference_names = audio.source_names;
  }
  separation::SeparationStepOptions step;
  step.out_dir = options.write_outputs ? out_dir : "";
  step.sample_rate = audio.sample_rate;
  step.wav_format = io::wav_format_from_name(c.string("output.wav_format"));
  step.known_assignment = supervised;
  step.quiet = options.quiet;
  step.eval_window = c.number("output.eval_window");
  step.eval_hop = c.number("output.eval_hop");
  return separation_result({separated}, separation::run_separation_step({separated}, step), out_dir);
}

SeparationResult separation_result(const std::vector<separation::SeparatedMixture>& mixtures, const separation::SeparationScores& scores,
                                   const std::string& out_dir) {
  require(!mixtures.empty(), "separation_result: no mixture");
  const bool several = mixtures.size() > 1;
  SeparationResult out;
  out.out_dir = out_dir;
  out.estimates = mixtures.front().estimates;
  for (const auto& m : mixtures)
    for (const std::string& name : m.names) out.names.push_back(several ? m.name + "/" + name : name);
  out.has_metrics = scores.scored;
  if (scores.scored) {
    out.table = several ? eval::mean_over_mixtures(scores.mixtures) : scores.mixtures.front();
    const eval::MetricsTable& t = out.table;
    out.metrics = {torch::tensor(t.sdr, torch::kFloat64), torch::tensor(t.sir, torch::kFloat64),
                   torch::tensor(t.sar, torch::kFloat64), t.permutation};
    out.reference_names = t.names;
  }
  return out;
}

}  // namespace factorch::app
