// TL-NMF iteration cost, split between the MU of W, H and the Φ step, for M = 200 (GCM toy)
// and M = 640 (ICASSP frame size). The quasi-Newton Φ step runs three times from the same start
// in the same run, interleaved: with torch::matrix_exp per Armijo trial (reference), with the
// direction diagonalised once per step (model.phi_expm eigh) and with its Taylor powers kept
// (taylor, the default); one row each: the time, the ratio to the reference, the largest
// relative gap between its objective trajectory and the reference's and the number of Φ steps
// whose accepted μ differ. Other --update kinds are timed alone. "floor" times the products
// every Φ step needs besides the exponential (gradient Γ, Hessian P·Vᵀ, one Q·X, one Q·Φ);
// "+exp" adds the cheapest exact exponential of one step (degree-12 Taylor of a skew matrix,
// the least θ₁₂ = 0.3 allows: two structured powers at ¾ of a product each and two products).
// Both are timed once per iteration between the variants' steps, so they see the same load.
// "x floor" and "x +exp" are the Φ step's time over each. A second table splits each variant's
// Φ step into its parts (PhiStepRecord's timings): the objective and 1/(V̂+ε) at the start, Γ,
// PVᵀ, the direction, the exponentials, the trials' QX and objective, Φ ← QΦ, per step.
// usage: factorch_bench tlnmf [--iters N] [--threads T] [--device cpu|cuda]
//   [--dtype float64|float32] [--update qn|cayley|projected] [--steps S] [--clock wall|cpu]
// --clock cpu times the process's CPU time instead of the wall clock: with one thread it reads
// the same on an idle machine and is far steadier on a loaded one (the parts table is wall time).
// With Debian's OpenBLAS, also set OPENBLAS_NUM_THREADS=T: BLAS keeps its own thread pool.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include "benchmarks.h"
#include "factorch/models/tlnmf.h"
#include "factorch/train/threads.h"

