#include "app/experiments/layered_nmf_models.h"

#include "app/experiments/layered_nmf_data.h"
#include "factorch/error.h"
#include "factorch/io/torch_file.h"

namespace factorch::layered {

LayeredNMFOptions layered_options(const Config& c, int64_t F, int64_t N) {
  LayeredNMFOptions o(F, N, c.integers("model.layers"));
  o.beta(BetaDivergence::from_name(c.string("model.beta")).beta()).eps(c.number("model.eps"));
  o.normalise(normalisation_from_name(c.string("model.normalise"))).pretrain_iter(c.integer("model.pretrain_iter"));
  o.seed(static_cast<uint64_t>(c.integer("model.seed")));
  const YAML::Node init = c.node("model.init");
  o.init(init.IsScalar() ? init.Scalar() : "random");
  return o;
}

std::shared_ptr<FactorModelImpl> build_lnmf(const Config& c, const app::Dataset& dataset) {
  const TrainingData& data = dataset.matrix;
  if (data.X.dim() != 2) c.fail("data.input", "must be a 2-D matrix for lnmf");
  auto model = std::make_shared<LayeredNMFImpl>(layered_options(c, data.X.size(0), data.X.size(1)));
  try {
    model->check_data(data);
  } catch (const Error& e) {
    c.fail(c.has("data.input") ? "data.input" : "data", e.what());
  }
  const YAML::Node init = c.node("model.init");
  std::vector<std::pair<std::string, torch::Tensor>> given;  // loaded and checked before pre-training
  if (init.IsMap()) {
    for (const auto& kv : init) {
      const std::string name = kv.first.Scalar(), file = kv.second.Scalar();
      try {
        torch::Tensor value = io::load_tensor(file);
        if (data.sharded() && name == "H") {
          // A data-parallel rank keeps its columns of the run's H.
          require(value.dim() == 2 && value.size(1) == data.shard->total,
                  "H must have one column per column of X (" + std::to_string(data.shard->total) + ")");
          value = value.slice(1, data.shard->begin, data.shard->end);
        }
        given.emplace_back(name, value);
        model->set_factor(name, given.back().second);
      } catch (const Error& e) {
        c.fail("model.init." + name, "(" + file + "): " + e.what());
      }
    }
  }
  if (data.sharded()) {
    if (model->options.init() != "random")
      c.fail("model.init", "is " + model->options.init() + ", which needs the whole of X at once: data-parallel runs "
                           "pre-train from random (or a map of given factors)");
    model->pretrain_sharded(data);
  } else {
    model->pretrain(data.X);
  }
  for (const auto& [name, value] : given) model->set_factor(name, value);  // given factors replace pre-trained ones
  return model;
}

DiscriminativeLayeredNMFOptions dl_options(const Config& c, const separation::SpeechSet& set, int64_t F, int64_t N,
                                           std::vector<int64_t> layers) {
  DiscriminativeLayeredNMFOptions o(F, N, std::move(layers), static_cast<int64_t>(set.source_names.size()));
  o.source_names(set.source_names).beta(BetaDivergence::from_name(c.string("model.beta")).beta()).eps(c.number("model.eps"));
  o.separation_iter(c.integer("model.separation_iter")).normalise(normalisation_from_name(c.string("model.normalise")));
  if (c.string("model.type") != "dlnmf") return o;  // lnmf: no discriminative rounds
  o.h_iter(c.integer("model.h_iter")).w_iter(c.integer("model.w_iter"));
  o.patience(c.integer("model.patience")).max_rounds(c.integer("trainer.max_iter"));
  return o;
}

std::shared_ptr<DiscriminativeLayeredNMFImpl> supervised_model(const Config& c, const separation::SpeechSet& set,
                                                                int64_t N, const std::vector<int64_t>& layers,
                                                                int64_t fine_tune_iter,
                                                                std::vector<PretrainedLayer> first_layers) {
  const separation::PipelineOptions p = pipeline_options(c);
  std::vector<torch::Tensor> spectrograms;
  for (const auto& signals : set.train)
    spectrograms.push_back(separation::concatenated_spectrogram(signals, p.stft, p.exponent));
  LayeredNMFOptions base = layered_options(c, 1, 1);
  base.layers(layers);
  if (layers.size() > 1 && first_layers.empty()) first_layers = separation::pretrain_first_layers(spectrograms, base, p);
  const auto source_layers = separation::learn_source_layers(spectrograms, base, fine_tune_iter, p, first_layers);
  auto model = separation::compose(source_layers, dl_options(c, set, spectrograms[0].size(0), N, layers), p);
  model->set_first_layer_pretraining(std::move(first_layers));
  model->remember_initial_layers();
  return model;
}

std::shared_ptr<DiscriminativeLayeredNMFImpl> make_dlnmf(const Config& c,
                                                         const std::shared_ptr<const separation::SpeechSet>& set,
                                                         const TrainingData& data, const std::vector<int64_t>& layers,
                                                         std::vector<PretrainedLayer> first_layers) {
  const separation::PipelineOptions p = pipeline_options(c);
  auto model = supervised_model(c, *set, data.X.size(1), layers, c.integer("model.source_iter"), std::move(first_layers));
  model->init_activations(data.X.narrow(0, 0, model->options.n_features()).to(p.device, p.dtype));
  if (!set->valid.empty()) {
    // Mean SDR over every validation mixture: one mixture is too noisy a guide for the round.
    model->set_validator([set, p](const DiscriminativeLayeredNMFImpl& m) { return separation::evaluate(m, set->valid, p).mean_sdr(); });
  }
  return model;
}

std::shared_ptr<FactorModelImpl> build_dlnmf(const Config& c, const app::Dataset& data) {
  if (c.string("trainer.kind") != "mu")
    c.fail("trainer.kind", "must be mu for dlnmf (its rounds alternate eq. 11 and eq. 14-16 multiplicative updates)");
  if (c.node("model.init").IsMap()) c.fail("model.init", "must be random, nndsvd or nndsvda for dlnmf");
  return make_dlnmf(c, data.get<LayeredData>().speech, data.matrix, c.integers("model.layers"));
}

}  // namespace factorch::layered
