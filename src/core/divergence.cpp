#include "factorch/divergence.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include <ATen/ATen.h>

#include "factorch/error.h"

namespace factorch {

namespace {
std::string format_number(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}
}  // namespace

BetaDivergence::BetaDivergence(double beta, double eps) : beta_(beta), eps_(eps) {
  require(std::isfinite(beta), "beta must be a finite number, got " + format_number(beta));
  require(std::isfinite(eps) && eps >= 0.0, "eps must be >= 0, got " + format_number(eps));
}

BetaDivergence BetaDivergence::from_name(const std::string& name, double eps) {
  if (name == "euclidean" || name == "frobenius") return BetaDivergence(2.0, eps);
  if (name == "kl" || name == "kullback-leibler") return BetaDivergence(1.0, eps);
  if (name == "is" || name == "itakura-saito") return BetaDivergence(0.0, eps);
  char* end = nullptr;
  const double beta = std::strtod(name.c_str(), &end);
  require(!name.empty() && end && *end == '\0',
          "beta must be euclidean, kl, is or a number, got '" + name + "'");
  return BetaDivergence(beta, eps);
}

std::string BetaDivergence::name() const {
  if (is_euclidean()) return "euclidean";
  if (is_kl()) return "kl";
  if (is_is()) return "is";
  return "beta=" + format_number(beta_);
}

double BetaDivergence::exponent() const {
  if (beta_ < 1.0) return 1.0 / (2.0 - beta_);
  if (beta_ > 2.0) return 1.0 / (beta_ - 1.0);
  return 1.0;
}

double BetaDivergence::tiny(torch::ScalarType dtype) {
  // v̂^(β−2) must stay finite for β down to about −2: 1e-18^-2 = 1e36 < FLT_MAX.
  return dtype == torch::kFloat64 ? 1e-150 : 1e-18;
}

torch::Tensor BetaDivergence::elementwise(const torch::Tensor& X_in, const torch::Tensor& V_in) const {
  const torch::Tensor X = eps_ > 0 ? X_in + eps_ : X_in;
  const torch::Tensor V = eps_ > 0 ? V_in + eps_ : V_in;
  if (is_euclidean()) return 0.5 * (X - V).square();
  // Where x = 0 the terms x·log v and x·v^(β−1) are 0 for every v, but their autograd
  // derivatives x/v and x·(β−1)·v^(β−2) are 0/0 = NaN at v = 0 (exact zeros that MU
  // pre-training leaves in a model, e.g. L-NMF's H on silent frames). Their v is replaced by 1
  // there: the same value, and the derivative of the limit (0).
  const torch::Tensor V_cross = V.requires_grad() ? V.masked_fill(X == 0, 1.0) : V;
  if (is_kl()) return at::xlogy(X, X) - at::xlogy(X, V_cross) - X + V;
  if (is_is()) {
    const torch::Tensor ratio = X / V;
    return ratio - ratio.log() - 1.0;
  }
  const double b = beta_;
  return (X.pow(b) + (b - 1.0) * V.pow(b) - b * X * V_cross.pow(b - 1.0)) / (b * (b - 1.0));
}

torch::Tensor BetaDivergence::value(const torch::Tensor& X, const torch::Tensor& V,
                                    const torch::Tensor& mask) const {
  torch::Tensor d = elementwise(X, V);
  if (mask.defined()) d = d * mask;
  return d.sum();
}

std::pair<torch::Tensor, torch::Tensor> BetaDivergence::mu_parts(const torch::Tensor& X_in,
                                                                 const torch::Tensor& V_in,
                                                                 const torch::Tensor& mask) const {
  const torch::Tensor X = eps_ > 0 ? X_in + eps_ : X_in;
  torch::Tensor V = (eps_ > 0 ? V_in + eps_ : V_in).clamp_min(tiny(V_in.scalar_type()));
  torch::Tensor neg, pos;
  if (is_euclidean()) {
    neg = X.clone();
    pos = V;
  } else if (is_kl()) {
    neg = X / V;
    pos = torch::ones_like(V);
  } else {
    pos = V.pow(beta_ - 1.0);
    neg = X * pos / V;
  }
  if (mask.defined()) {
    neg.mul_(mask);
    pos = pos * mask;
  }
  return {neg, pos};
}

void BetaDivergence::check_data(const torch::Tensor& X, const std::string& what) const {
  require(X.defined() && X.numel() > 0, what + ": data is empty");
  const torch::Tensor finite = X.isfinite();
  if (!finite.all().item<bool>()) {
    const int64_t bad = (~finite).sum().item<int64_t>();
    throw Error(what + ": data has " + std::to_string(bad) + " NaN/Inf entries");
  }
  const int64_t negative = (X < 0).sum().item<int64_t>();
  require(negative == 0, what + ": data has " + std::to_string(negative) +
                             " negative entries (nonnegative data required), min = " +
                             format_number(X.min().item<double>()));
  if (beta_ <= 0.0 && eps_ == 0.0) {
    const int64_t zeros = (X == 0).sum().item<int64_t>();
    require(zeros == 0, what + ": data has " + std::to_string(zeros) + " zero entries; the " + name() +
                            " divergence (beta <= 0) is undefined at x = 0: set eps (model.eps in a config, e.g. 1e-9) "
                            "to add a floor to data and model");
  }
}

}  // namespace factorch
