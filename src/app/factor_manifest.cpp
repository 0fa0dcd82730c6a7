#include "app/factor_manifest.h"

#include "app/json_file.h"
#include "factorch/error.h"
#include "factorch/eval/metrics_json.h"

namespace factorch::app {

namespace fs = std::filesystem;

namespace {
constexpr const char* kSchema = "factorch-factors/1";
}

void write_factor_manifest(const std::string& dir, const NamedTensors& factors, const FactorDescriptions& descriptions) {
  eval::Json list = eval::Json::array();
  for (const auto& item : factors) {
    const FactorDescription* d = find_factor(descriptions, item.key());
    const FactorDescription f = d ? *d : FactorDescription(item.key(), FactorRole::Other, "");
    eval::Json shape = eval::Json::array();
    for (const int64_t s : item.value().sizes()) shape.push(s);
    eval::Json e = eval::Json::object();
    e.set("name", f.name).set("role", role_name(f.role)).set("meaning", f.meaning).set("plot", plot_name(f.plot));
    e.set("shape", shape).set("grid", f.grid).set("axis", f.axis).set("layer", static_cast<int64_t>(f.layer));
    list.push(e);
  }
  eval::Json root = eval::Json::object();
  root.set("schema", kSchema).set("factors", list);
  fs::create_directories(fs::path(dir) / "factors");
  eval::write_json((fs::path(dir) / "factors" / "factors.json").string(), root);
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
