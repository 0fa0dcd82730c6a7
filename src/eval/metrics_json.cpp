#include "factorch/eval/metrics_json.h"

#include <cmath>
#include <cstdio>

#include "factorch/error.h"
#include "factorch/io/atomic_file.h"

namespace factorch::eval {

namespace {

std::string escape(const std::string& s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string format_number(double v) {
  if (std::isnan(v)) return "\"nan\"";
  if (std::isinf(v)) return v > 0 ? "\"inf\"" : "\"-inf\"";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);  // round-trips exactly
  return buf;
}

}  // namespace

Json::Json(double v) : kind_(Kind::Number), number_(v) {}
Json::Json(int64_t v) : kind_(Kind::Integer), integer_(v) {}
Json::Json(bool v) : kind_(Kind::Bool), boolean_(v) {}
Json::Json(std::string v) : kind_(Kind::String), string_(std::move(v)) {}

Json Json::object() {
  Json j;
  j.kind_ = Kind::Object;
  return j;
}

Json Json::array() {
  Json j;
  j.kind_ = Kind::Array;
  return j;
}

Json& Json::set(const std::string& key, Json value) {
  require(kind_ == Kind::Object, "Json::set: not an object");
  for (auto& member : members_)
    if (member.first == key) {
      member.second = std::move(value);
      return *this;
    }
  members_.emplace_back(key, std::move(value));
  return *this;
}

Json& Json::push(Json value) {
  require(kind_ == Kind::Array, "Json::push: not an array");
  members_.emplace_back(std::string(), std::move(value));
  return *this;
}

std::string Json::dump(int indent) const {
  std::string out;
  write(out, indent, 0);
  return out;
}

void Json::write(std::string& out, int indent, int depth) const {
  switch (kind_) {
    case Kind::Null: out += "null"; return;
    case Kind::Number: out += format_number(number_); return;
    case Kind::Integer: out += std::to_string(integer_); return;
    case Kind::Bool: out += boolean_ ? "true" : "false"; return;
    case Kind::String: out += escape(string_); return;
    case Kind::Array:
    case Kind::Object: break;
  }
  const bool is_object = kind_ == Kind::Object;
  if (members_.empty()) {
    out += is_object ? "{}" : "[]";
    return;
  }
  // Arrays of scalars stay on one line: short metric vectors read better that way.
  bool scalars = !is_object;
  for (const auto& m : members_) scalars = scalars && m.second.kind_ != Kind::Array && m.second.kind_ != Kind::Object;
  const bool newline = indent > 0 && !scalars;
  const std::string pad_inner = newline ? std::string((depth + 1) * indent, ' ') : "";
  out += is_object ? '{' : '[';
  for (size_t i = 0; i < members_.size(); ++i) {
    out += i ? (newline ? ",\n" : ", ") : (newline ? "\n" : "");
    out += pad_inner;
    if (is_object) out += escape(members_[i].first) + (indent > 0 ? ": " : ":");
    members_[i].second.write(out, indent, depth + 1);
  }
  if (newline) out += "\n" + std::string(depth * indent, ' ');
  out += is_object ? '}' : ']';
}

Json bss_metrics_json(const BssEvalResult& result, const std::vector<std::string>& reference_names,
                      const std::vector<std::string>& estimate_names, const BssEvalOptions& options) {
  const auto S = static_cast<size_t>(result.sdr.size(0));
  require(reference_names.size() == S && estimate_names.size() == S,
          "bss_metrics_json: need one name per reference and per estimate");
  const auto sdr = result.sdr.accessor<double, 1>(), sir = result.sir.accessor<double, 1>(),
             sar = result.sar.accessor<double, 1>();
  auto sources = Json::array();
  auto permutation = Json::array();
  for (size_t j = 0; j < S; ++j) {
    const auto k = static_cast<size_t>(result.permutation[j]);
    sources.push(Json::object()
                     .set("reference", reference_names[j])
                     .set("estimate", estimate_names[k])
                     .set("sdr", sdr[j])
                     .set("sir", sir[j])
                     .set("sar", sar[j]));
    permutation.push(static_cast<int64_t>(k));
  }
  return Json::object()
      .set("metric", "bss_eval_sources")
      .set("filter_length", options.filter_length)
      .set("sources", sources)
      .set("mean", Json::object()
                       .set("sdr", result.sdr.mean().item<double>())
                       .set("sir", result.sir.mean().item<double>())
                       .set("sar", result.sar.mean().item<double>()))
      .set("permutation", permutation);
}

void write_json(const std::string& path, const Json& json) { io::write_file_atomically(path, json.dump() + "\n"); }

}  // namespace factorch::eval
