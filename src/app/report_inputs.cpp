#include "report_inputs.h"

#include <algorithm>
#include <cctype>

#include "factorch/error.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/wav.h"
#include "app/factor_manifest.h"
#include "app/json_file.h"

namespace factorch::app {

namespace fs = std::filesystem;

namespace {

YAML::Node at(const YAML::Node& root, const std::string& section, const std::string& key) {
  if (!root || !root.IsMap()) return YAML::Node();
  const YAML::Node s = root[section];
  if (!s || !s.IsMap()) return YAML::Node();
  return s[key];
}

template <class T>
std::optional<T> value(const YAML::Node& root, const std::string& section, const std::string& key) {
  const YAML::Node n = at(root, section, key);
  if (!n || !n.IsScalar()) return std::nullopt;
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
}

// "component_10" after "component_9": compare digit runs by value.
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      const std::string da = a.substr(i, i2 - i), db = b.substr(j, j2 - j);
      if (da.size() != db.size()) return da.size() < db.size();
      if (da != db) return da < db;
      i = i2;
      j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

std::vector<fs::path> wavs_in(const fs::path& folder) {
  std::vector<fs::path> out;
  if (!fs::is_directory(folder)) return out;
  for (const auto& e : fs::directory_iterator(folder))
    if (e.is_regular_file() && e.path().extension() == ".wav") out.push_back(e.path());
  std::sort(out.begin(), out.end(),
            [](const fs::path& a, const fs::path& b) { return natural_less(a.filename().string(), b.filename().string()); });
  return out;
}

std::vector<fs::path> folders_in(const fs::path& folder) {
  std::vector<fs::path> out;
  if (!fs::is_directory(folder)) return out;
  for (const auto& e : fs::directory_iterator(folder))
    if (e.is_directory()) out.push_back(e.path());
  std::sort(out.begin(), out.end(),
            [](const fs::path& a, const fs::path& b) { return natural_less(a.filename().string(), b.filename().string()); });
  return out;
}

// A run of several mixtures (factorch/separation/separation_step.h writes mixtures/<m>.wav,
// sources/<m>/*.wav and baselines/<b>/sources/<m>/*.wav): per mixture, its mixture, its
// separated sources and the baselines' sources, so the page groups them.
void mixture_groups(RunInputs& in) {
  std::vector<std::string> names;
  const auto add = [&](const std::string& n) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  };
  for (const auto& p : wavs_in(in.dir / "mixtures")) add(p.stem().string());
  for (const auto& d : folders_in(in.dir / "sources")) add(d.filename().string());
  std::sort(names.begin(), names.end(), natural_less);
  const std::vector<fs::path> baselines = folders_in(in.dir / "baselines");
  for (const std::string& m : names) {
    const fs::path mixture = in.dir / "mixtures" / (m + ".wav");
    if (fs::is_regular_file(mixture)) in.audio.push_back({"mixture", "Mixture", mixture, m});
    for (const auto& p : wavs_in(in.dir / "sources" / m)) in.audio.push_back({"sources", "Source " + p.stem().string(), p, m});
    for (const auto& b : baselines)
      for (const auto& p : wavs_in(b / "sources" / m))
        in.audio.push_back({"baseline", "Baseline " + b.filename().string() + " " + p.stem().string(), p, m});
    for (const auto& p : wavs_in(in.dir / "baseline" / "sources" / m))
      in.audio.push_back({"baseline", "Baseline " + p.stem().string(), p, m});
  }
}

// Separations nested in folders of the run (innmf separate: DIR/n_fft<N>/sources/*.wav and
// DIR/n_fft<N>/metrics.json for each further window size): one group per folder.
void nested_runs(RunInputs& in) {
  static const std::vector<std::string> own = {"sources", "mixtures", "baselines", "baseline", "components",
                                               "figures", "factors", "dictionary"};
  for (const auto& d : folders_in(in.dir)) {
    const std::string name = d.filename().string();
    const std::vector<fs::path> wavs = wavs_in(d / "sources");
    if (std::find(own.begin(), own.end(), name) != own.end() || wavs.empty()) continue;
    in.nested_runs.push_back(name);
    if (fs::is_regular_file(d / "mixture.wav")) in.audio.push_back({"mixture", "Mixture", d / "mixture.wav", name + "/"});
    for (const auto& p : wavs) in.audio.push_back({"sources", "Source " + p.stem().string(), p, name + "/"});
  }
}

// factorch eval: metrics.json names its reference and estimate files (as given on the
// command line: relative to the working directory, or absolute): each row of "sources" has
// the reference as "name" (the schema of factorch/eval/metrics_table.h) and its "estimate".
// A relative name is looked up under the eval's working directory (details.working_directory),
// so the page is the same from any directory, then (older runs) here and under the run.
void evaluated_files(RunInputs& in) {
  const fs::path metrics = in.dir / "metrics.json";
  if (!fs::exists(metrics)) return;
  const nlohmann::ordered_json root = read_json_file(metrics);
  if (!root.is_object() || !root.contains("sources") || !root["sources"].is_array()) return;
  const auto& sources = root["sources"];
  fs::path eval_cwd;
  if (root.contains("details") && root["details"].is_object() && root["details"].contains("working_directory") &&
      root["details"]["working_directory"].is_string())
    eval_cwd = root["details"]["working_directory"].get<std::string>();
  for (const auto& [role, key] : {std::pair<const char*, const char*>{"reference", "name"}, {"estimate", "estimate"}})
    for (const auto& s : sources) {
      if (!s.is_object() || !s.contains(key) || !s[key].is_string()) continue;
      const fs::path p = s[key].get<std::string>();
      if (p.extension() != ".wav") continue;
      std::vector<fs::path> candidates;
      if (!eval_cwd.empty()) candidates.push_back(eval_cwd / p);  // p absolute: p itself
      candidates.insert(candidates.end(), {p, in.dir / p});
      for (const fs::path& candidate : candidates)
        if (fs::is_regular_file(candidate)) {
          const fs::path abs = fs::absolute(candidate).lexically_normal();
          const bool seen = std::any_of(in.audio.begin(), in.audio.end(), [&](const AudioItem& a) {
            return fs::absolute(a.path).lexically_normal() == abs;
          });
          if (!seen) in.audio.push_back({role, std::string(role) + ": " + p.string(), abs});
          break;
        }
    }
}

// Runs written before factors/factors.json: what their factor files' names meant (W or the
// layers W1…WL, H, TL-NMF's atoms Phi, iN-NMF's grids frequencies and times). Runs written
// since carry the model's own description and never come here.
FactorDescriptions legacy_factors(const fs::path& dir) {
  const auto has = [&](const std::string& name) { return fs::is_regular_file(dir / (name + ".npy")); };
  FactorDescriptions out;
  if (has("Phi")) out.emplace_back("Phi", FactorRole::Transform, "", FactorPlot::Atoms);
  if (has("W")) {
    FactorDescription W("W", FactorRole::Dictionary, "", FactorPlot::Image);
    if (has("frequencies")) W.grid = "frequencies";
    if (has("Phi")) W.axis = "Atom (rows of Φ, most energetic first)";
    out.push_back(W);
  } else {
    for (int l = 1; has("W" + std::to_string(l)); ++l)
      out.push_back(FactorDescription("W" + std::to_string(l), FactorRole::Dictionary, "", FactorPlot::Image).with_layer(l));
  }
  if (has("H")) out.push_back(FactorDescription("H", FactorRole::Activations, "", FactorPlot::Image).with_grid(has("times") ? "times" : ""));
  return out;
}

}  // namespace

