// online_nmf memory as the data grows: a generated F × N float32 .npy (V = W0·H0 + 0.1, written
// row by row, never whole in memory) trained by `online_nmf` in a child process (this binary,
// exec'd, so that its peak is its own and not the parent's), for N = 100 000 and 400 000 by
// default. Reports the child's peak RSS (VmHWM, read by the child just before it exits, and
// ru_maxrss from wait4), wall/user/system time, and the ratio of the peaks (target: within
// 10 %, i.e. memory flat in N: only one batch of V, training or held-back, is in memory).
// usage: factorch_bench online [--F 513] [--N 100000,400000] [--K 8] [--batch 4000]
//        [--inner 5] [--passes 1] [--dir /tmp] [--keep]
// The defaults train one pass with inner_iter 5 (memory is the point, not the fit); the issue
// measured 1.21 GB at 400 000 columns (batch 4000) before the held-back set was streamed.
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "benchmarks.h"
#include "app/config.h"
#include "app/run.h"

namespace factorch::bench {

namespace {

struct Args {
  int64_t F = 513, K = 8, batch = 4000, inner = 5, passes = 1;
  std::vector<int64_t> Ns = {100000, 400000};
  std::string dir = "/tmp";
  bool keep = false;
};

// A C-order float32 .npy of V = W0·H0 + 0.1 written one row at a time (row f of V is
// W0[f]·H0: F × N floats never exist at once).
void write_npy(const std::string& path, int64_t F, int64_t N) {
  std::ostringstream dict;
  dict << "{'descr': '<f4', 'fortran_order': False, 'shape': (" << F << ", " << N << "), }";
  std::string header = dict.str();
  const size_t unpadded = 10 + header.size() + 1;
  header += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  out.write(reinterpret_cast<const char*>(&len), 2);
  out << header;
  torch::manual_seed(0);
  const torch::Tensor W0 = torch::rand({F, 4});
  const torch::Tensor H0 = torch::rand({4, N});
  for (int64_t f = 0; f < F; ++f) {
    const torch::Tensor row = (torch::mv(H0.t(), W0[f]) + 0.1f).contiguous();
    out.write(reinterpret_cast<const char*>(row.data_ptr<float>()), N * 4);
  }
  if (!out) throw std::runtime_error("cannot write " + path);
}

int64_t vm_hwm_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6);
  return -1;
}

// The child: one training run as `factorch train` does it (no outputs), then its peak RSS.
int child(const std::string& config_path, const std::string& report_path) {
  app::RunOptions o;
  o.write_outputs = false;
  o.quiet = true;
  try {
    const app::RunResult r = app::run_training(Config::load(config_path), o);
    std::ofstream(report_path) << vm_hwm_kb() << " " << r.result.objective << " " << r.result.iterations << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench online: %s\n", e.what());
    return 1;
  }
}

struct Measured {
  double wall = 0, user = 0, sys = 0, objective = 0;
  int64_t hwm_kb = -1, maxrss_kb = -1;
  int status = -1;
};

Measured run_child(const std::string& self, const std::string& config_path) {
  const std::string report = config_path + ".report";
  std::remove(report.c_str());
  Measured m;
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const char* argv[] = {self.c_str(), "online", "--child", config_path.c_str(), report.c_str(), nullptr};
    ::execv(self.c_str(), const_cast<char* const*>(argv));
    ::_exit(127);
  }
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  m.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.user = ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec;
  m.sys = ru.ru_stime.tv_sec + 1e-6 * ru.ru_stime.tv_usec;
  m.maxrss_kb = ru.ru_maxrss;
  m.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  int64_t iterations = 0;
  std::ifstream(report) >> m.hwm_kb >> m.objective >> iterations;
  std::remove(report.c_str());
  return m;
}

}  // namespace

int bench_online(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("bench online: " + k + " needs a value");
      return argv[++i];
    };
    if (k == "--child" && i + 2 < argc) return child(argv[i + 1], argv[i + 2]);
    if (k == "--F") a.F = std::atoll(value().c_str());
    else if (k == "--K") a.K = std::atoll(value().c_str());
    else if (k == "--batch") a.batch = std::atoll(value().c_str());
    else if (k == "--inner") a.inner = std::atoll(value().c_str());
    else if (k == "--passes") a.passes = std::atoll(value().c_str());
    else if (k == "--dir") a.dir = value();
    else if (k == "--keep") a.keep = true;
    else if (k == "--N") {
      a.Ns.clear();
      std::stringstream list(value());
      for (std::string n; std::getline(list, n, ',');) a.Ns.push_back(std::atoll(n.c_str()));
    } else {
      std::fprintf(stderr, "bench online: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::printf("online_nmf, F=%lld, K=%lld, batch %lld, inner_iter %lld, %lld pass(es), float32, trainer.threads 1, "
              "held-back every 10th batch, in a child process\n",
              static_cast<long long>(a.F), static_cast<long long>(a.K), static_cast<long long>(a.batch),
              static_cast<long long>(a.inner), static_cast<long long>(a.passes));
  std::printf("%10s %9s %9s %9s %9s %12s %14s %14s\n", "N", "file_MB", "wall_s", "user_s", "sys_s", "VmHWM_MB",
              "ru_maxrss_MB", "objective");
  std::vector<Measured> all;
  for (const int64_t N : a.Ns) {
    const std::string base = a.dir + "/factorch_bench_online." + std::to_string(::getpid()) + "." + std::to_string(N);
    const std::string npy = base + ".npy", config = base + ".yaml";
    write_npy(npy, a.F, N);
    std::ofstream(config) << "model: {type: online_nmf, rank: " << a.K << ", inner_iter: " << a.inner << "}\n"
                          << "data: {input: " << npy << ", batch_size: " << a.batch << "}\n"
                          << "trainer: {max_iter: " << a.passes << ", tol: 0, dtype: float32, threads: 1, "
                          << "progress: never}\n"
                          << "output: {dir: " << base << ".out}\n";
    const Measured m = run_child(self, config);
    std::printf("%10lld %9.0f %9.1f %9.1f %9.1f %12.1f %14.1f %14.6g%s\n", static_cast<long long>(N),
                std::filesystem::file_size(npy) / 1e6, m.wall, m.user, m.sys, m.hwm_kb / 1024.0, m.maxrss_kb / 1024.0,
                m.objective, m.status == 0 ? "" : "  (child failed)");
    std::fflush(stdout);
    all.push_back(m);
    if (!a.keep) {
      std::remove(npy.c_str());
      std::remove(config.c_str());
    }
  }
  if (all.size() >= 2 && all.front().hwm_kb > 0)
    std::printf("peak RSS ratio, N=%lld over N=%lld: %.3f (target <= 1.10)\n", static_cast<long long>(a.Ns.back()),
                static_cast<long long>(a.Ns.front()), static_cast<double>(all.back().hwm_kb) / all.front().hwm_kb);
  return 0;
}

}  // namespace factorch::bench
