#include "factorch/fused.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace factorch {

namespace {

bool fusable(const torch::Tensor& t) {
  return t.device().is_cpu() && t.is_contiguous() &&
         (t.scalar_type() == torch::kFloat32 || t.scalar_type() == torch::kFloat64);
}

// sin and cos of n floats: x = r + j·π/2 with j = round(2x/π) and r ∈ [−π/4, π/4] (three-part
// Cody–Waite π/2, exact products for |j| < 2¹⁵), Cephes' minimax polynomials for sin r and
// cos r, then the quadrant j mod 4 picks ±sin r or ±cos r. Branch-free, so it vectorises.
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void sin_cos_loop(float* z, float* c, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float x = z[i];
    // Round to nearest by the 1.5·2²³ trick (|2x/π| < 2²²): no libm call in the loop.
    const float j = (x * 0.636619772367581343f + 12582912.0f) - 12582912.0f;
    const float r = ((x - j * 1.5703125f) - j * 4.837512969970703125e-4f) - j * 7.54978995489188216e-8f;
    const float r2 = r * r;
    const float sr = r + r * r2 * ((-1.9515295891e-4f * r2 + 8.3321608736e-3f) * r2 - 1.6666654611e-1f);
    const float cr = 1.0f - 0.5f * r2 + r2 * r2 * ((2.443315711809948e-5f * r2 - 1.388731625493765e-3f) * r2 + 4.166664568298827e-2f);
    const int q = static_cast<int>(j);
    const float s = (q & 1) ? cr : sr;
    const float k = (q & 1) ? -sr : cr;
    const float sign = (q & 2) ? -1.0f : 1.0f;
    z[i] = s * sign;
    c[i] = k * sign;
  }
}

void sin_cos_default(float* z, float* c, int64_t n) { sin_cos_loop(z, c, n); }

#if defined(__GNUC__) && defined(__x86_64__)
// The same loop compiled for 8-wide AVX2 + FMA, chosen at run time (the library is built for
// baseline x86-64; LibTorch's own kernels dispatch the same way).
__attribute__((target("avx2,fma"))) void sin_cos_avx2(float* z, float* c, int64_t n) { sin_cos_loop(z, c, n); }
#endif

void sin_cos_float(float* z, float* c, int64_t n) {
#if defined(__GNUC__) && defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2) return sin_cos_avx2(z, c, n);
#endif
  sin_cos_default(z, c, n);
}

// Selects rather than branches, so that it vectorises; s·1 and the clamp as ATen's
// min(max(s, lo), hi) give the same bits as the op sequence.
template <typename T>
void rprop_loop(T* __restrict p, T* __restrict g, T* __restrict s, T* __restrict prev, int64_t n) {
  const T up = static_cast<T>(1.2), down = static_cast<T>(0.5);
  const T lo = static_cast<T>(1e-6), hi = static_cast<T>(50.0);
  for (int64_t i = 0; i < n; ++i) {
    const T d = g[i] * prev[i];
    T step = s[i] * (d > T(0) ? up : (d < T(0) ? down : T(1)));
    step = step < lo ? lo : step;
    step = step > hi ? hi : step;
    const T gi = d < T(0) ? T(0) : g[i];
    s[i] = step;
    prev[i] = gi;
    p[i] -= ((gi > T(0) ? T(1) : T(0)) - (gi < T(0) ? T(1) : T(0))) * step;
  }
}

// g ← g ⊙ c and the column sums of each B-slice (U × W) in one pass. The sums accumulate
// in double (float32 included: 500-row sums then sit well inside the rounding of ATen's
// pairwise float32 sum) and run along the rows, so the inner loop over W vectorises.
template <typename T>
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void mul_sum_rows_loop(T* __restrict g, const T* __restrict c, T* __restrict sums, int64_t B, int64_t U, int64_t W) {
  std::vector<double> acc(static_cast<size_t>(W));
  for (int64_t b = 0; b < B; ++b) {
    std::fill(acc.begin(), acc.end(), 0.0);
    double* __restrict a = acc.data();
    for (int64_t u = 0; u < U; ++u) {
      T* gr = g + (b * U + u) * W;
      const T* cr = c + (b * U + u) * W;
      for (int64_t w = 0; w < W; ++w) {
        gr[w] *= cr[w];
        a[w] += static_cast<double>(gr[w]);
      }
    }
    for (int64_t w = 0; w < W; ++w) sums[b * W + w] = static_cast<T>(a[w]);
  }
}

void mul_sum_rows_default(float* g, const float* c, float* sums, int64_t B, int64_t U, int64_t W) {
  mul_sum_rows_loop(g, c, sums, B, U, W);
}

