// factorch CLI: dispatches to the sub-commands in the library (include/factorch/cli/commands.h).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "factorch/cli/commands.h"

namespace {

const char* kUsage =
    "usage: factorch <command> [options]\n"
    "\n"
    "commands:\n"
    "  train CONFIG.yaml [--set key=value]... [--out DIR] [--device cpu|cuda] [--dtype float32|float64]\n"
    "                    [--resume DIR/checkpoint.pt]      train a model, write factors and a checkpoint\n"
    "  export CHECKPOINT --format npy|pt --out DIR         write the learnt factors of a checkpoint\n"
    "  info CHECKPOINT                                     describe a checkpoint\n"
    "  separate CONFIG.yaml [--set key=value]... [--out DIR]  separate audio sources with a model\n"
    "  eval --ref a.wav b.wav --est x.wav y.wav [--out metrics.json]  BSS metrics (SDR/SIR/SAR)\n"
    "  config [--help] [SECTION]                           document every configuration key\n"
    "  report RUN_DIR [--log-frequency]                    rebuild RUN_DIR/report.html (figures, metrics, audio)\n"
    "\n"
    "'factorch <command> --help' describes one command.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("factorch %s\n", FACTORCH_VERSION);
    return 0;
  }
  const std::string command = argv[1];
  const factorch::cli::Args args(argv + 2, argv + argc);
  try {
    if (command == "train") return factorch::cli::train(args);
    if (command == "export") return factorch::cli::export_(args);
    if (command == "info") return factorch::cli::info(args);
    if (command == "separate") return factorch::cli::separate(args);
    if (command == "eval") return factorch::cli::eval(args);
    if (command == "config") return factorch::cli::config(args);
    if (command == "report") return factorch::cli::report(args);
  } catch (const std::exception& e) {
    // Commands report factorch::Error themselves; this catches anything unexpected.
    std::fprintf(stderr, "factorch: error: %s\n", e.what());
    return 2;
  }
  std::fprintf(stderr, "factorch: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 1;
}
