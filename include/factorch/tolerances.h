#pragma once
// Named tolerances shared by the library, so that one value is not restated in several files.

namespace factorch {

/// Two real model parameters (β of a divergence, γ of an MM exponent) closer than this are the
/// same value, so the closed forms of the special values (KL, IS, Euclidean; γ = 1, ½) apply to
/// a β read as 1.0000000000001 as to 1.
inline constexpr double kParameterTolerance = 1e-12;

/// Smallest value kept in a nonnegative factor (project() floors, flat starts, the domain of
/// softplus⁻¹): far below any activation of real data, far above underflow.
inline constexpr double kFactorFloor = 1e-12;

}  // namespace factorch
