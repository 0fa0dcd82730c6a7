#include "factorch/models/nmf_init.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "factorch/error.h"
#include "factorch/tolerances.h"

namespace factorch {

torch::Tensor random_nonnegative(at::IntArrayRef shape, double scale, uint64_t seed,
                                 const torch::TensorOptions& options) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::Tensor r = at::normal(0.0, 1.0, shape, gen, torch::TensorOptions().dtype(torch::kFloat64));
  return r.abs_().mul_(scale).to(options);
}

namespace {

std::pair<torch::Tensor, torch::Tensor> nndsvd(const torch::Tensor& V, int64_t K, bool fill_mean) {
  const torch::Tensor V64 = V.to(torch::kFloat64);
  auto [U, S, Vh] = at::linalg_svd(V64, /*full_matrices=*/false);
  const int64_t F = V.size(0), N = V.size(1);
  torch::Tensor W = torch::zeros({F, K}, V64.options());
  torch::Tensor H = torch::zeros({K, N}, V64.options());
  // The leading singular pair of a nonnegative matrix can be chosen nonnegative.
  W.select(1, 0).copy_(U.select(1, 0).abs() * std::sqrt(S[0].item<double>()));
  H.select(0, 0).copy_(Vh.select(0, 0).abs() * std::sqrt(S[0].item<double>()));
  for (int64_t j = 1; j < K && j < S.size(0); ++j) {
    const torch::Tensor x = U.select(1, j), y = Vh.select(0, j);
    const torch::Tensor xp = x.clamp_min(0), xn = (-x).clamp_min(0);
    const torch::Tensor yp = y.clamp_min(0), yn = (-y).clamp_min(0);
    const double xpn = xp.norm().item<double>(), ypn = yp.norm().item<double>();
    const double xnn = xn.norm().item<double>(), ynn = yn.norm().item<double>();
    const double mp = xpn * ypn, mn = xnn * ynn;
    torch::Tensor u, v;
    double sigma;
    if (mp > mn) {
      u = xp / std::max(xpn, 1e-300);
      v = yp / std::max(ypn, 1e-300);
      sigma = mp;
    } else {
      u = xn / std::max(xnn, 1e-300);
      v = yn / std::max(ynn, 1e-300);
      sigma = mn;
    }
    const double lambda = std::sqrt(S[j].item<double>() * sigma);
    W.select(1, j).copy_(u * lambda);
    H.select(0, j).copy_(v * lambda);
  }
  W.masked_fill_(W < kFactorFloor, 0.0);
  H.masked_fill_(H < kFactorFloor, 0.0);
  if (fill_mean) {
    const double mean = V64.mean().item<double>();
    W.masked_fill_(W == 0, mean);
    H.masked_fill_(H == 0, mean);
  }
  return {W.to(V.options()), H.to(V.options())};
}

}  // namespace

std::pair<torch::Tensor, torch::Tensor> initial_factors(const torch::Tensor& V, int64_t rank,
                                                        const std::string& method, uint64_t seed) {
  require(rank > 0, "rank must be positive, got " + std::to_string(rank));
  if (method == "random") {
    const double scale = std::sqrt(std::max(V.mean().item<double>(), 1e-30) / static_cast<double>(rank));
    // Different seeds for W and H so that square problems do not get W = Hᵀ.
    torch::Tensor W = random_nonnegative({V.size(0), rank}, scale, seed, V.options());
    torch::Tensor H = random_nonnegative({rank, V.size(1)}, scale, seed + 0x9E3779B97F4A7C15ULL, V.options());
    return {W, H};
  }
  if (method == "nndsvd") return nndsvd(V, rank, false);
  if (method == "nndsvda") return nndsvd(V, rank, true);
  throw Error("init must be random, nndsvd, nndsvda or a map {W: file, H: file}, got '" + method + "'");
}

}  // namespace factorch
