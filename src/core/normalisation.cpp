#include "factorch/normalisation.h"

#include "factorch/error.h"

namespace factorch {

Normalisation normalisation_from_name(const std::string& name) {
  if (name == "none") return Normalisation::None;
  if (name == "l1") return Normalisation::L1;
  if (name == "l2") return Normalisation::L2;
  throw Error("normalise must be l1, l2 or none, got '" + name + "'");
}

std::string normalisation_name(Normalisation normalisation) {
  switch (normalisation) {
    case Normalisation::None: return "none";
    case Normalisation::L1: return "l1";
    case Normalisation::L2: return "l2";
  }
  return "?";
}

}  // namespace factorch