#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx2,fma"))) void mul_sum_rows_avx2(float* g, const float* c, float* sums, int64_t B, int64_t U,
                                                           int64_t W) {
  mul_sum_rows_loop(g, c, sums, B, U, W);
}
#endif

void mul_sum_rows_float(float* g, const float* c, float* sums, int64_t B, int64_t U, int64_t W) {
#if defined(__GNUC__) && defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2) return mul_sum_rows_avx2(g, c, sums, B, U, W);
#endif
  mul_sum_rows_default(g, c, sums, B, U, W);
}

template <typename T>
void restart_loop(const T* __restrict p, const T* __restrict moved, T* __restrict s, T* __restrict prev, T initial,
                  int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const bool clipped = p[i] != moved[i];
    s[i] = clipped ? initial : s[i];
    prev[i] = clipped ? T(0) : prev[i];
  }
}

// Σ w·x² of n entries: four running sums per block of 4096 (vectorisable), the block sums
// added in double, so the error grows with 4096/4 + n/4096 terms, not n.
template <typename T>
double weighted_square_sum_loop(const T* __restrict x, const T* __restrict w, int64_t n) {
  constexpr int64_t kBlock = 4096;
  double total = 0.0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t i = b;
    for (; i + 4 <= e; i += 4) {
      s0 += static_cast<double>(w[i]) * x[i] * x[i];
      s1 += static_cast<double>(w[i + 1]) * x[i + 1] * x[i + 1];
      s2 += static_cast<double>(w[i + 2]) * x[i + 2] * x[i + 2];
      s3 += static_cast<double>(w[i + 3]) * x[i + 3] * x[i + 3];
    }
    for (; i < e; ++i) s0 += static_cast<double>(w[i]) * x[i] * x[i];
    total += (s0 + s1) + (s2 + s3);
  }
  return total;
}

}  // namespace

double weighted_square_sum(const torch::Tensor& x, const torch::Tensor& w) {
  const int64_t lead = x.dim() - w.dim();
  const bool fused = lead >= 0 && fusable(x) && fusable(w) && x.scalar_type() == w.scalar_type() &&
                     x.sizes().slice(static_cast<size_t>(lead)) == w.sizes();
  if (!fused) return torch::dot((x * w).reshape(-1), x.reshape(-1)).item<double>();
  const int64_t n = w.numel(), copies = n == 0 ? 0 : x.numel() / n;
  double total = 0.0;
  for (int64_t r = 0; r < copies; ++r) {
    if (x.scalar_type() == torch::kFloat32)
      total += weighted_square_sum_loop(x.data_ptr<float>() + r * n, w.data_ptr<float>(), n);
    else
      total += weighted_square_sum_loop(x.data_ptr<double>() + r * n, w.data_ptr<double>(), n);
  }
  return total;
}

void sin_cos_(torch::Tensor& z, torch::Tensor& c) {
  TORCH_CHECK(c.sizes() == z.sizes() && c.scalar_type() == z.scalar_type() && c.device() == z.device(),
              "sin_cos_: the cosine buffer must have z's shape, dtype and device");
  if (!fusable(z) || !fusable(c)) {
    c.copy_(z).cos_();
    z.sin_();
    return;
  }
  const int64_t n = z.numel();
  if (z.scalar_type() == torch::kFloat32) {
    sin_cos_float(z.data_ptr<float>(), c.data_ptr<float>(), n);
  } else {
    double* zp = z.data_ptr<double>();
    double* cp = c.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i) {
      const double x = zp[i];
      zp[i] = std::sin(x);
      cp[i] = std::cos(x);
    }
  }
}

void sin_cos_(torch::Tensor& z, torch::Tensor& c, const torch::Tensor& bias) {
  const bool rows = z.dim() == 3 && bias.dim() == 3 && bias.size(0) == z.size(0) && bias.size(1) == 1 &&
                    bias.size(2) == z.size(2) && z.scalar_type() == torch::kFloat32 &&
                    bias.scalar_type() == torch::kFloat32 && fusable(z) && fusable(bias) && fusable(c) &&
                    c.sizes() == z.sizes() && c.scalar_type() == z.scalar_type();
  if (!rows) {
    z.add_(bias);
    sin_cos_(z, c);
    return;
  }
  // Row by row: the bias is added to a row that then stays in L1 for its sines and cosines.
  const int64_t B = z.size(0), U = z.size(1), W = z.size(2);
  float* zp = z.data_ptr<float>();
  float* cp = c.data_ptr<float>();
  const float* bp = bias.data_ptr<float>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t u = 0; u < U; ++u) {
      float* zr = zp + (b * U + u) * W;
      for (int64_t w = 0; w < W; ++w) zr[w] += bp[b * W + w];
      sin_cos_float(zr, cp + (b * U + u) * W, W);
    }
  }
}

