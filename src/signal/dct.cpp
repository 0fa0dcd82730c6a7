#include "factorch/signal/dct.h"

#include <cmath>

#include "factorch/error.h"

namespace factorch::signal {

namespace {

void require_size(int64_t M) { require(M >= 1, "DCT size must be positive (got " + std::to_string(M) + ")"); }

}  // namespace

torch::Tensor dct2_matrix(int64_t M, const torch::TensorOptions& options) {
  require_size(M);
  const auto k = torch::arange(M, torch::kInt64).unsqueeze(1);
  const auto m = torch::arange(M, torch::kInt64).unsqueeze(0);
  // cos(π·j/(2M)) has period 4M in the integer j = k(2m+1): reducing j exactly keeps the
  // argument small and the matrix orthonormal to ~1e-15 even for large M.
  const auto j = torch::remainder(k * (2 * m + 1), 4 * M).to(torch::kFloat64);
  auto phi = std::sqrt(2.0 / M) * torch::cos((M_PI / (2.0 * M)) * j);
  phi[0].mul_(1.0 / std::sqrt(2.0));
  return phi.to(options);
}

torch::Tensor dct4_matrix(int64_t M, const torch::TensorOptions& options) {
  require_size(M);
  const auto k = torch::arange(M, torch::kInt64).unsqueeze(1);
  const auto m = torch::arange(M, torch::kInt64).unsqueeze(0);
  const auto j = torch::remainder((2 * k + 1) * (2 * m + 1), 8 * M).to(torch::kFloat64);  // period 8M
  return (std::sqrt(2.0 / M) * torch::cos((M_PI / (4.0 * M)) * j)).to(options);
}

}  // namespace factorch::signal
