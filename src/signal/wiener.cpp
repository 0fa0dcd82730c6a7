#include "factorch/signal/wiener.h"

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

}  // namespace factorch::signal
