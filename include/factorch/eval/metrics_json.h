#pragma once
// An ordered JSON value for the files that runs write (metrics.json, separation.json, ...),
// built and serialised by nlohmann::ordered_json behind this small facade (nlohmann stays out
// of installed headers).
//
// Non-finite numbers, which JSON cannot represent, are written as the strings "nan", "inf"
// and "-inf": the file stays strict JSON for every parser, +inf (a perfect SDR) stays apart
// from nan, and in Python `float(v)` turns every score back into a number, e.g.
// `float(m["mean"]["sdr"])` (README, "metrics.json").
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "factorch/eval/bss.h"

namespace factorch::eval {

class Json {
 public:
  Json();  ///< null
  Json(double v);
  Json(int v) : Json(static_cast<int64_t>(v)) {}
  Json(int64_t v);
  Json(bool v);
  Json(const char* v) : Json(std::string(v)) {}
  Json(std::string v);
  Json(const Json& other);
  Json(Json&& other) noexcept;
  Json& operator=(Json other) noexcept;
  ~Json();

  static Json object();
  static Json array();

  /// Appends a key (objects keep insertion order; a repeated key is replaced in place).
  Json& set(const std::string& key, Json value);
  /// Appends an element to an array.
  Json& push(Json value);

  bool is_null() const;
  /// Pretty-printed with `indent` spaces per level; indent ≤ 0: one line, no spaces.
  std::string dump(int indent = 2) const;

  struct Value;  ///< nlohmann::ordered_json, defined in the .cpp only

 private:
  std::unique_ptr<Value> value_;
};

/// metrics.json of one bss_eval_sources result: metrics_json(metrics_table(...)) (see
/// factorch/eval/metrics_table.h for the schema).
Json bss_metrics_json(const BssEvalResult& result, const std::vector<std::string>& reference_names,
                      const std::vector<std::string>& estimate_names, const BssEvalOptions& options = {});

/// Writes `json` (with a trailing newline) atomically.
void write_json(const std::string& path, const Json& json);

}  // namespace factorch::eval
