#include "factorch/signal/wiener.h"

#include "factorch/divergence.h"
#include "factorch/error.h"

namespace factorch::signal {

std::vector<torch::Tensor> wiener_masks(const std::vector<torch::Tensor>& source_powers, double eps) {
  require(!source_powers.empty(), "wiener_masks: no source power estimates");
  require(eps >= 0, "wiener_masks: eps must be non-negative");
  const auto K = static_cast<double>(source_powers.size());
  torch::Tensor total;
  for (size_t k = 0; k < source_powers.size(); ++k) {
    const auto& p = source_powers[k];
    require(p.defined() && !p.is_complex(), "wiener_masks: power estimate " + std::to_string(k) + " must be real");
    require(!(p < 0).any().item<bool>(), "wiener_masks: power estimate " + std::to_string(k) + " has negative values");
    try {
      total = total.defined() ? total + p : p.clone();
    } catch (const c10::Error&) {
      throw Error("wiener_masks: power estimate " + std::to_string(k) + " has shape " + c10::str(p.sizes()) +
                  ", incompatible with " + c10::str(total.sizes()));
    }
  }
  const auto denominator = total + eps;
  std::vector<torch::Tensor> masks;
  masks.reserve(source_powers.size());
  for (const auto& p : source_powers) {
    auto mask = (p + eps / K) / denominator;
    // An all-silent bin with eps = 0 is 0/0: share it equally.
    if (eps == 0) mask = torch::where(denominator > 0, mask, torch::full_like(mask, 1.0 / K));
    masks.push_back(mask.expand(denominator.sizes()));
  }
  return masks;
}

std::vector<torch::Tensor> apply_masks(const torch::Tensor& coefficients, const std::vector<torch::Tensor>& masks) {
  require(coefficients.defined(), "apply_masks: undefined coefficients");
  const auto real = coefficients.is_complex() ? c10::toRealValueType(coefficients.scalar_type())
                                              : coefficients.scalar_type();
  std::vector<torch::Tensor> parts;
  parts.reserve(masks.size());
  for (size_t k = 0; k < masks.size(); ++k) {
    require(masks[k].defined() && !masks[k].is_complex() && masks[k].sizes() == coefficients.sizes(),
            "apply_masks: mask " + std::to_string(k) + " has shape " + c10::str(masks[k].sizes()) +
                ", coefficients have " + c10::str(coefficients.sizes()));
    parts.push_back(coefficients * masks[k].to(coefficients.device(), real));
  }
  return parts;
}

std::vector<torch::Tensor> instantaneous_images(const torch::Tensor& X, const std::vector<torch::Tensor>& source_powers,
                                                const torch::Tensor& mixing_powers) {
  torch::NoGradGuard no_grad;
  const auto J = static_cast<int64_t>(source_powers.size());
  require(J > 0, "instantaneous_images: no source power estimates");
  require(X.defined() && X.dim() == 3, "instantaneous_images: coefficients must be channels x F x N");
  const int64_t I = X.size(0);
  require(mixing_powers.defined() && mixing_powers.dim() == 2 && mixing_powers.size(0) == I &&
              mixing_powers.size(1) == J,
          "instantaneous_images: mixing powers must be " + std::to_string(I) + " channels x " + std::to_string(J) +
              " sources, not " + (mixing_powers.defined() ? c10::str(mixing_powers.sizes()) : std::string("missing")));
  const torch::Tensor Q = mixing_powers.to(torch::kCPU);
  std::vector<torch::Tensor> S;
  for (int64_t j = 0; j < J; ++j) {
    const torch::Tensor& p = source_powers[static_cast<size_t>(j)];
    require(p.defined() && p.dim() == 2 && p.size(0) == X.size(1) && p.size(1) == X.size(2),
            "instantaneous_images: source power " + std::to_string(j) + " must be " + std::to_string(X.size(1)) + " x " +
                std::to_string(X.size(2)) + " (F x N of the coefficients), not " +
                (p.defined() ? c10::str(p.sizes()) : std::string("missing")));
    S.push_back(p.to(torch::kCPU));
  }
  // The floor keeps an all-silent bin at 0 instead of 0/0.
  const double tiny = BetaDivergence::tiny(torch::kFloat64);
  std::vector<torch::Tensor> images;
  for (int64_t j = 0; j < J; ++j) {
    std::vector<torch::Tensor> channels;
    for (int64_t i = 0; i < I; ++i) {
      torch::Tensor total = torch::zeros_like(S[0]);
      for (int64_t l = 0; l < J; ++l) total.add_(S[l], Q[i][l].item<double>());
      const torch::Tensor mask = (S[j] * Q[i][j].item<double>()) / total.clamp_min(tiny);
      channels.push_back(X[i].cpu() * mask);
    }
    images.push_back(torch::stack(channels));
  }
  return images;
}

}  // namespace factorch::signal
