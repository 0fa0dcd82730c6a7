#include "factorch/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>

#include <torch/serialize.h>
#include <torch/optim.h>

#include "factorch/error.h"
#include "factorch/fused.h"
#include "factorch/models/hand_gradients.h"
#include "factorch/models/self_stopping.h"

namespace factorch {

namespace {

// Copies of the parameters and buffers, restored by the NaN guard.
std::vector<torch::Tensor> snapshot(FactorModelImpl& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model.parameters()) out.push_back(p.detach().clone());
  for (const auto& b : model.buffers()) out.push_back(b.detach().clone());
  return out;
}

void restore(FactorModelImpl& model, const std::vector<torch::Tensor>& saved) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto& p : model.parameters()) p.copy_(saved[i++]);
  for (auto& b : model.buffers()) b.copy_(saved[i++]);
}

bool has_non_finite(FactorModelImpl& model) {
  torch::NoGradGuard no_grad;
  for (const auto& p : model.parameters())
    if (p.is_floating_point() && !torch::isfinite(p).all().item<bool>()) return true;
  return false;
}

double objective_of(FactorModelImpl& model, const TrainingData& data) {
  torch::NoGradGuard no_grad;
  if (!data.sharded()) return model.loss(data).item<double>();
  // Every rank gets the same sum, so every rank takes the same tol / NaN decision.
  torch::Tensor value = model.loss(data).detach().to(torch::kFloat64).reshape({1}).clone();
  data.sum_over_shards(value);
  return value.item<double>();
}

}  // namespace

TrainResult Trainer::fit(const std::shared_ptr<FactorModelImpl>& model, const TrainingData& data) {
  require(options_.max_iter() >= 0, "max_iter must be >= 0");
  require(options_.eval_every() >= 1, "eval_every must be >= 1");
  model->check_data(data);
  prepare(model, data);
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const double seconds_before = state_.seconds;
  auto elapsed = [&] { return seconds_before + std::chrono::duration<double>(clock::now() - start).count(); };

  TrainResult result;
  std::vector<torch::Tensor> last_good = snapshot(*model);
  // The objective at the start (iteration count so far) is the reference for rel_change.
  if (state_.history.empty()) {
    const double j0 = objective_of(*model, data);
    require(std::isfinite(j0), "the initial objective is not finite (" + std::to_string(j0) +
                                   "): check the data and the initial factors");
    state_.history.push_back({state_.iteration, j0, std::numeric_limits<double>::quiet_NaN(), state_.seconds});
  }
  for (auto& cb : callbacks_) cb->on_begin(state_);
  // A model that stops itself (early stopping) ends the run with its reason; one that has
  // already stopped takes no step.
  const auto* self_stopping = dynamic_cast<const SelfStopping*>(model.get());
  auto early_stop = [&] { return self_stopping ? self_stopping->early_stop() : std::string(); };
  result.stop_reason = "max_iter";
  if (const std::string early = early_stop(); !early.empty()) result.stop_reason = early;
  while (state_.iteration < options_.max_iter() && early_stop().empty()) {
    // A NaN can also make an update throw (an SVD of a non-finite Φ in TL-NMF): that is the
    // same stop as a NaN objective, not a crash. Other LibTorch errors propagate.
    bool step_failed = false;
    try {
      step(model, data);
    } catch (const c10::Error& e) {
      const std::string what = e.what_without_backtrace();
      if (what.find("non-finite") == std::string::npos && !has_non_finite(*model)) throw;
      step_failed = true;
    }
    ++state_.iteration;
    // A model that has just stopped itself gets its last record now (it is the final state).
    const std::string early = step_failed ? std::string() : early_stop();
    const bool evaluate = step_failed || !early.empty() || state_.iteration % options_.eval_every() == 0 ||
                          state_.iteration == options_.max_iter();
    if (!evaluate) continue;
    const double j = step_failed ? std::numeric_limits<double>::quiet_NaN() : objective_of(*model, data);
    state_.seconds = elapsed();
    if (!std::isfinite(j)) {
      restore(*model, last_good);
      std::ostringstream msg;
      msg << "nan: the objective became " << j << " at iteration " << state_.iteration
          << "; parameters restored to the last finite state (iteration " << state_.history.back().iteration
          << "). Try a smaller learning rate, float64, or an eps floor";
      state_.iteration = state_.history.back().iteration;
      discard_optimizer_state();
      result.ok = false;
      result.stop_reason = msg.str();
      break;
    }
    const double previous = state_.history.back().objective;
    const double rel = std::abs(previous - j) / std::max(std::abs(previous), std::numeric_limits<double>::min());
    state_.history.push_back({state_.iteration, j, rel, state_.seconds});
    last_good = snapshot(*model);
    for (auto& cb : callbacks_) cb->on_evaluation(state_, options_.max_iter());
    if (!early.empty()) {
      result.stop_reason = early;
      break;
    }
    if (options_.tol() > 0 && rel < options_.tol()) {
      result.stop_reason = "tol";
      break;
    }
  }
  state_.seconds = elapsed();
  state_.optimizer_state = optimizer_state();
  result.iterations = state_.iteration;
  result.objective = state_.history.back().objective;
  for (auto& cb : callbacks_) cb->on_end(state_, result.stop_reason);
  return result;
}

