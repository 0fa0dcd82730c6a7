#pragma once
// Helpers shared by the whole-signal (bss.cpp) and block-wise (bss_streaming.cpp) BSS Eval:
// internal to the eval library, not installed.
#include <torch/types.h>

#include "factorch/eval/bss.h"

#include <vector>

namespace factorch::eval::detail {

inline constexpr int64_t kMaxPermutedSources = 8;  // 8! = 40320 candidate assignments

int64_t next_power_of_two(int64_t n);

/// G x = d for the symmetric positive semi-definite Gram matrices of the projections.
torch::Tensor solve_gram(const torch::Tensor& G, const torch::Tensor& d);

/// 10·log10(numerator / denominator); +inf when the denominator is 0.
double ratio_db(double numerator, double denominator);

/// best[j] = the estimate assigned to reference j by the largest mean SIR (sir[estimate][reference]).
std::vector<int64_t> best_assignment(const std::vector<std::vector<double>>& sir, bool search);

/// The result for the assignment best_assignment picks: scores[estimate][reference] → one
/// score of each kind per reference.
BssEvalResult assigned_result(const std::vector<std::vector<double>>& sdr, const std::vector<std::vector<double>>& sir,
                              const std::vector<std::vector<double>>& sar, bool search);

}  // namespace factorch::eval::detail
