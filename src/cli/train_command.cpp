#include <cstdio>

#include "cli_support.h"
#include "factorch/app/report.h"
#include "factorch/app/run.h"
#include "factorch/config.h"

namespace factorch::cli {

namespace {
const char* kHelp =
    "usage: factorch train CONFIG.yaml [--set key.path=value]... [--out DIR] [--device cpu|cuda]\n"
    "                      [--dtype float32|float64] [--resume DIR/checkpoint.pt] [--quiet]\n"
    "\n"
    "Trains the model described by CONFIG and writes DIR/config.resolved.yaml, history.csv,\n"
    "checkpoint.pt, factors/*.npy, factors.pt and report.html (DIR = output.dir or --out).\n"
    "--resume continues a checkpoint (same model type and sizes; device, dtype, data and\n"
    "max_iter may change). model.init_from starts a new run from learnt factors instead.\n"
    "Every key: factorch config.\n";
}  // namespace

int train(const Args& args) {
  return guarded([&] {
    std::string config_path;
    std::vector<std::string> overrides;
    app::RunOptions options;
    ArgScanner a(args, "train");
    while (a.next()) {
      const std::string& arg = a.current();
      if (arg == "--help" || arg == "-h") {
        std::fputs(kHelp, stdout);
        return 0;
      } else if (scan_run_option(a, overrides, options)) {
        continue;
      } else if (arg == "--resume") {
        options.resume = a.value();
      } else if (arg.rfind("-", 0) == 0) {
        a.unknown();
      } else if (config_path.empty()) {
        config_path = arg;
      } else {
        throw Error("train: more than one config file given ('" + config_path + "', '" + arg + "')");
      }
    }
    if (config_path.empty()) {
      std::fputs(kHelp, stderr);
      return 1;
    }
    const Config config = Config::load(config_path, overrides);
    const app::RunResult run = app::run_training(config, options);
    if (!run.result.ok) {
      std::fprintf(stderr, "factorch: error: %s\n", run.result.stop_reason.c_str());
      return 3;
    }
    std::printf("%s: objective %.10g after %lld iterations (%s); outputs in %s\n", config.string("model.type").c_str(),
                run.result.objective, static_cast<long long>(run.result.iterations), run.result.stop_reason.c_str(),
                run.out_dir.c_str());
    const std::string page = app::write_run_report_or_warn(run.out_dir);
    if (!page.empty()) std::printf("report: %s\n", page.c_str());
    return 0;
  });
}

}  // namespace factorch::cli
