#include "factorch/models/networks/siren.h"

#include <cmath>
#include <ostream>

#include "factorch/error.h"

namespace factorch::nn {

namespace {
double hidden_bound(int64_t fan_in, double omega_0) { return std::sqrt(6.0 / fan_in) / omega_0; }
}  // namespace

void siren_hidden_init_(torch::nn::Linear& linear, double omega_0) {
  torch::NoGradGuard no_grad;
  const double a = hidden_bound(linear->options.in_features(), omega_0);
  linear->weight.uniform_(-a, a);
}

SirenImpl::SirenImpl(const SirenOptions& options_) : options(options_) {
  require(options.in_features() >= 1 && options.width() >= 1,
          "Siren: in_features and width must be >= 1, got " + std::to_string(options.in_features()) + " and " +
              std::to_string(options.width()));
  require(options.layers() >= 1, "Siren: layers must be >= 1, got " + std::to_string(options.layers()));
  require(options.omega_0() > 0, "Siren: omega_0 must be > 0, got " + std::to_string(options.omega_0()));
  reset();
}

double SirenImpl::init_bound(int64_t i) const {
  const int64_t fan_in = i == 0 ? options.in_features() : options.width();
  if (i == 0 && options.first_is_input()) return 1.0 / fan_in;
  return hidden_bound(fan_in, options.omega_0());
}

void SirenImpl::reset() {
  layers = register_module("layers", torch::nn::ModuleList());
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < options.layers(); ++i) {
    torch::nn::Linear linear(i == 0 ? options.in_features() : options.width(), options.width());
    linear->to(torch::kFloat64);
    const double a = init_bound(i);
    linear->weight.uniform_(-a, a);
    layers->push_back(linear);
  }
}

torch::Tensor SirenImpl::forward(torch::Tensor x) {
  for (const auto& layer : *layers) x = torch::sin(options.omega_0() * layer->as<torch::nn::Linear>()->forward(x));
  return x;
}

void SirenImpl::pretty_print(std::ostream& stream) const {
  stream << "factorch::nn::Siren(in=" << options.in_features() << ", width=" << options.width()
         << ", layers=" << options.layers() << ", omega_0=" << options.omega_0() << ")";
}

}  // namespace factorch::nn
