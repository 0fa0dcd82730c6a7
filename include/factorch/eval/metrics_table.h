#pragma once
// Separation scores and the one metrics.json schema that every model and baseline writes.
//
//   {"schema": "factorch-metrics/1",
//    "metric": "bss_eval_sources",            // or "bss_eval_images"
//    "filter_length": 512,
//    "sources": [{"name": "note1", "estimate": "note1", "sdr": 27.9, "sir": 38.3, "sar": 28.4}, ...],
//    "mean": {"sdr": ..., "sir": ..., "sar": ...},
//    "mixtures": [{"name": "mix1", "sources": [...], "mean": {...}}, ...],   // several mixtures only
//    "baselines": {"dct_nmf": {"metric": ..., "filter_length": ..., "sources": ..., "mean": ...,
//                              "mixtures": ...}, ...},                         // optional
//    "details": {...,                                                         // optional
//                "per_channel_sdr": [{"channel": 0, "sdr": [...]}, ...]},     // images, when asked
//    "framewise": {"window": 1.0, "hop": 1.0, "frames": 3600,                  // optional
//                  "sources": [{"name": "note1", "sdr": [...], "sir": [...], "sar": [...],
//                               "median": {"sdr": ..., "sir": ..., "sar": ...}}, ...],
//                  "median": {"sdr": ..., "sir": ..., "sar": ...}}}
//
// Scores are in dB; image metrics add "isr" after "sdr". "sources" is one row per reference
// source: with one mixture its scores; with several, each score's mean over the mixtures
// ("estimate" then only when it is the same in every mixture) and "mixtures" lists each one.
// "mean" is always the mean over the rows of "sources", so a reader of a run over one mixture
// reads a run over N. Non-finite scores are the strings "nan", "inf", "-inf" (metrics_json.h).
// "framewise" (one mixture, when a window is asked for): BSS Eval on windows of `window`
// seconds every `hop` seconds (bss_streaming.h, as SiSEC/museval), per frame ("nan": a
// window where a reference or estimate is silent), each source's median over the frames
// that are not NaN, and the mean of those medians.
#include <string>
#include <vector>

#include "factorch/eval/bss.h"
#include "factorch/eval/bss_streaming.h"
#include "factorch/eval/metrics_json.h"

namespace factorch::eval {

inline constexpr const char* kMetricsSchema = "factorch-metrics/1";

/// Per-frame scores of one mixture (empty: not computed).
struct FramewiseScores {
  double window = 0, hop = 0;                      ///< seconds
  std::vector<std::vector<double>> sdr, sir, sar;  ///< [source][frame], NaN in silent frames
  std::vector<double> median_sdr, median_sir, median_sar;  ///< per source, over the non-NaN frames
  bool empty() const { return sdr.empty(); }
};

/// The scores of a framewise evaluation, window and hop in seconds at `sample_rate`.
FramewiseScores framewise_scores(const FramewiseBssEvalResult& result, double sample_rate);

/// One mixture's scores: one row per reference source.
struct MetricsTable {
  std::string mixture;                 ///< the mixture's name ("" when the run has one)
  std::string metric = "bss_eval_sources";  ///< or "bss_eval_images" (then `isr` is filled)
  int64_t filter_length = 512;
  std::vector<std::string> names;      ///< reference names, one per row
  std::vector<std::string> estimates;  ///< the estimate scored against each reference
  std::vector<int64_t> permutation;    ///< index of that estimate among the estimates
  std::vector<double> sdr, isr, sir, sar;  ///< dB, one per row (isr: images only)
  FramewiseScores framewise;               ///< optional per-frame scores (rows in `names` order)
  /// Images, when asked: [channel][reference] the SDR of bss_eval_sources on that channel alone
  /// (each channel's own best permutation); metrics.json's details.per_channel_sdr.
  std::vector<std::vector<double>> channel_sdr;

  size_t size() const { return names.size(); }
  double mean_sdr() const;
};

/// A table from a bss_eval_sources / bss_eval_images result; estimate_names are indexed by
/// estimate (the result's permutation picks each reference's one).
MetricsTable metrics_table(const BssEvalResult& result, const std::vector<std::string>& reference_names,
                           const std::vector<std::string>& estimate_names, const BssEvalOptions& options = {},
                           const std::string& mixture = "");
MetricsTable metrics_table(const BssEvalImagesResult& result, const std::vector<std::string>& reference_names,
                           const std::vector<std::string>& estimate_names, const BssEvalOptions& options = {},
                           const std::string& mixture = "");

/// Per-source means over several mixtures' tables (same sources, same metric); the name of
/// the result is "" and each estimate is kept only when every mixture agrees on it.
MetricsTable mean_over_mixtures(const std::vector<MetricsTable>& mixtures);

/// A named baseline scored on the same mixtures.
struct NamedMetrics {
  std::string name;
  std::vector<MetricsTable> mixtures;
};

/// The metrics.json document (schema above) of a run over `mixtures` (one or more tables),
/// with optional baselines (same shape, no "schema"/"baselines"/"details") and details
/// (model-specific extras; omitted when null; one mixture's channel_sdr joins them as
/// "per_channel_sdr").
Json metrics_json(const std::vector<MetricsTable>& mixtures, const std::vector<NamedMetrics>& baselines = {},
                  const Json& details = Json());

}  // namespace factorch::eval
