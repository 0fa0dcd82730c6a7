#include "factorch/models/networks/fourier_features.h"

#include <cmath>
#include <ostream>

#include "factorch/error.h"

namespace factorch::nn {

FourierFeaturesImpl::FourierFeaturesImpl(const FourierFeaturesOptions& options_) : options(options_) {
  require(options.in_features() >= 1, "FourierFeatures: in_features must be >= 1, got " +
                                          std::to_string(options.in_features()));
  require(options.n_frequencies() >= 1, "FourierFeatures: n_frequencies must be >= 1, got " +
                                            std::to_string(options.n_frequencies()));
  require(options.kind() == "octave" || options.kind() == "gaussian",
          "FourierFeatures: kind must be octave or gaussian, got '" + options.kind() + "'");
  require(options.sigma() > 0, "FourierFeatures: sigma must be > 0, got " + std::to_string(options.sigma()));
  reset();
}

void FourierFeaturesImpl::reset() {
  const int64_t d = options.in_features(), n = options.n_frequencies();
  torch::Tensor b;
  if (options.kind() == "octave") {
    // Row k·d + j is 2^k e_j: every dimension gets the same octave ladder.
    const torch::Tensor octaves = torch::pow(2.0, torch::arange(n, torch::kFloat64));
    b = torch::kron(octaves.unsqueeze(1), torch::eye(d, torch::kFloat64));
  } else {
    b = torch::randn({n, d}, torch::kFloat64) * options.sigma();
  }
  const torch::Tensor p = options.random_phase() ? torch::rand({b.size(0)}, torch::kFloat64) * (2.0 * M_PI)
                                                 : torch::zeros({b.size(0)}, torch::kFloat64);
  B = options.trainable() ? register_parameter("B", b) : register_buffer("B", b);
  phase = register_buffer("phase", p);
}

torch::Tensor FourierFeaturesImpl::forward(const torch::Tensor& v) {
  require(v.dim() >= 1 && v.size(-1) == options.in_features(),
          "FourierFeatures: input's last dimension must be " + std::to_string(options.in_features()));
  const torch::Tensor arg = torch::matmul(v, B.t()).mul(2.0 * M_PI).add(phase);
  return torch::cat({torch::cos(arg), torch::sin(arg)}, -1);
}

void FourierFeaturesImpl::pretty_print(std::ostream& stream) const {
  stream << "factorch::nn::FourierFeatures(in=" << options.in_features() << ", m=" << B.size(0)
         << ", kind=" << options.kind();
  if (options.kind() == "gaussian") stream << ", sigma=" << options.sigma();
  stream << (options.random_phase() ? ", random phase" : "") << (options.trainable() ? ", trainable" : "") << ")";
}

}  // namespace factorch::nn
