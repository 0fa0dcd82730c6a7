#include "bss_internal.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <algorithm>

#include <torch/linalg.h>

namespace factorch::eval::detail {

int64_t next_power_of_two(int64_t n) {
  int64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

// G x = d for the symmetric positive semi-definite Gram matrices of the projections
// (batched). LU as mir_eval; a singular Gram matrix (e.g. linearly dependent references)
// falls back to the minimum-norm solution through an eigendecomposition.
torch::Tensor solve_gram(const torch::Tensor& G, const torch::Tensor& d) {
  try {
    auto x = torch::linalg::solve(G, d, /*left=*/true);
    if (torch::isfinite(x).all().item<bool>()) return x;
  } catch (const c10::Error&) {
  }
  auto [eigenvalues, eigenvectors] = torch::linalg::eigh(G, "L");
  const auto tol = eigenvalues.abs().amax(-1, /*keepdim=*/true) * (G.size(-1) * 1e-15);
  const auto inverse = torch::where(eigenvalues > tol, 1.0 / eigenvalues, torch::zeros_like(eigenvalues));
  return eigenvectors.matmul(inverse.unsqueeze(-1) * eigenvectors.transpose(-2, -1).matmul(d));
}

double ratio_db(double numerator, double denominator) {
  if (denominator == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(numerator / denominator);
}

// best[j] = the estimate assigned to reference j: the assignment with the largest mean SIR,
// candidates in lexicographic order, first maximum kept (itertools.permutations + argmax in
// mir_eval); the identity when `search` is false.
std::vector<int64_t> best_assignment(const std::vector<std::vector<double>>& sir, bool search) {
  const int64_t S = static_cast<int64_t>(sir.size());
  std::vector<int64_t> perm(S), best(S);
  std::iota(perm.begin(), perm.end(), 0);
  best = perm;
  if (!search) return best;
  double best_mean = -std::numeric_limits<double>::infinity();
  bool first = true;
  do {
    double mean = 0;
    for (int64_t j = 0; j < S; ++j) mean += sir[perm[j]][j];
    mean /= S;
    if (first || mean > best_mean) best_mean = mean, best = perm, first = false;
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

BssEvalResult assigned_result(const std::vector<std::vector<double>>& sdr, const std::vector<std::vector<double>>& sir,
                              const std::vector<std::vector<double>>& sar, bool search) {
  const std::vector<int64_t> best = best_assignment(sir, search);
  const int64_t S = static_cast<int64_t>(best.size());
  std::vector<double> out_sdr(S), out_sir(S), out_sar(S);
  for (int64_t j = 0; j < S; ++j) {
    out_sdr[j] = sdr[best[j]][j];
    out_sir[j] = sir[best[j]][j];
    out_sar[j] = sar[best[j]][j];
  }
  const auto to_tensor = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); };
  return BssEvalResult{to_tensor(out_sdr), to_tensor(out_sir), to_tensor(out_sar), best};
}

}  // namespace factorch::eval::detail
