#pragma once
// What a model's factors are, said by the model itself (FactorModelImpl::describe_factors(),
// next to its factors()): the run writer stores it beside the factors (factors/factors.json,
// the checkpoint), so that reports, `factorch info` and the shared separation path ask the
// description instead of knowing each model's type or factor names.
#include <string>
#include <utility>
#include <vector>

namespace factorch {

/// What part a factor plays.
enum class FactorRole {
  Dictionary,   ///< spectral templates, one per column (F × K); layered: one layer of the product
  Activations,  ///< one row per component over the data's columns (K × N)
  Transform,    ///< a learnt transform of the frames (TL-NMF's Φ, one atom per row)
  Grid,         ///< coordinates of another factor's rows or columns (Hz, s)
  Network,      ///< weights of a network that produces a factor
  Other,
};

/// How a report draws a factor.
enum class FactorPlot {
  None,
  Image,  ///< heatmap: a dictionary's columns, an activation matrix's rows
  Atoms,  ///< each row as a waveform, with its power spectrum
};

struct FactorDescription {
  FactorDescription() = default;
  FactorDescription(std::string name_, FactorRole role_, std::string meaning_, FactorPlot plot_ = FactorPlot::None)
      : name(std::move(name_)), role(role_), meaning(std::move(meaning_)), plot(plot_) {}

  std::string name;  ///< the key in factors()
  FactorRole role = FactorRole::Other;
  std::string meaning;  ///< one line for users (`factorch info`, the report's captions)
  FactorPlot plot = FactorPlot::None;
  /// The Grid factor holding the coordinates of this factor's rows (a dictionary: Hz) or
  /// columns (activations: s); "" when they are the representation's bins / frames.
  std::string grid;
  /// Label of a dictionary's rows when they are not frequencies (TL-NMF: atoms); "".
  std::string axis;
  /// A dictionary given as a product W_1·…·W_L (layered NMF): this factor is layer 1..L.
  /// 0: the factor is the whole dictionary.
  int layer = 0;

  FactorDescription& with_grid(std::string g) { grid = std::move(g); return *this; }
  FactorDescription& with_axis(std::string a) { axis = std::move(a); return *this; }
  FactorDescription& with_layer(int l) { layer = l; return *this; }
};

using FactorDescriptions = std::vector<FactorDescription>;

/// Stable names in files ("dictionary", "image", ...); parse_* throw factorch::Error on an
/// unknown name.
std::string role_name(FactorRole role);
FactorRole parse_role(const std::string& name);
std::string plot_name(FactorPlot plot);
FactorPlot parse_plot(const std::string& name);

/// The description named `name`, or nullptr.
const FactorDescription* find_factor(const FactorDescriptions& descriptions, const std::string& name);

/// The one factor that is the whole dictionary (role Dictionary, layer 0) or the activations
/// (role Activations); nullptr when there is none. Throws factorch::Error when there are two.
const FactorDescription* whole_factor(const FactorDescriptions& descriptions, FactorRole role);

/// The layers of a product dictionary (role Dictionary, layer ≥ 1) in layer order.
std::vector<const FactorDescription*> dictionary_layers(const FactorDescriptions& descriptions);

}  // namespace factorch
