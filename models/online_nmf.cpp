#include "factorch/models/online_nmf.h"

#include <cmath>
#include <ostream>

#include "factorch/error.h"
#include "factorch/io/npy_columns.h"
#include "factorch/multiplicative.h"
#include "factorch/penalty.h"
#include "factorch/models/nmf_init.h"

namespace factorch {

namespace {

class NpyStream : public ColumnStream {
 public:
  explicit NpyStream(const std::string& path) : reader_(path) {}
  int64_t rows() const override { return reader_.rows(); }
  void rewind() override { next_ = 0; }
  torch::Tensor next(int64_t max_columns) override {
    if (next_ >= reader_.cols()) return {};
    torch::Tensor block = reader_.read(next_, max_columns);
    next_ += block.size(1);
    note_columns(block.size(1));
    return block;
  }
  int64_t skip(int64_t max_columns) override {
    const int64_t n = std::max<int64_t>(0, std::min(max_columns, reader_.cols() - next_));
    next_ += n;
    return n;
  }

 private:
  io::NpyColumnReader reader_;
  int64_t next_ = 0;
};

class TensorStream : public ColumnStream {
 public:
  explicit TensorStream(torch::Tensor V) : V_(std::move(V)) {}
  int64_t rows() const override { return V_.size(0); }
  void rewind() override { next_ = 0; }
  torch::Tensor next(int64_t max_columns) override {
    if (next_ >= V_.size(1)) return {};
    const int64_t n = std::min(max_columns, V_.size(1) - next_);
    torch::Tensor block = V_.slice(1, next_, next_ + n).to(torch::kFloat64).contiguous();
    next_ += n;
    note_columns(n);
    return block;
  }
  int64_t skip(int64_t max_columns) override {
    const int64_t n = std::max<int64_t>(0, std::min(max_columns, V_.size(1) - next_));
    next_ += n;
    return n;
  }

