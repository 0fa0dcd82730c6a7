#pragma once
// Labelled figures for run reports, drawn with Cairo (real text, antialiased lines, PNG):
// one axes per figure with a title, axis labels with units, ticks (linear or logarithmic),
// and for heatmaps a colour bar. Three kinds cover the reports: heatmap (spectrograms and
// factors, in dB), line plot (objective curves, atoms, continuous templates) and grouped bar
// chart (score tables). Files are written atomically. The raw one-pixel-per-bin dumps stay
// in io/png.h.
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace factorch::plot {

/// One axis: label (with its unit), view limits, scale, optional explicit ticks.
struct Axis {
  std::string label;
  double min = 0, max = 1;  ///< view limits (min > 0 for a log axis)
  bool log = false;
  /// Explicit ticks (value, text); empty: "nice" ticks chosen from the limits.
  std::vector<std::pair<double, std::string>> ticks;
};

struct Size {
  int width = 900, height = 420;  ///< pixels of the PNG
};

/// A heatmap of `values` (rows × columns, finite). Column j covers [x_lo + j·dx, x_lo + (j+1)·dx)
/// with dx = (x_hi − x_lo)/columns; row i likewise along y from y_lo (row 0 at the bottom).
/// db: values are powers shown as 10·log10 relative to the maximum, clipped at −db_range;
/// otherwise shown linearly between their min and max. Log y axes resample rows by value.
/// rows_log: rows are uniform in log(y) (constant-Q bins) instead of in y.
struct Heatmap {
  std::string title;
  torch::Tensor values;
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  bool rows_log = false;
  Axis x, y;
  bool db = true;
  double db_range = 80;
  std::string colorbar_label = "dB (re max)";
  Size size;
};

struct Series {
  std::vector<double> x, y;
  std::string label;         ///< in the legend (none if every label is empty)
  bool line = true;          ///< joined by a line
  bool markers = false;      ///< small dots at the points
  int colour = -1;           ///< palette index; -1: the series' index
};

struct LinePlot {
  std::string title;
  Axis x, y;
  std::vector<Series> series;
  Size size;
};

/// Grouped bars: one group per category, one bar per series in each group.
struct BarChart {
  std::string title;
  std::vector<std::string> categories;
  std::vector<std::string> series_labels;
  std::vector<std::vector<double>> values;  ///< [series][category]
  Axis y{"", 0, 0, false, {}};              ///< label and limits (min = max: automatic)
  Size size;
};

void save_png(const std::string& path, const Heatmap& figure);
void save_png(const std::string& path, const LinePlot& figure);
void save_png(const std::string& path, const BarChart& figure);

/// "Nice" tick values (1, 2, 5 × 10^k steps) covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
/// A tick label without trailing zeros ("0.5", "1000"; "2.5×10⁻⁵" below 10⁻³ or from 10⁵).
std::string tick_label(double value, double step);

/// A frequency axis in Hz or kHz (kHz when the top is at least 2 kHz): the axis (label,
/// limits) and the factor that converts Hz to the axis unit.
std::pair<Axis, double> frequency_axis(double lo_hz, double hi_hz, bool log = false);

}  // namespace factorch::plot
