#pragma once
// Optimisation on the orthogonal group O(M) (TL-NMF's transform Φ, or any orthogonal factor).
//
// Every update here is a left multiplication Φ ← Q(μE)·Φ by an orthogonal Q built from a
// skew-symmetric direction E (Eᵀ = −E) and a step μ; Q(μE) = I + μE + O(μ²) for every kind, so
// the directional derivative of J(Q(μE)Φ) at μ = 0 is ⟨Γ, E⟩ with Γ = ∇J·Φᵀ the *relative*
// gradient, whatever the retraction:
//   projected:   Q = polar(I + μE)          (nearest orthogonal matrix, by SVD: U·Vᵀ)
//   cayley:      Q = (I − μ/2·E)⁻¹(I + μ/2·E)
//   exponential: Q = expm(μE)
// Steepest descent is E = −skew(Γ); the preconditioned (quasi-Newton) direction divides it
// entrywise by a diagonal Hessian approximation clipped from below (precondition()).
// A plain Riemannian step is badly conditioned on TL-NMF problems (see DESIGN.md): the
// preconditioned direction is what makes the step size 1 meaningful.
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace factorch::orthogonal {

enum class Retraction { Projected, Cayley, Exponential };

/// "projected" (alias "polar") | "cayley" | "qn" (alias "expm", "exponential"); else factorch::Error.
Retraction retraction_from_name(const std::string& name);
std::string retraction_name(Retraction r);

/// ½(A − Aᵀ).
torch::Tensor skew(const torch::Tensor& A);

/// Nearest orthogonal matrix in Frobenius norm, U·Vᵀ from the SVD A = U·S·Vᵀ (A square).
torch::Tensor polar(const torch::Tensor& A);

/// The orthogonal Q(step·E) of the chosen retraction (E skew-symmetric, square); the
/// exponential is torch::matrix_exp here (RetractionPath has the eigendecomposition one).
torch::Tensor retraction_matrix(const torch::Tensor& E, double step, Retraction kind);

/// exp(t·E) of one skew-symmetric E for any number of t, from one real symmetric
/// eigendecomposition EᵀE = −E² = V·diag(μ²)·Vᵀ: splitting the series into even and odd powers,
///   exp(tE) = V·diag(cos tμ)·Vᵀ + E·V·diag(sin(tμ)/μ)·Vᵀ.
/// Both are entire functions of EᵀE, so a cluster of equal μ (every μ comes twice) or a
/// vanishing one costs no accuracy. Construction: one product, one eigh, one product; each t:
/// one product. (The complex route, eigh of the Hermitian iE, gives the same matrix at about
/// four times the cost of the real eigh here.)
class SkewExponential {
 public:
  explicit SkewExponential(const torch::Tensor& E);
  torch::Tensor operator()(double t) const;

 private:
  torch::Tensor V_, EV_, mu_;
};

/// exp(t·E) of one skew-symmetric E for the steps of one backtracking line search, by the
/// Taylor polynomials of Bader, Blanes & Casas (2019, the ones torch::matrix_exp uses), arranged
/// for many t: the powers of A = τE they need are τ-scaled powers of E, kept for the direction.
///   ‖tE‖ ≤ θ₁₂ = 0.2996: degree 12 from E, E², E³: two products per t.
///   otherwise: degree 18 from E, E², E³, E⁶ (E⁶ computed on first need) with s squarings,
///   τ = t/2^s the least with τ·ν ≤ θ₁₈ = 1.0909: two products and s squarings per t. The
///   squarings exp(τE)^(2^k) are kept, so the backtracking steps t/2, …, t/2^s cost nothing.
/// ν ≥ ‖E‖₂ is min(√‖E²‖₁, ‖E³‖₁^{1/3}, ‖E⁶‖₁^{1/6}) (powers of a normal matrix: ‖·‖₂ ≤ ‖·‖₁),
/// a tighter bound than torch::matrix_exp's ‖tE‖₁, so lower degrees and fewer squarings.
/// Construction: two products at ¾ of a product's work each (E², E³ are symmetric/skew).
/// The returned matrix is the caller's; the object holds no buffer the next call overwrites.
class SkewTaylorExponential {
 public:
  explicit SkewTaylorExponential(const torch::Tensor& E);
  torch::Tensor operator()(double t) const;

 private:
  void compute_sixth_power() const;
  torch::Tensor powers_;   // 4×M·M: E, E², E³, E⁶ (the last filled by compute_sixth_power)
  int64_t M_ = 0;
  mutable bool have_sixth_ = false;
  mutable double norm_bound_ = 0;  // ν ≥ ‖E‖₂
  mutable std::vector<std::pair<double, torch::Tensor>> kept_;  // (t, exp(tE)) of the last evaluation
};

/// How RetractionPath evaluates the exponential retraction.
enum class ExpMethod {
  MatrixExp,  ///< torch::matrix_exp per step (the reference)
  Eigh,       ///< SkewExponential: one eigendecomposition per direction, one product per step
  Taylor,     ///< SkewTaylorExponential: two or three products per direction, two per step
};
/// "matrix_exp" | "eigh" | "taylor"; else factorch::Error.
ExpMethod exp_method_from_name(const std::string& name);

/// Q(step·E) of the chosen retraction for the many steps of one line search. The exponential
/// uses `method` (the bool form: eigen ? Eigh : MatrixExp); the other kinds have no
/// per-direction work.
class RetractionPath {
 public:
  RetractionPath(const torch::Tensor& E, Retraction kind, bool eigen = true);
  RetractionPath(const torch::Tensor& E, Retraction kind, ExpMethod method);
  torch::Tensor operator()(double step) const;

 private:
  torch::Tensor E_;
  Retraction kind_;
  std::optional<SkewExponential> exp_;
  std::optional<SkewTaylorExponential> taylor_;
};

/// ‖Φ·Φᵀ − I‖_F (computed in the dtype of Φ).
double orthogonality_error(const torch::Tensor& Phi);

/// Throws factorch::Error "<what> is not orthogonal (‖ΦΦᵀ − I‖_F = x > tol)" or on a non-square matrix.
void require_orthogonal(const torch::Tensor& Phi, double tol, const std::string& what);

/// Uniformly (Haar) distributed random orthogonal M×M matrix: QR of a Gaussian matrix with
/// the signs of R's diagonal moved into Q. Deterministic for a seed.
torch::Tensor random_orthogonal(int64_t M, uint64_t seed, const torch::TensorOptions& options = torch::kFloat64);

/// Quasi-Newton direction E = −G ⊘ max(H, floor): G skew, H symmetric positive (a diagonal
/// Hessian approximation in the skew coordinates). The result is skew-symmetric.
torch::Tensor precondition(const torch::Tensor& G, const torch::Tensor& H, double floor);

struct ArmijoOptions {
  double initial_step = 1.0;  ///< first μ tried
  double shrink = 0.5;        ///< μ ← shrink·μ after a rejected trial
  double c1 = 1e-4;           ///< sufficient decrease: J(μ) ≤ J(0) + c1·μ·slope
  int max_tries = 30;         ///< trials before giving up (the point is then left unchanged)
};

struct ArmijoResult {
  bool accepted = false;
  double step = 0.0;    ///< accepted μ (0 if none)
  double value = 0.0;   ///< J at the accepted point (J(0) if none)
  double f0 = 0.0;      ///< J(0)
  double slope = 0.0;   ///< directional derivative at μ = 0 (must be < 0)
  int tries = 0;
};

/// Backtracking on μ: value(μ) is J at the trial point for step μ (the caller keeps whatever
/// it needs from the last call, e.g. the trial Φ). A non-negative slope or a non-finite
/// trial value are rejections, never accepted.
ArmijoResult armijo_backtracking(double f0, double slope, const std::function<double(double)>& value,
                                 const ArmijoOptions& options = {});

}  // namespace factorch::orthogonal
