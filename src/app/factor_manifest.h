#pragma once
// factors/factors.json: the model's description of the factors written next to it
// (FactorModelImpl::describe_factors()), so that `factorch report DIR` draws what the model
// says, from the directory's files alone, without knowing the model type.
//   {"schema": "factorch-factors/1", "factors": [
//     {"name": "W", "role": "dictionary", "meaning": "...", "plot": "image", "shape": [F, K],
//      "grid": "", "axis": "", "layer": 0}, ...]}
#include <filesystem>
#include <optional>
#include <string>

#include "factorch/models/factor_description.h"
#include "factorch/named_tensors.h"

namespace factorch::app {

/// Writes dir/factors/factors.json (atomically) for `factors`, in their order; a factor that
/// `descriptions` does not name is written as role "other".
void write_factor_manifest(const std::string& dir, const NamedTensors& factors, const FactorDescriptions& descriptions);

/// The descriptions of factors_dir/factors.json; nullopt when there is none (runs written
/// before it). Throws factorch::Error naming the file and key when it cannot be read.
std::optional<FactorDescriptions> read_factor_manifest(const std::filesystem::path& factors_dir);

}  // namespace factorch::app
