#include <cstdio>

#include "cli_support.h"
#include "app/separation.h"
#include "app/config.h"
#include "cli/runs.h"

namespace factorch::cli {

namespace {
const char* kSeparateHelp =
    "usage: factorch separate CONFIG.yaml [--set key.path=value]... [--out DIR] [--device cpu|cuda]\n"
    "                         [--dtype float32|float64] [--quiet]\n"
    "\n"
    "Separates the audio mixture of CONFIG (data.input WAV or data.synthetic) into sources with\n"
    "Wiener masks from a model V ≈ WH and writes DIR/sources/<name>.wav, DIR/mixture.wav and\n"
    "DIR/report.html; with clean references (data.references, or the notes of data.synthetic)\n"
    "also DIR/metrics.json (SDR/SIR/SAR).\n"
    "Supervised when data.train gives clean training audio per source (one dictionary of\n"
    "model.rank components each), otherwise output.sources assigns components to sources.\n"
    "Long recordings (supervised nmf on a WAV) are separated and scored block by block in\n"
    "bounded memory: data.block_seconds, data.stream; framewise scores:\n"
    "output.eval_window, output.eval_hop.\n"
    "Every key: factorch config data / factorch config output.\n";
}  // namespace

int separate(const Args& args) {
  return guarded([&] {
    std::string config_path;
    std::vector<std::string> overrides, origins;
    app::RunOptions options;
    ArgScanner a(args, "separate");
    while (a.next()) {
      const std::string& arg = a.current();
      if (arg == "--help" || arg == "-h") {
        std::fputs(kSeparateHelp, stdout);
        return 0;
      } else if (scan_run_option(a, overrides, origins, options)) {
        continue;
      } else if (arg.rfind("-", 0) == 0) {
        a.unknown();
      } else if (config_path.empty()) {
        config_path = arg;
      } else {
        throw UsageError("separate", "more than one config file given ('" + config_path + "', '" + arg + "')");
      }
    }
    if (config_path.empty()) throw UsageError("separate", "needs a CONFIG.yaml");
    const Config config = Config::load(config_path, overrides, origins);
    const SeparateOutcome separated = separate_config(config, options);
    const app::SeparationResult& r = separated.result;
    for (size_t s = 0; s < r.names.size(); ++s)
      std::printf("wrote %s/sources/%s.wav\n", r.out_dir.c_str(), r.names[s].c_str());
    if (r.has_metrics) {
      // The scores as metrics.json has them (one row per reference), else the raw BSS result.
      std::printf("%-16s%-16s%9s%9s%9s\n", "reference", "estimate", "SDR (dB)", "SIR (dB)", "SAR (dB)");
      if (r.table.size() > 0) {
        const eval::MetricsTable& t = r.table;
        for (size_t j = 0; j < t.size(); ++j)
          std::printf("%-16s%-16s%9.2f%9.2f%9.2f\n", t.names[j].c_str(), j < t.estimates.size() ? t.estimates[j].c_str() : "",
                      t.sdr[j], t.sir[j], t.sar[j]);
      } else if (r.metrics.sdr.defined()) {
        for (size_t j = 0; j < r.reference_names.size(); ++j)
          std::printf("%-16s%-16s%9.2f%9.2f%9.2f\n", r.reference_names[j].c_str(),
                      r.names[r.metrics.permutation[j]].c_str(), r.metrics.sdr[j].item<double>(),
                      r.metrics.sir[j].item<double>(), r.metrics.sar[j].item<double>());
      }
      std::printf("wrote %s/metrics.json\n", r.out_dir.c_str());
    }
    if (r.streamed) {
      std::printf("report.html not written: the mixture was separated block by block (data.stream)\n");
      return 0;
    }
    if (!separated.report.empty()) std::printf("report: %s\n", separated.report.c_str());
    return 0;
  });
}

}  // namespace factorch::cli
