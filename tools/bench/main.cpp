#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "benchmarks.h"

namespace {

struct Bench {
  const char* name;
  std::function<int(int, char**)> run;
  const char* usage;  // options after the name, and what it measures (printed by NAME --help)
};

}  // namespace

int main(int argc, char** argv) {
  const std::vector<Bench> benches = {
      {"innmf", factorch::bench::bench_innmf,
       "[--epochs E] [--repeats R] [--rank K] [--dtype float32|float64] [--python PATH]\n"
       "iN-NMF epoch at the paper's settings against a PyTorch-Python implementation (CPU time, one thread)."},
      {"nmf", factorch::bench::bench_nmf,
       "[--F 513] [--N 2000] [--K 20] [--iters 20] [--python PATH]\n"
       "One NMF MU iteration (beta 2, 1, 0; float32/float64) against a naive MU and scikit-learn's."},
      {"signal", factorch::bench::bench_signal,
       "(no options)\nSTFT/ISTFT, constant-Q and BSS Eval against torch::stft/istft and mir_eval."},
      {"tlnmf", factorch::bench::bench_tlnmf,
       "[--iters N] [--threads T] [--device cpu|cuda] [--dtype float64|float32]\n"
       "                      [--update qn|cayley|projected] [--steps S] [--clock wall|cpu]\n"
       "TL-NMF MU and Phi step times; the taylor and eigh exponentials against matrix_exp from the same start."},
      {"distributed", factorch::bench::bench_distributed,
       "[--F 513] [--N 200000] [--K 20] [--iters 5] [--procs 2] [--dtype float32|float64]\n"
       "Data-parallel MU: iterations per second with 1 and N single-thread processes."},
      {"online", factorch::bench::bench_online,
       "[--F 513] [--N 100000,400000] [--K 8] [--batch 4000] [--inner 5] [--passes 1] [--dir /tmp] [--keep]\n"
       "online_nmf peak memory as the number of columns grows."},
      {"long_separation", factorch::bench::bench_long_separation,
       "[--minutes 5,15,60] [--dir DIR] [--iter 100] [--rank 20] [--block-seconds 30] [--window SECONDS]\n"
       "factorch separate + eval of long recordings: wall time and peak memory per length."},
  };
  const auto is_help = [](const char* a) { return !std::strcmp(a, "--help") || !std::strcmp(a, "-h"); };
  if (argc < 2 || is_help(argv[1])) {
    std::printf("usage: factorch_bench NAME [options]   (factorch_bench NAME --help: its options)\nbenchmarks:");
    for (const auto& b : benches) std::printf(" %s", b.name);
    std::printf("\n");
    return argc < 2 ? 1 : 0;
  }
  for (const auto& b : benches) {
    if (b.name != std::string(argv[1])) continue;
    // Checked here for every benchmark, before any of them starts measuring (some take minutes).
    for (int i = 2; i < argc; ++i) {
      if (is_help(argv[i])) {
        std::printf("usage: factorch_bench %s %s\n", b.name, b.usage);
        return 0;
      }
    }
    return b.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "unknown benchmark '%s'\n", argv[1]);
  return 1;
}
