#include "factorch/eval/metrics_json.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "factorch/error.h"
#include "factorch/eval/metrics_table.h"
#include "factorch/io/atomic_file.h"

namespace factorch::eval {

struct Json::Value {
  nlohmann::ordered_json j;
};

namespace {
// The NaN/Inf policy of the header: JSON has no such numbers.
nlohmann::ordered_json number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}
}  // namespace

Json::Json() : value_(std::make_unique<Value>()) {}
Json::Json(double v) : value_(std::make_unique<Value>(Value{number(v)})) {}
Json::Json(int64_t v) : value_(std::make_unique<Value>(Value{v})) {}
Json::Json(bool v) : value_(std::make_unique<Value>(Value{v})) {}
Json::Json(std::string v) : value_(std::make_unique<Value>(Value{std::move(v)})) {}
Json::Json(const Json& other) : value_(std::make_unique<Value>(*other.value_)) {}
Json::Json(Json&& other) noexcept : value_(std::move(other.value_)) {}
Json& Json::operator=(Json other) noexcept {
  value_ = std::move(other.value_);
  return *this;
}
Json::~Json() = default;

Json Json::object() {
  Json j;
  j.value_->j = nlohmann::ordered_json::object();
  return j;
}

Json Json::array() {
  Json j;
  j.value_->j = nlohmann::ordered_json::array();
  return j;
}

Json& Json::set(const std::string& key, Json value) {
  require(value_->j.is_object(), "Json::set: not an object");
  value_->j[key] = std::move(value.value_->j);
  return *this;
}

Json& Json::push(Json value) {
  require(value_->j.is_array(), "Json::push: not an array");
  value_->j.push_back(std::move(value.value_->j));
  return *this;
}

bool Json::is_null() const { return value_->j.is_null(); }

std::string Json::dump(int indent) const {
  // Invalid UTF-8 in a name (a file name in another encoding) is replaced, not thrown.
  return value_->j.dump(indent > 0 ? indent : -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Json bss_metrics_json(const BssEvalResult& result, const std::vector<std::string>& reference_names,
                      const std::vector<std::string>& estimate_names, const BssEvalOptions& options) {
  return metrics_json({metrics_table(result, reference_names, estimate_names, options)});
}

void write_json(const std::string& path, const Json& json) { io::write_file_atomically(path, json.dump() + "\n"); }

}  // namespace factorch::eval
