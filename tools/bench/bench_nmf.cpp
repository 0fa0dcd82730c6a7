// ms per NMF MU iteration (one W and one H update) for V 513×2000, K = 20, β ∈ {2, 1, 0},
// float32/float64, one thread. References measured in the same run:
//   naive   — the textbook update written directly (V̂ recomputed, pow() for every β,
//             ones-matrix denominator for KL, no in-place ops, no Gram form);
//   sklearn — scikit-learn's NMF(solver="mu") on the same data (float64), if available.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "benchmarks.h"
#include "factorch/divergence.h"
#include "factorch/io/npy.h"
#include "factorch/models/nmf.h"
#include "factorch/train/threads.h"

namespace factorch::bench {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void naive_step(torch::Tensor& W, torch::Tensor& H, const torch::Tensor& V, double beta) {
  const double gamma = beta < 1 ? 1 / (2 - beta) : beta > 2 ? 1 / (beta - 1) : 1;
  const torch::Tensor ones = torch::ones_like(V);
  {
    const torch::Tensor Vh = torch::mm(W, H);
    const torch::Tensor num = torch::mm(V * Vh.pow(beta - 2), H.t());
    const torch::Tensor den = torch::mm(divergence::is_kl(beta) ? ones : Vh.pow(beta - 1), H.t());
    W = W * (num / den).pow(gamma);
  }
  {
    const torch::Tensor Vh = torch::mm(W, H);
    const torch::Tensor num = torch::mm(W.t(), V * Vh.pow(beta - 2));
    const torch::Tensor den = torch::mm(W.t(), divergence::is_kl(beta) ? ones : Vh.pow(beta - 1));
    H = H * (num / den).pow(gamma);
  }
}

template <typename F>
double time_ms(int iters, F&& step) {
  step();  // warm-up (allocations, BLAS threads)
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) step();
  return 1e3 * seconds_since(t0) / iters;
}

}  // namespace

int bench_nmf(int argc, char** argv) {
  int64_t F = 513, N = 2000, K = 20;
  int iters = 20;
  std::string python = "/usr/bin/python3";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--F") F = std::atoll(argv[i + 1]);
    else if (a == "--N") N = std::atoll(argv[i + 1]);
    else if (a == "--K") K = std::atoll(argv[i + 1]);
    else if (a == "--iters") iters = std::atoi(argv[i + 1]);
    else if (a == "--python") python = argv[i + 1];
  }
  // Pinned like the scikit-learn reference below (OPENBLAS_NUM_THREADS=1): at::set_num_threads
  // alone leaves OpenBLAS's pool on every core.
  set_total_threads(1);
  torch::manual_seed(0);
  const torch::Tensor V64 = torch::rand({F, N}, torch::kFloat64) + 1e-3;
  std::printf("NMF MU iteration, V %lldx%lld, K=%lld, 1 thread (BLAS pool: %d), %d iterations per measurement\n",
              static_cast<long long>(F), static_cast<long long>(N), static_cast<long long>(K), blas_threads(), iters);
  std::printf("%-6s %-8s %12s %12s %8s %12s %8s\n", "beta", "dtype", "factorch_ms", "naive_ms", "speedup", "sklearn_ms", "vs_skl");

  // scikit-learn reference: one process, all β, same data.
  std::map<double, double> sklearn_ms;
  const std::string dir = "/tmp/factorch_bench_nmf";
  std::system(("mkdir -p " + dir).c_str());
  io::save_npy(dir + "/V.npy", V64);
  std::ofstream(dir + "/skl.py") << "import sys, time, warnings, numpy as np\n"
                                    "from sklearn.decomposition import NMF\n"
                                    "warnings.simplefilter('ignore')\n"
                                    "V = np.load(sys.argv[1]); K = int(sys.argv[2]); it = int(sys.argv[3])\n"
                                    "rng = np.random.default_rng(0)\n"
                                    "for beta in (2.0, 1.0, 0.0):\n"
                                    "  W0 = rng.random((V.shape[0], K)) + .1; H0 = rng.random((K, V.shape[1])) + .1\n"
                                    "  m = NMF(K, init='custom', solver='mu', beta_loss=beta, max_iter=it, tol=0)\n"
                                    "  t = time.perf_counter(); m.fit_transform(V, W=W0, H=H0)\n"
                                    "  print(beta, 1e3 * (time.perf_counter() - t) / it)\n";
  const std::string cmd = "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 " + python + " " + dir + "/skl.py " +
                          dir + "/V.npy " + std::to_string(K) + " " + std::to_string(iters) + " > " + dir + "/skl.txt 2>/dev/null";
  if (std::system(cmd.c_str()) == 0) {
    std::ifstream in(dir + "/skl.txt");
    double b, ms;
    while (in >> b >> ms) sklearn_ms[b] = ms;
  }

  for (double beta : {2.0, 1.0, 0.0}) {
    for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
      const torch::Tensor V = V64.to(dtype);
      NMF model(NMFOptions(F, N, K).beta(beta));
      model->init(V64, "random", 0);
      model->to(dtype);
      const TrainingData data{V};
      const double ours = time_ms(iters, [&] { model->mu_step(data); });
      torch::Tensor W = model->W().detach().clone(), H = model->H().detach().clone();
      const double naive = time_ms(iters, [&] { naive_step(W, H, V, beta); });
      const bool have_skl = dtype == torch::kFloat64 && sklearn_ms.count(beta);
      std::printf("%-6g %-8s %12.2f %12.2f %7.2fx", beta, dtype == torch::kFloat32 ? "float32" : "float64", ours, naive,
                  naive / ours);
      if (have_skl) std::printf(" %12.2f %7.2fx\n", sklearn_ms[beta], sklearn_ms[beta] / ours);
      else std::printf(" %12s %8s\n", "-", "-");
    }
  }
  return 0;
}

}  // namespace factorch::bench
