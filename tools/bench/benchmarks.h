#pragma once
// Benchmarks of factorch, dispatched by tools/bench/main.cpp: `factorch_bench NAME [args]`.
// Each prints a table with ratios against a reference measured in the same run.
namespace factorch::bench {
int bench_nmf(int argc, char** argv);     // MU iteration time vs naive MU and scikit-learn
int bench_signal(int argc, char** argv);  // STFT/ISTFT, CQT, BSS eval vs torch::stft and mir_eval
int bench_distributed(int argc, char** argv);  // data-parallel MU: it/s with 1 and 2 processes
int bench_online(int argc, char** argv);  // online_nmf peak RSS at 100 000 and 400 000 columns
int bench_long_separation(int argc, char** argv);  // separate + eval of 5–60 min: wall time, max RSS
int bench_innmf(int argc, char** argv);   // iN-NMF epoch at the paper's settings vs PyTorch-Python
int bench_tlnmf(int argc, char** argv);   // TL-NMF MU iteration and Φ step times
}  // namespace factorch::bench
