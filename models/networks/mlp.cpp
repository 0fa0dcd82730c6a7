#include "factorch/models/networks/mlp.h"

#include <ostream>

#include <torch/nn/functional/activation.h>

#include "factorch/error.h"

namespace factorch::nn {

void validate(const ImplicitMLPOptions& o) {
  require(o.in_features() >= 1 && o.out_features() >= 1, "ImplicitMLP: in/out features must be >= 1");
  require(o.width() >= 1, "ImplicitMLP: width must be >= 1, got " + std::to_string(o.width()));
  require(o.depth() >= 1, "ImplicitMLP: depth must be >= 1, got " + std::to_string(o.depth()));
  require(o.omega_0() > 0, "ImplicitMLP: omega_0 must be > 0, got " + std::to_string(o.omega_0()));
  require(o.features() == "octave" || o.features() == "gaussian" || o.features() == "none",
          "ImplicitMLP: features must be octave, gaussian or none, got '" + o.features() + "'");
  require(o.n_frequencies() >= 1, "ImplicitMLP: n_frequencies must be >= 1");
  require(o.sigma() > 0, "ImplicitMLP: sigma must be > 0");
}

ImplicitMLPImpl::ImplicitMLPImpl(const ImplicitMLPOptions& options_) : options(options_) {
  validate(options);
  reset();
}

void ImplicitMLPImpl::reset() {
  int64_t in = options.in_features();
  if (options.features() != "none") {
    features = register_module(
        "features", FourierFeatures(FourierFeaturesOptions(in, options.n_frequencies())
                                        .kind(options.features())
                                        .sigma(options.sigma())
                                        .random_phase(options.random_phase())
                                        .trainable(options.trainable_features())));
    in = features->out_features();
  }
  siren = register_module("siren", Siren(SirenOptions(in, options.width()).layers(options.depth()).omega_0(options.omega_0())));
  output = register_module("output", torch::nn::Linear(options.width(), options.out_features()));
  output->to(torch::kFloat64);
  siren_hidden_init_(output, options.omega_0());
  torch::NoGradGuard no_grad;
  output->bias.fill_(options.output_bias());
}

torch::Tensor ImplicitMLPImpl::forward(const torch::Tensor& v) {
  torch::Tensor x = features ? features->forward(v) : v;
  x = output->forward(siren->forward(x));
  return options.softplus() ? torch::softplus(x) : x;
}

void ImplicitMLPImpl::pretty_print(std::ostream& stream) const {
  stream << "factorch::nn::ImplicitMLP(in=" << options.in_features() << ", out=" << options.out_features()
         << ", features=" << options.features() << ", width=" << options.width() << ", depth=" << options.depth()
         << ", omega_0=" << options.omega_0() << (options.softplus() ? ", softplus" : "") << ")";
}

}  // namespace factorch::nn