torch::Tensor sin_cos_(torch::Tensor& z) {
  torch::Tensor c = fusable(z) ? torch::empty_like(z) : z.cos();
  if (!fusable(z)) {
    z.sin_();
    return c;
  }
  sin_cos_(z, c);
  return c;
}

torch::Tensor mul_sum_rows_(torch::Tensor& g, const torch::Tensor& c) {
  const bool fused = g.dim() == 3 && fusable(g) && fusable(c) && c.sizes() == g.sizes() &&
                     c.scalar_type() == g.scalar_type();
  if (!fused) return g.mul_(c).sum(1, true);
  const int64_t B = g.size(0), U = g.size(1), W = g.size(2);
  torch::Tensor sums = torch::empty({B, 1, W}, g.options());
  if (g.scalar_type() == torch::kFloat32)
    mul_sum_rows_float(g.data_ptr<float>(), c.data_ptr<float>(), sums.data_ptr<float>(), B, U, W);
  else
    mul_sum_rows_loop(g.data_ptr<double>(), c.data_ptr<double>(), sums.data_ptr<double>(), B, U, W);
  return sums;
}

void rprop_step_(torch::Tensor& param, torch::Tensor& grad, torch::Tensor& step, torch::Tensor& prev) {
  const bool same = param.scalar_type() == grad.scalar_type() && param.scalar_type() == step.scalar_type() &&
                    param.scalar_type() == prev.scalar_type();
  if (same && fusable(param) && fusable(grad) && fusable(step) && fusable(prev)) {
    const int64_t n = param.numel();
    if (param.scalar_type() == torch::kFloat32)
      rprop_loop(param.data_ptr<float>(), grad.data_ptr<float>(), step.data_ptr<float>(), prev.data_ptr<float>(), n);
    else
      rprop_loop(param.data_ptr<double>(), grad.data_ptr<double>(), step.data_ptr<double>(), prev.data_ptr<double>(), n);
    return;
  }
  const torch::Tensor sign = grad.mul(prev).sign_();
  const torch::Tensor grew = sign > 0, turned = sign < 0;
  step.mul_(torch::ones_like(step).masked_fill_(grew, 1.2).masked_fill_(turned, 0.5)).clamp_(1e-6, 50.0);
  grad.masked_fill_(turned, 0.0);
  prev.copy_(grad);
  param.addcmul_(grad.sign_(), step, -1.0);
}

void rprop_step_(std::vector<torch::Tensor>& params, std::vector<torch::Tensor>& steps,
                 std::vector<torch::Tensor>& prevs, std::vector<torch::Tensor>& moved) {
  TORCH_CHECK(steps.size() == params.size() && prevs.size() == params.size(), "rprop_step_: one step and prev per parameter");
  moved.resize(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor& p = params[i];
    if (p.grad().defined()) rprop_step_(p, p.mutable_grad(), steps[i], prevs[i]);
    torch::Tensor& m = moved[i];
    if (!m.defined() || m.sizes() != p.sizes() || m.scalar_type() != p.scalar_type() || m.device() != p.device())
      m = torch::empty_like(p, torch::MemoryFormat::Contiguous);
    m.copy_(p.detach());
  }
}

void rprop_restart_where_moved_(std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& moved,
                                std::vector<torch::Tensor>& steps, std::vector<torch::Tensor>& prevs, double initial) {
  TORCH_CHECK(moved.size() == params.size() && steps.size() == params.size() && prevs.size() == params.size(),
              "rprop_restart_where_moved_: one moved, step and prev per parameter");
  for (size_t i = 0; i < params.size(); ++i) {
    const torch::Tensor p = params[i].detach();
    const bool same = p.scalar_type() == steps[i].scalar_type() && p.scalar_type() == prevs[i].scalar_type() &&
                      p.scalar_type() == moved[i].scalar_type();
    if (same && fusable(p) && fusable(moved[i]) && fusable(steps[i]) && fusable(prevs[i])) {
      const int64_t n = p.numel();
      if (p.scalar_type() == torch::kFloat32)
        restart_loop(p.data_ptr<float>(), moved[i].data_ptr<float>(), steps[i].data_ptr<float>(),
                     prevs[i].data_ptr<float>(), static_cast<float>(initial), n);
      else
        restart_loop(p.data_ptr<double>(), moved[i].data_ptr<double>(), steps[i].data_ptr<double>(),
                     prevs[i].data_ptr<double>(), initial, n);
      continue;
    }
    const torch::Tensor clipped = p.ne(moved[i]);
    steps[i].masked_fill_(clipped, initial);
    prevs[i].masked_fill_(clipped, 0.0);
  }
}

}  // namespace factorch
