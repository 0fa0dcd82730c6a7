// The one metrics.json schema (factorch/eval/metrics_table.h) read back through nlohmann:
// names, exact numbers, the NaN/Inf policy, several mixtures and named baselines.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "factorch/error.h"
#include "factorch/eval/metrics_table.h"

namespace ev = factorch::eval;
using json = nlohmann::ordered_json;  // keeps the key order, which the schema fixes

namespace {
const double kInf = std::numeric_limits<double>::infinity();

ev::BssEvalResult result(std::vector<double> sdr, std::vector<double> sir, std::vector<double> sar,
                         std::vector<int64_t> permutation) {
  return {torch::tensor(sdr, torch::kFloat64), torch::tensor(sir, torch::kFloat64), torch::tensor(sar, torch::kFloat64),
          std::move(permutation)};
}
}  // namespace

TEST(MetricsJson, SchemaRoundTripsThroughNlohmann) {
  const double third = 1.0 / 3.0;  // not a short decimal: the round trip must be exact
  const ev::MetricsTable t =
      ev::metrics_table(result({10.5, kInf}, {third, 30.0}, {std::nan(""), 12.0}, {1, 0}), {"a.wav", "b\"q.wav"},
                        {"x.wav", "y.wav"});
  const ev::MetricsTable base = ev::metrics_table(result({1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}, {0, 1}), {"a.wav", "b\"q.wav"},
                                                  {"x.wav", "y.wav"});
  const json j = json::parse(
      ev::metrics_json({t}, {{"oracle", {base}}}, ev::Json::object().set("round", 3)).dump());
  EXPECT_EQ(j["schema"], "factorch-metrics/1");
  EXPECT_EQ(j["metric"], "bss_eval_sources");
  EXPECT_EQ(j["filter_length"], 512);
  ASSERT_EQ(j["sources"].size(), 2u);
  EXPECT_EQ(j["sources"][0]["name"], "a.wav");
  EXPECT_EQ(j["sources"][0]["estimate"], "y.wav");  // permutation[0] = 1
  EXPECT_EQ(j["sources"][1]["name"], "b\"q.wav");
  EXPECT_EQ(j["sources"][1]["estimate"], "x.wav");
  EXPECT_EQ(j["sources"][0]["sdr"].get<double>(), 10.5);
  EXPECT_EQ(j["sources"][0]["sir"].get<double>(), third);
  // JSON has no NaN/Inf: the strings "nan", "inf", "-inf" (README "metrics.json").
  EXPECT_EQ(j["sources"][1]["sdr"], "inf");
  EXPECT_EQ(j["sources"][0]["sar"], "nan");
  EXPECT_EQ(j["mean"]["sdr"], "inf");
  EXPECT_EQ(j["mean"]["sir"].get<double>(), (third + 30.0) / 2);
  EXPECT_FALSE(j["sources"][0].contains("isr"));
  EXPECT_FALSE(j.contains("mixtures")) << "one mixture: no per-mixture list";
  // The baseline has the run's shape, without schema/baselines/details.
  const json& b = j["baselines"]["oracle"];
  EXPECT_EQ(b["metric"], "bss_eval_sources");
  EXPECT_EQ(b["sources"][1]["sar"].get<double>(), 6.0);
  EXPECT_EQ(b["mean"]["sdr"].get<double>(), 1.5);
  EXPECT_FALSE(b.contains("schema") || b.contains("baselines") || b.contains("details"));
  EXPECT_EQ(j["details"]["round"], 3);
  // Key order as documented (ordered_json keeps it).
  std::vector<std::string> keys;
  for (const auto& kv : j.items()) keys.push_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"schema", "metric", "filter_length", "sources", "mean", "baselines", "details"}));
  // -inf too, and no details → no key.
  const json k = json::parse(
      ev::metrics_json({ev::metrics_table(result({-kInf}, {1.0}, {1.0}, {0}), {"s"}, {"e"})}).dump());
  EXPECT_EQ(k["sources"][0]["sdr"], "-inf");
  EXPECT_FALSE(k.contains("details") || k.contains("baselines"));
}

