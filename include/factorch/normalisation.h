#pragma once
// Column normalisation of a dictionary after a multiplicative sweep: each column of W scaled
// to unit norm, the scale moved into the activations (the product unchanged).
#include <string>

namespace factorch {

enum class Normalisation { None, L1, L2 };

/// "none" | "l1" | "l2"; else factorch::Error ("normalise must be l1, l2 or none, got '…'").
Normalisation normalisation_from_name(const std::string& name);
/// The name normalisation_from_name() reads.
std::string normalisation_name(Normalisation normalisation);

}  // namespace factorch
