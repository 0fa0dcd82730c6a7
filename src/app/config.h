#pragma once
// YAML configuration: one schema documents and validates every key.
//
// A config has four sections: model, data, trainer, output. Each key has a type, a default,
// a range or a set of choices, a one-line description, and optionally the model types it
// applies to. Loading rejects unknown keys, wrong types and out-of-range values with
// "FILE:LINE: key.path <what is wrong>, got VALUE"; `--set key.path=value` overrides are
// applied before validation and named in errors as "--set key.path=value".
// The resolved config (every default filled in) is what a run writes and checkpoints.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace factorch {

enum class KeyType {
  Integer,
  Number,
  Boolean,
  String,
  Beta,          ///< "euclidean" | "kl" | "is" | a number
  StringOrMap,   ///< a string (one of choices, if any) or a map name → file path
  StringList,    ///< a list of strings (or a single string)
  NumberList,    ///< a list of numbers (or a single number)
  IntegerList,   ///< a list of integers (or a single integer)
  StringListMap, ///< a map name → list of strings (e.g. per-source training files)
};

struct KeySpec {
  std::string path;                  ///< "model.rank"
  KeyType type = KeyType::String;
  std::string default_value;         ///< YAML text; empty: no default (optional unless `required`)
  std::string doc;                   ///< one line for `factorch config`
  std::vector<std::string> choices;  ///< allowed strings (String/StringOrMap), empty: any
  std::optional<double> min, max;    ///< inclusive bounds for numbers
  bool min_exclusive = false;
  bool required = false;
  std::vector<std::string> models;   ///< model types it applies to (empty: all)

  KeySpec& def(std::string v) { default_value = std::move(v); return *this; }
  KeySpec& choice(std::vector<std::string> c) { choices = std::move(c); return *this; }
  KeySpec& at_least(double v) { min = v; return *this; }
  KeySpec& above(double v) { min = v; min_exclusive = true; return *this; }
  KeySpec& at_most(double v) { max = v; return *this; }
  KeySpec& needed() { required = true; return *this; }
  KeySpec& for_models(std::vector<std::string> m) { models = std::move(m); return *this; }
};

class ConfigSchema {
 public:
  /// Adds a key; returns it for chaining (`.def("1").at_least(0)`).
  KeySpec& add(const std::string& path, KeyType type, const std::string& doc);
  const KeySpec* find(const std::string& path) const;
  /// Throws when a path is declared twice for one model type (see config.cpp).
  void check_unique() const;
  const std::vector<KeySpec>& keys() const { return keys_; }
  /// Markdown-ish text documenting every key (grouped by section), optionally one section.
  std::string document(const std::string& section = "") const;

 private:
  std::vector<KeySpec> keys_;
};

/// The schema of every key of every registered model (built once).
const ConfigSchema& config_schema();

class Config {
 public:
  /// Loads FILE, applies overrides ("key.path=value"), validates and fills defaults.
  /// origins[i], when given and not empty, is how overrides[i] was typed ("--device cuda"),
  /// which errors name; otherwise "--set key.path=value".
  static Config load(const std::string& path, const std::vector<std::string>& overrides = {},
                     const std::vector<std::string>& origins = {});
  /// Same from YAML text (`source` names it in errors).
  static Config parse(const std::string& yaml, const std::string& source,
                      const std::vector<std::string>& overrides = {}, const std::vector<std::string>& origins = {});

  bool has(const std::string& path) const;
  YAML::Node node(const std::string& path) const;
  int64_t integer(const std::string& path) const;
  double number(const std::string& path) const;
  bool boolean(const std::string& path) const;
  std::string string(const std::string& path) const;
  std::vector<std::string> strings(const std::string& path) const;
  std::vector<double> numbers(const std::string& path) const;
  std::vector<int64_t> integers(const std::string& path) const;
  /// A key that is a number or `auto` (computed by the caller): nullopt for auto; a number
  /// must be finite and >= 0 (> 0 when `strict`), else fail() names the key.
  std::optional<double> number_or_auto(const std::string& path, bool strict = false) const;

  /// "cfg.yaml:4" or "--set model.rank=3" or "cfg.yaml (default)": where a value came from.
  std::string where(const std::string& path) const;
  /// An Error "WHERE: PATH MESSAGE" for consumers that check cross-key constraints.
  [[noreturn]] void fail(const std::string& path, const std::string& message) const;

  /// Sets a value after loading (e.g. --device); re-validates that key.
  void set(const std::string& path, const std::string& yaml_value, const std::string& origin);

  /// The resolved configuration as YAML text.
  std::string dump() const;
  const std::string& source() const { return source_; }
  const YAML::Node& root() const { return root_; }

 private:
  void validate();
  YAML::Node root_;
  std::string source_;
  std::map<std::string, std::string> origin_;
};

}  // namespace factorch
