// The one separation step (app/separation_step.h): Wiener estimates with a known answer,
// what it writes (sources, mixture, metrics.json in the one schema, baselines, several
// mixtures), nothing written on bad input, and report.html's table of the new schema.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "../test_support.h"
#include "app/report.h"
#include "factorch/error.h"
#include "factorch/separation/separation_step.h"
#include "factorch/io/wav.h"

using namespace factorch;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
constexpr int64_t kT = 4000;

// Band-limited noise on rfft bins [lo, hi) of a kT-sample signal: two sources on disjoint
// bands are exactly separable by masks on the rfft.
torch::Tensor band_noise(int64_t lo, int64_t hi, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor spectrum = torch::zeros({kT / 2 + 1}, torch::kComplexDouble);
  spectrum.slice(0, lo, hi) = torch::complex(torch::randn({hi - lo}, torch::kFloat64), torch::randn({hi - lo}, torch::kFloat64));
  const torch::Tensor x = torch::fft::irfft(spectrum, kT);
  return x / x.abs().max() * 0.5;
}

struct TwoBands {
  torch::Tensor sources = torch::stack({band_noise(5, 900, 1), band_noise(1000, 1990, 2)});
  torch::Tensor mixture = sources.sum(0);
};

separation::SeparatedMixture exact_separation(const TwoBands& b) {
  // Parts: each source's own |rfft| (exponent 2 → power masks), synthesis: the inverse rfft.
  const torch::Tensor X = torch::fft::rfft(b.mixture);
  const std::vector<torch::Tensor> parts{torch::fft::rfft(b.sources[0]).abs(), torch::fft::rfft(b.sources[1]).abs()};
  separation::SeparatedMixture m;
  m.names = {"low", "high"};
  m.estimates = separation::wiener_estimates(X, parts, 2.0, [](const torch::Tensor& Y) { return torch::fft::irfft(Y, kT); });
  m.references = b.sources;
  m.mixture = b.mixture;
  return m;
}
}  // namespace

TEST(SeparationStep, MasksOfDisjointBandsGiveTheSourcesExactly) {
  const TwoBands b;
  const separation::SeparatedMixture m = exact_separation(b);
  // Where a source is absent its part is 0 (up to rfft round-off): masks are 1/0 and the
  // estimates are the sources; the masks sum to one, so the estimates sum to the mixture.
  EXPECT_LT((m.estimates - b.sources).abs().max().item<double>(), 1e-9);
  EXPECT_LT((m.estimates.sum(0) - b.mixture).abs().max().item<double>(), 1e-12);
  const eval::MetricsTable t = separation::score_separation(m, {});
  ASSERT_EQ(t.names, (std::vector<std::string>{"low", "high"}));
  for (size_t j = 0; j < 2; ++j) {
    std::printf("%s: SDR %.1f dB\n", t.names[j].c_str(), t.sdr[j]);
    EXPECT_GT(t.sdr[j], 100.0);  // exact up to round-off (errors < 1e-9 on amplitude 0.5)
  }
  // A rough separation of the same mixture scores far lower: the scores measure the estimates.
  separation::SeparatedMixture rough = m;
  rough.estimates = torch::stack({b.mixture * 0.5, b.mixture * 0.5});
  EXPECT_LT(separation::score_separation(rough, {}).mean_sdr(), 5.0);  // equal halves: SDR ≈ 0 dB
}

