// factorch CLI: dispatches to the sub-commands in the library (src/cli/commands.h).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

const char* kUsage =
    "usage: factorch <command> [options]\n"
    "\n"
    "commands:\n"
    "  train CONFIG.yaml [--set key=value]... [--out DIR] [--device cpu|cuda] [--dtype float32|float64]\n"
    "                    [--resume DIR/checkpoint.pt]      train a model, write factors and a checkpoint\n"
    "                    [--nproc N]                       data-parallel on N local workers (or torchrun)\n"
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
    if (command == "train") {
      const int status = factorch::cli::train(args);
      // A rank of a data-parallel run leaves without tearing its process group down (after a
      // peer failed, Gloo's destructors can wait on it): outputs are complete, files closed.
      if (std::getenv("RANK") != nullptr) {
        std::fflush(nullptr);
        std::_Exit(status);
      }
      return status;
    }
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
  std::fprintf(stderr, "factorch: unknown command '%s' (see `factorch --help`)\n", command.c_str());
  return 1;
}