RunInputs read_run_inputs(const std::string& dir_name) {
  RunInputs in;
  in.dir = fs::path(dir_name);
  const fs::path config = in.dir / "config.resolved.yaml";
  require(fs::is_directory(in.dir), dir_name + ": not a directory");
  require(fs::exists(config) || fs::exists(in.dir / "metrics.json"),
          dir_name + ": not a run directory (neither config.resolved.yaml nor metrics.json is there)");
  if (fs::exists(config)) {
    in.config_text = io::read_file(config.string());
    try {
      in.config = YAML::Load(in.config_text);
    } catch (const YAML::Exception& e) {
      throw Error(config.string() + ": cannot be parsed: " + e.what());
    }
    in.model_type = value<std::string>(in.config, "model", "type").value_or("");
    // The shared data block (data.transform.*, data.synthetic.*): see app/data_block.h.
    const YAML::Node data = in.config["data"];
    in.representation = value<std::string>(data, "transform", "kind").value_or("");
    in.n_fft = value<int64_t>(data, "transform", "n_fft");
    const auto win = value<int64_t>(data, "transform", "win_length");
    const int64_t window = win && *win > 0 ? *win : in.n_fft.value_or(0);
    in.hop = value<int64_t>(data, "transform", "hop");
    if (in.hop && *in.hop == 0) in.hop = std::max<int64_t>(1, window / 2);  // 0: half the window
    in.log_frequency = value<bool>(in.config, "output", "log_frequency").value_or(false);
    in.power_exponent = 2 / value<double>(data, "transform", "exponent").value_or(2.0);
    std::optional<std::string> input = value<std::string>(in.config, "data", "input");
    if (!input) {
      const YAML::Node list = at(in.config, "data", "input");
      if (list && list.IsSequence() && list.size() == 1 && list[0].IsScalar()) input = list[0].Scalar();
    }
    if (input && fs::path(*input).extension() == ".npy" && !at(in.config, "data", "synthetic")) {
      // A matrix, not audio: the transform keys are unused defaults, rows and columns have no unit.
      in.n_fft.reset();
      in.hop.reset();
      in.representation.clear();
      // As written (relative to the run's working directory): report_figures.cpp reads it
      // only at the end of the run and keeps what it draws.
      in.input_npy = fs::path(*input);
    }
  }

  in.factors = read_factor_manifest(in.dir / "factors").value_or(legacy_factors(in.dir / "factors"));

  for (const fs::path& m : {in.dir / "mixture.wav", in.dir / "sources" / "mixture.wav"})
    if (fs::is_regular_file(m)) {
      in.audio.push_back({"mixture", "Mixture", m});
      break;
    }
  for (const auto& p : wavs_in(in.dir / "sources"))
    if (p.filename() != "mixture.wav") in.audio.push_back({"sources", "Source " + p.stem().string(), p});
  for (const auto& p : wavs_in(in.dir / "baseline" / "sources"))
    if (p.filename() != "mixture.wav") in.audio.push_back({"baseline", "Baseline " + p.stem().string(), p});
  // The separation step's named baselines: baselines/<name>/sources/*.wav.
  for (const auto& b : folders_in(in.dir / "baselines"))
    for (const auto& p : wavs_in(b / "sources"))
      in.audio.push_back({"baseline", "Baseline " + b.filename().string() + " " + p.stem().string(), p});
  for (const auto& p : wavs_in(in.dir / "components")) in.audio.push_back({"components", p.stem().string(), p});
  mixture_groups(in);
  nested_runs(in);
  evaluated_files(in);

  if (!in.audio.empty()) {
    try {
      in.sample_rate = io::read_wav(in.audio.front().path.string()).sample_rate;
    } catch (const Error&) {
    }
  }
  if (!in.sample_rate && !in.input_npy && in.n_fft) {
    if (const auto sr = value<double>(in.config["data"], "synthetic", "sample_rate")) in.sample_rate = *sr;
    else if (const auto rate = value<double>(in.config, "data", "sample_rate")) in.sample_rate = *rate;
  }
  return in;
}

std::string relative_url(const fs::path& target, const fs::path& dir) {
  const fs::path rel = fs::absolute(target).lexically_normal().lexically_relative(fs::absolute(dir).lexically_normal());
  const std::string s = (rel.empty() ? target : rel).generic_string();
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == '/') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

}  // namespace factorch::app