TEST(SeparationStep, WritesSourcesMixtureAndMetricsJson) {
  testkit::TempDir dir;
  const TwoBands b;
  separation::SeparationStepOptions o;
  o.out_dir = dir / "run";
  o.sample_rate = 8000;
  o.details = eval::Json::object().set("note", "test");
  const separation::SeparationScores s = separation::run_separation_step({exact_separation(b)}, o);
  ASSERT_TRUE(s.scored);
  EXPECT_EQ(s.metrics_path, dir / "run/metrics.json");
  for (const char* f : {"run/sources/low.wav", "run/sources/high.wav", "run/mixture.wav", "run/metrics.json"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  const io::Audio low = io::read_wav(dir / "run/sources/low.wav");
  EXPECT_EQ(low.sample_rate, 8000);
  EXPECT_EQ(low.frames(), kT);
  const json j = json::parse(testkit::read_text(dir / "run/metrics.json"));
  EXPECT_EQ(j["schema"], "factorch-metrics/1");
  EXPECT_EQ(j["sources"][1]["name"], "high");
  EXPECT_EQ(j["sources"][1]["sdr"].get<double>(), s.mixtures[0].sdr[1]);
  EXPECT_EQ(j["details"]["note"], "test");
}

TEST(SeparationStep, BaselinesAndSeveralMixturesShareTheSchema) {
  testkit::TempDir dir;
  const TwoBands b;
  separation::SeparatedMixture first = exact_separation(b), second = exact_separation(b);
  first.name = "first", second.name = "second";
  second.estimates = second.estimates + 0.01 * torch::randn({2, kT}, torch::kFloat64);
  separation::SeparatedMixture half;  // the baseline: half the mixture each (references from the run)
  half.names = {"low", "high"};
  half.estimates = torch::stack({b.mixture * 0.5, b.mixture * 0.5});
  separation::SeparationStepOptions o;
  o.out_dir = dir / "run";
  o.sample_rate = 8000;
  const separation::SeparationScores s = separation::run_separation_step({first, second}, o, {{"half", {half, half}}});
  for (const char* f : {"run/sources/first/low.wav", "run/sources/second/high.wav", "run/mixtures/first.wav",
                        "run/baselines/half/sources/second/low.wav", "run/metrics.json"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  const json j = json::parse(testkit::read_text(dir / "run/metrics.json"));
  ASSERT_EQ(j["mixtures"].size(), 2u);
  EXPECT_EQ(j["mixtures"][1]["name"], "second");
  EXPECT_GT(j["mixtures"][0]["mean"]["sdr"].get<double>(), j["mixtures"][1]["mean"]["sdr"].get<double>());
  EXPECT_DOUBLE_EQ(j["sources"][0]["sdr"].get<double>(), (s.mixtures[0].sdr[0] + s.mixtures[1].sdr[0]) / 2);
  const json& half_json = j["baselines"]["half"];
  EXPECT_EQ(half_json["sources"][0]["name"], "low");
  EXPECT_EQ(half_json["mixtures"].size(), 2u);
  EXPECT_LT(half_json["mean"]["sdr"].get<double>(), 5.0);
  EXPECT_GT(j["mean"]["sdr"].get<double>(), 30.0);  // +0.01 noise on one mixture: ≈ 30 dB there, > 100 dB on the other
}

TEST(SeparationStep, ImagesAreScoredWithBssEvalImages) {
  torch::manual_seed(3);
  separation::SeparatedMixture m;
  m.names = {"left", "right"};
  m.references = torch::randn({2, 2, 1500}, torch::kFloat64);
  m.estimates = m.references + 0.01 * torch::randn({2, 2, 1500}, torch::kFloat64);
  const eval::MetricsTable t = separation::score_separation(m, {});
  EXPECT_EQ(t.metric, "bss_eval_images");
  ASSERT_EQ(t.isr.size(), 2u);
  EXPECT_GT(t.sdr[0], 30.0);  // noise 40 dB below the sources; 512-tap filters absorb a little
}

TEST(SeparationStep, ImageEstimatesSynthesiseEachChannel) {
  // Images of two channels of the disjoint bands: source j's image in channel c is g_cj · s_j,
  // so with the rfft as transform the estimates are exactly the scaled sources.
  const TwoBands b;
  const double g[2][2] = {{1.0, 0.5}, {0.25, 2.0}};  // [channel][source]
  std::vector<torch::Tensor> images;
  for (int64_t j = 0; j < 2; ++j)
    images.push_back(torch::stack({torch::fft::rfft(b.sources[j] * g[0][j]), torch::fft::rfft(b.sources[j] * g[1][j])})
                         .unsqueeze(2));  // C × F × 1 frame
  const torch::Tensor est = separation::image_estimates(
      images, [](const torch::Tensor& Y) { return torch::fft::irfft(Y.squeeze(1), kT); });
  ASSERT_EQ(est.sizes(), (std::vector<int64_t>{2, 2, kT}));
  for (int64_t j = 0; j < 2; ++j)
    for (int64_t c = 0; c < 2; ++c)
      EXPECT_LT((est[j][c] - b.sources[j] * g[c][j]).abs().max().item<double>(), 1e-12) << j << " " << c;
  EXPECT_THROW(separation::image_estimates({b.sources}, [](const torch::Tensor& Y) { return Y; }), Error);
}

TEST(SeparationStep, MatchedToReferencesReordersAndRenamesTheEstimates) {
  // An unsupervised separation that found the sources in the other order: matched, estimate
  // s is reference s and carries its name, so a known-assignment score finds the exact SDRs.
  const TwoBands b;
  separation::SeparatedMixture m = exact_separation(b);
  m.estimates = m.estimates.flip(0);
  m.names = {"component1", "component2"};
  m.reference_names = {"low", "high"};
  const separation::SeparatedMixture matched = separation::matched_to_references(m);
  EXPECT_LT((matched.estimates - b.sources).abs().max().item<double>(), 1e-9);
  EXPECT_EQ(matched.names, (std::vector<std::string>{"low", "high"}));
  const eval::MetricsTable t = separation::score_separation(matched, {});
  EXPECT_GT(t.sdr[0], 100.0);
  EXPECT_GT(t.sdr[1], 100.0);
  separation::SeparatedMixture none = m;
  none.references = torch::Tensor();
  EXPECT_THROW(separation::matched_to_references(none), Error);
}

TEST(SeparationStep, PerChannelSdrJoinsTheDetails) {
  // Images with noise 20 dB below the sources in channel 0 and 40 dB below in channel 1: each
  // channel's bss_eval_sources SDR, in the table and in metrics.json's details beside the
  // model's own extras.
  torch::manual_seed(4);
  separation::SeparatedMixture m;
  m.names = {"a", "b"};
  m.references = torch::randn({2, 2, 1500}, torch::kFloat64);
  const torch::Tensor noise = torch::randn({2, 2, 1500}, torch::kFloat64);
  m.estimates = m.references.clone();
  m.estimates.select(1, 0).add_(0.1 * noise.select(1, 0));
  m.estimates.select(1, 1).add_(0.01 * noise.select(1, 1));
  separation::SeparationStepOptions o;
  o.per_channel_sdr = true;
  const eval::MetricsTable t = separation::score_separation(m, o);
  ASSERT_EQ(t.channel_sdr.size(), 2u);
  for (int64_t c = 0; c < 2; ++c) {
    const eval::BssEvalResult r = eval::bss_eval_sources(m.references.select(1, c), m.estimates.select(1, c));
    ASSERT_EQ(t.channel_sdr[c].size(), 2u);
    for (int64_t j = 0; j < 2; ++j) EXPECT_DOUBLE_EQ(t.channel_sdr[c][j], r.sdr[j].item<double>()) << c << " " << j;
  }
  std::printf("per-channel SDR: channel 0 %.2f / %.2f, channel 1 %.2f / %.2f dB\n", t.channel_sdr[0][0],
              t.channel_sdr[0][1], t.channel_sdr[1][0], t.channel_sdr[1][1]);
  // Measured 21.55 and 41.14 dB (the 512-tap filters absorb a little of the noise).
  EXPECT_NEAR(t.channel_sdr[0][0], 21.55, 0.3);
  EXPECT_NEAR(t.channel_sdr[1][0], 41.14, 0.3);
  EXPECT_TRUE(separation::score_separation(m, {}).channel_sdr.empty()) << "only when asked";
  const json j = json::parse(eval::metrics_json({t}, {}, eval::Json::object().set("model", "x")).dump());
  EXPECT_EQ(j["details"]["model"], "x");
  ASSERT_EQ(j["details"]["per_channel_sdr"].size(), 2u);
  EXPECT_EQ(j["details"]["per_channel_sdr"][1]["channel"], 1);
  EXPECT_DOUBLE_EQ(j["details"]["per_channel_sdr"][1]["sdr"][0].get<double>(), t.channel_sdr[1][0]);
}

TEST(SeparationStep, BadInputWritesNothing) {
  testkit::TempDir dir;
  const TwoBands b;
  separation::SeparationStepOptions o;
  o.out_dir = dir / "run";
  o.sample_rate = 8000;
  separation::SeparatedMixture m = exact_separation(b);
  m.references = m.references.slice(1, 0, kT - 1);  // one sample short
  std::string msg = testkit::error_of([&] { separation::run_separation_step({m}, o); });
  EXPECT_NE(msg.find("references are 2 × 3999 but the estimates are 2 × 4000"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir / "run"));
  // Scoring itself fails (a silent reference) → still nothing written.
  m = exact_separation(b);
  m.references = m.references.clone();
  m.references[1].zero_();
  msg = testkit::error_of([&] { separation::run_separation_step({m}, o); });
  EXPECT_NE(msg, "(no error)");
  EXPECT_FALSE(fs::exists(dir / "run"));
  m = exact_separation(b);
  m.names = {"low", "../high"};
  msg = testkit::error_of([&] { separation::run_separation_step({m}, o); });
  EXPECT_NE(msg.find("'../high' cannot name a file"), std::string::npos) << msg;
  m = exact_separation(b);
  separation::SeparatedMixture unscored = m;
  unscored.references = torch::Tensor();
  m.name = "a", unscored.name = "b";
  msg = testkit::error_of([&] { separation::run_separation_step({m, unscored}, o); });
  EXPECT_NE(msg.find("give references for every mixture or for none"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(SeparationStep, NoReferencesSaysSoInOneLine) {
  testkit::TempDir dir;
  separation::SeparatedMixture m = exact_separation(TwoBands{});
  m.references = torch::Tensor();
  separation::SeparationStepOptions o;
  o.out_dir = dir / "run";
  o.sample_rate = 8000;
  testing::internal::CaptureStdout();
  const separation::SeparationScores s = separation::run_separation_step({m}, o);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_FALSE(s.scored);
  EXPECT_EQ(out, "no references: metrics.json not written\n");
  EXPECT_TRUE(fs::exists(dir / "run/sources/high.wav"));
  EXPECT_FALSE(fs::exists(dir / "run/metrics.json"));
}

TEST(ReportMetricsSchema, ReportShowsTheStepsMetricsAndBaselines) {
  testkit::TempDir dir;
  const TwoBands b;
  separation::SeparatedMixture half;
  half.names = {"low", "high"};
  half.estimates = torch::stack({b.mixture * 0.5, b.mixture * 0.5});
  separation::SeparationStepOptions o;
  o.out_dir = dir / "run";
  o.sample_rate = 8000;
  const separation::SeparationScores s = separation::run_separation_step({exact_separation(b)}, o, {{"half", {half}}});
  const std::string html = testkit::read_text(app::write_run_report(dir / "run"));
  char sdr[32];
  std::snprintf(sdr, sizeof sdr, ">%.2f<", s.baselines[0].mixtures[0].sdr[1]);
  EXPECT_NE(html.find("data-key=\"sources/1/name\">high<"), std::string::npos);
  EXPECT_NE(html.find("data-key=\"baselines/half/sources/1/sdr\"" + std::string(sdr)), std::string::npos) << sdr;
  EXPECT_NE(html.find("data-key=\"schema\">factorch-metrics/1<"), std::string::npos);
  EXPECT_NE(html.find("src=\"sources/low.wav\""), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "run/figures/scores.png")) << "the run and its baseline as SDR bars";
}
