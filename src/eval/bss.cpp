#include "factorch/eval/bss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <torch/fft.h>
#include <torch/linalg.h>

#include "factorch/error.h"
#include "bss_internal.h"

namespace factorch::eval {

namespace {

using detail::next_power_of_two;
using detail::ratio_db;
using detail::assigned_result;
using detail::best_assignment;
using detail::solve_gram;
using detail::kMaxPermutedSources;

torch::Tensor as_sources(const torch::Tensor& x, const char* what) {
  require(x.defined() && (x.dim() == 1 || x.dim() == 2) && !x.is_complex(),
          std::string("bss_eval_sources: ") + what + " must be a real S × T (or T) tensor");
  auto s = (x.dim() == 1 ? x.unsqueeze(0) : x).detach().to(torch::kFloat64).contiguous();
  require(torch::isfinite(s).all().item<bool>(), std::string("bss_eval_sources: ") + what + " contain NaN or Inf");
  const auto silent = (s == 0).all(1);
  for (int64_t k = 0; k < s.size(0); ++k)
    require(!silent[k].item<bool>(), std::string("bss_eval_sources: ") + what + " " + std::to_string(k) +
                                         " is silent (all zeros), which makes the decomposition ambiguous");
  return s;
}

}  // namespace

BssEvalResult bss_eval_sources(const torch::Tensor& references, const torch::Tensor& estimates,
                               const BssEvalOptions& options) {
  const auto refs = as_sources(references, "reference");
  const auto ests = as_sources(estimates, "estimate");
  require(refs.size(0) == ests.size(0), "bss_eval_sources: " + std::to_string(refs.size(0)) + " references but " +
                                            std::to_string(ests.size(0)) + " estimates");
  require(refs.size(1) == ests.size(1), "bss_eval_sources: references have " + std::to_string(refs.size(1)) +
                                            " samples but estimates have " + std::to_string(ests.size(1)));
  const int64_t S = refs.size(0), T = refs.size(1), L = options.filter_length;
  require(L >= 1, "bss_eval_sources: filter_length must be positive");
  require(!options.compute_permutation || S <= kMaxPermutedSources,
          "bss_eval_sources: " + std::to_string(S) + " sources; the permutation search is limited to " +
              std::to_string(kMaxPermutedSources));

  // Zero-padding to ≥ T + L − 1 makes the circular correlations linear for lags |τ| < L.
  const int64_t n = next_power_of_two(T + L - 1), padded = T + L - 1;
  const auto R = torch::fft::rfft(refs, n, 1);  // S × F
  const auto E = torch::fft::rfft(ests, n, 1);
  const auto Rc = R.conj().unsqueeze(1);        // S × 1 × F

  // Gram matrix of delayed references: G[(i,a),(j,b)] = Σ_u s_i(u)·s_j(u + a − b).
  const auto xcorr = torch::fft::irfft(Rc * R.unsqueeze(0), n, 2);  // S × S × n
  const auto taps = torch::arange(L, refs.options().dtype(torch::kLong));
  const auto lags = torch::remainder(taps.unsqueeze(1) - taps.unsqueeze(0), n);  // L × L
  const auto blocks = xcorr.index_select(2, lags.flatten()).view({S, S, L, L});
  const auto G = blocks.permute({0, 2, 1, 3}).reshape({S * L, S * L});
  // Correlations with the estimates: D[i, k, a] = Σ_u s_i(u)·ŝ_k(u + a).
  const auto D = torch::fft::irfft(Rc * E.unsqueeze(0), n, 2).slice(2, 0, L);  // S_ref × S_est × L

  // Projection coefficients on all references (SL × S_est) and on each own reference
  // separately (S_ref × L × S_est), for every estimate at once.
  const auto all_coef = solve_gram(G, D.permute({0, 2, 1}).reshape({S * L, S})).view({S, L, S});
  const auto diag_blocks = blocks.diagonal(0, 0, 1).permute({2, 0, 1});  // S × L × L
  const auto own_coef = solve_gram(diag_blocks, D.permute({0, 2, 1}));    // S_ref × L × S_est

  const auto all_filters = torch::fft::rfft(all_coef, n, 1);  // S_ref × F × S_est
  const auto own_filters = torch::fft::rfft(own_coef, n, 1);
  // Energies of the BSS Eval decomposition, [estimate][reference] as in mir_eval.
  std::vector<std::vector<double>> sdr(S, std::vector<double>(S)), sir = sdr, sar = sdr;
  for (int64_t k = 0; k < S; ++k) {
    const auto e = torch::constant_pad_nd(ests[k], {0, L - 1});
    const auto full = torch::fft::irfft((R * all_filters.select(2, k)).sum(0), n, 0).slice(0, 0, padded);
    const auto target = torch::fft::irfft(R * own_filters.select(2, k), n, 1).slice(1, 0, padded);  // S_ref × T'
    const auto energies = torch::stack({target.square().sum(1),                              // ‖s_target‖²
                                        (full.unsqueeze(0) - target).square().sum(1),        // ‖e_interf‖²
                                        (e.unsqueeze(0) - target).square().sum(1),           // ‖e_interf + e_artif‖²
                                        full.square().sum().expand({S}),                     // ‖s_target + e_interf‖²
                                        (e - full).square().sum().expand({S})})              // ‖e_artif‖²
                              .to(torch::kCPU);
    const auto en = energies.accessor<double, 2>();
    for (int64_t j = 0; j < S; ++j) {
      sdr[k][j] = ratio_db(en[0][j], en[2][j]);
      sir[k][j] = ratio_db(en[0][j], en[1][j]);
      sar[k][j] = ratio_db(en[3][j], en[4][j]);
    }
  }

  return assigned_result(sdr, sir, sar, options.compute_permutation);
}

namespace {

torch::Tensor as_images(const torch::Tensor& x, const char* what) {
  require(x.defined() && (x.dim() == 2 || x.dim() == 3) && !x.is_complex(),
          std::string("bss_eval_images: ") + what + " must be a real S × C × T (or S × T) tensor");
  auto s = (x.dim() == 2 ? x.unsqueeze(1) : x).detach().to(torch::kFloat64).contiguous();
  require(s.numel() > 0, std::string("bss_eval_images: ") + what + " are empty");
  require(torch::isfinite(s).all().item<bool>(), std::string("bss_eval_images: ") + what + " contain NaN or Inf");
  const auto silent = (s == 0).flatten(1).all(1);
  for (int64_t k = 0; k < s.size(0); ++k)
    require(!silent[k].item<bool>(), std::string("bss_eval_images: ") + what + " " + std::to_string(k) +
                                         " is silent (all zeros), which makes the decomposition ambiguous");
  return s;
}

// Least-squares projection of every row of `targets` (Q × T) on the span of the L delayed
// versions u ↦ b_p(u − a), a = 0 … L−1, of the rows of `basis` (P × T). Returns Q × (T + L − 1).
// Same Gram/correlation construction as bss_eval_sources, for any number of right-hand sides.
torch::Tensor project_on_delays(const torch::Tensor& basis, const torch::Tensor& targets, int64_t L) {
  const int64_t P = basis.size(0), T = basis.size(1), Q = targets.size(0);
  const int64_t n = next_power_of_two(T + L - 1);
  const auto B = torch::fft::rfft(basis, n, 1);    // P × F
  const auto X = torch::fft::rfft(targets, n, 1);  // Q × F
  const auto Bc = B.conj().unsqueeze(1);           // P × 1 × F
  const auto xcorr = torch::fft::irfft(Bc * B.unsqueeze(0), n, 2);  // P × P × n
  const auto taps = torch::arange(L, basis.options().dtype(torch::kLong));
  const auto lags = torch::remainder(taps.unsqueeze(1) - taps.unsqueeze(0), n);
  const auto G = xcorr.index_select(2, lags.flatten()).view({P, P, L, L}).permute({0, 2, 1, 3}).reshape({P * L, P * L});
  const auto D = torch::fft::irfft(Bc * X.unsqueeze(0), n, 2).slice(2, 0, L);  // P × Q × L
  const auto coef = solve_gram(G, D.permute({0, 2, 1}).reshape({P * L, Q})).view({P, L, Q});
  const auto filters = torch::fft::rfft(coef, n, 1);  // P × F × Q
  return torch::fft::irfft((B.unsqueeze(2) * filters).sum(0), n, 0).slice(0, 0, T + L - 1).t();  // Q × T'
}

}  // namespace

BssEvalImagesResult bss_eval_images(const torch::Tensor& references, const torch::Tensor& estimates,
                                    const BssEvalOptions& options) {
  const auto refs = as_images(references, "reference");
  const auto ests = as_images(estimates, "estimate");
  require(refs.sizes() == ests.sizes(), "bss_eval_images: references are " + std::to_string(refs.size(0)) + "x" +
                                            std::to_string(refs.size(1)) + "x" + std::to_string(refs.size(2)) +
                                            " but estimates " + std::to_string(ests.size(0)) + "x" +
                                            std::to_string(ests.size(1)) + "x" + std::to_string(ests.size(2)));
  const int64_t S = refs.size(0), C = refs.size(1), T = refs.size(2), L = options.filter_length;
  require(L >= 1, "bss_eval_images: filter_length must be positive");
  require(!options.compute_permutation || S <= kMaxPermutedSources,
          "bss_eval_images: " + std::to_string(S) + " sources; the permutation search is limited to " +
              std::to_string(kMaxPermutedSources));
  const int64_t padded = T + L - 1;
  // Every estimated channel projected at once: on all reference channels, and on each image's.
  const auto flat_ests = ests.view({S * C, T});
  const auto on_all = project_on_delays(refs.view({S * C, T}), flat_ests, L).view({S, C, padded});
  std::vector<torch::Tensor> on_own;
  for (int64_t j = 0; j < S; ++j) on_own.push_back(project_on_delays(refs[j], flat_ests, L).view({S, C, padded}));
  const auto pad = [&](const torch::Tensor& x) { return torch::constant_pad_nd(x, {0, L - 1}); };
  std::vector<std::vector<double>> sdr(S, std::vector<double>(S)), isr = sdr, sir = sdr, sar = sdr;
  for (int64_t k = 0; k < S; ++k) {
    const auto e = pad(ests[k]);
    const auto full = on_all[k];
    for (int64_t j = 0; j < S; ++j) {
      const auto truth = pad(refs[j]), own = on_own[j][k];
      const double s_img = truth.square().sum().item<double>();
      sdr[k][j] = ratio_db(s_img, (e - truth).square().sum().item<double>());
      isr[k][j] = ratio_db(s_img, (own - truth).square().sum().item<double>());
      sir[k][j] = ratio_db(own.square().sum().item<double>(), (full - own).square().sum().item<double>());
      sar[k][j] = ratio_db(full.square().sum().item<double>(), (e - full).square().sum().item<double>());
    }
  }
  const std::vector<int64_t> best = best_assignment(sir, options.compute_permutation);
  BssEvalImagesResult out;
  std::vector<double> v[4];
  for (int64_t j = 0; j < S; ++j) {
    v[0].push_back(sdr[best[j]][j]);
    v[1].push_back(isr[best[j]][j]);
    v[2].push_back(sir[best[j]][j]);
    v[3].push_back(sar[best[j]][j]);
  }
  out.sdr = torch::tensor(v[0], torch::kFloat64);
  out.isr = torch::tensor(v[1], torch::kFloat64);
  out.sir = torch::tensor(v[2], torch::kFloat64);
  out.sar = torch::tensor(v[3], torch::kFloat64);
  out.permutation = best;
  return out;
}

}  // namespace factorch::eval
