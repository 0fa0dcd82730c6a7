#include "factorch/eval/metrics_table.h"

#include <numeric>

#include "factorch/error.h"

namespace factorch::eval {

namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

MetricsTable table_of(const std::string& metric, const torch::Tensor& sdr, const std::vector<int64_t>& permutation,
                      const std::vector<std::string>& reference_names, const std::vector<std::string>& estimate_names,
                      const BssEvalOptions& options, const std::string& mixture) {
  const auto S = static_cast<size_t>(sdr.size(0));
  require(reference_names.size() == S && estimate_names.size() == S,
          "metrics_table: " + std::to_string(S) + " scored sources but " + std::to_string(reference_names.size()) +
              " reference and " + std::to_string(estimate_names.size()) + " estimate names");
  require(permutation.size() == S, "metrics_table: the permutation has " + std::to_string(permutation.size()) +
                                       " entries for " + std::to_string(S) + " sources");
  MetricsTable t;
  t.mixture = mixture;
  t.metric = metric;
  t.filter_length = options.filter_length;
  t.names = reference_names;
  t.permutation = permutation;
  for (const int64_t k : permutation) {
    require(k >= 0 && static_cast<size_t>(k) < S, "metrics_table: permutation entry " + std::to_string(k) + " out of range");
    t.estimates.push_back(estimate_names[static_cast<size_t>(k)]);
  }
  t.sdr = to_vector(sdr);
  return t;
}

Json scores_json(const MetricsTable& t, size_t j) {
  Json row = Json::object().set("name", t.names[j]);
  if (j < t.estimates.size()) row.set("estimate", t.estimates[j]);
  row.set("sdr", t.sdr[j]);
  if (!t.isr.empty()) row.set("isr", t.isr[j]);
  return row.set("sir", t.sir[j]).set("sar", t.sar[j]);
}

Json mean_json(const MetricsTable& t) {
  Json m = Json::object().set("sdr", mean(t.sdr));
  if (!t.isr.empty()) m.set("isr", mean(t.isr));
  return m.set("sir", mean(t.sir)).set("sar", mean(t.sar));
}

Json rows_json(const MetricsTable& t) {
  Json rows = Json::array();
  for (size_t j = 0; j < t.size(); ++j) rows.push(scores_json(t, j));
  return rows;
}

Json numbers(const std::vector<double>& v) {
  Json a = Json::array();
  for (const double x : v) a.push(Json(x));
  return a;
}

Json framewise_json(const MetricsTable& t) {
  const FramewiseScores& f = t.framewise;
  Json sources = Json::array();
  for (size_t j = 0; j < f.sdr.size(); ++j)
    sources.push(Json::object()
                     .set("name", j < t.names.size() ? t.names[j] : std::string())
                     .set("sdr", numbers(f.sdr[j]))
                     .set("sir", numbers(f.sir[j]))
                     .set("sar", numbers(f.sar[j]))
                     .set("median", Json::object()
                                        .set("sdr", f.median_sdr[j])
                                        .set("sir", f.median_sir[j])
                                        .set("sar", f.median_sar[j])));
  return Json::object()
      .set("window", f.window)
      .set("hop", f.hop)
      .set("frames", static_cast<int64_t>(f.sdr.empty() ? 0 : f.sdr.front().size()))
      .set("sources", sources)
      .set("median", Json::object()
                         .set("sdr", mean(f.median_sdr))
                         .set("sir", mean(f.median_sir))
                         .set("sar", mean(f.median_sar)));
}

Json channel_sdr_json(const MetricsTable& t) {
  Json channels = Json::array();
  for (size_t i = 0; i < t.channel_sdr.size(); ++i)
    channels.push(Json::object().set("channel", static_cast<int64_t>(i)).set("sdr", numbers(t.channel_sdr[i])));
  return channels;
}

// The shape shared by a run and its baselines, appended to `j`.
Json& add_run(Json& j, const std::vector<MetricsTable>& mixtures) {
  require(!mixtures.empty(), "metrics_json: no scores (no mixture)");
  const MetricsTable overall = mean_over_mixtures(mixtures);
  j.set("metric", overall.metric)
               .set("filter_length", overall.filter_length)
               .set("sources", rows_json(overall))
               .set("mean", mean_json(overall));
  if (mixtures.size() > 1) {
    Json each = Json::array();
    for (const MetricsTable& t : mixtures)
      each.push(Json::object().set("name", t.mixture).set("sources", rows_json(t)).set("mean", mean_json(t)));
    j.set("mixtures", each);
  }
  if (mixtures.size() == 1 && !mixtures.front().framewise.empty()) j.set("framewise", framewise_json(mixtures.front()));
  return j;
}

}  // namespace

