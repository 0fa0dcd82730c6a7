#pragma once
// The reports of the layered models: dlnmf's table (dlnmf_report.cpp) and `factorch
// separate` for lnmf and dlnmf (layered_nmf_separation.cpp).
#include <string>

#include "app/config.h"
#include "app/dataset.h"
#include "app/run.h"
#include "app/separation.h"
#include "factorch/models/factor_model.h"

namespace factorch::layered {

/// After `factorch train` with dlnmf: the NMF / L-NMF / DL-NMF table on the test mixtures.
void report_dlnmf(const Config& config, FactorModelImpl& trained, const app::Dataset& data, const std::string& out_dir);

/// `factorch separate` with lnmf (one L-NMF per source on data.train, fine-tuned for
/// trainer.max_iter sweeps) or dlnmf (the same, then discriminative rounds on data.disc_*):
/// the mixture(s) of data.input separated → DIR/sources, DIR/metrics.json with references.
app::SeparationResult separate_layered(const Config& config, const app::RunOptions& options);

}  // namespace factorch::layered
