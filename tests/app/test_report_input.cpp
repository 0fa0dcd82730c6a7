// The report's input figure reads a wide .npy V block by block and draws column means, so a
// long online_nmf run's report does not load V whole (it took a 513 × 400 000 float32 run
// from 0.35 GB to 6.9 GB peak RSS before).
#include <gtest/gtest.h>

#include <algorithm>

#include <torch/torch.h>

#include "../test_support.h"
#include "app/report.h"
#include "factorch/io/npy.h"

namespace factorch {
namespace {

std::string input_caption(const testkit::TempDir& dir, const torch::Tensor& V) {
  io::save_npy(dir / "v.npy", V);
  testkit::write_text(dir / "config.resolved.yaml", "model:\n  type: online_nmf\ndata:\n  input: " + (dir / "v.npy") +
                                                        "\noutput:\n  dir: x\n");
  const auto figures = app::write_report_figures(dir.path().string());
  const auto it = std::find_if(figures.begin(), figures.end(), [](const auto& f) { return f.file == "figures/input.png"; });
  return it == figures.end() ? std::string("(no input figure)") : it->caption;
}

TEST(ReportInput, AWideVIsDrawnFromMeansOfColumnBlocks) {
  testkit::TempDir dir;
  // 5000 columns → groups of ceil(5000 / 2048) = 3 columns.
  EXPECT_NE(input_caption(dir, torch::rand({4, 5000}, torch::kFloat64)).find("means of 3 columns"), std::string::npos);
  // A narrow V is drawn as it is; a negative V gets no figure, as before.
  const std::string narrow = input_caption(dir, torch::rand({4, 100}, torch::kFloat64));
  EXPECT_NE(narrow.find("The input matrix V"), std::string::npos) << narrow;
  EXPECT_EQ(narrow.find("means of"), std::string::npos) << narrow;
  EXPECT_EQ(input_caption(dir, -torch::rand({4, 100}, torch::kFloat64)), "(no input figure)");
}

}  // namespace
}  // namespace factorch
