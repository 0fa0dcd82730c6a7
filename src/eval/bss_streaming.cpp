#include "factorch/eval/bss_streaming.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <torch/fft.h>

#include "bss_internal.h"
#include "factorch/error.h"

namespace factorch::eval {

namespace {

using detail::assigned_result;
using detail::best_assignment;
using detail::next_power_of_two;
using detail::ratio_db;
using detail::solve_gram;

torch::Tensor as_block(const torch::Tensor& x, int64_t S, const char* what) {
  require(x.defined() && (x.dim() == 1 || x.dim() == 2) && !x.is_complex(),
          std::string("bss_eval_sources: ") + what + " must be a real S × B (or B) block");
  auto b = (x.dim() == 1 ? x.unsqueeze(0) : x).detach().to(torch::kCPU, torch::kFloat64).contiguous();
  require(b.size(0) == S, std::string("bss_eval_sources: a block of ") + std::to_string(b.size(0)) + " " + what +
                              "s where " + std::to_string(S) + " are scored");
  require(torch::isfinite(b).all().item<bool>(), std::string("bss_eval_sources: ") + what + "s contain NaN or Inf");
  return b;
}

void require_heard(const torch::Tensor& heard, const char* what) {
  for (int64_t k = 0; k < heard.size(0); ++k)
    require(heard[k].item<bool>(), std::string("bss_eval_sources: ") + what + " " + std::to_string(k) +
                                       " is silent (all zeros), which makes the decomposition ambiguous");
}

double quadratic(const torch::Tensor& G, const torch::Tensor& x) { return x.dot(G.mv(x)).item<double>(); }

}  // namespace

// ------------------------------------------------------------------ whole signal, by blocks

BssEvalAccumulator::BssEvalAccumulator(int64_t sources, const BssEvalOptions& options)
    : S_(sources), L_(options.filter_length), options_(options) {
  require(S_ >= 1, "bss_eval_sources: need at least one source");
  require(L_ >= 1, "bss_eval_sources: filter_length must be positive");
  require(!options.compute_permutation || S_ <= detail::kMaxPermutedSources,
          "bss_eval_sources: " + std::to_string(S_) + " sources; the permutation search is limited to " +
              std::to_string(detail::kMaxPermutedSources));
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  ref_corr_ = torch::zeros({S_, S_, L_}, f64);
  cross_ = torch::zeros({S_, S_, L_}, f64);
  est_energy_ = torch::zeros({S_}, f64);
  ref_tail_ = torch::zeros({S_, L_ - 1}, f64);
  ref_heard_ = torch::zeros({S_}, torch::kBool);
  est_heard_ = torch::zeros({S_}, torch::kBool);
}

void BssEvalAccumulator::add(const torch::Tensor& references, const torch::Tensor& estimates) {
  const auto r = as_block(references, S_, "reference");
  const auto e = as_block(estimates, S_, "estimate");
  require(r.size(1) == e.size(1), "bss_eval_sources: a block of " + std::to_string(r.size(1)) +
                                      " reference samples but " + std::to_string(e.size(1)) + " estimate samples");
  const int64_t B = r.size(1);
  if (B == 0) return;
  // y = [tail, block]: each pair (u, v = u + τ) is counted in the block holding v, so
  // Σ_{v in block} y_i(v − τ)·x(v) = Σ_m x[m]·y_i[m + L−1−τ], a correlation at lag L−1−τ.
  const auto y = torch::cat({ref_tail_, r}, 1);  // S × (L−1+B)
  const int64_t n = next_power_of_two(B + L_ - 1);
  const auto Y = torch::fft::rfft(y, n, 1).unsqueeze(1);            // S × 1 × F
  const auto lagged = [&](const torch::Tensor& x) {                  // S_y × S_x × L, index τ
    const auto X = torch::fft::rfft(x, n, 1).conj().unsqueeze(0);    // 1 × S × F
    return torch::fft::irfft(Y * X, n, 2).slice(2, 0, L_).flip({2});
  };
  ref_corr_ += lagged(r);
  cross_ += lagged(e);
  est_energy_ += e.square().sum(1);
  ref_heard_ |= (r != 0).any(1);
  est_heard_ |= (e != 0).any(1);
  ref_tail_ = y.slice(1, y.size(1) - (L_ - 1)).contiguous();
  samples_ += B;
}

BssEvalResult BssEvalAccumulator::result() const {
  require(samples_ > 0, "bss_eval_sources: no samples were added");
  require_heard(ref_heard_, "reference");
  require_heard(est_heard_, "estimate");
  const int64_t S = S_, L = L_;
  // Correlations at lags −(L−1) … L−1: negative lags of (i, j) are positive lags of (j, i).
  const auto negative = ref_corr_.transpose(0, 1).slice(2, 1, L).flip({2});
  const auto xcorr = torch::cat({negative, ref_corr_}, 2);  // S × S × (2L−1), index τ + L − 1
  const auto taps = torch::arange(L, torch::kLong);
  const auto lags = (taps.unsqueeze(1) - taps.unsqueeze(0) + (L - 1)).flatten();
  const auto blocks = xcorr.index_select(2, lags).view({S, S, L, L});
  const auto G = blocks.permute({0, 2, 1, 3}).reshape({S * L, S * L}).contiguous();
  const auto D = cross_;  // S_ref × S_est × L
  const auto all_coef = solve_gram(G, D.permute({0, 2, 1}).reshape({S * L, S}));   // SL × S_est
  const auto diag_blocks = blocks.diagonal(0, 0, 1).permute({2, 0, 1}).contiguous();  // S × L × L
  const auto own_coef = solve_gram(diag_blocks, D.permute({0, 2, 1}));                // S_ref × L × S_est

  std::vector<std::vector<double>> sdr(S, std::vector<double>(S)), sir = sdr, sar = sdr;
  for (int64_t k = 0; k < S; ++k) {
    const auto C = all_coef.select(1, k).contiguous();                    // SL
    const auto d_all = D.select(1, k).reshape({S * L});                   // SL
    const double e2 = est_energy_[k].item<double>();
    const double full2 = quadratic(G, C);                                  // ‖s_target + e_interf‖²
    const double artif2 = std::max(0.0, e2 - 2 * C.dot(d_all).item<double>() + full2);  // ‖e_artif‖²
    for (int64_t j = 0; j < S; ++j) {
      const auto c = own_coef[j].select(1, k).contiguous();               // L
      const double target2 = quadratic(diag_blocks[j], c);                 // ‖s_target‖²
      const double error2 = std::max(0.0, e2 - 2 * c.dot(D[j][k]).item<double>() + target2);
      auto delta = C.clone();
      delta.slice(0, j * L, (j + 1) * L) -= c;
      const double interf2 = std::max(0.0, quadratic(G, delta));          // ‖e_interf‖²
      sdr[k][j] = ratio_db(target2, error2);
      sir[k][j] = ratio_db(target2, interf2);
      sar[k][j] = ratio_db(full2, artif2);
    }
  }
  return assigned_result(sdr, sir, sar, options_.compute_permutation);
}

// ------------------------------------------------------------------ framewise

torch::Tensor FramewiseBssEvalResult::median(const torch::Tensor& scores) const {
  const int64_t S = scores.size(0);
  std::vector<double> out(S, std::numeric_limits<double>::quiet_NaN());
  for (int64_t j = 0; j < S; ++j) {
    const auto row = scores[j];
    const auto kept = row.masked_select(~torch::isnan(row));
    if (kept.numel() == 0) continue;
    // numpy's median: the mean of the two middle values for an even count (np.nanmedian).
    const auto sorted = std::get<0>(kept.sort());
    const int64_t n = sorted.numel();
    out[j] = n % 2 ? sorted[n / 2].item<double>() : 0.5 * (sorted[n / 2 - 1].item<double>() + sorted[n / 2].item<double>());
  }
  return torch::tensor(out, torch::kFloat64);
}

FramewiseBssEval::FramewiseBssEval(int64_t sources, int64_t window, int64_t hop, const BssEvalOptions& options)
    : S_(sources), window_(window), hop_(hop), options_(options) {
  require(S_ >= 1, "bss_eval_sources_framewise: need at least one source");
  require(window >= 1 && hop >= 1, "bss_eval_sources_framewise: window (" + std::to_string(window) + ") and hop (" +
                                       std::to_string(hop) + ") must be positive");
  refs_ = torch::zeros({S_, 0}, torch::kFloat64);
  ests_ = torch::zeros({S_, 0}, torch::kFloat64);
  head_refs_ = refs_;
  head_ests_ = ests_;
}

void FramewiseBssEval::add(const torch::Tensor& references, const torch::Tensor& estimates) {
  const auto r = as_block(references, S_, "reference");
  const auto e = as_block(estimates, S_, "estimate");
  require(r.size(1) == e.size(1), "bss_eval_sources_framewise: a block of " + std::to_string(r.size(1)) +
                                      " reference samples but " + std::to_string(e.size(1)) + " estimate samples");
  const int64_t keep = window_ + hop_;
  if (head_refs_.size(1) < keep) {
    const int64_t take = std::min(keep - head_refs_.size(1), r.size(1));
    head_refs_ = torch::cat({head_refs_, r.slice(1, 0, take)}, 1);
    head_ests_ = torch::cat({head_ests_, e.slice(1, 0, take)}, 1);
  }
  refs_ = torch::cat({refs_, r}, 1);
  ests_ = torch::cat({ests_, e}, 1);
  total_ += r.size(1);
  score_ready_windows();
}

void FramewiseBssEval::score_ready_windows() {
  BssEvalOptions o = options_;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  while (next_window_ * hop_ + window_ <= total_) {
    const int64_t start = next_window_ * hop_ - buffer_start_;
    const auto r = refs_.slice(1, start, start + window_), e = ests_.slice(1, start, start + window_);
    if ((r == 0).all(1).any().item<bool>() || (e == 0).all(1).any().item<bool>()) {
      const auto n = torch::full({S_}, nan, torch::kFloat64);
      sdr_.push_back(n), sir_.push_back(n), sar_.push_back(n), perm_.push_back(torch::full({S_}, -1, torch::kLong));
    } else {
      const BssEvalResult s = bss_eval_sources(r, e, o);
      sdr_.push_back(s.sdr), sir_.push_back(s.sir), sar_.push_back(s.sar);
      perm_.push_back(torch::tensor(s.permutation, torch::kLong));
    }
    ++next_window_;
  }
  // Drop what no later window needs.
  const int64_t drop = std::min(next_window_ * hop_ - buffer_start_, refs_.size(1));
  if (drop > 0) {
    refs_ = refs_.slice(1, drop).contiguous();
    ests_ = ests_.slice(1, drop).contiguous();
    buffer_start_ += drop;
  }
}

FramewiseBssEvalResult FramewiseBssEval::finish() {
  require(total_ > 0, "bss_eval_sources_framewise: no samples were added");
  FramewiseBssEvalResult out;
  out.window = window_, out.hop = hop_;
  const int64_t nwin = (total_ - window_ + hop_) >= 0 ? (total_ - window_ + hop_) / hop_ : -1;
  if (nwin < 2) {
    const BssEvalResult s = bss_eval_sources(head_refs_, head_ests_, options_);
    out.sdr = s.sdr.unsqueeze(1), out.sir = s.sir.unsqueeze(1), out.sar = s.sar.unsqueeze(1);
    out.permutation = torch::tensor(s.permutation, torch::kLong).unsqueeze(1);
    return out;
  }
  out.sdr = torch::stack(sdr_, 1), out.sir = torch::stack(sir_, 1), out.sar = torch::stack(sar_, 1);
  out.permutation = torch::stack(perm_, 1);
  return out;
}

FramewiseBssEvalResult bss_eval_sources_framewise(const torch::Tensor& references, const torch::Tensor& estimates,
                                                  int64_t window, int64_t hop, const BssEvalOptions& options) {
  const auto r = references.dim() == 1 ? references.unsqueeze(0) : references;
  const auto e = estimates.dim() == 1 ? estimates.unsqueeze(0) : estimates;
  require(r.dim() == 2 && r.sizes() == e.sizes(), "bss_eval_sources_framewise: references and estimates must be S × T "
                                                  "of one shape");
  FramewiseBssEval framewise(r.size(0), window, hop, options);
  framewise.add(r, e);
  return framewise.finish();
}

}  // namespace factorch::eval