double MetricsTable::mean_sdr() const { return mean(sdr); }

FramewiseScores framewise_scores(const FramewiseBssEvalResult& r, double sample_rate) {
  require(sample_rate > 0, "framewise_scores: the sample rate must be positive");
  FramewiseScores f;
  f.window = static_cast<double>(r.window) / sample_rate;
  f.hop = static_cast<double>(r.hop) / sample_rate;
  for (int64_t j = 0; j < r.sdr.size(0); ++j) {
    f.sdr.push_back(to_vector(r.sdr[j]));
    f.sir.push_back(to_vector(r.sir[j]));
    f.sar.push_back(to_vector(r.sar[j]));
  }
  f.median_sdr = to_vector(r.median(r.sdr));
  f.median_sir = to_vector(r.median(r.sir));
  f.median_sar = to_vector(r.median(r.sar));
  return f;
}

MetricsTable metrics_table(const BssEvalResult& result, const std::vector<std::string>& reference_names,
                           const std::vector<std::string>& estimate_names, const BssEvalOptions& options,
                           const std::string& mixture) {
  MetricsTable t = table_of("bss_eval_sources", result.sdr, result.permutation, reference_names, estimate_names,
                            options, mixture);
  t.sir = to_vector(result.sir);
  t.sar = to_vector(result.sar);
  return t;
}

MetricsTable metrics_table(const BssEvalImagesResult& result, const std::vector<std::string>& reference_names,
                           const std::vector<std::string>& estimate_names, const BssEvalOptions& options,
                           const std::string& mixture) {
  MetricsTable t = table_of("bss_eval_images", result.sdr, result.permutation, reference_names, estimate_names,
                            options, mixture);
  t.isr = to_vector(result.isr);
  t.sir = to_vector(result.sir);
  t.sar = to_vector(result.sar);
  return t;
}

MetricsTable mean_over_mixtures(const std::vector<MetricsTable>& mixtures) {
  require(!mixtures.empty(), "mean_over_mixtures: no mixture");
  if (mixtures.size() == 1) {
    MetricsTable t = mixtures.front();
    t.mixture.clear();
    return t;
  }
  const MetricsTable& first = mixtures.front();
  MetricsTable out;
  out.metric = first.metric;
  out.filter_length = first.filter_length;
  out.names = first.names;
  out.estimates = first.estimates;
  out.permutation = first.permutation;
  const size_t S = first.size();
  out.sdr.assign(S, 0.0), out.sir.assign(S, 0.0), out.sar.assign(S, 0.0);
  if (!first.isr.empty()) out.isr.assign(S, 0.0);
  for (const MetricsTable& t : mixtures) {
    require(t.metric == first.metric && t.names == first.names && t.isr.size() == out.isr.size(),
            "mean_over_mixtures: mixture '" + t.mixture + "' has other sources or another metric than '" +
                first.mixture + "'");
    if (t.estimates != out.estimates) out.estimates.clear(), out.permutation.clear();
    for (size_t j = 0; j < S; ++j) {
      out.sdr[j] += t.sdr[j], out.sir[j] += t.sir[j], out.sar[j] += t.sar[j];
      if (!out.isr.empty()) out.isr[j] += t.isr[j];
    }
  }
  const double n = static_cast<double>(mixtures.size());
  for (auto* v : {&out.sdr, &out.isr, &out.sir, &out.sar})
    for (double& x : *v) x /= n;
  return out;
}

Json metrics_json(const std::vector<MetricsTable>& mixtures, const std::vector<NamedMetrics>& baselines,
                  const Json& details) {
  Json j = Json::object().set("schema", kMetricsSchema);
  add_run(j, mixtures);
  if (!baselines.empty()) {
    Json named = Json::object();
    for (const NamedMetrics& b : baselines) {
      Json one = Json::object();
      named.set(b.name, add_run(one, b.mixtures));
    }
    j.set("baselines", named);
  }
  Json extras = details;
  if (mixtures.size() == 1 && !mixtures.front().channel_sdr.empty()) {
    if (extras.is_null()) extras = Json::object();
    extras.set("per_channel_sdr", channel_sdr_json(mixtures.front()));
  }
  if (!extras.is_null()) j.set("details", extras);
  return j;
}

}  // namespace factorch::eval
