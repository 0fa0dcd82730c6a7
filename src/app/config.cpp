#include "app/config.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "factorch/error.h"
#include "factorch/io/atomic_file.h"

namespace factorch {

namespace {

const std::vector<std::string> kSections = {"model", "data", "trainer", "output"};

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream ss(path);
  std::string p;
  while (std::getline(ss, p, '.')) parts.push_back(p);
  return parts;
}

// yaml-cpp: assigning a Node to a Node *replaces its content*; reset() rebinds.
YAML::Node lookup(const YAML::Node& root, const std::string& path) {
  YAML::Node cur;
  cur.reset(root);
  for (const std::string& part : split_path(path)) {
    if (!cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node next = cur[part];
    if (!next) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(next);
  }
  return cur;
}

void assign(YAML::Node root, const std::string& path, const YAML::Node& value) {
  const auto parts = split_path(path);
  YAML::Node cur;
  cur.reset(root);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!cur[parts[i]] || !cur[parts[i]].IsMap()) cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    YAML::Node next = cur[parts[i]];
    cur.reset(next);
  }
  cur[parts.back()] = value;
}

std::string scalar_text(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

bool parse_integer(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0') return false;
  out = v;
  return true;
}

bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool parse_bool(const YAML::Node& n, bool& out) {
  try {
    out = n.as<bool>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

std::string format(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}

std::string range_text(const KeySpec& k, bool integer) {
  if (integer && k.min && !k.max) {
    if (*k.min == 1 || (*k.min == 0 && k.min_exclusive)) return "a positive integer";
    if (*k.min == 0) return "a nonnegative integer";
  }
  std::string what = integer ? "an integer" : "a number";
  if (k.min && k.max) return what + " in " + (k.min_exclusive ? "(" : "[") + format(*k.min) + ", " + format(*k.max) + "]";
  if (k.min) return what + (k.min_exclusive ? " > " : " >= ") + format(*k.min);
  if (k.max) return what + " <= " + format(*k.max);
  return what;
}

bool in_range(const KeySpec& k, double v) {
  if (k.min && (k.min_exclusive ? v <= *k.min : v < *k.min)) return false;
  if (k.max && v > *k.max) return false;
  return true;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

const char* type_name(KeyType t) {
  switch (t) {
    case KeyType::Integer: return "integer";
    case KeyType::Number: return "number";
    case KeyType::Boolean: return "bool";
    case KeyType::String: return "string";
    case KeyType::Beta: return "euclidean|kl|is|number";
    case KeyType::StringOrMap: return "string or map";
    case KeyType::StringList: return "list of strings";
    case KeyType::NumberList: return "list of numbers";
    case KeyType::IntegerList: return "list of integers";
    case KeyType::StringListMap: return "map name -> list of strings";
  }
  return "?";
}

// Checks one value against its spec; returns "" or what is wrong ("must be ...").
std::string check_value(const KeySpec& k, const YAML::Node& n) {
  auto scalar_list = [&](auto&& ok) -> std::string {
    if (n.IsScalar()) return ok(n.Scalar());
    if (!n.IsSequence()) return "must be a " + std::string(type_name(k.type));
    for (const auto& item : n) {
      if (!item.IsScalar()) return "must be a " + std::string(type_name(k.type));
      const std::string r = ok(item.Scalar());
      if (!r.empty()) return r;
    }
    return "";
  };
  switch (k.type) {
    case KeyType::Integer: {
      int64_t v;
      if (!n.IsScalar() || !parse_integer(n.Scalar(), v) || !in_range(k, static_cast<double>(v)))
        return "must be " + range_text(k, true);
      return "";
    }
    case KeyType::Number: {
      double v;
      if (!n.IsScalar() || !parse_number(n.Scalar(), v) || !in_range(k, v)) return "must be " + range_text(k, false);
      return "";
    }
    case KeyType::Boolean: {
      bool b;
      return n.IsScalar() && parse_bool(n, b) ? "" : "must be true or false";
    }
    case KeyType::Beta: {
      double v;
      if (!n.IsScalar()) return "must be euclidean, kl, is or a number";
      const std::string& s = n.Scalar();
      if (s == "euclidean" || s == "kl" || s == "is" || parse_number(s, v)) return "";
      return "must be euclidean, kl, is or a number";
    }
    case KeyType::String:
    case KeyType::StringOrMap: {
      if (n.IsMap() && k.type == KeyType::StringOrMap) {
        for (const auto& kv : n)
          if (!kv.second.IsScalar()) return "must map names to file paths";
        return "";
      }
      if (!n.IsScalar())
        return k.type == KeyType::StringOrMap
                   ? (k.choices.empty() ? "must be a string or a map" : "must be one of " + join(k.choices, ", ") + " or a map")
                   : "must be a string";
      if (!k.choices.empty() &&
          std::find(k.choices.begin(), k.choices.end(), n.Scalar()) == k.choices.end())
        return "must be one of " + join(k.choices, ", ") + (k.type == KeyType::StringOrMap ? " or a map" : "");
      return "";
    }
    case KeyType::StringList:
      return scalar_list([](const std::string&) { return std::string(); });
    case KeyType::NumberList:
      return scalar_list([&](const std::string& s) {
        double v;
        return parse_number(s, v) && in_range(k, v) ? std::string() : "must be a list of " + range_text(k, false) + "s";
      });
    case KeyType::IntegerList:
      return scalar_list([&](const std::string& s) {
        int64_t v;
        return parse_integer(s, v) && in_range(k, static_cast<double>(v)) ? std::string()
                                                                          : "must be a list of " + range_text(k, true) + "s";
      });
    case KeyType::StringListMap: {
      if (!n.IsMap()) return "must be a map name -> list of files";
      for (const auto& kv : n) {
        if (kv.second.IsScalar()) continue;
        if (!kv.second.IsSequence()) return "must be a map name -> list of files";
        for (const auto& item : kv.second)
          if (!item.IsScalar()) return "must be a map name -> list of files";
      }
      return "";
    }
  }
  return "";
}

bool is_leaf_type(KeyType t) { return t == KeyType::StringOrMap || t == KeyType::StringListMap; }

}  // namespace

// ----------------------------------------------------------------------------- schema

KeySpec& ConfigSchema::add(const std::string& path, KeyType type, const std::string& doc) {
  KeySpec spec;  // (not KeySpec{path, type, "", doc}: -Wmissing-field-initializers)
  spec.path = path;
  spec.type = type;
  spec.doc = doc;
  keys_.push_back(std::move(spec));
  return keys_.back();
}

void ConfigSchema::check_unique() const {
  // One concept, one key: a path declared twice for the same model (e.g. a model's private
  // data.n_fft beside the shared data block, which applies to every model) is a programming
  // error, caught when the schema is built. Models may share a path with their own docs
  // (model.rank) when their scopes do not overlap.
  for (size_t i = 0; i < keys_.size(); ++i)
    for (size_t j = 0; j < i; ++j) {
      const KeySpec &a = keys_[i], &b = keys_[j];
      if (a.path != b.path) continue;
      bool overlap = a.models.empty() || b.models.empty();
      for (const auto& m : a.models)
        overlap = overlap || std::find(b.models.begin(), b.models.end(), m) != b.models.end();
      if (overlap) throw Error("config schema: " + a.path + " is declared twice for the same model type");
    }
}

const KeySpec* ConfigSchema::find(const std::string& path) const {
  for (const auto& k : keys_)
    if (k.path == path) return &k;
  return nullptr;
}

std::string ConfigSchema::document(const std::string& section) const {
  std::ostringstream out;
  for (const std::string& s : kSections) {
    if (!section.empty() && s != section) continue;
    out << s << ":\n";
    for (const auto& k : keys_) {
      if (k.path.rfind(s + ".", 0) != 0) continue;
      out << "  " << k.path.substr(s.size() + 1) << "  (" << type_name(k.type);
      if (!k.choices.empty()) out << ": " << join(k.choices, "|");
      if (k.min || k.max) out << ", " << range_text(k, k.type == KeyType::Integer);
      out << (k.required ? ", required" : "") << (k.default_value.empty() ? "" : ", default " + k.default_value) << ")";
      if (!k.models.empty()) out << "  [" << join(k.models, ", ") << "]";
      out << "\n      " << k.doc << "\n";
    }
  }
  return out.str();
}

// ----------------------------------------------------------------------------- config

Config Config::load(const std::string& path, const std::vector<std::string>& overrides,
                    const std::vector<std::string>& origins) {
  return parse(io::read_file(path), path, overrides, origins);
}

Config Config::parse(const std::string& yaml, const std::string& source, const std::vector<std::string>& overrides,
                     const std::vector<std::string>& origins) {
  Config c;
  c.source_ = source;
  try {
    c.root_ = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw Error(source + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg);
  }
  if (!c.root_ || c.root_.IsNull()) c.root_ = YAML::Node(YAML::NodeType::Map);
  require(c.root_.IsMap(), source + ": a config must be a map with sections model, data, trainer, output");
  // Record where every node came from.
  // The key's own line: a nested map's value node starts on the next line.
  std::function<void(const YAML::Node&, const std::string&)> mark = [&](const YAML::Node& n, const std::string& p) {
    if (!n.IsMap()) return;
    for (const auto& kv : n) {
      const std::string path = p.empty() ? kv.first.Scalar() : p + "." + kv.first.Scalar();
      // yaml-cpp keeps the first of two equal keys without a word; a config must not.
      if (c.origin_.count(path))
        throw Error(source + ":" + std::to_string(kv.first.Mark().line + 1) + ": " + path + " is given twice (first at " +
                    c.origin_[path] + ")");
      c.origin_[path] = source + ":" + std::to_string(kv.first.Mark().line + 1);
      mark(kv.second, path);
    }
  };
  // yaml-cpp can still throw on odd documents (a non-scalar key, a bad conversion): one line.
  try {
  mark(c.root_, "");
  for (size_t i = 0; i < overrides.size(); ++i) {
    const std::string& o = overrides[i];
    const std::string origin = i < origins.size() && !origins[i].empty() ? origins[i] : "--set " + o;
    const size_t eq = o.find('=');
    require(eq != std::string::npos && eq > 0, origin + ": expected key.path=value");
    const std::string key = o.substr(0, eq), text = o.substr(eq + 1);
    YAML::Node value;
    try {
      value = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      throw Error(origin + ": malformed value (" + e.msg + ")");
    }
    if (!value || value.IsNull()) value = YAML::Node(text);
    assign(c.root_, key, value);
    for (auto it = c.origin_.begin(); it != c.origin_.end();)
      it = it->first.rfind(key + ".", 0) == 0 ? c.origin_.erase(it) : std::next(it);
    c.origin_[key] = origin;
  }
  c.validate();
  } catch (const YAML::Exception& e) {
    throw Error(source + ":" + std::to_string(e.mark.line + 1) + ": invalid config: " + e.msg);
  }
  return c;
}

void Config::validate() {
  const ConfigSchema& schema = config_schema();
  for (const auto& kv : root_) {
    const std::string s = kv.first.Scalar();
    require(std::find(kSections.begin(), kSections.end(), s) != kSections.end(),
            where(s) + ": unknown section '" + s + "' (sections: model, data, trainer, output)");
    require(kv.second.IsMap() || kv.second.IsNull(), where(s) + ": section " + s + " must be a map");
  }
  const YAML::Node type_node = lookup(root_, "model.type");
  require(type_node && type_node.IsScalar(), source_ + ": missing required key model.type");
  const std::string model_type = type_node.Scalar();

  auto applies = [&](const KeySpec& k) {
    return k.models.empty() || std::find(k.models.begin(), k.models.end(), model_type) != k.models.end();
  };
  auto spec_for = [&](const std::string& path) -> const KeySpec* {
    for (const auto& k : schema.keys())
      if (k.path == path && applies(k)) return &k;
    return nullptr;
  };

  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& n, const std::string& p) {
    const KeySpec* spec = spec_for(p);
    if (n.IsMap() && !(spec && is_leaf_type(spec->type))) {
      for (const auto& kv : n) walk(kv.second, p + "." + kv.first.Scalar());
      return;
    }
    if (!spec) {
      // A scalar where the schema has a block (e.g. the old `data.synthetic: harmonic_notes`).
      std::vector<std::string> children;
      for (const auto& k : schema.keys())
        if (k.path.rfind(p + ".", 0) == 0 && applies(k)) children.push_back(k.path.substr(p.size() + 1));
      if (!children.empty() && n.IsScalar()) {
        if (children.size() > 4) children.resize(4), children.push_back("…");
        fail(p, "is a block of keys (" + join(children, ", ") + "), not a value; got " + scalar_text(n));
      }
      const KeySpec* other = schema.find(p);
      if (other) fail(p, "does not apply to model.type " + model_type + " (it is for " + join(other->models, ", ") + ")");
      std::string best;
      size_t best_d = 4;
      for (const auto& k : schema.keys()) {
        const size_t d = edit_distance(k.path, p);
        if (d < best_d && applies(k)) best_d = d, best = k.path;
      }
      if (best.empty()) {  // a key moved into a block: data.n_fft → data.transform.n_fft
        const std::string leaf = p.substr(p.rfind('.') + 1);
        for (const auto& k : schema.keys())
          if (applies(k) && k.path.size() > leaf.size() && k.path.compare(k.path.size() - leaf.size() - 1, std::string::npos, "." + leaf) == 0) {
            best = k.path;
            break;
          }
      }
      fail(p, "is not a known key" + (best.empty() ? std::string() : " (did you mean " + best + "?)"));
    }
    const std::string problem = check_value(*spec, n);
    if (!problem.empty()) fail(p, problem + ", got " + scalar_text(n));
  };
  for (const std::string& s : kSections) {
    YAML::Node sec = root_[s];
    if (sec && sec.IsMap())
      for (const auto& kv : sec) walk(kv.second, s + "." + kv.first.Scalar());
  }
  if (!schema.find("model.type") || std::find(schema.find("model.type")->choices.begin(),
                                              schema.find("model.type")->choices.end(),
                                              model_type) == schema.find("model.type")->choices.end())
    fail("model.type", "must be one of " + join(schema.find("model.type")->choices, ", ") + ", got " + model_type);
  // Defaults and required keys.
  for (const auto& k : schema.keys()) {
    if (!applies(k) || lookup(root_, k.path)) continue;
    require(!k.required, source_ + ": missing required key " + k.path + " (" + k.doc + ")");
    if (!k.default_value.empty()) {
      assign(root_, k.path, YAML::Load(k.default_value));
      origin_[k.path] = source_ + " (default)";
    }
  }
}

bool Config::has(const std::string& path) const {
  const YAML::Node n = lookup(root_, path);
  return n && !n.IsNull();
}

YAML::Node Config::node(const std::string& path) const { return lookup(root_, path); }

std::string Config::where(const std::string& path) const {
  for (std::string p = path;;) {
    auto it = origin_.find(p);
    if (it != origin_.end()) return it->second;
    const size_t dot = p.rfind('.');
    if (dot == std::string::npos) return source_;
    p = p.substr(0, dot);
  }
}

void Config::fail(const std::string& path, const std::string& message) const {
  throw Error(where(path) + ": " + path + " " + message);
}

int64_t Config::integer(const std::string& path) const {
  int64_t v;
  const YAML::Node n = node(path);
  if (!n || !n.IsScalar() || !parse_integer(n.Scalar(), v)) fail(path, "must be an integer");
  return v;
}

double Config::number(const std::string& path) const {
  double v;
  const YAML::Node n = node(path);
  if (!n || !n.IsScalar() || !parse_number(n.Scalar(), v)) fail(path, "must be a number");
  return v;
}

std::optional<double> Config::number_or_auto(const std::string& path, bool strict) const {
  const std::string text = string(path);
  if (text == "auto") return std::nullopt;
  double v = 0.0;
  if (!parse_number(text, v)) fail(path, "must be a number or auto, got '" + text + "'");
  if (!std::isfinite(v) || (strict ? v <= 0.0 : v < 0.0))
    fail(path, std::string("must be ") + (strict ? "> 0" : ">= 0") + " or auto, got " + text);
  return v;
}

bool Config::boolean(const std::string& path) const {
  bool b;
  const YAML::Node n = node(path);
  if (!n || !parse_bool(n, b)) fail(path, "must be true or false");
  return b;
}

std::string Config::string(const std::string& path) const {
  const YAML::Node n = node(path);
  if (!n || !n.IsScalar()) fail(path, "must be a string");
  return n.Scalar();
}

std::vector<std::string> Config::strings(const std::string& path) const {
  const YAML::Node n = node(path);
  std::vector<std::string> out;
  if (!n || n.IsNull()) return out;
  if (n.IsScalar()) return {n.Scalar()};
  for (const auto& item : n) out.push_back(item.Scalar());
  return out;
}

std::vector<double> Config::numbers(const std::string& path) const {
  std::vector<double> out;
  for (const std::string& s : strings(path)) {
    double v;
    if (!parse_number(s, v)) fail(path, "must be a list of numbers");
    out.push_back(v);
  }
  return out;
}

std::vector<int64_t> Config::integers(const std::string& path) const {
  std::vector<int64_t> out;
  for (const std::string& s : strings(path)) {
    int64_t v;
    if (!parse_integer(s, v)) fail(path, "must be a list of integers");
    out.push_back(v);
  }
  return out;
}

void Config::set(const std::string& path, const std::string& yaml_value, const std::string& origin) {
  assign(root_, path, YAML::Load(yaml_value));
  origin_[path] = origin;
  validate();
}

std::string Config::dump() const {
  // Block style throughout, whatever style the user wrote: the resolved file is for reading.
  YAML::Node copy = YAML::Clone(root_);
  std::function<void(YAML::Node)> block = [&](YAML::Node n) {
    if (n.IsMap()) {
      n.SetStyle(YAML::EmitterStyle::Block);
      for (auto kv : n) block(kv.second);
    }
  };
  block(copy);
  YAML::Emitter e;
  e << copy;
  return std::string(e.c_str()) + "\n";
}

}  // namespace factorch
