#pragma once
// A minimal ordered JSON builder for metrics files (metrics.json). Non-finite numbers, which
// JSON cannot represent, are written as the strings "inf", "-inf" and "nan".
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "factorch/eval/bss.h"

namespace factorch::eval {

class Json {
 public:
  Json() : kind_(Kind::Null) {}
  Json(double v);
  Json(int v) : Json(static_cast<int64_t>(v)) {}
  Json(int64_t v);
  Json(bool v);
  Json(const char* v) : Json(std::string(v)) {}
  Json(std::string v);

  static Json object();
  static Json array();

  /// Appends a key (objects keep insertion order; a repeated key is replaced).
  Json& set(const std::string& key, Json value);
  /// Appends an element to an array.
  Json& push(Json value);

  std::string dump(int indent = 2) const;

 private:
  enum class Kind { Null, Number, Integer, Bool, String, Array, Object };
  void write(std::string& out, int indent, int depth) const;

  Kind kind_;
  double number_ = 0;
  int64_t integer_ = 0;
  bool boolean_ = false;
  std::string string_;
  std::vector<std::pair<std::string, Json>> members_;  // objects: key/value; arrays: "" / value
};

/// metrics.json for bss_eval_sources: per reference its name, the matched estimate and the
/// SDR/SIR/SAR in dB, their means and the permutation.
Json bss_metrics_json(const BssEvalResult& result, const std::vector<std::string>& reference_names,
                      const std::vector<std::string>& estimate_names, const BssEvalOptions& options = {});

/// Writes `json` (with a trailing newline) atomically.
void write_json(const std::string& path, const Json& json);

}  // namespace factorch::eval