TEST(MetricsJson, SeveralMixturesShareTheOneMixtureReader) {
  ev::MetricsTable m1 = ev::metrics_table(result({10.0, 20.0}, {1.0, 2.0}, {3.0, 4.0}, {0, 1}), {"a", "b"}, {"a", "b"},
                                          {}, "first");
  ev::MetricsTable m2 = ev::metrics_table(result({14.0, 30.0}, {3.0, 2.0}, {5.0, 8.0}, {1, 0}), {"a", "b"}, {"a", "b"},
                                          {}, "second");
  const json j = json::parse(ev::metrics_json({m1, m2}).dump());
  // "sources" and "mean" read as with one mixture: per-source means over the mixtures.
  EXPECT_EQ(j["sources"][0]["sdr"].get<double>(), 12.0);
  EXPECT_EQ(j["sources"][1]["sdr"].get<double>(), 25.0);
  EXPECT_EQ(j["sources"][1]["sar"].get<double>(), 6.0);
  EXPECT_EQ(j["mean"]["sdr"].get<double>(), 18.5);
  EXPECT_FALSE(j["sources"][0].contains("estimate")) << "the mixtures disagree on the matched estimate";
  ASSERT_EQ(j["mixtures"].size(), 2u);
  EXPECT_EQ(j["mixtures"][1]["name"], "second");
  EXPECT_EQ(j["mixtures"][1]["sources"][0]["estimate"], "b");
  EXPECT_EQ(j["mixtures"][1]["mean"]["sdr"].get<double>(), 22.0);
  // Different sources cannot be averaged.
  ev::MetricsTable other = m2;
  other.names = {"a", "c"};
  EXPECT_THROW(ev::metrics_json({m1, other}), factorch::Error);
}

TEST(MetricsJson, ImageTablesAddIsr) {
  const ev::BssEvalImagesResult r{torch::tensor({1.0, 2.0}, torch::kFloat64), torch::tensor({3.0, 4.0}, torch::kFloat64),
                                  torch::tensor({5.0, 6.0}, torch::kFloat64), torch::tensor({7.0, 8.0}, torch::kFloat64),
                                  {0, 1}};
  const json j = json::parse(ev::metrics_json({ev::metrics_table(r, {"l", "r"}, {"l", "r"})}).dump());
  EXPECT_EQ(j["metric"], "bss_eval_images");
  std::vector<std::string> keys;
  for (const auto& kv : j["sources"][1].items()) keys.push_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "estimate", "sdr", "isr", "sir", "sar"}));
  EXPECT_EQ(j["sources"][1]["isr"].get<double>(), 4.0);
  EXPECT_EQ(j["mean"]["isr"].get<double>(), 3.5);
}

TEST(MetricsJson, FacadeDumpsThroughNlohmann) {
  EXPECT_EQ(ev::Json::object().set("k", ev::Json::array().push(1).push(2.5)).dump(0), "{\"k\":[1,2.5]}");
  // A repeated key is replaced where it stands; copies are deep.
  ev::Json a = ev::Json::object().set("x", 1).set("y", 2);
  const ev::Json b = a;
  a.set("x", "one");
  EXPECT_EQ(a.dump(0), "{\"x\":\"one\",\"y\":2}");
  EXPECT_EQ(b.dump(0), "{\"x\":1,\"y\":2}");
  EXPECT_EQ(ev::Json(std::nan("")).dump(), "\"nan\"");
  EXPECT_EQ(ev::Json(-std::numeric_limits<double>::infinity()).dump(), "\"-inf\"");
  EXPECT_TRUE(ev::Json().is_null());
  EXPECT_THROW(ev::Json::array().set("k", 1), factorch::Error);
  EXPECT_THROW(ev::Json::object().push(1), factorch::Error);
}
