#pragma once
// What `factorch train` and `factorch separate` do once their command line is parsed, as
// functions: the CLI commands and Python's factorch.train / factorch.separate call these
// same functions, so both write the same files for the same config.
#include <string>

#include "app/config.h"
#include "app/run.h"
#include "app/separation.h"

namespace factorch::cli {

struct TrainOutcome {
  app::RunResult run;
  std::string report;  ///< report.html written ("" if none: failed run, other rank, or a warning)
};

/// Trains as the config says (app::run_training), then writes report.html when the run
/// succeeded and `write_report` (rank 0 of a data-parallel run).
TrainOutcome train_config(const Config& config, const app::RunOptions& options, bool write_report = true);

struct SeparateOutcome {
  app::SeparationResult result;
  std::string report;  ///< "" when streamed (no report for block-by-block runs) or on a warning
};

/// app::run_separation, then report.html unless the mixture was separated block by block.
SeparateOutcome separate_config(const Config& config, const app::RunOptions& options);

}  // namespace factorch::cli
