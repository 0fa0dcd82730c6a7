// The solver behind factorch.sklearn.NMF(solver="mu"): scikit-learn's
// _fit_multiplicative_update step for step (W then H by the shared MM update, the
// clipping of entries below float64's eps for β < 1 (W) and β ≤ 1 (H), the stopping test
// every 10 iterations on the square-root β-divergence relative to its initial value), so
// that its iterates equal scikit-learn's; only the arithmetic is LibTorch's.
#include <cmath>
#include <limits>

#include "bindings.h"
#include "factorch/divergence.h"
#include "factorch/error.h"
#include "factorch/multiplicative.h"
#include "factorch/shape_string.h"

namespace factorch::python {

namespace {

// scikit-learn's _beta_divergence(X, W, H, beta, square_root=True) for dense X, including
// its choices (entries of X ≤ float32 eps left out of the data terms, WH = 0 → eps).
double sklearn_error(const torch::Tensor& X, const torch::Tensor& W, const torch::Tensor& H, double beta) {
  torch::NoGradGuard no_grad;
  const double eps32 = std::numeric_limits<float>::epsilon();
  const torch::Tensor WH = torch::mm(W, H);
  double res = 0.0;
  if (divergence::is_euclidean(beta)) {
    res = (X - WH).square().sum().item<double>() / 2.0;
  } else {
    const torch::Tensor keep = X > eps32;
    const torch::Tensor x = X.masked_select(keep);
    torch::Tensor wh = WH.masked_select(keep);
    wh.masked_fill_(wh == 0, eps32);
    if (divergence::is_kl(beta)) {
      const double sum_wh = torch::dot(W.sum(0), H.sum(1)).item<double>();
      res = torch::dot(x, torch::log(x / wh)).item<double>() + sum_wh - x.sum().item<double>();
    } else if (divergence::is_is(beta)) {
      const torch::Tensor div = x / wh;
      res = div.sum().item<double>() - static_cast<double>(X.numel()) - torch::log(div).sum().item<double>();
    } else {
      const double sum_wh_beta = WH.pow(beta).sum().item<double>();
      const double sum_x_wh = torch::dot(x, wh.pow(beta - 1.0)).item<double>();
      res = x.pow(beta).sum().item<double>() - beta * sum_x_wh + sum_wh_beta * (beta - 1.0);
      res /= beta * (beta - 1.0);
    }
  }
  return std::sqrt(2.0 * std::max(res, 0.0));
}

// Returns the number of iterations done; W (and H when update_H) are updated in place.
int64_t sklearn_mu(const torch::Tensor& X, torch::Tensor W, torch::Tensor H, double beta, int64_t max_iter, double tol,
                   double l1_w, double l1_h, double l2_w, double l2_h, bool update_h) {
  require(X.dim() == 2 && W.dim() == 2 && H.dim() == 2 && W.size(0) == X.size(0) && H.size(1) == X.size(1) &&
              W.size(1) == H.size(0),
          "sklearn_mu: X " + shape_string(X) + ", W " + shape_string(W) + ", H " + shape_string(H) + " do not fit");
  require(W.scalar_type() == X.scalar_type() && H.scalar_type() == X.scalar_type(),
          "sklearn_mu: W and H must have X's dtype");
  torch::NoGradGuard no_grad;
  const BetaDivergence divergence(beta);
  // scikit-learn's denominators add l2·A; the shared MM step adds 2·l2·A (∂ of l2·ΣA²).
  const FactorPenalty pw{l1_w, l2_w / 2.0}, ph{l1_h, l2_h / 2.0};
  const double eps64 = std::numeric_limits<double>::epsilon();
  const double error_at_init = tol > 0.0 ? sklearn_error(X, W, H, beta) : 0.0;
  double previous = error_at_init;
  int64_t it = 1;
  for (; it <= max_iter; ++it) {
    multiplicative_update_(W, MultilinearTerm{{}, H, {}}, X, divergence, pw);
    if (beta < 1.0) W.masked_fill_(W < eps64, 0.0);
    if (update_h) {
      multiplicative_update_(H, MultilinearTerm{W, {}, {}}, X, divergence, ph);
      if (beta <= 1.0) H.masked_fill_(H < eps64, 0.0);
    }
    if (tol > 0.0 && it % 10 == 0) {
      const double error = sklearn_error(X, W, H, beta);
      if ((previous - error) / error_at_init < tol) break;
      previous = error;
    }
  }
  return std::min(it, max_iter);
}

}  // namespace

void bind_sklearn(py::module& m) {
  m.def("_sklearn_mu",
        [](const torch::Tensor& X, torch::Tensor W, torch::Tensor H, double beta, int64_t max_iter, double tol,
           double l1_w, double l1_h, double l2_w, double l2_h, bool update_h) {
          py::gil_scoped_release release;
          return sklearn_mu(X, std::move(W), std::move(H), beta, max_iter, tol, l1_w, l1_h, l2_w, l2_h, update_h);
        },
        py::arg("X"), py::arg("W"), py::arg("H"), py::arg("beta"), py::arg("max_iter"), py::arg("tol"),
        py::arg("l1_w"), py::arg("l1_h"), py::arg("l2_w"), py::arg("l2_h"), py::arg("update_h"));
  m.def("_sklearn_error", &sklearn_error, py::arg("X"), py::arg("W"), py::arg("H"), py::arg("beta"));
}

}  // namespace factorch::python
