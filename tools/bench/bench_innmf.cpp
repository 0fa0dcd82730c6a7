// iN-NMF epoch time at the paper's published settings: rank 20, octave Fourier features
// 2^0…2^9 with random phase, 3 sine layers of 64, softplus, Rprop (lr 1e-3), KL on
// |STFT|^0.5 with n_fft 1024 of 3 s at 16 kHz (513 × 95 samples), full batch, float32, one
// thread. factorch runs its real training path (config → model → AutogradTrainer); the
// reference, measured in the same run, is a plain PyTorch-Python implementation of the same
// thing (20 nn.Modules, torch.optim.Rprop, V̂ = W·H on the grid), in a child process with
// torch.set_num_threads(1) and OMP/OpenBLAS/MKL pinned to one thread. The ratio uses process
// CPU time (one thread each side), so a loaded machine does not decide it; wall time is shown.
// The two sides alternate blocks of E epochs (the reference is a child process that runs a
// block on request), `repeats` blocks each, and the ratio is the median of the ratios of
// neighbouring blocks: on a shared machine the speed of a core drifts by ±20 % over seconds
// (cache, memory bandwidth and frequency are shared even when CPU time is not), and blocks
// run side by side in time see the same drift.
//   usage: factorch_bench innmf [--epochs E] [--repeats R] [--rank K] [--dtype float32|float64] [--python PATH]
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <ATen/Parallel.h>

#include "benchmarks.h"
#include "app/config.h"
#include "factorch/io/npy.h"
#include "factorch/train/trainer.h"
#include "factorch/models/implicit_nmf.h"
#include "app/experiments/implicit_nmf_entry.h"
#include "app/experiments/registry.h"

