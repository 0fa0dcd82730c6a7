#include "app/experiments/nmf_report.h"

#include <cstdio>
#include <filesystem>

#include "factorch/eval/table.h"
#include "factorch/io/png.h"

namespace factorch {

namespace fs = std::filesystem;

void write_ard_summary(NMFImpl& model, const std::string& out_dir) {
  if (!model.ard().active()) return;
  const torch::Tensor r = model.relevance().to(torch::kCPU, torch::kFloat64);
  const double top = r.max().item<double>();
  eval::Table ard("ard", {"component", "norm", "share"}, "components");
  std::vector<int64_t> kept, pruned;
  for (int64_t k = 0; k < r.size(0); ++k) {
    const double v = r[k].item<double>();
    ard.add_row({k, v, top > 0 ? v / top : 0.0});
    (v > 0 ? kept : pruned).push_back(k);
  }
  const auto n_pruned = static_cast<int64_t>(model.pruned().size());
  ard.set("ard", model.options.ard()).set("lambda", model.options.ard_lambda()).set("b", model.options.ard_b());
  ard.set("rank", r.size(0)).set("kept_count", r.size(0) - n_pruned).set("kept", kept).set("pruned", pruned);
  eval::write_table(ard, out_dir);
  std::fprintf(stderr, "factorch: ARD kept %lld of %lld components (ard.json)\n",
               static_cast<long long>(r.size(0) - n_pruned), static_cast<long long>(r.size(0)));
}

void write_factor_pictures(NMFImpl& model, const torch::Tensor& V, const std::string& out_dir) {
  const fs::path dir = fs::path(out_dir) / "pictures";
  const torch::Tensor W = model.W().detach().cpu(), H = model.H().detach().cpu();
  const int64_t K = W.size(1);
  // Thin factors are stretched so that each component is visible (≥ 12 pixels).
  const int64_t wide = std::max<int64_t>(1, 12 * std::max<int64_t>(1, 96 / (12 * K)));
  io::write_png_heatmap((dir / "spectrogram.png").string(), V.detach().cpu().flip({0}), true);
  io::write_png_heatmap((dir / "W.png").string(), W.flip({0}).repeat_interleave(wide, 1), true);
  io::write_png_heatmap((dir / "H.png").string(), H.repeat_interleave(wide, 0), true);  // dB: onsets dwarf sustains
}

}  // namespace factorch
