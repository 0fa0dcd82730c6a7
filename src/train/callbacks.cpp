#include "factorch/train/callbacks.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "factorch/io/atomic_file.h"

namespace factorch {

ProgressCallback::ProgressCallback(bool tty, double period_seconds) : tty_(tty), period_(period_seconds) {}

void ProgressCallback::print(const TrainState& state, int64_t max_iter, bool final) {
  if (state.history.empty()) return;
  const TrainRecord& r = state.history.back();
  const double dt = state.seconds - last_seconds_;
  const double rate = dt > 0 ? static_cast<double>(state.iteration - last_iter_) / dt : 0.0;
  std::fprintf(stderr, "%siter %lld/%lld  objective %.6e  rel %.2e  %.1f it/s%s", tty_ ? "\r" : "",
               static_cast<long long>(r.iteration), static_cast<long long>(max_iter), r.objective,
               std::isnan(r.rel_change) ? 0.0 : r.rel_change, rate, tty_ && !final ? "   " : "\n");
  std::fflush(stderr);
  last_iter_ = state.iteration;
  last_seconds_ = state.seconds;
}

void ProgressCallback::on_evaluation(const TrainState& state, int64_t max_iter) {
  if (state.seconds - last_print_ < (tty_ ? 0.1 : period_)) return;
  last_print_ = state.seconds;
  print(state, max_iter, false);
}

void ProgressCallback::on_end(const TrainState& state, const std::string& stop_reason) {
  // The last record once: when it is already on screen (printed at this iteration), a second
  // copy would only add a meaningless 0.0 it/s; a terminal's '\r' line just needs its end.
  const bool shown = last_print_ > -1e300 && last_iter_ == state.iteration;
  if (!shown) print(state, state.iteration, true);
  else if (tty_) std::fputc('\n', stderr);
  std::fprintf(stderr, "stopped after %lld iterations (%s) in %.2f s\n", static_cast<long long>(state.iteration),
               stop_reason.c_str(), state.seconds);
}

std::string HistoryCallback::to_csv(const std::vector<TrainRecord>& history) {
  std::ostringstream out;
  out.precision(17);
  out << "iter,objective,rel_change,seconds\n";
  for (const TrainRecord& r : history) {
    out << r.iteration << ',' << r.objective << ',';
    if (std::isnan(r.rel_change)) out << "nan"; else out << r.rel_change;
    out << ',' << r.seconds << '\n';
  }
  return out.str();
}

void HistoryCallback::on_evaluation(const TrainState& state, int64_t) {
  if (++count_ % every_ == 0) io::write_file_atomically(path_, to_csv(state.history));
}

void HistoryCallback::on_end(const TrainState& state, const std::string&) {
  io::write_file_atomically(path_, to_csv(state.history));
}

void CheckpointCallback::on_evaluation(const TrainState& state, int64_t) {
  if (every_ > 0 && state.iteration % every_ == 0 && state.iteration != last_saved_) {
    save_(state);
    last_saved_ = state.iteration;
  }
}

void CheckpointCallback::on_end(const TrainState& state, const std::string&) {
  // Also after a NaN stop: the trainer has restored the last finite state (parameters,
  // iteration, history), which is what a resume or a look at the run needs.
  if (state.iteration != last_saved_) save_(state);
}

void StallCallback::on_evaluation(const TrainState& state, int64_t) {
  const auto& h = state.history;
  if (warned_ || static_cast<int64_t>(h.size()) < patience_ + 1) return;
  // The newest records back to `patience` evaluations and `min_iterations` iterations.
  size_t first = h.size();
  int64_t count = 0;
  while (first > 1 && (count < patience_ || h.back().iteration - h[first - 1].iteration < min_iterations_)) {
    --first;
    ++count;
    if (!(h[first].rel_change < threshold_)) return;
  }
  if (count < patience_ || h.back().iteration - h[first - 1].iteration < min_iterations_) return;
  warned_ = true;
  std::fprintf(stderr,
               "factorch: warning: training has stalled: the objective has not changed (relative change < %g) from "
               "iteration %lld to %lld, at %.6g (start %.6g). Usually parameters with zero gradient (activations or "
               "templates at exactly 0 under softplus) or optimiser steps below float precision: try another "
               "model.seed, trainer.dtype: float64 or another trainer.optimizer/lr\n",
               threshold_, static_cast<long long>(h[first - 1].iteration), static_cast<long long>(h.back().iteration),
               h.back().objective, h.front().objective);
}

}  // namespace factorch
