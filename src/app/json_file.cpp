#include "app/json_file.h"

#include <cmath>
#include <fstream>
#include <limits>

#include "factorch/error.h"

namespace factorch::app {

nlohmann::ordered_json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  require(in.good(), file.string() + ": cannot be read");
  try {
    return nlohmann::ordered_json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not valid JSON: " + e.what());
  }
}

std::optional<double> json_number(const nlohmann::ordered_json& value) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  const auto& s = value.get_ref<const std::string&>();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

}  // namespace factorch::app