// ---------------------------------------------------------------- multiplicative

void MultiplicativeTrainer::prepare(const std::shared_ptr<FactorModelImpl>& model, const TrainingData&) {
  require(model->has_mu(), "model '" + model->type() + "' has no multiplicative updates; use the autograd trainer (kind autograd)");
}

void MultiplicativeTrainer::step(const std::shared_ptr<FactorModelImpl>& model, const TrainingData& data) {
  model->mu_step(data);
}

// ---------------------------------------------------------------- autograd

namespace {
std::unique_ptr<torch::optim::Optimizer> make_lbfgs(const std::vector<torch::Tensor>& params, double lr) {
  return std::make_unique<torch::optim::LBFGS>(params, torch::optim::LBFGSOptions(lr).max_iter(20).line_search_fn("strong_wolfe"));
}
}  // namespace

struct AutogradTrainer::Impl {
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::vector<torch::Tensor> params;
  std::vector<torch::Tensor> shared;  // data-parallel runs: parameters common to all ranks (not per column)
  // Rprop state (LibTorch has no Rprop): per-parameter step sizes and previous gradient signs.
  std::vector<torch::Tensor> rprop_step, rprop_prev;
  std::vector<torch::Tensor> moved;  // the parameters after an Rprop step, before project()
  std::string pending_state;  // optimizer state restored before prepare()
};

AutogradTrainer::AutogradTrainer(TrainerOptions options) : Trainer(std::move(options)), impl_(new Impl) {
  const std::string& o = options_.optimizer();
  require(o == "adam" || o == "sgd" || o == "lbfgs" || o == "rprop",
          "optimizer must be adam, sgd, lbfgs or rprop, got '" + o + "'");
  require(options_.lr() > 0, "lr must be > 0");
}

AutogradTrainer::~AutogradTrainer() = default;

void AutogradTrainer::prepare(const std::shared_ptr<FactorModelImpl>& model, const TrainingData& data) {
  impl_->params.clear();
  impl_->shared.clear();
  const std::vector<std::string> local = model->per_column_tensors();
  for (auto& item : model->named_parameters()) {
    const torch::Tensor& p = item.value();
    if (!p.requires_grad()) continue;
    impl_->params.push_back(p);
    if (data.sharded() && std::find(local.begin(), local.end(), item.key()) == local.end()) impl_->shared.push_back(p);
  }
  require(!impl_->params.empty(), "model '" + model->type() + "' has no free parameters to train");
  const std::string& o = options_.optimizer();
  // L-BFGS's line search and curvature pairs use inner products over all parameters,
  // per-column ones included, which differ between ranks: the ranks would diverge.
  if (data.sharded())
    require(!(data.rows_are_samples && options_.batch_size() > 0),
            "trainer.batch_size: mini-batches are not available in data-parallel runs (ranks would take different numbers of steps)");
  if (data.sharded())
    require(o != "lbfgs", "trainer.optimizer: lbfgs is not available in data-parallel runs (use adam, sgd or rprop)");
  if (o == "adam") {
    impl_->optimizer = std::make_unique<torch::optim::Adam>(impl_->params, torch::optim::AdamOptions(options_.lr()));
  } else if (o == "sgd") {
    impl_->optimizer = std::make_unique<torch::optim::SGD>(
        impl_->params, torch::optim::SGDOptions(options_.lr()).momentum(options_.momentum()));
  } else if (o == "lbfgs") {
    impl_->optimizer = make_lbfgs(impl_->params, options_.lr());
  } else {
    impl_->rprop_step.clear();
    impl_->rprop_prev.clear();
    for (auto& p : impl_->params) {
      impl_->rprop_step.push_back(torch::full_like(p, options_.lr()).detach());
      impl_->rprop_prev.push_back(torch::zeros_like(p).detach());
    }
  }
  const std::string saved = state_.optimizer_state;
  if (!saved.empty()) {
    std::istringstream in(saved);
    torch::serialize::InputArchive archive;
    archive.load_from(in, model->parameters().front().device());
    if (impl_->optimizer) {
      impl_->optimizer->load(archive);
    } else {
      for (size_t i = 0; i < impl_->params.size(); ++i) {
        archive.read("rprop_step_" + std::to_string(i), impl_->rprop_step[i]);
        archive.read("rprop_prev_" + std::to_string(i), impl_->rprop_prev[i]);
      }
    }
  }
}

