#include "factorch/models/supervised_separation.h"

#include "factorch/error.h"
#include "factorch/separation/separate.h"

namespace factorch::separation {

torch::Tensor magnitude_spectrogram(const torch::Tensor& x, const signal::StftOptions& stft, double exponent) {
  const torch::Tensor m = signal::magnitude(signal::stft(x, stft));
  return exponent == 1.0 ? m : m.pow(exponent);
}

torch::Tensor concatenated_spectrogram(const std::vector<torch::Tensor>& signals, const signal::StftOptions& stft,
                                       double exponent) {
  require(!signals.empty(), "no signals to analyse");
  std::vector<torch::Tensor> parts;
  for (const auto& x : signals) parts.push_back(magnitude_spectrogram(x, stft, exponent));
  return torch::cat(parts, 1);
}

torch::Tensor discriminative_matrix(const std::vector<Mixture>& mixtures, const signal::StftOptions& stft,
                                    double exponent) {
  require(!mixtures.empty(), "DL-NMF needs at least one discriminative-training mixture");
  std::vector<torch::Tensor> columns;
  for (const Mixture& m : mixtures) {
    std::vector<torch::Tensor> rows{magnitude_spectrogram(m.mixture, stft, exponent)};
    for (int64_t s = 0; s < m.sources.size(0); ++s) rows.push_back(magnitude_spectrogram(m.sources[s], stft, exponent));
    columns.push_back(torch::cat(rows, 0));
  }
  return torch::cat(columns, 1);
}

namespace {

LayeredNMF source_model(const torch::Tensor& X, const LayeredNMFOptions& base, const PipelineOptions& options) {
  LayeredNMFOptions o = base;
  o.n_features(X.size(0)).n_samples(X.size(1));
  LayeredNMF model(o);
  model->to(options.device, options.dtype);
  return model;
}

}  // namespace

std::vector<PretrainedLayer> pretrain_first_layers(const std::vector<torch::Tensor>& spectrograms,
                                                   const LayeredNMFOptions& base, const PipelineOptions& options) {
  std::vector<PretrainedLayer> out;
  for (const auto& spectrogram : spectrograms) {
    const torch::Tensor X = spectrogram.to(options.device, options.dtype);
    out.push_back(source_model(X, base, options)->pretrain_layer(X, 0));
  }
  return out;
}

std::vector<std::vector<torch::Tensor>> learn_source_layers(const std::vector<torch::Tensor>& spectrograms,
                                                            const LayeredNMFOptions& base, int64_t fine_tune_iter,
                                                            const PipelineOptions& options,
                                                            const std::vector<PretrainedLayer>& first_layers) {
  require(first_layers.empty() || first_layers.size() == spectrograms.size(),
          "L-NMF: " + std::to_string(first_layers.size()) + " pre-trained first layers for " +
              std::to_string(spectrograms.size()) + " sources");
  std::vector<std::vector<torch::Tensor>> out;
  for (size_t s = 0; s < spectrograms.size(); ++s) {
    const torch::Tensor X = spectrograms[s].to(options.device, options.dtype);
    LayeredNMF model = source_model(X, base, options);
    model->pretrain(X, first_layers.empty() ? PretrainedLayer{} : first_layers[s]);
    const TrainingData data{X, {}, false};
    for (int64_t it = 0; it < fine_tune_iter; ++it) model->mu_step(data);
    std::vector<torch::Tensor> layers;
    for (const auto& W : model->layers()) layers.push_back(W.detach().clone());
    out.push_back(std::move(layers));
  }
  return out;
}

std::shared_ptr<DiscriminativeLayeredNMFImpl> compose(const std::vector<std::vector<torch::Tensor>>& source_layers,
                                                      const DiscriminativeLayeredNMFOptions& model_options,
                                                      const PipelineOptions& options) {
  auto model = std::make_shared<DiscriminativeLayeredNMFImpl>(model_options);
  model->to(options.device, options.dtype);
  require(static_cast<int64_t>(source_layers.size()) == model_options.n_sources(),
          "DL-NMF: dictionaries for " + std::to_string(source_layers.size()) + " sources, the model has " +
              std::to_string(model_options.n_sources()));
  for (size_t s = 0; s < source_layers.size(); ++s) model->set_source_layers(static_cast<int64_t>(s), source_layers[s]);
  return model;
}

torch::Tensor separate_mixture(const DiscriminativeLayeredNMFImpl& model, const torch::Tensor& mixture,
                               const PipelineOptions& options) {
  RepresentationOptions ro;
  ro.stft = options.stft;
  ro.exponent = options.exponent;
  SeparateOptions so;
  // parts^(1/e) estimate magnitudes: the gain exponent p applies to them.
  so.mask_exponent = options.mask_exponent / options.exponent;
  so.keep_mixture = false;
  const auto parts = [&](const torch::Tensor& V) {
    return model.separate(V.to(options.device, options.dtype)).to(torch::kCPU, torch::kFloat64).unbind(0);
  };
  return separate(mixture.to(torch::kFloat64).cpu(), Representation(ro), parts, so).mixture.estimates;
}

std::vector<eval::MetricsTable> score_mixtures(const DiscriminativeLayeredNMFImpl& model,
                                               const std::vector<Mixture>& mixtures,
                                               const std::vector<std::string>& source_names,
                                               const PipelineOptions& options, std::vector<torch::Tensor>* estimates) {
  require(!mixtures.empty(), "no mixtures to evaluate");
  separation::SeparationStepOptions step;  // supervised: estimate s belongs to source s
  step.known_assignment = true;
  std::vector<eval::MetricsTable> tables;
  for (const Mixture& m : mixtures) {
    separation::SeparatedMixture separated;
    separated.name = m.name;
    separated.names = source_names;
    separated.estimates = separate_mixture(model, m.mixture, options);
    separated.references = m.sources;
    tables.push_back(separation::score_separation(separated, step));
    if (estimates) estimates->push_back(separated.estimates);
  }
  return tables;
}

Scores evaluate(const DiscriminativeLayeredNMFImpl& model, const std::vector<Mixture>& mixtures,
                const PipelineOptions& options, std::vector<torch::Tensor>* estimates) {
  require(!mixtures.empty(), "no mixtures to evaluate");
  std::vector<std::string> names;
  for (int64_t s = 0; s < mixtures.front().sources.size(0); ++s) names.push_back("source" + std::to_string(s + 1));
  const eval::MetricsTable mean = eval::mean_over_mixtures(score_mixtures(model, mixtures, names, options, estimates));
  return {torch::tensor(mean.sdr, torch::kFloat64), torch::tensor(mean.sir, torch::kFloat64),
          torch::tensor(mean.sar, torch::kFloat64)};
}

}  // namespace factorch::separation
