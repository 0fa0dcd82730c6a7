#include "factorch/models/factor_description.h"

#include <algorithm>

#include "factorch/error.h"

namespace factorch {

namespace {
const std::vector<std::pair<FactorRole, const char*>> kRoles = {
    {FactorRole::Dictionary, "dictionary"}, {FactorRole::Activations, "activations"}, {FactorRole::Transform, "transform"},
    {FactorRole::Grid, "grid"},             {FactorRole::Network, "network"},         {FactorRole::Other, "other"}};
const std::vector<std::pair<FactorPlot, const char*>> kPlots = {
    {FactorPlot::None, "none"}, {FactorPlot::Image, "image"}, {FactorPlot::Atoms, "atoms"}};

template <class E>
std::string name_of(const std::vector<std::pair<E, const char*>>& table, E value) {
  for (const auto& [v, n] : table)
    if (v == value) return n;
  return "?";
}

template <class E>
E parse(const std::vector<std::pair<E, const char*>>& table, const std::string& name, const char* what) {
  std::string known;
  for (const auto& [v, n] : table) {
    if (name == n) return v;
    known += (known.empty() ? "" : ", ") + std::string(n);
  }
  throw Error(std::string("unknown factor ") + what + " '" + name + "' (known: " + known + ")");
}
}  // namespace

std::string role_name(FactorRole role) { return name_of(kRoles, role); }
FactorRole parse_role(const std::string& name) { return parse(kRoles, name, "role"); }
std::string plot_name(FactorPlot plot) { return name_of(kPlots, plot); }
FactorPlot parse_plot(const std::string& name) { return parse(kPlots, name, "plot"); }

const FactorDescription* find_factor(const FactorDescriptions& descriptions, const std::string& name) {
  for (const auto& d : descriptions)
    if (d.name == name) return &d;
  return nullptr;
}

const FactorDescription* whole_factor(const FactorDescriptions& descriptions, FactorRole role) {
  const FactorDescription* found = nullptr;
  for (const auto& d : descriptions) {
    if (d.role != role || d.layer != 0) continue;
    if (found) throw Error("two factors are described as the " + role_name(role) + ": " + found->name + " and " + d.name);
    found = &d;
  }
  return found;
}

std::vector<const FactorDescription*> dictionary_layers(const FactorDescriptions& descriptions) {
  std::vector<const FactorDescription*> out;
  for (const auto& d : descriptions)
    if (d.role == FactorRole::Dictionary && d.layer > 0) out.push_back(&d);
  std::stable_sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->layer < b->layer; });
  return out;
}

}  // namespace factorch
