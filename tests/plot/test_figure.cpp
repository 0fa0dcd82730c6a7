// The library's figures (factorch/plot/figure.h, src/plot): ticks and labels, heatmap
// orientation and colours read back from the PNG, one-line errors that write nothing.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <map>

#include "factorch/io/png.h"
#include "factorch/plot/figure.h"

#include "../test_support.h"
#include "../png_pixels.h"

namespace {

namespace fs = std::filesystem;
using namespace factorch;

using testkit::Png;
using testkit::read_png;

uint32_t packed(const std::array<uint8_t, 3>& c) { return (uint32_t(c[0]) << 16) | (uint32_t(c[1]) << 8) | c[2]; }

TEST(PlotFigure, NiceTicksAndLabels) {
  EXPECT_EQ(plot::nice_ticks(0, 2500, 6), (std::vector<double>{0, 500, 1000, 1500, 2000, 2500}));
  EXPECT_EQ(plot::nice_ticks(0, 1, 4), (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(plot::nice_ticks(-80, 0, 5), (std::vector<double>{-80, -60, -40, -20, 0}));
  EXPECT_EQ(plot::tick_label(0.25, 0.25), "0.25");
  EXPECT_EQ(plot::tick_label(0.5, 0.25), "0.5");
  EXPECT_EQ(plot::tick_label(1500, 500), "1500");
  EXPECT_EQ(plot::tick_label(-1e-17, 0.1), "0");
  EXPECT_EQ(plot::tick_label(2.5e-5, 1e-5), "2.5×10⁻⁵");
  EXPECT_EQ(plot::tick_label(1e6, 1e6), "10⁶");
  const auto [khz, scale] = plot::frequency_axis(0, 8000);
  EXPECT_EQ(khz.label, "Frequency (kHz)");
  EXPECT_DOUBLE_EQ(khz.max, 8.0);
  EXPECT_DOUBLE_EQ(scale, 1e-3);
  EXPECT_EQ(plot::frequency_axis(20, 1000, true).first.label, "Frequency (Hz, log scale)");
}

// Row 0 of the data is drawn at the bottom, column 0 at the left, each cell in the colour of
// its value: find every cell's exact viridis colour in the PNG and compare the positions.
TEST(PlotFigure, HeatmapRowsUpColumnsRightColoursByValue) {
  testkit::TempDir dir;
  plot::Heatmap h;
  h.title = "test";
  h.values = torch::arange(6, torch::kFloat64).reshape({2, 3});  // value = 3·row + column
  h.db = false;
  h.x.label = "x";
  h.x.max = h.x_hi = 3;
  h.y.label = "y";
  h.y.max = h.y_hi = 2;
  h.size = {600, 300};
  plot::save_png(dir / "h.png", h);
  const Png png = read_png(dir / "h.png");
  ASSERT_EQ(png.width, 600);
  ASSERT_EQ(png.height, 300);
  std::map<int, std::array<double, 3>> found;  // value → (count, mean x, mean y)
  for (int v = 0; v < 6; ++v) {
    const uint32_t c = packed(io::viridis(v / 5.0));
    double n = 0, sx = 0, sy = 0;
    for (int y = 0; y < png.height; ++y)
      for (int x = 0; x < png.width; ++x)
        if (png.rgb[y * png.width + x] == c) ++n, sx += x, sy += y;
    ASSERT_GT(n, 0) << "value " << v << " is not drawn";
    found[v] = {n, sx / n, sy / n};
  }
  for (int col = 0; col < 3; ++col) EXPECT_GT(found[col][2], found[3 + col][2]) << "row 0 must be below row 1";
  for (int row = 0; row < 2; ++row) {
    EXPECT_LT(found[3 * row][1], found[3 * row + 1][1]);
    EXPECT_LT(found[3 * row + 1][1], found[3 * row + 2][1]);
  }
  // Equal cells, equal areas (the colour bar may share a few pixels: 10 % margin).
  for (int v = 1; v < 6; ++v) EXPECT_NEAR(found[v][0], found[0][0], 0.1 * found[0][0]) << "value " << v;
}

TEST(PlotFigure, BadInputIsOneClearError) {
  testkit::TempDir dir;
  plot::Heatmap h;
  h.values = torch::full({2, 2}, std::nan(""), torch::kFloat64);
  EXPECT_NE(testkit::error_of([&] { plot::save_png(dir / "nan.png", h); }).find("nan.png: heatmap values must be finite"),
            std::string::npos);
  plot::LinePlot p;
  p.y.log = true;
  p.y.min = 0;
  EXPECT_NE(testkit::error_of([&] { plot::save_png(dir / "log.png", p); }).find("logarithmic and needs min > 0"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "nan.png"));
  EXPECT_FALSE(fs::exists(dir / "log.png"));
}

}  // namespace
