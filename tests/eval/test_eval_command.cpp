#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "factorch/eval/metrics_json.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/wav.h"

namespace stdfs = std::filesystem;
namespace ev = factorch::eval;

TEST(BssMetricsJson, Format) {
  ev::BssEvalResult r{torch::tensor({10.5, std::numeric_limits<double>::infinity()}, torch::kFloat64), torch::tensor({20.0, 30.0}, torch::kFloat64),
                      torch::tensor({11.0, 12.0}, torch::kFloat64), {1, 0}};
  const auto text = ev::bss_metrics_json(r, {"a.wav", "b\"q.wav"}, {"x.wav", "y.wav"}).dump();
  // The metrics.json schema (tests/eval/test_metrics_table.cpp reads it back in full).
  EXPECT_NE(text.find("\"schema\": \"factorch-metrics/1\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"metric\": \"bss_eval_sources\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"name\": \"a.wav\",\n      \"estimate\": \"y.wav\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"sdr\": 10.5"), std::string::npos);
  EXPECT_NE(text.find("\"sdr\": \"inf\""), std::string::npos);
  EXPECT_NE(text.find("b\\\"q.wav"), std::string::npos);
}

class BssEvalCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() / ("factorch_evalcmd_" + std::to_string(::getpid()) + "_" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::create_directories(dir_);
    torch::manual_seed(20);
    refs_ = torch::randn({2, 4000}, torch::kFloat64) * 0.2;
    factorch::io::write_wav(p("a.wav"), refs_[0], 8000);
    factorch::io::write_wav(p("b.wav"), refs_[1], 8000);
    // Swapped, noisy estimates.
    factorch::io::write_wav(p("x.wav"), refs_[1] + 0.02 * torch::randn({4000}, torch::kFloat64), 8000);
    factorch::io::write_wav(p("y.wav"), refs_[0] + 0.02 * torch::randn({4000}, torch::kFloat64), 8000);
  }
  void TearDown() override { stdfs::remove_all(dir_); }
  std::string p(const std::string& name) const { return (dir_ / name).string(); }

  stdfs::path dir_;
  torch::Tensor refs_;
};

TEST_F(BssEvalCommand, WritesTableAndMetrics) {
  // Three references and their estimates in the order z, x, y: estimate 2 for reference a,
  // 0 for b, 1 for c (a permutation that is not its own inverse: applying it the wrong way
  // round pairs every reference with another's estimate), each with its own noise level.
  torch::manual_seed(21);
  const torch::Tensor refs = torch::randn({3, 4000}, torch::kFloat64) * 0.2;
  const double noise[] = {0.02, 0.05, 0.1};
  std::vector<torch::Tensor> est(3);
  for (int j = 0; j < 3; ++j) est[j] = refs[j] + noise[j] * torch::randn({4000}, torch::kFloat64);
  const char* ref_names[] = {"a.wav", "b.wav", "c.wav"};
  const char* est_names[] = {"z.wav", "x.wav", "y.wav"};  // est_names[j] holds the estimate of reference j
  for (int j = 0; j < 3; ++j) {
    factorch::io::write_wav(p(ref_names[j]), refs[j], 8000);
    factorch::io::write_wav(p(est_names[j]), est[j], 8000);
  }
  testing::internal::CaptureStdout();
  const int rc = factorch::cli::eval({"--ref", p("a.wav"), p("b.wav"), p("c.wav"), "--est", p("x.wav"), p("y.wav"), p("z.wav"),
                                      "--out", p("out/metrics.json")});
  const std::string out = testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("SDR (dB)"), std::string::npos) << out;
  EXPECT_NE(out.find("permutation (estimate index per reference): 2 0 1\n"), std::string::npos) << out;

  // The scores of each reference against its own estimate, computed here from the WAVs as
  // written (float32), with the pairing given rather than searched.
  std::vector<torch::Tensor> r, e;
  for (int j = 0; j < 3; ++j) {
    r.push_back(factorch::io::read_wav(p(ref_names[j])).samples[0]);
    e.push_back(factorch::io::read_wav(p(est_names[j])).samples[0]);
  }
  ev::BssEvalOptions fixed;
  fixed.compute_permutation = false;
  const ev::BssEvalResult want = ev::bss_eval_sources(torch::stack(r), torch::stack(e), fixed);
  const auto json = nlohmann::json::parse(factorch::io::read_file(p("out/metrics.json")));
  ASSERT_EQ(json["sources"].size(), 3u) << json.dump();
  for (int j = 0; j < 3; ++j) {
    const auto& row = json["sources"][j];
    EXPECT_EQ(row["name"].get<std::string>(), p(ref_names[j]));
    EXPECT_EQ(row["estimate"].get<std::string>(), p(est_names[j]));
    EXPECT_NEAR(row["sdr"].get<double>(), want.sdr[j].item<double>(), 1e-6) << j;
    EXPECT_NEAR(row["sir"].get<double>(), want.sir[j].item<double>(), 1e-6) << j;
    EXPECT_NEAR(row["sar"].get<double>(), want.sar[j].item<double>(), 1e-6) << j;
    // SDR ≈ the signal-to-noise ratio 20 log10(0.2 / noise) (20.00, 12.04, 6.02 dB), raised a
    // little by the 512-tap distortion filter that absorbs part of the noise: measured 20.61,
    // 12.90, 6.86 dB.
    const double snr = 20 * std::log10(0.2 / noise[j]);
    std::printf("reference %d: SDR %.3f dB (SNR %.2f dB)\n", j, row["sdr"].get<double>(), snr);
    EXPECT_GT(row["sdr"].get<double>(), snr + 0.3) << j;
    EXPECT_LT(row["sdr"].get<double>(), snr + 1.2) << j;
  }
  // The printed table: each reference's row names its estimate and shows its SDR.
  for (int j = 0; j < 3; ++j) {
    const size_t at = out.find(std::string("/") + ref_names[j] + " ");
    ASSERT_NE(at, std::string::npos) << out;
    const std::string line = out.substr(at, out.find('\n', at) - at);
    char sdr[32];
    std::snprintf(sdr, sizeof sdr, "%.2f", want.sdr[j].item<double>());
    EXPECT_NE(line.find(std::string("/") + est_names[j] + " "), std::string::npos) << line;
    EXPECT_NE(line.find(sdr), std::string::npos) << line;
  }
}