namespace factorch::bench {

namespace {

const char* kPythonReference = R"PY(import sys, time, math, numpy as np, torch
torch.set_num_threads(1)
V64 = np.load(sys.argv[1]); f = np.load(sys.argv[2])
K, epochs, omega, rate = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
dtype = torch.float32 if sys.argv[7] == 'float32' else torch.float64
torch.set_default_dtype(dtype)
V = torch.from_numpy(V64).to(dtype); F, N = V.shape
u = torch.from_numpy(f / rate - 0.5).to(dtype)[:, None]
torch.manual_seed(0)

class Sine(torch.nn.Module):
    def __init__(self, n_in, n_out, first):
        super().__init__()
        self.linear = torch.nn.Linear(n_in, n_out)
        bound = 1 / n_in if first else math.sqrt(6 / n_in) / omega
        torch.nn.init.uniform_(self.linear.weight, -bound, bound)
    def forward(self, x):
        return torch.sin(omega * self.linear(x))

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer('B', 2.0 ** torch.arange(10.0))
        self.register_buffer('phase', 2 * math.pi * torch.rand(10))
        self.body = torch.nn.Sequential(Sine(20, 64, True), Sine(64, 64, False), Sine(64, 64, False))
        self.out = torch.nn.Linear(64, 1)
    def forward(self, u):
        a = 2 * math.pi * u * self.B + self.phase
        return torch.nn.functional.softplus(self.out(self.body(torch.cat([torch.cos(a), torch.sin(a)], -1))))

nets = torch.nn.ModuleList([Net() for _ in range(K)])
H = torch.nn.Parameter(torch.rand(K, N) + 0.5)
opt = torch.optim.Rprop(list(nets.parameters()) + [H], lr=1e-3)

def epoch():
    opt.zero_grad()
    W = torch.cat([net(u) for net in nets], 1)
    Vh = W @ torch.nn.functional.softplus(H)
    loss = (torch.xlogy(V, V) - torch.xlogy(V, Vh) - V + Vh).sum()
    loss.backward()
    opt.step()
    return loss

for _ in range(3): epoch()
print('ready', flush=True)
for line in sys.stdin:  # one block of `epochs` epochs per request, timed here
    t, c = time.perf_counter(), time.process_time()
    for _ in range(epochs): epoch()
    print(1e3 * (time.perf_counter() - t) / epochs, 1e3 * (time.process_time() - c) / epochs, flush=True)
)PY";

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU time of this process: with one thread per side it is the work done, whatever else
// runs on the machine (wall time on a loaded machine mostly measures the other processes).
double cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

// The reference as a child process (sh -c COMMAND) that prints "ready" after its warm-up,
// then one line "wall_ms cpu_ms" per line it reads.
class ReferenceChild {
 public:
  explicit ReferenceChild(const std::string& command) {
    int in[2], out[2];
    if (pipe(in) != 0) return;
    if (pipe(out) != 0) {
      close(in[0]);
      close(in[1]);
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[0]);
      close(in[1]);
      close(out[0]);
      close(out[1]);
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
    char line[256];
    ready_ = pid_ > 0 && to_ && from_ && std::fgets(line, sizeof line, from_) && std::string(line).rfind("ready", 0) == 0;
  }
  ~ReferenceChild() {
    if (to_) std::fclose(to_);  // end of input: the child leaves its loop
    if (from_) std::fclose(from_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  ReferenceChild(const ReferenceChild&) = delete;
  ReferenceChild& operator=(const ReferenceChild&) = delete;
  bool ready() const { return ready_; }
  bool block(double* wall, double* cpu) {
    char line[256];
    if (!ready_ || std::fputs("run\n", to_) < 0 || std::fflush(to_) != 0 || !std::fgets(line, sizeof line, from_))
      return ready_ = false;
    return std::sscanf(line, "%lf %lf", wall, cpu) == 2;
  }

 private:
  pid_t pid_ = -1;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
  bool ready_ = false;
};

}  // namespace

int bench_innmf(int argc, char** argv) {
  // Like with like: the reference starts with OpenBLAS pinned to one thread by the
  // environment. A pthreads OpenBLAS started with its default pool and then limited by
  // openblas_set_num_threads(1) runs these small GEMMs 15–20 % slower (measured: factorch
  // 38–40 ms/epoch against 32–35 ms), so this process is re-executed with the same setting.
  if (const char* v = std::getenv("OPENBLAS_NUM_THREADS"); v == nullptr || std::string(v) != "1") {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    std::vector<char*> args{const_cast<char*>("/proc/self/exe"), const_cast<char*>("innmf")};
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    execv("/proc/self/exe", args.data());  // returns only on failure: measure as we are
  }
  int64_t epochs = 20, rank = 20, repeats = 7;
  std::string python = "/usr/bin/python3", dtype = "float32";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--epochs") epochs = std::atoll(v.c_str());
    else if (a == "--rank") rank = std::atoll(v.c_str());
    else if (a == "--repeats") repeats = std::max<int64_t>(1, std::atoll(v.c_str()));
    else if (a == "--dtype") dtype = v;
    else if (a == "--python") python = v;
    else {
      std::fprintf(stderr, "bench innmf: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  at::set_num_threads(1);
  // at::set_num_threads does not reach a pthreads OpenBLAS (Debian's libopenblas0-pthread),
  // which would otherwise run every GEMM on all cores, spinning under load.
  if (auto* f = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(1);
  const double omega = 30.0, rate = 16000.0;
  // The paper's settings through the config keys, so the benchmark runs what `factorch train` runs.
  const std::string yaml = "model:\n  type: innmf\n  rank: " + std::to_string(rank) +
                           "\n  width: 64\n  depth: 3\n  omega_0: 30\n  n_frequencies: 10\n  random_phase: true\n"
                           "  seed: 0\n  plot: false\n"
                           "data:\n  synthetic: {signal: note_sequence, sample_rate: 16000, seconds: 3.0, "
                           "frequencies: [110, 165, 220, 247], harmonics: 20}\n  transform: {n_fft: 1024, exponent: 0.5}\n"
                           "trainer:\n  kind: autograd\n  optimizer: rprop\n  lr: 0.001\n  tol: 0\n  dtype: " +
                           dtype + "\n  progress: never\n";
  const Config c = Config::parse(yaml, "bench_innmf.yaml");
  const ModelEntry& entry = model_entry("innmf");
  const app::Dataset dataset = entry.load_data(c);
  TrainingData data = dataset.matrix;
  auto model = std::dynamic_pointer_cast<ImplicitNMFImpl>(entry.build(c, dataset));
  const auto st = dtype == "float32" ? torch::kFloat32 : torch::kFloat64;
  model->to(st);
  data = data.to(torch::kCPU, st);
  const int64_t F = model->frequencies().size(0), N = model->times().size(0);
  std::printf("iN-NMF epoch (full batch, Rprop), K=%lld, 513-bin grid: F=%lld x N=%lld, 3 sine layers of 64, "
              "%s, 1 thread, %lld blocks of %lld epochs per side\n",
              static_cast<long long>(rank), static_cast<long long>(F), static_cast<long long>(N), dtype.c_str(),
              static_cast<long long>(repeats), static_cast<long long>(epochs));

  // factorch: the AutogradTrainer's epochs. fit() continues from its state, so the second
  // call times `epochs` steps plus one evaluation of the objective.
  TrainerOptions t;
  t.kind("autograd").optimizer("rprop").lr(1e-3).tol(0).progress("never").max_iter(3).eval_every(1000000);
  auto warm = make_trainer(t);
  warm->fit(model, data);  // warm-up (allocations, Rprop state)
  // PyTorch-Python reference on the same spectrogram, as a child process serving blocks.
  const std::string dir = "/tmp/factorch_bench_innmf";
  std::system(("mkdir -p " + dir).c_str());
  const innmf::Spectrogram sp = innmf::stft_spectrogram(c, dataset.get<innmf::InnmfData>().signal, 1024);
  io::save_npy(dir + "/V.npy", sp.V.to(torch::kFloat64));
  io::save_npy(dir + "/f.npy", sp.frequencies.to(torch::kFloat64));
  std::ofstream(dir + "/innmf_reference.py") << kPythonReference;
  char args[256];
  std::snprintf(args, sizeof args, " %lld %lld %g %g %s", static_cast<long long>(rank), static_cast<long long>(epochs),
                omega, rate, dtype.c_str());
  ReferenceChild reference("OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 " + python + " " + dir +
                           "/innmf_reference.py " + dir + "/V.npy " + dir + "/f.npy" + args + " 2>" + dir +
                           "/reference.err");
  const bool have_reference = reference.ready();

  TrainState state = warm->state();
  std::vector<double> ours_cpu, ours_wall, ref_cpu, ref_wall, ratios;
  for (int64_t r = 0; r < repeats; ++r) {
    auto trainer = make_trainer(t.max_iter(3 + epochs * (r + 1)));
    trainer->set_state(state);
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    trainer->fit(model, data);
    ours_cpu.push_back(1e3 * (cpu_seconds() - c0) / static_cast<double>(epochs));
    ours_wall.push_back(1e3 * seconds_since(t0) / static_cast<double>(epochs));
    state = trainer->state();
    double wall = 0, cpu = 0;
    if (have_reference && reference.block(&wall, &cpu)) {
      ref_wall.push_back(wall);
      ref_cpu.push_back(cpu);
      ratios.push_back(cpu / ours_cpu.back());
    }
  }
  std::printf("%-24s %12s %12s   (medians of %lld blocks)\n", "implementation", "CPU ms/epoch", "wall ms",
              static_cast<long long>(repeats));
  std::printf("%-24s %12.2f %12.2f\n", "factorch (batched)", median(ours_cpu), median(ours_wall));
  if (!ratios.empty()) {
    std::printf("%-24s %12.2f %12.2f\n", "PyTorch-Python", median(ref_cpu), median(ref_wall));
    std::printf("speed-up vs PyTorch-Python (CPU time): %.2fx (median of neighbouring blocks; range %.2f–%.2f)\n",
                median(ratios), *std::min_element(ratios.begin(), ratios.end()),
                *std::max_element(ratios.begin(), ratios.end()));
  } else {
    std::printf("%-24s %10s  (python3 with torch not available: see %s/reference.err)\n", "PyTorch-Python", "-",
                dir.c_str());
  }
  return 0;
}

}  // namespace factorch::bench
