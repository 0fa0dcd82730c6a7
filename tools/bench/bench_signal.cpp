// Audio pipeline timings, one thread, with references measured in the same run:
//   STFT + inverse STFT of 60 s at 16 kHz (n_fft 1024, hop 256, hann) vs LibTorch's own
//   torch::stft/torch::istft on the same signal;
//   constant-Q transform of 10 s at 16 kHz;
//   bss_eval_sources of 2 sources × 10 s at 16 kHz vs mir_eval.separation.bss_eval_sources
//   (python3-mir-eval) on the same signals, when installed.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <torch/torch.h>

#include "benchmarks.h"
#include "factorch/train/threads.h"
#include "factorch/eval/bss.h"
#include "factorch/io/npy.h"
#include "factorch/signal/logfreq.h"
#include "factorch/signal/stft.h"

namespace factorch::bench {

namespace {
template <class F>
double best_of(int reps, F&& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}
}  // namespace

int bench_signal(int, char**) {
  set_total_threads(1);  // ATen and the BLAS pool, like the OPENBLAS_NUM_THREADS=1 reference
  torch::manual_seed(0);

  const torch::Tensor x = torch::randn({60 * 16000}, torch::kFloat64);
  const signal::StftOptions o;  // n_fft 1024, hop 256, hann
  double error = 0;
  const double ours = best_of(3, [&] {
    const torch::Tensor y = signal::istft(signal::stft(x, o), o, x.size(0));
    error = (y - x).abs().max().item<double>();
  });
  const torch::Tensor win = torch::hann_window(1024, torch::TensorOptions().dtype(torch::kFloat64));
  const double ref = best_of(3, [&] {
    const torch::Tensor X = torch::stft(x, 1024, 256, 1024, win, true, "constant", false, true, true);
    const torch::Tensor y = torch::istft(X, 1024, 256, 1024, win, true, false, true, x.size(0));
  });
  std::printf("STFT + ISTFT, 60 s at 16 kHz, float64, 1 thread: %.3f s (max error %.1e); torch::stft/istft %.3f s; "
              "ratio %.2f\n", ours, error, ref, ours / ref);

  const torch::Tensor x10 = x.slice(0, 0, 10 * 16000);
  int64_t bins = 0;
  const double cqt = best_of(2, [&] { bins = signal::constant_q(x10, 16000, {}).frequencies.size(0); });
  std::printf("constant-Q (%lld bins), 10 s at 16 kHz: %.3f s\n", static_cast<long long>(bins), cqt);

  const torch::Tensor refs = torch::randn({2, 160000}, torch::kFloat64);
  const torch::Tensor ests = refs.flip(0) + 0.3 * torch::randn({2, 160000}, torch::kFloat64);
  eval::BssEvalResult r;
  const double bss = best_of(2, [&] { r = eval::bss_eval_sources(refs, ests); });
  std::printf("bss_eval_sources, 2 × 10 s at 16 kHz: %.3f s (SDR %.2f, %.2f dB)\n", bss, r.sdr[0].item<double>(),
              r.sdr[1].item<double>());
  const std::string dir = "/tmp/factorch_bench_signal";
  std::system(("mkdir -p " + dir).c_str());
  io::save_npy(dir + "/refs.npy", refs);
  io::save_npy(dir + "/ests.npy", ests);
  const std::string script =
      "import time, numpy as np, mir_eval\n"
      "r = np.load('" + dir + "/refs.npy'); e = np.load('" + dir + "/ests.npy')\n"
      "t = time.perf_counter(); sdr, sir, sar, p = mir_eval.separation.bss_eval_sources(r, e)\n"
      "print('%.3f %.2f %.2f' % (time.perf_counter() - t, sdr[0], sdr[1]))\n";
  FILE* pipe = popen(("OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -c \"" + script + "\" 2>/dev/null").c_str(), "r");
  double t_mir = 0, s0 = 0, s1 = 0;
  if (pipe && std::fscanf(pipe, "%lf %lf %lf", &t_mir, &s0, &s1) == 3) {
    std::printf("mir_eval bss_eval_sources on the same signals: %.3f s (SDR %.2f, %.2f dB); ratio %.3f\n", t_mir, s0,
                s1, bss / t_mir);
  } else {
    std::printf("mir_eval reference skipped (python3-mir-eval not installed)\n");
  }
  if (pipe) pclose(pipe);
  return 0;
}

}  // namespace factorch::bench