void AutogradTrainer::step(const std::shared_ptr<FactorModelImpl>& model, const TrainingData& data) {
  // DDP-style: the gradient of a shared parameter is a sum over every rank's columns; sum
  // them (one all-reduce of all shared gradients) so every rank takes the same step.
  auto sum_shared_gradients = [&] {
    if (impl_->shared.empty()) return;
    std::vector<torch::Tensor> grads;
    for (auto& p : impl_->shared) {
      grads.push_back(p.grad().defined() ? p.grad().reshape({-1}) : torch::zeros({p.numel()}, p.options()));
    }
    torch::Tensor flat = torch::cat(grads);
    data.sum_over_shards(flat);
    int64_t offset = 0;
    for (auto& p : impl_->shared) {
      const torch::Tensor g = flat.slice(0, offset, offset + p.numel()).view_as(p);
      if (p.grad().defined()) p.mutable_grad().copy_(g);
      else p.mutable_grad() = g.clone();
      offset += p.numel();
    }
  };
  auto one_step = [&](const TrainingData& batch) {
    // Hand-written gradients where the model has them for this batch (no autograd graph).
    auto* manual = dynamic_cast<HandGradients*>(model.get());
    const bool hand = manual && manual->use_hand_gradients && manual->has_gradients(batch);
    if (impl_->optimizer) {
      auto closure = [&]() -> torch::Tensor {
        impl_->optimizer->zero_grad();
        torch::Tensor loss;
        if (hand) {
          loss = manual->gradients(batch, /*with_loss=*/true);
        } else {
          loss = model->loss(batch);
          loss.backward();
        }
        sum_shared_gradients();
        return loss;
      };
      impl_->optimizer->step(closure);
      if (options_.optimizer() == "lbfgs") {
        // The projection below moves the iterate off the line the L-BFGS memory describes;
        // stale curvature pairs then make it diverge. Drop the memory when that happens
        // (the next step restarts from steepest descent with a Wolfe line search).
        std::vector<torch::Tensor> before;
        for (auto& p : impl_->params) before.push_back(p.detach().clone());
        model->project();
        bool moved = false;
        for (size_t i = 0; i < before.size() && !moved; ++i) moved = !torch::equal(before[i], impl_->params[i].detach());
        if (moved) impl_->optimizer = make_lbfgs(impl_->params, options_.lr());
        return;
      }
    } else {
      // Rprop (Riedmiller & Braun 1993, "Rprop−"): sign-based steps, η+ = 1.2, η− = 0.5.
      for (auto& p : impl_->params) {
        if (p.grad().defined()) p.mutable_grad().zero_();
      }
      if (hand) manual->gradients(batch, /*with_loss=*/false);
      else model->loss(batch).backward();
      sum_shared_gradients();
      torch::NoGradGuard no_grad;
      // One pass per tensor (the gradient is zeroed before the next backward pass: it serves
      // as scratch), keeping each parameter as the step left it in reused buffers.
      rprop_step_(impl_->params, impl_->rprop_step, impl_->rprop_prev, impl_->moved);
      // Projected Rprop: where project() clipped the move (an entry held at a bound), the
      // step restarts from its initial size with no sign memory. Otherwise it keeps growing
      // ×1.2 against the bound (to the 50 cap) and, once the gradient turns, throws the entry
      // far past its optimum.
      model->project();
      rprop_restart_where_moved_(impl_->params, impl_->moved, impl_->rprop_step, impl_->rprop_prev, options_.lr());
      return;
    }
    model->project();
  };

  if (data.rows_are_samples && options_.batch_size() > 0 && options_.batch_size() < data.X.size(0)) {
    // Shuffle per epoch with a generator seeded by (seed, epoch): a resumed run sees the same batches.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(options_.seed() * 1000003ULL + static_cast<uint64_t>(state_.iteration));
    const torch::Tensor order = at::randperm(data.X.size(0), gen, torch::TensorOptions().dtype(torch::kLong))
                                    .to(data.X.device());
    for (int64_t start = 0; start < order.size(0); start += options_.batch_size()) {
      one_step(data.rows(order.slice(0, start, std::min<int64_t>(start + options_.batch_size(), order.size(0)))));
    }
  } else {
    one_step(data);
  }
}

void AutogradTrainer::discard_optimizer_state() {
  impl_->optimizer.reset();
  impl_->rprop_step.clear();
  impl_->rprop_prev.clear();
  impl_->pending_state.clear();
}

std::string AutogradTrainer::optimizer_state() const {
  if (!impl_->optimizer && impl_->rprop_step.empty()) return {};
  torch::serialize::OutputArchive archive;
  if (impl_->optimizer) {
    impl_->optimizer->save(archive);
  } else {
    for (size_t i = 0; i < impl_->rprop_step.size(); ++i) {
      archive.write("rprop_step_" + std::to_string(i), impl_->rprop_step[i], /*is_buffer=*/true);
      archive.write("rprop_prev_" + std::to_string(i), impl_->rprop_prev[i], /*is_buffer=*/true);
    }
  }
  std::ostringstream out;
  try {
    archive.save_to(out);
  } catch (const c10::Error&) {
    // L-BFGS leaves state tensors undefined after a step that stopped at its first
    // evaluation, which LibTorch cannot serialise; that memory is not worth keeping.
    return {};
  }
  return out.str();
}

std::unique_ptr<Trainer> make_trainer(const TrainerOptions& options) {
  if (options.kind() == "mu") return std::make_unique<MultiplicativeTrainer>(options);
  if (options.kind() == "autograd") return std::make_unique<AutogradTrainer>(options);
  throw Error("kind must be mu or autograd, got '" + options.kind() + "'");
}

}  // namespace factorch
