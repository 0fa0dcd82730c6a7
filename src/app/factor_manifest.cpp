#include "app/factor_manifest.h"

#include "app/json_file.h"
#include "factorch/error.h"
#include "factorch/eval/table.h"

namespace factorch::app {

namespace fs = std::filesystem;

namespace {
constexpr const char* kSchema = "factorch-factors/1";
}

void write_factor_manifest(const std::string& dir, const NamedTensors& factors, const FactorDescriptions& descriptions) {
  eval::Table table("factors", {"name", "role", "meaning", "plot", "shape", "grid", "axis", "layer"}, "factors");
  table.set("schema", kSchema);
  for (const auto& item : factors) {
    const FactorDescription* d = find_factor(descriptions, item.key());
    const FactorDescription f = d ? *d : FactorDescription(item.key(), FactorRole::Other, "");
    table.add_row({f.name, role_name(f.role), f.meaning, plot_name(f.plot), item.value().sizes().vec(), f.grid, f.axis,
                   static_cast<int64_t>(f.layer)});
  }
  fs::create_directories(fs::path(dir) / "factors");
  eval::write_table(table, (fs::path(dir) / "factors").string());
}

std::optional<FactorDescriptions> read_factor_manifest(const fs::path& factors_dir) {
  const fs::path file = factors_dir / "factors.json";
  if (!fs::is_regular_file(file)) return std::nullopt;
  const nlohmann::ordered_json root = read_json_file(file);
  const auto bad = [&](const std::string& what) { return Error(file.string() + ": " + what); };
  if (!root.is_object() || root.value("schema", std::string()) != kSchema || !root.contains("factors") ||
      !root["factors"].is_array())
    throw bad(std::string("not a factor description (schema '") + kSchema + "' with a 'factors' list)");
  FactorDescriptions out;
  for (const auto& e : root["factors"]) {
    const auto text = [&](const char* key) {
      if (!e.is_object() || !e.contains(key) || !e[key].is_string()) throw bad(std::string("a factor has no string '") + key + "'");
      return e[key].get<std::string>();
    };
    FactorDescription d(text("name"), FactorRole::Other, text("meaning"));
    try {
      d.role = parse_role(text("role"));
      d.plot = parse_plot(text("plot"));
    } catch (const Error& why) {
      throw bad(d.name + ": " + why.what());
    }
    d.grid = text("grid");
    d.axis = text("axis");
    if (!e.contains("layer") || !e["layer"].is_number_integer()) throw bad(d.name + ": 'layer' is not an integer");
    d.layer = e["layer"].get<int>();
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace factorch::app
