#pragma once
// Reading the JSON files that runs write (metrics.json, separation.json, ...) for reports:
// nlohmann::ordered_json keeps the document order, so tables come out as written.
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

namespace factorch::app {

/// The parsed file; invalid JSON → factorch::Error "<file>: not valid JSON: <why>".
nlohmann::ordered_json read_json_file(const std::filesystem::path& file);

/// A number of such a file: a JSON number, or one of the strings "nan", "inf", "-inf" that
/// eval::Json writes for non-finite values (factorch/eval/metrics_json.h); else nullopt.
std::optional<double> json_number(const nlohmann::ordered_json& value);

}  // namespace factorch::app