 private:
  torch::Tensor V_;
  int64_t next_ = 0;
};

}  // namespace

std::shared_ptr<ColumnStream> npy_column_stream(const std::string& path) { return std::make_shared<NpyStream>(path); }
std::shared_ptr<ColumnStream> tensor_column_stream(const torch::Tensor& V) {
  require(V.dim() == 2 && V.numel() > 0, "column stream needs a nonempty matrix");
  return std::make_shared<TensorStream>(V);
}

void BatchSchedule::advance(int64_t columns) {
  if (next_is_held_back()) {
    ++held_;
    held_columns_ += columns;
  } else {
    ++train_;
    train_columns_ += columns;
  }
  ++batch_;
}

namespace {

void check_schedule_options(int64_t batch_size, int64_t holdout_every, int64_t holdout_max_columns) {
  require(batch_size > 0, "batch_size must be > 0, got " + std::to_string(batch_size));
  require(holdout_every >= 2, "holdout_every must be >= 2, got " + std::to_string(holdout_every));
  require(holdout_max_columns >= 0, "holdout_max_columns must be >= 0, got " + std::to_string(holdout_max_columns));
}

void check_schedule_result(const BatchSchedule& s, int64_t batch_size, int64_t holdout_every) {
  require(s.held_batches() > 0, "no held-back batch: the data has " + std::to_string(s.batches()) + " batches of " +
                                    std::to_string(batch_size) + " columns, fewer than holdout_every = " +
                                    std::to_string(holdout_every));
  require(s.train_columns() > 0, "no training batch left after holding back every " + std::to_string(holdout_every) + "th");
}

}  // namespace

torch::Tensor held_back_columns(ColumnStream& stream, int64_t batch_size, int64_t holdout_every,
                                int64_t* train_columns, int64_t holdout_max_columns) {
  check_schedule_options(batch_size, holdout_every, holdout_max_columns);
  BatchSchedule schedule(holdout_every, holdout_max_columns);
  std::vector<torch::Tensor> kept;
  stream.rewind();
  for (torch::Tensor X = stream.next(batch_size); X.defined(); X = stream.next(batch_size)) {
    if (schedule.next_is_held_back()) kept.push_back(X);
    schedule.advance(X.size(1));
  }
  check_schedule_result(schedule, batch_size, holdout_every);
  if (train_columns) *train_columns = schedule.train_columns();
  return torch::cat(kept, 1);
}

StreamSummary scan_stream(ColumnStream& stream, const OnlineNMFOptions& o, int rank, int world_size) {
  check_schedule_options(o.batch_size(), o.holdout_every(), o.holdout_max_columns());
  const BetaDivergence divergence(o.beta(), o.eps());
  BatchSchedule schedule(o.holdout_every(), o.holdout_max_columns());
  StreamSummary out;
  out.rows = stream.rows();
  stream.rewind();
  for (;;) {
    const bool held = schedule.next_is_held_back();
    const int64_t index = held ? schedule.held_batches() : schedule.train_batches();
    int64_t columns = 0;
    if (index % world_size == rank) {
      const torch::Tensor X = stream.next(o.batch_size());
      if (!X.defined()) break;
      columns = X.size(1);
      divergence.check_data(X, "batch " + std::to_string(schedule.batches()) + " (columns from " +
                                   std::to_string(schedule.held_columns() + schedule.train_columns()) + ")");
      if (held) out.held_sum += X.sum().item<double>();
    } else {
      columns = stream.skip(o.batch_size());
      if (columns == 0) break;
    }
    schedule.advance(columns);
  }
  check_schedule_result(schedule, o.batch_size(), o.holdout_every());
  out.batches = schedule.batches();
  out.train_columns = schedule.train_columns();
  out.held_columns = schedule.held_columns();
  return out;
}

OnlineNMFImpl::OnlineNMFImpl(const OnlineNMFOptions& o, std::shared_ptr<ColumnStream> stream)
    : options(o), divergence_(o.beta(), o.eps()), stream_(std::move(stream)) {
  require(stream_ != nullptr, "online NMF needs a column stream");
  require(o.rank() > 0, "rank must be a positive integer, got " + std::to_string(o.rank()));
  require(o.batch_size() > 0, "batch_size must be > 0, got " + std::to_string(o.batch_size()));
  require(o.forget() > 0 && o.forget() <= 1, "forget must be in (0, 1], got " + std::to_string(o.forget()));
  require(o.inner_iter() > 0, "inner_iter must be > 0, got " + std::to_string(o.inner_iter()));
  check_schedule_options(o.batch_size(), o.holdout_every(), o.holdout_max_columns());
  require(o.batches_per_step() > 0, "batches_per_step must be > 0, got " + std::to_string(o.batches_per_step()));
  require(o.n_features() == stream_->rows(), "the stream has " + std::to_string(stream_->rows()) +
                                                 " rows but the model was built for " + std::to_string(o.n_features()));
  reset();
}

void OnlineNMFImpl::reset() {
  const OnlineNMFOptions& o = options;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  W_ = register_parameter("W", torch::ones({o.n_features(), o.rank()}, opts), false);
  A_ = register_buffer("A", torch::zeros({o.n_features(), o.rank()}, opts));
  B_ = register_buffer("B", torch::zeros({o.n_features(), o.rank()}, opts));
  // A clone (copy-constructed, then reset()) holds the original's activations, which mu_step
  // updates in place: copies of its own.
  for (torch::Tensor& H : batch_H_)
    if (H.defined()) H = H.detach().clone();
  if (last_H_.defined()) last_H_ = last_H_.detach().clone();
}

void OnlineNMFImpl::init(double scale, uint64_t seed) {
  torch::NoGradGuard no_grad;
  W_.copy_(random_nonnegative({options.n_features(), options.rank()}, std::sqrt(scale / options.rank()), seed,
                              W_.options()));
  A_.zero_();
  B_.zero_();
  batch_H_.clear();
  held_mean_ = scale;
}

torch::Tensor OnlineNMFImpl::fit_activations(const torch::Tensor& X, int64_t passes, double level) const {
  torch::NoGradGuard no_grad;
  // Warm start: every h_kn equal, with mean_f (W·H) = mean(X) (or the given level).
  if (level < 0) level = X.mean().item<double>();
  const double h0 = level / std::max(1e-300, W_.sum(1).mean().item<double>());
  torch::Tensor H = torch::full({options.rank(), X.size(1)}, std::max(h0, BetaDivergence::tiny(X.scalar_type())),
                                X.options());
  for (int64_t i = 0; i < options.inner_iter() * passes; ++i)
    multiplicative_update_(H, MultilinearTerm{W_, {}, {}}, X, divergence_);
  return H;
}

void OnlineNMFImpl::mu_step(const TrainingData& data) {
  torch::NoGradGuard no_grad;
  const double gamma = divergence_.exponent();
  const int rank = data.sharded() ? data.shard->rank : 0;
  const int64_t world = data.sharded() ? data.shard->world_size : 1;
  const int64_t per_step = options.batches_per_step() * world;
  BatchSchedule schedule(options.holdout_every(), options.holdout_max_columns());
  // The step's W statistics, summed over its batches (this rank's) and then over ranks.
  torch::Tensor step_parts;  // 2 × F × K: numerator, denominator
  int64_t step_columns = 0, step_batches = 0;
  auto finish_step = [&] {
    if (!step_parts.defined()) step_parts = torch::zeros({2, options.n_features(), options.rank()}, W_.options());
    data.sum_over_shards(step_parts);
    torch::Tensor numer = step_parts[0], denom = step_parts[1];
    const double rho = options.train_columns() > 0
                           ? std::pow(options.forget(), static_cast<double>(step_columns) / options.train_columns())
                           : options.forget();
    numer.mul_(gamma == 1.0 ? W_ : W_.pow(1.0 / gamma));
    A_.mul_(rho).add_(numer);
    B_.mul_(rho).add_(denom);
    torch::Tensor ratio = A_ / B_.clamp_min(BetaDivergence::tiny(W_.scalar_type()));
    if (gamma != 1.0) ratio.pow_(gamma);
    W_.copy_(ratio);
    step_parts = torch::Tensor();
    step_columns = step_batches = 0;
  };
  stream_->rewind();
  for (;;) {
    const int64_t b = schedule.batches();
    const bool held = schedule.next_is_held_back();
    const int64_t t = schedule.train_batches();
    if (held || t % world != rank) {  // not ours: move past it unread
      const int64_t n = stream_->skip(options.batch_size());
      if (n == 0) break;
      schedule.advance(n);
      if (!held) {
        step_columns += n;
        if (++step_batches == per_step) finish_step();
      }
      continue;
    }
    torch::Tensor X = stream_->next(options.batch_size());
    if (!X.defined()) break;
    schedule.advance(X.size(1));
    X = X.to(W_.options());
    divergence_.check_data(X, "batch " + std::to_string(b));
    if (static_cast<int64_t>(batch_H_.size()) <= b) batch_H_.resize(b + 1);
    torch::Tensor& H = batch_H_[b];
    if (H.defined() && H.device() != X.device()) H = H.to(X.device());  // a clone on another device
    if (!H.defined() || H.size(1) != X.size(1) || H.scalar_type() != X.scalar_type()) {
      H = fit_activations(X);
    } else {
      for (int64_t i = 0; i < options.inner_iter(); ++i) multiplicative_update_(H, MultilinearTerm{W_, {}, {}}, X, divergence_);
    }
    auto [numer, denom] = multiplicative_parts(W_, MultilinearTerm{{}, H, {}}, X, divergence_);
    if (!step_parts.defined()) {
      step_parts = torch::stack({numer, denom});
    } else {
      step_parts[0].add_(numer);
      step_parts[1].add_(denom);
    }
    step_columns += X.size(1);
    if (++step_batches == per_step) finish_step();
  }
  // A last, shorter step (every rank sees the same batch count, so all of them get here).
  if (step_batches > 0) finish_step();
}

torch::Tensor OnlineNMFImpl::loss(const TrainingData& data) {
  if (!data.X.defined() || data.X.size(1) == 0) return streamed_loss(data);
  last_H_ = fit_activations(data.X, 2);
  return divergence_.value(data.X, torch::mm(W_, last_H_), data.mask);
}

torch::Tensor OnlineNMFImpl::streamed_loss(const TrainingData& data) {
  torch::NoGradGuard no_grad;
  require(held_mean_ >= 0, "online NMF: a streamed loss() needs init() (the held-back mean) first");
  const int rank = data.sharded() ? data.shard->rank : 0;
  const int64_t world = data.sharded() ? data.shard->world_size : 1;
  BatchSchedule schedule(options.holdout_every(), options.holdout_max_columns());
  double total = 0;
  std::vector<torch::Tensor> fitted;
  stream_->rewind();
  for (;;) {
    // Past the cap no batch is held back any more: the rest of the stream is not walked.
    if (options.holdout_max_columns() > 0 && schedule.held_columns() >= options.holdout_max_columns()) break;
    const bool mine = schedule.next_is_held_back() && schedule.held_batches() % world == rank;
    if (!mine) {
      const int64_t n = stream_->skip(options.batch_size());
      if (n == 0) break;
      schedule.advance(n);
      continue;
    }
    torch::Tensor X = stream_->next(options.batch_size());
    if (!X.defined()) break;
    schedule.advance(X.size(1));
    X = X.to(W_.options());
    torch::Tensor H = fit_activations(X, 2, held_mean_);
    total += divergence_.value(X, torch::mm(W_, H)).item<double>();
    fitted.push_back(std::move(H));
  }
  last_H_ = fitted.empty() ? torch::zeros({options.rank(), 0}, W_.options()) : torch::cat(fitted, 1);
  return torch::tensor(total, torch::TensorOptions().dtype(torch::kFloat64));
}

torch::Tensor OnlineNMFImpl::reconstruct() {
  require(last_H_.defined(), "online NMF: reconstruct() needs a loss() evaluation first");
  return torch::mm(W_, last_H_);
}

void OnlineNMFImpl::check_data(const TrainingData& data) const {
  if (!data.X.defined()) return;  // the held-back set is streamed (scan_stream checked it)
  require(data.X.dim() == 2 && data.X.size(0) == options.n_features(),
          "held-back data must have " + std::to_string(options.n_features()) + " rows");
  if (data.X.size(1) > 0) divergence_.check_data(data.X, "held-back data");
}

NamedTensors OnlineNMFImpl::factors() {
  NamedTensors out;
  out.insert("W", W_.detach());
  return out;
}

FactorDescriptions OnlineNMFImpl::describe_factors() {
  // H is not kept: each batch's activations are fitted and dropped.
  return {{"W", FactorRole::Dictionary, "dictionary: one spectral template per column", FactorPlot::Image}};
}

void OnlineNMFImpl::set_factor(const std::string& name, const torch::Tensor& value) {
  require(name == "W", "online NMF has no factor '" + name + "' (it has W)");
  require(value.sizes() == W_.sizes(), "W has the wrong shape for this model");
  require(value.isfinite().all().item<bool>() && (value >= 0).all().item<bool>(), "W must be finite and nonnegative");
  torch::NoGradGuard no_grad;
  W_.copy_(value.to(W_.options()));
}

void OnlineNMFImpl::pretty_print(std::ostream& s) const {
  s << "factorch::OnlineNMF(F=" << options.n_features() << ", K=" << options.rank() << ", divergence="
    << divergence_.name() << ", batch_size=" << options.batch_size() << ", forget=" << options.forget()
    << ", inner_iter=" << options.inner_iter() << ", holdout_every=" << options.holdout_every()
    << ", holdout_max_columns=" << options.holdout_max_columns() << ", batches_per_step=" << options.batches_per_step()
    << ")";
}

}  // namespace factorch