namespace factorch::bench {

namespace {
bool cpu_clock = false;  // --clock cpu: the process's CPU time (one thread on a shared machine)
double now() {
  if (cpu_clock) return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

struct Timing {
  double mu = 0, phi = 0;
  double parts[7] = {0, 0, 0, 0, 0, 0, 0};  // PhiStepRecord's seconds, summed
  int accepted = 0, tries = 0;
  std::vector<double> objective;  // after every iteration
  std::vector<double> steps;      // accepted μ of every Φ step (0: rejected)
};
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
    else if (a == "--clock" && (v == "wall" || v == "cpu")) cpu_clock = v == "cpu";
    else {
      std::fprintf(stderr, "bench tlnmf: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (iters < 1 || steps < 1) {
    std::fprintf(stderr, "bench tlnmf: --iters and --steps must be >= 1\n");
    return 2;
  }
  set_total_threads(threads);  // ATen and the BLAS pool
  torch::manual_seed(0);       // the same frames in every run: runs compare (the tries depend on them)
  const torch::Device dev(device);
  if (dev.is_cuda() && !torch::cuda::is_available()) {
    std::fprintf(stderr, "bench tlnmf: no CUDA device\n");
    return 2;
  }
  const auto st = dtype == "float32" ? torch::kFloat32 : torch::kFloat64;
  const bool qn = update == "qn";
  const std::vector<std::string> variants = qn ? std::vector<std::string>{"matrix_exp", "eigh", "taylor"}
                                               : std::vector<std::string>{"matrix_exp"};
  std::printf("TL-NMF iteration cost (%s, %s, %d thread(s), update %s, %lld Phi step(s) per iteration, %d iterations)\n",
              device.c_str(), dtype.c_str(), threads, update.c_str(), static_cast<long long>(steps), iters);
  std::printf("%5s %5s %3s %3s | %9s | %-10s %11s %6s | %8s %6s | %10s %9s | %8s %7s | %7s %7s\n", "M", "N", "R", "K",
              "MU ms/it", "expm", "Phi ms/step", "ratio", "accepted", "tries", "max rel dJ", "mu differ", "floor ms",
              "+exp ms", "x floor", "x +exp");
  struct Case { int64_t M, N, R, K; };
  for (const Case cs : {Case{200, 151, 10, 2}, Case{200, 1191, 1, 10}, Case{640, 1191, 1, 10}}) {
    TrainingData d;
    d.X = torch::randn({cs.R, cs.M, cs.N}, torch::kFloat64) *
          torch::linspace(0.1, 2.0, cs.M, torch::kFloat64).view({1, cs.M, 1});
    std::vector<TLNMF> models;
    for (const auto& v : variants) {
      TLNMFOptions o(cs.M, cs.N, cs.K);
      o.phi_update(orthogonal::retraction_from_name(update)).phi_steps(steps).phi_expm(orthogonal::exp_method_from_name(v));
      TLNMF model(o);
      model->init(d, "dct", 0);
      model->to(dev, st);
      models.push_back(model);
    }
    d = d.to(dev, st);
    for (auto& m : models) m->mu_step(d);  // warm-up
    std::vector<Timing> t(models.size());
    // The products every Φ step needs whatever the exponential (Γ = (X⊙P)Xᵀ, the Hessian
    // approximation P·Vᵀ, one trial Q·X and Φ ← QΦ): the floor below which no retraction goes;
    // then the cheapest exact exponential of a step (degree-12 Taylor: E², E³ at ¾ each, two products).
    double floor_s = 0, exp_s = 0;
    const torch::Tensor FX = d.X.dim() == 3 ? d.X : d.X.unsqueeze(0);
    const torch::Tensor FP = torch::rand_like(FX[0]), FQ = torch::eye(cs.M, FX.options());
    auto time_floor = [&]() {
      sync(dev);
      const double a = now();
      torch::mm(FX[0] * FP, FX[0].t());
      torch::mm(FP, FX[0].square().t());
      torch::mm(FQ, FX[0]);
      torch::mm(FQ, FQ);
      sync(dev);
      const double b = now();
      for (int k = 0; k < 2; ++k) {  // E², E³: the top rows and one corner block of a product
        torch::mm(FQ.narrow(0, 0, cs.M / 2), FQ);
        torch::mm(FQ.narrow(0, 0, cs.M / 2), FQ.narrow(1, 0, cs.M / 2));
      }
      for (int k = 0; k < 2; ++k) torch::mm(FQ, FQ);
      sync(dev);
      floor_s += b - a;
      exp_s += now() - a;
    };
    for (int it = 0; it < iters; ++it) {
      time_floor();
      for (size_t v = 0; v < models.size(); ++v) {  // interleaved: both variants see the same machine load
        auto& m = models[v];
        m->record_phi_steps(true);
        sync(dev);
        const double a = now();
        m->update_nmf(d);
        sync(dev);
        const double b = now();
        t[v].accepted += m->update_phi(d, steps);
        sync(dev);
        t[v].mu += b - a;
        t[v].phi += now() - b;
        for (const auto& r : m->phi_log()) {
          const double p[7] = {r.seconds_objective, r.seconds_gradient, r.seconds_hessian, r.seconds_direction,
                               r.seconds_exponential, r.seconds_trials, r.seconds_update};
          for (int k = 0; k < 7; ++k) t[v].parts[k] += p[k];
          t[v].tries += r.tries;
          t[v].steps.push_back(r.accepted ? r.step : 0.0);
        }
        // Through a view (another tensor): the ΦY the objective computes is not kept for the next
        // timed MU, so each timed sweep computes its one ΦY itself (in the MU column).
        t[v].objective.push_back(m->objective(TrainingData{d.X.view_as(d.X)}));
      }
    }
    const double floor_ms = 1e3 * floor_s / iters, exp_ms = 1e3 * exp_s / iters;
    const Timing& ref = t[0];
    for (size_t v = 0; v < models.size(); ++v) {
      const Timing& e = t[v];
      const double phi_ms = 1e3 * e.phi / (iters * steps);
      std::printf("%5lld %5lld %3lld %3lld | %9.2f | %-10s %11.2f %6.3f | %3d/%-4lld %6.2f | ", static_cast<long long>(cs.M),
                  static_cast<long long>(cs.N), static_cast<long long>(cs.R), static_cast<long long>(cs.K),
                  1e3 * e.mu / iters, qn ? variants[v].c_str() : update.c_str(), phi_ms, e.phi / ref.phi, e.accepted,
                  static_cast<long long>(iters * steps), static_cast<double>(e.tries) / (iters * steps));
      if (v > 0) {
        double gap = 0;
        for (size_t i = 0; i < ref.objective.size(); ++i)
          gap = std::max(gap, std::abs(e.objective[i] - ref.objective[i]) / std::abs(ref.objective[i]));
        int differ = 0;
        for (size_t i = 0; i < std::min(ref.steps.size(), e.steps.size()); ++i) differ += ref.steps[i] != e.steps[i];
        differ += static_cast<int>(std::max(ref.steps.size(), e.steps.size()) - std::min(ref.steps.size(), e.steps.size()));
        std::printf("%10.1e %9d | ", gap, differ);
      } else {
        std::printf("%10s %9s | ", "", "");
      }
      std::printf("%8.2f %7.2f | %7.2f %7.2f\n", floor_ms, exp_ms, phi_ms / floor_ms, phi_ms / exp_ms);
    }
    std::printf("%5s %-10s | %9s %7s %7s %9s %11s %12s %7s (ms per Phi step, wall)\n", "M", "expm", "objective",
                "Gamma", "P.V^T", "direction", "exponential", "trials QX+J", "Q.Phi");
    for (size_t v = 0; v < models.size(); ++v) {
      const double k = 1e3 / (iters * steps);
      const double* p = t[v].parts;
      std::printf("%5lld %-10s | %9.2f %7.2f %7.2f %9.2f %11.2f %12.2f %7.2f\n", static_cast<long long>(cs.M),
                  qn ? variants[v].c_str() : update.c_str(), k * p[0], k * p[1], k * p[2], k * p[3], k * p[4],
                  k * p[5], k * p[6]);
    }
  }
  return 0;
}

}  // namespace factorch::bench
