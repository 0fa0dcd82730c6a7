#include "factorch/separation/separation_step.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "factorch/error.h"
#include "factorch/eval/bss.h"
#include "factorch/separation/separate.h"

namespace factorch::separation {

namespace fs = std::filesystem;

namespace {

std::string shape_of(const torch::Tensor& t) {
  std::string s;
  for (const int64_t d : t.sizes()) s += (s.empty() ? "" : " × ") + std::to_string(d);
  return s;
}

std::string label(const SeparatedMixture& m) { return m.name.empty() ? "the mixture" : "mixture '" + m.name + "'"; }

// A name becomes a file name: nothing that leaves the folder or hides the file.
void require_file_name(const std::string& name, const std::string& what) {
  require(!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
              name.find('\\') == std::string::npos,
          what + " '" + name + "' cannot name a file (empty, '.', '..' or with a slash)");
}

void validate(const SeparatedMixture& m, bool several, const std::string& who) {
  const std::string where = who + label(m);
  if (several) require_file_name(m.name, who + "mixture name");
  require(m.estimates.defined() && (m.estimates.dim() == 2 || m.estimates.dim() == 3),
          where + ": estimates must be S × T or S × C × T, not " +
              (m.estimates.defined() ? shape_of(m.estimates) : std::string("missing")));
  require(static_cast<int64_t>(m.names.size()) == m.estimates.size(0),
          where + ": " + std::to_string(m.names.size()) + " names for " + std::to_string(m.estimates.size(0)) +
              " estimated sources");
  std::set<std::string> seen;
  for (const auto& n : m.names) {
    require_file_name(n, where + ": source name");
    require(seen.insert(n).second, where + ": source name '" + n + "' is given twice");
  }
  if (!m.references.defined()) return;
  require(m.references.sizes() == m.estimates.sizes(),
          where + ": references are " + shape_of(m.references) + " but the estimates are " + shape_of(m.estimates) +
              " (sources × samples must match)");
  require(m.reference_names.empty() || static_cast<int64_t>(m.reference_names.size()) == m.references.size(0),
          where + ": " + std::to_string(m.reference_names.size()) + " reference names for " +
              std::to_string(m.references.size(0)) + " references");
}

// DIR[/baselines/<baseline>]/sources[/<mixture>]/<name>.wav
void write_sources(const SeparatedMixture& m, const SeparationStepOptions& o, const std::string& baseline,
                   const std::string& mixture_folder) {
  fs::path dir = fs::path(o.out_dir);
  if (!baseline.empty()) dir /= fs::path("baselines") / baseline;
  dir /= "sources";
  if (!mixture_folder.empty()) dir /= mixture_folder;
  for (size_t s = 0; s < m.names.size(); ++s)
    io::write_wav((dir / (m.names[s] + ".wav")).string(), m.estimates[static_cast<int64_t>(s)], o.sample_rate,
                  o.wav_format);
}

}  // namespace

torch::Tensor wiener_estimates(const torch::Tensor& coefficients, const std::vector<torch::Tensor>& parts,
                               double exponent, const Synthesis& synthesise) {
  std::vector<torch::Tensor> signals;
  for (const auto& masked : masked_coefficients(coefficients, parts, exponent)) signals.push_back(synthesise(masked));
  return torch::stack(signals);
}

torch::Tensor image_estimates(const std::vector<torch::Tensor>& images, const Synthesis& synthesise) {
  require(!images.empty(), "separation: no source images");
  std::vector<torch::Tensor> signals;
  for (const auto& image : images) {
    require(image.dim() == 3, "separation: a source image must be channels x F x N, not " + shape_of(image));
    std::vector<torch::Tensor> channels;
    for (int64_t c = 0; c < image.size(0); ++c) channels.push_back(synthesise(image[c]));
    signals.push_back(torch::stack(channels));
  }
  return torch::stack(signals);
}

eval::MetricsTable score_separation(const SeparatedMixture& m, const SeparationStepOptions& options) {
  validate(m, false, "");
  require(m.references.defined(), label(m) + ": no references to score against");
  eval::BssEvalOptions bss;
  bss.filter_length = options.filter_length;
  bss.compute_permutation = !options.known_assignment;
  const auto& reference_names = m.reference_names.empty() ? m.names : m.reference_names;
  const torch::Tensor refs = m.references.to(torch::kCPU, torch::kFloat64);
  const torch::Tensor ests = m.estimates.to(torch::kCPU, torch::kFloat64);
  if (ests.dim() == 3) {
    eval::MetricsTable table = eval::metrics_table(eval::bss_eval_images(refs, ests, bss), reference_names, m.names, bss, m.name);
    if (options.per_channel_sdr)
      for (int64_t c = 0; c < ests.size(1); ++c) {
        const torch::Tensor sdr = eval::bss_eval_sources(refs.select(1, c), ests.select(1, c), bss).sdr.contiguous();
        table.channel_sdr.emplace_back(sdr.data_ptr<double>(), sdr.data_ptr<double>() + sdr.numel());
      }
    return table;
  }
  const eval::BssEvalResult whole = eval::bss_eval_sources(refs, ests, bss);
  eval::MetricsTable table = eval::metrics_table(whole, reference_names, m.names, bss, m.name);
  if (options.eval_window > 0) {
    require(options.sample_rate > 0, "separation: framewise scores need the sample rate");
    const double rate = options.sample_rate;
    const int64_t window = std::max<int64_t>(1, std::llround(options.eval_window * rate));
    const int64_t hop = std::max<int64_t>(1, std::llround((options.eval_hop > 0 ? options.eval_hop : options.eval_window) * rate));
    eval::BssEvalOptions known = bss;
    known.compute_permutation = false;
    const torch::Tensor assigned = ests.index_select(0, torch::tensor(whole.permutation, torch::kLong));
    table.framewise = eval::framewise_scores(eval::bss_eval_sources_framewise(refs, assigned, window, hop, known), rate);
  }
  return table;
}

SeparatedMixture matched_to_references(SeparatedMixture m, int64_t filter_length) {
  require(m.references.defined(), label(m) + ": no references to match the estimates to");
  eval::BssEvalOptions bss;
  bss.filter_length = filter_length;
  const eval::BssEvalResult b = eval::bss_eval_sources(m.references, m.estimates, bss);
  m.estimates = m.estimates.index_select(0, torch::tensor(b.permutation, torch::kLong));
  if (!m.reference_names.empty()) m.names = m.reference_names;
  return m;
}

SeparationScores run_separation_step(const std::vector<SeparatedMixture>& mixtures, const SeparationStepOptions& o,
                                     const std::vector<BaselineSeparation>& baselines) {
  // 1. Validate everything.
  require(!mixtures.empty(), "separation: no mixture");
  const bool several = mixtures.size() > 1;
  const bool scored = mixtures.front().references.defined();
  std::set<std::string> mixture_names;
  for (const auto& m : mixtures) {
    validate(m, several, "");
    require(m.references.defined() == scored, label(m) + (scored ? " has no references but " : " has references but ") +
                                                   label(mixtures.front()) + (scored ? " has" : " has not") +
                                                   ": give references for every mixture or for none");
    if (several) require(mixture_names.insert(m.name).second, "mixture name '" + m.name + "' is given twice");
  }
  std::set<std::string> baseline_names;
  for (const auto& b : baselines) {
    require_file_name(b.name, "baseline name");
    require(baseline_names.insert(b.name).second, "baseline name '" + b.name + "' is given twice");
    require(b.mixtures.size() == mixtures.size(), "baseline '" + b.name + "': " + std::to_string(b.mixtures.size()) +
                                                      " separated mixtures for " + std::to_string(mixtures.size()));
    for (const auto& m : b.mixtures) validate(m, false, "baseline '" + b.name + "': ");
  }
  if (!o.out_dir.empty())
    require(o.sample_rate > 0, "separation: writing WAV files needs the sample rate (got " +
                                   std::to_string(o.sample_rate) + ")");

  // 2. Score (may still fail: silent or non-finite sources), before any file is written.
  SeparationScores out;
  out.scored = scored;
  if (scored) {
    for (const auto& m : mixtures) out.mixtures.push_back(score_separation(m, o));
    for (const auto& b : baselines) {
      eval::NamedMetrics named{b.name, {}};
      for (size_t i = 0; i < b.mixtures.size(); ++i) {
        SeparatedMixture m = b.mixtures[i];  // tensors are shared, not copied
        m.name = mixtures[i].name;
        if (!m.references.defined()) {
          m.references = mixtures[i].references;
          if (m.reference_names.empty()) m.reference_names = mixtures[i].reference_names;
          if (m.reference_names.empty()) m.reference_names = mixtures[i].names;
          validate(m, false, "baseline '" + b.name + "': ");
        }
        named.mixtures.push_back(score_separation(m, o));
      }
      out.baselines.push_back(std::move(named));
    }
  }
  write_separation(mixtures, out, o, baselines);
  return out;
}

void write_separation(const std::vector<SeparatedMixture>& mixtures, SeparationScores& scores,
                      const SeparationStepOptions& o, const std::vector<BaselineSeparation>& baselines) {
  const bool several = mixtures.size() > 1;
  const eval::Json document =
      scores.scored ? eval::metrics_json(scores.mixtures, scores.baselines, o.details) : eval::Json();
  if (o.out_dir.empty()) return;
  for (const auto& m : mixtures) {
    write_sources(m, o, "", several ? m.name : "");
    if (m.mixture.defined()) {
      const fs::path file = several ? fs::path(o.out_dir) / "mixtures" / (m.name + ".wav") : fs::path(o.out_dir) / "mixture.wav";
      io::write_wav(file.string(), m.mixture, o.sample_rate, o.wav_format);
    }
  }
  for (const auto& b : baselines)
    for (size_t i = 0; i < b.mixtures.size(); ++i) write_sources(b.mixtures[i], o, b.name, several ? mixtures[i].name : "");
  if (scores.scored) {
    scores.metrics_path = (fs::path(o.out_dir) / "metrics.json").string();
    eval::write_json(scores.metrics_path, document);
  } else if (!o.quiet) {
    std::printf("no references: metrics.json not written\n");
  }
}

}  // namespace factorch::separation
