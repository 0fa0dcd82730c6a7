#pragma once
// The run report: DIR/report.html and the figures it shows (DIR/figures/*.png), built from
// the files of a run directory alone, so `factorch report DIR` rebuilds it at any time:
//   config.resolved.yaml   model type, transform sizes (axes in s and Hz), the config shown
//   history.csv            objective curve
//   metrics.json, baseline/metrics.json, separation.json, transfer.json   metric tables
//   mixture.wav (or sources/mixture.wav, mixtures/*.wav), sources/*.wav, components/*.wav, baseline/sources/*.wav
//                          audio players and spectrograms
//   factors/factors.json   what each factor is and how to draw it, as the model describes it
//                          (app/factor_manifest.h): the dictionary (or the layers of a product
//                          W1·…·WL), the activations, atoms (rows as waveforms), the grids of
//                          their rows/columns; runs written before it: their factor files'
//                          names (W or W1…WL, H, Phi, frequencies, times)
//   factors/*.npy          the factors the description names
//   dictionary/W_fine.npy + frequencies_fine.npy   iN-NMF templates on a fine frequency grid
//   figures/input.npy + input.json   the input V as drawn (column means), kept by the run's
//                          own report from data.input (relative to the run's working directory)
// A figure appears when its inputs exist, so every model type gets the page it can have.
// The page is self-contained: inline CSS, no script, relative links to the run's files.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace factorch::app {

/// TL-NMF: how many learnt atoms (rows of Φ, most energetic first) a run shows: the report's
/// figures, the train report's atoms.png and the peak frequencies it prints and writes.
inline constexpr int64_t kShownAtoms = 8;

struct ReportFigure {
  std::string file;     ///< relative to the run directory (figures/NAME.png)
  std::string caption;  ///< what it shows, for the page
};

struct ReportOptions {
  /// Frequency axes on a log scale (music); unset: output.log_frequency of the run's config.
  std::optional<bool> log_frequency;
  /// `factorch report`: a rebuild, in any working directory. Inputs from outside the run
  /// directory (a .npy data.input, relative to the run's working directory) are not read:
  /// the figure is drawn from the copy that the run's own report kept (figures/input.npy,
  /// figures/input.json). false (the end of train/separate): data.input is read and kept.
  bool rebuild = false;
};

/// Draws DIR/figures/*.png from the run's files (figures/ is replaced). Throws
/// factorch::Error naming the file when an input exists but cannot be read.
std::vector<ReportFigure> write_report_figures(const std::string& run_dir, const ReportOptions& options = {});

/// Writes the figures and DIR/report.html (atomically); returns the page's path. Throws
/// factorch::Error when DIR is not a run directory (no config.resolved.yaml).
std::string write_run_report(const std::string& run_dir, const ReportOptions& options = {});

/// write_run_report for the end of train/separate/eval: a finished run is not failed by
/// its report; a problem is printed as one warning line. Returns the path or "".
std::string write_run_report_or_warn(const std::string& run_dir);

}  // namespace factorch::app
