// TL-NMF iteration cost, split between the MU of W, H and the Φ step, for M = 200 (GCM toy)
// and M = 640 (ICASSP frame size). usage: factorch_bench tlnmf [--iters N] [--threads T]
//   [--device cpu|cuda] [--dtype float64|float32] [--update qn|cayley|projected] [--steps S]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "benchmarks.h"
#include "factorch/models/tlnmf.h"
#include "factorch/train/threads.h"

namespace factorch::bench {

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}
}  // namespace

int bench_tlnmf(int argc, char** argv) {
  int iters = 10, threads = 1;
  int64_t steps = 1;
  std::string device = "cpu", dtype = "float64", update = "qn";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--iters") iters = std::atoi(v.c_str());
    else if (a == "--threads") threads = std::atoi(v.c_str());
    else if (a == "--device") device = v;
    else if (a == "--dtype") dtype = v;
    else if (a == "--update") update = v;
    else if (a == "--steps") steps = std::atoll(v.c_str());
    else {
      std::fprintf(stderr, "bench tlnmf: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  set_total_threads(threads);  // ATen and the BLAS pool
  const torch::Device dev(device);
  if (dev.is_cuda() && !torch::cuda::is_available()) {
    std::fprintf(stderr, "bench tlnmf: no CUDA device\n");
    return 2;
  }
  const auto st = dtype == "float32" ? torch::kFloat32 : torch::kFloat64;
  std::printf("TL-NMF iteration cost (%s, %s, %d thread(s), update %s, %lld Phi step(s) per iteration)\n", device.c_str(),
              dtype.c_str(), threads, update.c_str(), static_cast<long long>(steps));
  std::printf("%6s %6s %4s %4s | %12s %12s %12s | %s\n", "M", "N", "R", "K", "MU ms/it", "Phi ms/step", "total ms/it",
              "accepted");
  struct Case { int64_t M, N, R, K; };
  for (const Case cs : {Case{200, 151, 10, 2}, Case{200, 1191, 1, 10}, Case{640, 1191, 1, 10}}) {
    TrainingData d;
    d.X = torch::randn({cs.R, cs.M, cs.N}, torch::kFloat64) *
          torch::linspace(0.1, 2.0, cs.M, torch::kFloat64).view({1, cs.M, 1});
    TLNMFOptions o(cs.M, cs.N, cs.K);
    o.phi_update(update).phi_steps(steps);
    TLNMF model(o);
    model->init(d, "dct", 0);
    model->to(dev, st);
    d = d.to(dev, st);
    model->mu_step(d);  // warm-up
    double t_mu = 0, t_phi = 0;
    int accepted = 0;
    for (int it = 0; it < iters; ++it) {
      sync(dev);
      const double a = now();
      model->update_nmf(d);
      sync(dev);
      const double b = now();
      accepted += model->update_phi(d, steps);
      sync(dev);
      t_mu += b - a;
      t_phi += now() - b;
    }
    std::printf("%6lld %6lld %4lld %4lld | %12.2f %12.2f %12.2f | %d/%lld\n", static_cast<long long>(cs.M),
                static_cast<long long>(cs.N), static_cast<long long>(cs.R), static_cast<long long>(cs.K),
                1e3 * t_mu / iters, 1e3 * t_phi / (iters * steps), 1e3 * (t_mu + t_phi) / iters, accepted,
                static_cast<long long>(iters * steps));
  }
  return 0;
}

}  // namespace factorch::bench