namespace {
// The src of every <audio> of a report page, in order.
std::vector<std::string> audio_sources(const std::string& html) {
  std::vector<std::string> src;
  for (size_t at = html.find("<audio"); at != std::string::npos; at = html.find("<audio", at + 1)) {
    const size_t from = html.find("src=\"", at) + 5;
    src.push_back(html.substr(from, html.find('"', from) - from));
  }
  return src;
}
}  // namespace

// factorch eval with paths relative to its working directory, then `factorch report` of that
// run from another directory: the same players (the references and estimates), none dropped.
TEST_F(BssEvalCommand, ReportFromAnotherWorkingDirectoryKeepsEveryPlayer) {
  const stdfs::path before = stdfs::current_path();
  struct Restore {
    stdfs::path to;
    ~Restore() { stdfs::current_path(to); }
  } restore{before};
  stdfs::current_path(dir_);
  testing::internal::CaptureStdout();
  const int rc = factorch::cli::eval({"--ref", "a.wav", "b.wav", "--est", "x.wav", "y.wav", "--out", "run/metrics.json"});
  const std::string out = testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0) << out;
  const std::vector<std::string> first = audio_sources(factorch::io::read_file(p("run/report.html")));
  ASSERT_EQ(first.size(), 4u) << out;  // two references, two estimates

  stdfs::create_directories(dir_ / "elsewhere");
  stdfs::current_path(dir_ / "elsewhere");
  testing::internal::CaptureStdout();
  const int rc_report = factorch::cli::report({p("run")});
  const std::string out_report = testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc_report, 0) << out_report;
  EXPECT_EQ(audio_sources(factorch::io::read_file(p("run/report.html"))), first);
}

TEST_F(BssEvalCommand, UsageAndFileErrors) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(factorch::cli::eval({}), 1);
  EXPECT_EQ(factorch::cli::eval({"--ref", p("a.wav"), "--est", p("x.wav"), p("y.wav")}), 1);
  EXPECT_EQ(factorch::cli::eval({"--ref", p("a.wav"), "--est", p("x.wav"), "--bogus"}), 1);
  EXPECT_EQ(factorch::cli::eval({"--ref", p("a.wav"), "--est", p("missing.wav"), "--out", p("m.json")}), 2);
  factorch::io::write_wav(p("short.wav"), refs_[0].slice(0, 0, 3999), 8000);
  EXPECT_EQ(factorch::cli::eval({"--ref", p("a.wav"), "--est", p("short.wav"), "--out", p("m.json")}), 2);
  factorch::io::write_wav(p("rate.wav"), refs_[0], 16000);
  EXPECT_EQ(factorch::cli::eval({"--ref", p("a.wav"), "--est", p("rate.wav"), "--out", p("m.json")}), 2);
  factorch::io::write_wav(p("silent.wav"), torch::zeros({4000}, torch::kFloat64), 8000);
  EXPECT_EQ(factorch::cli::eval({"--ref", p("a.wav"), "--est", p("silent.wav"), "--out", p("m.json")}), 2);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("missing.wav: no such file"), std::string::npos) << err;
  EXPECT_NE(err.find("short.wav: 3999 samples differ from the 4000 samples of"), std::string::npos) << err;
  EXPECT_NE(err.find("rate.wav: sample rate 16000 Hz differs from 8000 Hz of"), std::string::npos) << err;
  EXPECT_NE(err.find("silent.wav: estimate is silent"), std::string::npos) << err;
  EXPECT_FALSE(stdfs::exists(p("m.json")));
}

// Usage errors: one line naming the problem and `factorch eval --help`, status 1, no help text.
TEST_F(BssEvalCommand, UsageErrorsAreOneLine) {
  const std::vector<std::pair<factorch::cli::Args, std::string>> cases = {
      {{"--ref", p("a.wav"), p("b.wav"), "--est", p("x.wav")}, "2 reference(s) but 1 estimate(s)"},
      {{}, "need at least one --ref and one --est"},
      {{"--ref", p("a.wav"), "--est", p("x.wav"), "--bogus"}, "unknown option '--bogus'"},
      {{"--ref", p("a.wav"), "--est", p("x.wav"), "--out"}, "--out needs a path"},
      {{"stray.wav"}, "unexpected argument 'stray.wav'"},
  };
  for (const auto& [args, needle] : cases) {
    testing::internal::CaptureStderr();
    testing::internal::CaptureStdout();
    EXPECT_EQ(factorch::cli::eval(args), 1) << needle;
    const std::string err = testing::internal::GetCapturedStderr();
    const std::string out = testing::internal::GetCapturedStdout();
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_EQ(err.rfind("factorch eval: ", 0), 0u) << err;
    EXPECT_NE(err.find(needle), std::string::npos) << err;
    EXPECT_NE(err.find("(see `factorch eval --help`)"), std::string::npos) << err;
    EXPECT_TRUE(out.empty()) << out;
  }
  EXPECT_FALSE(stdfs::exists(p("metrics.json")));
}
