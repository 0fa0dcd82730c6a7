#include "cli/runs.h"

#include "app/report.h"

namespace factorch::cli {

TrainOutcome train_config(const Config& config, const app::RunOptions& options, bool write_report) {
  TrainOutcome out;
  out.run = app::run_training(config, options);
  if (out.run.result.ok && write_report) out.report = app::write_run_report_or_warn(out.run.out_dir);
  return out;
}

SeparateOutcome separate_config(const Config& config, const app::RunOptions& options) {
  SeparateOutcome out;
  out.result = app::run_separation(config, options);
  // report.html draws spectrograms of whole files: not for recordings separated block by block.
  if (!out.result.streamed) out.report = app::write_run_report_or_warn(out.result.out_dir);
  return out;
}

}  // namespace factorch::cli
