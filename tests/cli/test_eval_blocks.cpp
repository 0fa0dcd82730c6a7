// `factorch eval` on files read block by block (--block-seconds) and with framewise scores
// (--window/--hop): the same metrics.json numbers as in one piece.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "../test_support.h"
#include "factorch/io/wav.h"

using namespace factorch;

TEST(EvalBlocks, BlocksEqualWholeAndFramewiseIsWritten) {
  testkit::TempDir dir;
  torch::manual_seed(8);
  const int rate = 8000;
  const torch::Tensor refs = 0.3 * torch::randn({2, 2 * rate}, torch::kFloat64);
  torch::Tensor ests = 0.3 * torch::tensor({{0.1, 1.0}, {1.0, 0.2}}, torch::kFloat64).matmul(refs) +
                       0.02 * torch::randn({2, 2 * rate}, torch::kFloat64);  // swapped order
  ests[1].slice(0, 4000, 6000).zero_();  // a silent estimate window
  for (int j = 0; j < 2; ++j) {
    io::write_wav(dir / ("r" + std::to_string(j) + ".wav"), refs[j], rate);
    io::write_wav(dir / ("e" + std::to_string(j) + ".wav"), ests[j], rate);
  }
  const std::string files = "--ref r0.wav r1.wav --est e0.wav e1.wav --window 0.25 --hop 0.25";
  const auto whole = testkit::run_factorch("eval " + files + " --out whole/metrics.json", dir.path().string());
  ASSERT_EQ(whole.status, 0) << whole.err;
  const auto blocks =
      testkit::run_factorch("eval " + files + " --block-seconds 0.3 --out blocks/metrics.json", dir.path().string());
  ASSERT_EQ(blocks.status, 0) << blocks.err;
  EXPECT_NE(blocks.out.find("report.html not written"), std::string::npos) << blocks.out;

  const auto a = nlohmann::json::parse(testkit::read_text(dir / "whole/metrics.json"));
  const auto b = nlohmann::json::parse(testkit::read_text(dir / "blocks/metrics.json"));
  for (size_t j = 0; j < 2; ++j) {
    EXPECT_EQ(a["sources"][j]["estimate"], b["sources"][j]["estimate"]);
    for (const char* key : {"sdr", "sir", "sar"}) {
      const double x = a["sources"][j][key].get<double>(), y = b["sources"][j][key].get<double>();
      EXPECT_LT(std::abs(x - y) / std::max(1.0, std::abs(y)), 1e-9) << key;  // measured ~1e-14
    }
  }
  EXPECT_EQ(a["sources"][0]["estimate"], "e1.wav");
  EXPECT_EQ(a["framewise"]["frames"].get<int>(), 8);
  EXPECT_EQ(a["framewise"], b["framewise"]);  // windows are scored in one piece either way
  // Reference r1 (estimate e0) is fine throughout; the silent window of e1 is "nan" for both.
  EXPECT_EQ(a["framewise"]["sources"][0]["sdr"][2], "nan");
  EXPECT_EQ(a["framewise"]["sources"][1]["sdr"][2], "nan");

  const auto bad = testkit::run_factorch("eval --ref r0.wav --est e0.wav --window -1", dir.path().string());
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("--window needs a positive number of seconds"), std::string::npos) << bad.err;
}
