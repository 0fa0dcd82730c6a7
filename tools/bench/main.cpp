#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "benchmarks.h"

int main(int argc, char** argv) {
  const std::vector<std::pair<std::string, std::function<int(int, char**)>>> benches = {
      {"innmf", factorch::bench::bench_innmf},
      {"nmf", factorch::bench::bench_nmf},
      {"signal", factorch::bench::bench_signal},
      {"tlnmf", factorch::bench::bench_tlnmf},
      {"distributed", factorch::bench::bench_distributed},
      {"online", factorch::bench::bench_online},
      {"long_separation", factorch::bench::bench_long_separation},
  };
  if (argc < 2 || !std::strcmp(argv[1], "--help")) {
    std::printf("usage: factorch_bench NAME [options]\nbenchmarks:");
    for (const auto& b : benches) std::printf(" %s", b.first.c_str());
    std::printf("\n");
    return argc < 2 ? 1 : 0;
  }
  for (const auto& b : benches)
    if (b.first == argv[1]) return b.second(argc - 1, argv + 1);
  std::fprintf(stderr, "unknown benchmark '%s'\n", argv[1]);
  return 1;
}
