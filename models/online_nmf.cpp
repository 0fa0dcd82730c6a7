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

torch::Tensor held_back_columns(ColumnStream& stream, int64_t batch_size, int64_t holdout_every,
                                int64_t* train_columns) {
  require(batch_size > 0, "batch_size must be > 0, got " + std::to_string(batch_size));
  require(holdout_every >= 2, "holdout_every must be >= 2, got " + std::to_string(holdout_every));
  std::vector<torch::Tensor> kept;
  int64_t train = 0, b = 0;
  stream.rewind();
  for (torch::Tensor X = stream.next(batch_size); X.defined(); X = stream.next(batch_size), ++b) {
    if (b % holdout_every == holdout_every - 1) {
      kept.push_back(X);
    } else {
      train += X.size(1);
    }
  }
  require(!kept.empty(), "no held-back batch: the data has " + std::to_string(b) + " batches of " +
                             std::to_string(batch_size) + " columns, fewer than holdout_every = " +
                             std::to_string(holdout_every));
  require(train > 0, "no training batch left after holding back every " + std::to_string(holdout_every) + "th");
  if (train_columns) *train_columns = train;
  return torch::cat(kept, 1);
}

OnlineNMFImpl::OnlineNMFImpl(const OnlineNMFOptions& o, std::shared_ptr<ColumnStream> stream)
    : options(o), divergence_(o.beta(), o.eps()), stream_(std::move(stream)) {
  require(stream_ != nullptr, "online NMF needs a column stream");
  require(o.rank() > 0, "rank must be a positive integer, got " + std::to_string(o.rank()));
  require(o.batch_size() > 0, "batch_size must be > 0, got " + std::to_string(o.batch_size()));
  require(o.forget() > 0 && o.forget() <= 1, "forget must be in (0, 1], got " + std::to_string(o.forget()));
  require(o.inner_iter() > 0, "inner_iter must be > 0, got " + std::to_string(o.inner_iter()));
  require(o.holdout_every() >= 2, "holdout_every must be >= 2, got " + std::to_string(o.holdout_every()));
  require(o.n_features() == stream_->rows(), "the stream has " + std::to_string(stream_->rows()) +
                                                 " rows but the model was built for " + std::to_string(o.n_features()));
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  W_ = register_parameter("W", torch::ones({o.n_features(), o.rank()}, opts), false);
  A_ = register_buffer("A", torch::zeros({o.n_features(), o.rank()}, opts));
  B_ = register_buffer("B", torch::zeros({o.n_features(), o.rank()}, opts));
}

void OnlineNMFImpl::init(double scale, uint64_t seed) {
  torch::NoGradGuard no_grad;
  W_.copy_(random_nonnegative({options.n_features(), options.rank()}, std::sqrt(scale / options.rank()), seed,
                              W_.options()));
  A_.zero_();
  B_.zero_();
  batch_H_.clear();
}

bool OnlineNMFImpl::held_back(int64_t b) const { return b % options.holdout_every() == options.holdout_every() - 1; }

torch::Tensor OnlineNMFImpl::fit_activations(const torch::Tensor& X, int64_t passes) const {
  torch::NoGradGuard no_grad;
  // Warm start: every h_kn equal, with mean_f (W·H) = mean(X).
  const double level = X.mean().item<double>() / std::max(1e-300, W_.sum(1).mean().item<double>());
  torch::Tensor H = torch::full({options.rank(), X.size(1)}, std::max(level, BetaDivergence::tiny(X.scalar_type())),
                                X.options());
  for (int64_t i = 0; i < options.inner_iter() * passes; ++i)
    multiplicative_update_(H, MultilinearTerm{W_, {}, {}}, X, divergence_);
  return H;
}

void OnlineNMFImpl::mu_step(const TrainingData&) {
  torch::NoGradGuard no_grad;
  const double gamma = divergence_.exponent();
  stream_->rewind();
  int64_t b = 0;
  for (torch::Tensor X = stream_->next(options.batch_size()); X.defined(); X = stream_->next(options.batch_size()), ++b) {
    if (held_back(b)) continue;
    X = X.to(W_.options());
    divergence_.check_data(X, "batch " + std::to_string(b));
    if (static_cast<int64_t>(batch_H_.size()) <= b) batch_H_.resize(b + 1);
    torch::Tensor& H = batch_H_[b];
    if (!H.defined() || H.size(1) != X.size(1) || H.scalar_type() != X.scalar_type()) {
      H = fit_activations(X);
    } else {
      for (int64_t i = 0; i < options.inner_iter(); ++i) multiplicative_update_(H, MultilinearTerm{W_, {}, {}}, X, divergence_);
    }
    auto [numer, denom] = multiplicative_parts(W_, MultilinearTerm{{}, H, {}}, X, divergence_);
    const double rho = options.train_columns() > 0
                           ? std::pow(options.forget(), static_cast<double>(X.size(1)) / options.train_columns())
                           : options.forget();
    numer.mul_(gamma == 1.0 ? W_ : W_.pow(1.0 / gamma));
    A_.mul_(rho).add_(numer);
    B_.mul_(rho).add_(denom);
    torch::Tensor ratio = A_ / B_.clamp_min(BetaDivergence::tiny(W_.scalar_type()));
    if (gamma != 1.0) ratio.pow_(gamma);
    W_.copy_(ratio);
  }
}

torch::Tensor OnlineNMFImpl::loss(const TrainingData& data) {
  last_H_ = fit_activations(data.X, 2);
  return divergence_.value(data.X, torch::mm(W_, last_H_), data.mask);
}

torch::Tensor OnlineNMFImpl::reconstruct() {
  require(last_H_.defined(), "online NMF: reconstruct() needs a loss() evaluation first");
  return torch::mm(W_, last_H_);
}

void OnlineNMFImpl::check_data(const TrainingData& data) const {
  require(data.X.dim() == 2 && data.X.size(0) == options.n_features(),
          "held-back data must have " + std::to_string(options.n_features()) + " rows");
  divergence_.check_data(data.X, "held-back data");
}

NamedTensors OnlineNMFImpl::factors() {
  NamedTensors out;
  out.insert("W", W_.detach());
  return out;
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
    << ", inner_iter=" << options.inner_iter() << ", holdout_every=" << options.holdout_every() << ")";
}

}  // namespace factorch
