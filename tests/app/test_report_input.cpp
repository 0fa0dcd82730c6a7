// The report's input figure reads a wide .npy V block by block and draws column means, so a
// long online_nmf run's report does not load V whole (it took a 513 × 400 000 float32 run
// from 0.35 GB to 6.9 GB peak RSS before).
#include <gtest/gtest.h>

#include <algorithm>

#include <torch/torch.h>

#include "../test_support.h"
#include "../png_pixels.h"
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
  // 5000 columns → groups of ceil(5000 / 2048) = 3 columns. Rows at 0, −10, −20, −30 dB; in
  // the left half every column has its row's level, in the right half the first column of a
  // group has 3 times it and the other two 0: the means are the same everywhere, so the
  // picture must be that of a narrow V of the row levels alone. A figure that drew one column
  // of each group (or all 5000 squeezed) would colour the right half otherwise.
  const torch::Tensor levels = torch::tensor({1.0, 0.1, 0.01, 0.001}, torch::kFloat64).view({4, 1});
  torch::Tensor wide = levels.expand({4, 5000}).clone();
  for (int64_t j = 2502; j + 3 <= 5000; j += 3) {  // (2502 = 3 · 834: whole groups)
    wide.select(1, j).mul_(3);
    wide.slice(1, j + 1, j + 3).zero_();
  }
  EXPECT_NE(input_caption(dir, wide).find("means of 3 columns"), std::string::npos);
  const auto drawn = testkit::colour_counts(testkit::read_png(dir / "figures/input.png"));
  EXPECT_EQ(input_caption(dir, levels.expand({4, 100}).clone()).find("means of"), std::string::npos);
  const auto narrow = testkit::colour_counts(testkit::read_png(dir / "figures/input.png"));
  // The four row colours fill most of the plot: each covers as many pixels in both pictures
  // (measured: equal counts, 55 226 to 56 660 pixels each).
  int64_t rows = 0;
  for (const auto& [colour, n] : narrow) {
    const bool grey = (colour >> 16) == ((colour >> 8) & 0xFF) && ((colour >> 8) & 0xFF) == (colour & 0xFF);
    if (n < 2000 || grey) continue;  // the background, frame and text are not data
    ++rows;
    const auto it = drawn.find(colour);
    const int64_t m = it == drawn.end() ? 0 : it->second;
    std::printf("colour %06x: %lld pixels narrow, %lld wide\n", colour, static_cast<long long>(n), static_cast<long long>(m));
    EXPECT_NEAR(static_cast<double>(m), static_cast<double>(n), 0.02 * n) << std::hex << colour;
  }
  EXPECT_EQ(rows, 4);
  // A narrow V is drawn as it is; a negative V gets no figure, as before.
  const std::string narrow_caption = input_caption(dir, torch::rand({4, 100}, torch::kFloat64));
  EXPECT_NE(narrow_caption.find("The input matrix V"), std::string::npos) << narrow_caption;
  EXPECT_EQ(narrow_caption.find("means of"), std::string::npos) << narrow_caption;
  EXPECT_EQ(input_caption(dir, -torch::rand({4, 100}, torch::kFloat64)), "(no input figure)");
}

// `factorch report DIR` from any working directory gives the page the run wrote: data.input
// is relative to the run's working directory, so the input figure is drawn from the copy the
// run kept (figures/input.npy). Before, a rebuild from elsewhere silently dropped input.png.
TEST(ReportInput, ReportFromAnotherWorkingDirectoryIsTheSamePage) {
  testkit::TempDir dir;
  std::filesystem::create_directories(dir.path() / "data");
  std::filesystem::create_directories(dir.path() / "elsewhere");
  torch::manual_seed(3);
  io::save_npy(dir / "data/v.npy", torch::rand({16, 60}, torch::kFloat64) + 0.1);
  testkit::write_text(dir / "v.yaml", "model: {type: nmf, rank: 2}\ndata: {input: data/v.npy}\n"
                                      "trainer: {max_iter: 5, progress: never}\noutput: {dir: run}\n");
  const auto train = testkit::run_factorch("train v.yaml --quiet", dir.path().string());
  ASSERT_EQ(train.status, 0) << train.err;
  ASSERT_TRUE(std::filesystem::exists(dir.path() / "run/figures/input.png"));
  const std::string drawn = testkit::read_text(dir / "run/figures/input.png");
  const std::string run = (dir.path() / "run").string();
  const auto page_from = [&](const std::string& cwd) {
    const auto r = testkit::run_factorch("report \"" + run + "\"", cwd);
    EXPECT_EQ(r.status, 0) << r.err;
    return testkit::read_text(run + "/report.html");
  };
  const std::string here = page_from(dir.path().string());
  EXPECT_NE(here.find("src=\"figures/input.png\""), std::string::npos);
  EXPECT_EQ(page_from(dir / "elsewhere"), here);
  EXPECT_TRUE(testkit::read_text(dir / "run/figures/input.png") == drawn) << "the same pixels as the run's own report";
  // The input gone (moved, or another machine): the run's files alone still give the page.
  std::filesystem::rename(dir.path() / "data", dir.path() / "moved");
  EXPECT_EQ(page_from(dir.path().string()), here);
  EXPECT_TRUE(testkit::read_text(dir / "run/figures/input.png") == drawn);
}

}  // namespace
}  // namespace factorch
