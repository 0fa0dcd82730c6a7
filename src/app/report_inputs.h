#pragma once
// What the run report reads from a run directory (private to src/app/report*.cpp): the
// resolved config's few facts that put units on the axes, and the audio files to play.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "factorch/models/factor_description.h"

namespace factorch::app {

struct AudioItem {
  std::string group;  ///< mixture, sources, baseline, components, reference, estimate
  std::string label;  ///< shown next to the player
  std::filesystem::path path;
  /// The mixture it belongs to in a run of several (mixtures/<m>.wav, sources/<m>/*.wav,
  /// baselines/<b>/sources/<m>/*.wav), or "<folder>/" for a separation nested in a folder of
  /// the run (innmf's n_fft<N>/ for each further window size); "" otherwise.
  std::string mixture = {};
};

struct RunInputs {
  std::filesystem::path dir;
  YAML::Node config;        ///< config.resolved.yaml (null when absent, e.g. factorch eval)
  std::string config_text;  ///< its text, shown on the page
  std::string model_type;   ///< model.type, or "" when there is no config
  std::optional<double> sample_rate;     ///< from the first WAV, else data.sample_rate / piano_sample_rate
  std::optional<int64_t> n_fft, hop;     ///< data.transform.n_fft and .hop
  std::string representation;            ///< data.transform.kind ("" when absent)
  double power_exponent = 1;             ///< V^p is a power: 2 for magnitudes, 2/c for |X|^c
  bool log_frequency = false;            ///< output.log_frequency
  std::optional<std::filesystem::path> input_npy;  ///< data.input when it is a .npy (as written)
  /// Mixture first, then sources, baseline, components; several mixtures: then, per mixture
  /// (in natural order), its mixture, sources and baselines' sources.
  std::vector<AudioItem> audio;
  std::vector<std::string> nested_runs;  ///< folders of the run holding their own separation
  /// factors/factors.json (the model's description of factors/*.npy), or for runs written
  /// before it, the descriptions their factor files' names imply.
  FactorDescriptions factors;
};

/// Reads the run's inputs; throws factorch::Error when `dir` has neither
/// config.resolved.yaml nor metrics.json, or when the config cannot be parsed.
RunInputs read_run_inputs(const std::string& dir);

/// `target` relative to `dir`, percent-encoded for an href/src attribute.
std::string relative_url(const std::filesystem::path& target, const std::filesystem::path& dir);

}  // namespace factorch::app
