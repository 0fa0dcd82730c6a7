#include "factorch/models/implicit_nmf.h"

#include <cmath>
#include <cstdio>
#include <mutex>
#include <ostream>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/activation.h>

#include "factorch/error.h"
#include "factorch/tolerances.h"
#include "factorch/shape_string.h"
#include "factorch/signal/frequency_glide.h"
#include "factorch/signal/spectral_kernel.h"
#include "factorch/unmodified.h"

namespace factorch {

namespace {


std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// log(eˣ − 1), the inverse of softplus, stable for large x.
torch::Tensor inverse_softplus(const torch::Tensor& value) {
  const torch::Tensor x = value.clamp_min(kFactorFloor);
  return x + torch::log(-torch::expm1(-x));
}

// Index of each value in the sorted grid when every value is on it (exactly), else undefined.
torch::Tensor grid_index(const torch::Tensor& grid, const torch::Tensor& values) {
  if (grid.numel() == 0) return {};
  const torch::Tensor idx = torch::searchsorted(grid, values.contiguous()).clamp_max_(grid.size(0) - 1);
  if (!grid.index_select(0, idx).eq(values).all().item<bool>()) return {};
  return idx;
}

// `cache`: `source` in `like`'s dtype and device, converted once.
const torch::Tensor& cast_like(torch::Tensor& cache, const torch::Tensor& source, const torch::Tensor& like) {
  if (!cache.defined() || cache.device() != like.device() || cache.scalar_type() != like.scalar_type())
    cache = source.to(like.options());
  return cache;
}

// Whether an index built for the tensor `cached` (at `version`) still describes `samples`:
// the same tensor, unmodified since, on the model's device.
bool still_valid(const torch::Tensor& cached, int64_t version, const torch::Tensor& samples, const torch::Device& device) {
  return unmodified_since(cached, version, samples) && cached.device() == device;
}

// Matrix activations from a factor: `raw` itself ("…H_raw…"), or H = softplus(raw) for a
// nonnegative H, keeping a raw value set before when it already gives H (a factors.pt holds
// both, and softplus⁻¹ is not bitwise invertible).
void set_matrix_activations(torch::Tensor raw, const std::string& name, const torch::Tensor& value, bool is_raw) {
  require(value.sizes() == raw.sizes(), name + " is " + shape_string(value) + " but the model needs " + shape_string(raw));
  const torch::Tensor v = value.to(raw.options());
  if (is_raw) {
    raw.copy_(v);
    return;
  }
  require((value >= 0).all().item<bool>(), name + " must be nonnegative");
  if (!torch::equal(torch::softplus(raw), v)) raw.copy_(inverse_softplus(v));
}

}  // namespace

ImplicitActivations implicit_activations_from_name(const std::string& name) {
  if (name == "matrix") return ImplicitActivations::Matrix;
  if (name == "implicit") return ImplicitActivations::Implicit;
  throw Error("activations must be matrix or implicit, got '" + name + "'");
}

std::string implicit_activations_name(ImplicitActivations activations) {
  return activations == ImplicitActivations::Matrix ? "matrix" : "implicit";
}

ImplicitNMFImpl::SizeView ImplicitNMFImpl::size_view(size_t r) const {
  if (r == 0) return {options.kernel_n_fft(), frequencies_, t0_, dt_, times_.size(0), H_};
  const Resolution& j = joint_[r - 1];
  return {j.n_fft, j.frequencies, j.t0, j.dt, j.times.size(0), j.H};
}

ImplicitNMFImpl::ImplicitNMFImpl(const ImplicitNMFOptions& options_, const torch::Tensor& frequencies,
                                 const torch::Tensor& times)
    : options(options_), divergence_(options_.beta(), options_.eps()) {
  require(options.rank() >= 1, "rank must be a positive integer, got " + std::to_string(options.rank()));
  require(options.sample_rate() > 0, "iN-NMF: sample rate must be > 0 Hz, got " + num(options.sample_rate()));
  require(frequencies.defined() && frequencies.dim() == 1 && frequencies.numel() >= 1,
          "iN-NMF: the training frequency grid must be a nonempty vector");
  require(times.defined() && times.dim() == 1 && times.numel() >= 1, "iN-NMF: the training time grid must be a nonempty vector");
  nn::validate(options.w_net());
  if (options.activations() == ImplicitActivations::Implicit) nn::validate(options.h_net());
  const torch::Tensor f = std::get<0>(torch::sort(frequencies.to(torch::kFloat64).cpu()));
  const torch::Tensor t = std::get<0>(torch::sort(times.to(torch::kFloat64).cpu()));
  f_lo_ = f[0].item<double>();
  f_hi_ = f[-1].item<double>();
  frequencies_ = f;
  times_ = t;
  check_frequencies(f, "the training frequency grid");
  if (options.activations() == ImplicitActivations::Matrix) {
    t0_ = t[0].item<double>();
    dt_ = t.size(0) > 1 ? t[1].item<double>() - t0_ : 1.0;
    require(dt_ > 0, "iN-NMF: matrix activations need distinct frame times");
    const torch::Tensor expected = t0_ + dt_ * torch::arange(t.size(0), torch::kFloat64);
    require((t - expected).abs().max().item<double>() <= 1e-6 * dt_ + 1e-9,
            "iN-NMF: matrix activations need a regular frame grid (use activations: implicit)");
  } else {
    duration_ = std::max(t[-1].item<double>(), 1e-9);
  }
  reset();
}

void ImplicitNMFImpl::reset() {
  const int64_t K = options.rank();
  const bool sep = options.separate_networks();
  // K networks with one output each (paper), or one network with K outputs, as one batched module.
  auto make = [&](nn::ImplicitMLPOptions o) {
    o.in_features(1).out_features(sep ? 1 : K);
    return nn::BatchedImplicitMLP(sep ? K : 1, o);
  };
  W_net = register_module("W_net", make(options.w_net()));
  if (options.fixed_dictionary())
    for (auto& p : W_net->parameters()) p.set_requires_grad(false);
  if (options.activations() == ImplicitActivations::Implicit) {
    H_net = register_module("H_net", make(options.h_net()));
    if (options.fixed_activations())
      for (auto& p : H_net->parameters()) p.set_requires_grad(false);
  } else {
    H_ = register_parameter("H", inverse_softplus(torch::ones({K, times_.size(0)}, torch::kFloat64)),
                            !options.fixed_activations());
  }
  // In a clone (copy-constructed, then reset()) the members hold the original's tensors:
  // every registered tensor is a fresh copy (clone() then gives it the original's values).
  frequencies_ = register_buffer("frequencies", frequencies_.detach().clone());
  times_ = register_buffer("times", times_.detach().clone());
  scale_ = register_buffer("scale", torch::ones({}, torch::kFloat64));
  grid_cache_ = {};
  joint_cache_ = {};
  w_tape_ = {};
  if (options.spectral_kernel()) {
    require(options.kernel_n_fft() >= 2, "iN-NMF: spectral_kernel needs the training DFT size (kernel_n_fft)");
    require(options.kernel_oversampling() >= 1, "iN-NMF: kernel_oversampling must be >= 1");
    require(options.compression() > 0, "iN-NMF: compression must be > 0");
    // Density grid: kernel_oversampling points per training bin over [0, fs/2].
    const int64_t G = options.kernel_n_fft() * options.kernel_oversampling() / 2 + 1;
    density_grid_ = register_buffer("density_frequencies",
                                    torch::linspace(0.0, options.sample_rate() / 2, G, torch::kFloat64));
    // A clone keeps the original's kernel (computed from the float64 grid, which a model cast
    // to float32 no longer holds), as a copy.
    kernel_train_ = kernel_train_.defined()
                        ? kernel_train_.clone()
                        : signal::SpectralKernel(options.kernel_window(), options.kernel_n_fft(), options.sample_rate())
                              .matrix(frequencies_, density_grid_);
    kernel_cast_ = torch::Tensor();
    require(options.kernel_glide() >= 0, "iN-NMF: kernel_glide must be >= 0");
    kernel_glide_ = register_buffer("kernel_glide", torch::tensor(options.kernel_glide(), torch::kFloat64));
  }
  // Joint DFT sizes (add_resolution; in a clone, the original's): their own grids and activations.
  for (Resolution& j : joint_) {
    const std::string tag = "_nfft" + std::to_string(j.n_fft);
    j.frequencies = register_buffer("frequencies" + tag, j.frequencies.detach().clone());
    j.times = register_buffer("times" + tag, j.times.detach().clone());
    j.H = register_parameter("H" + tag, j.H.detach().clone(), !options.fixed_activations());
    j.kernel = j.kernel.clone();
    j.kernel_cast = torch::Tensor();
  }
}

std::shared_ptr<torch::nn::Module> ImplicitNMFImpl::clone(const torch::optional<torch::Device>& device) const {
  // reset() builds fresh networks, which draws from the default generator: a clone must not
  // move the caller's random stream.
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  torch::Tensor state;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    state = generator.get_state();
  }
  std::shared_ptr<torch::nn::Module> copy = torch::nn::Cloneable<ImplicitNMFImpl>::clone(device);
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  }
  // Submodules are cloned after reset(), whose freezing of a fixed dictionary they overwrite:
  // the copy's parameters train where the original's do.
  const auto mine = named_parameters(/*recurse=*/true);
  for (auto& p : copy->named_parameters(/*recurse=*/true)) p.value().set_requires_grad(mine[p.key()].requires_grad());
  return copy;
}

torch::Tensor ImplicitNMFImpl::density() {
  require(options.spectral_kernel(), "iN-NMF: density() needs spectral_kernel");
  // D = softplus(net)^(2/compression): the network works on the data's compressed scale
  // (for a density smooth at the window's scale, W ≈ const · net), while D spans the
  // dynamic range of power.
  return W_net->forward(frequency_coordinate(density_grid_)).pow(2.0 / options.compression());
}

torch::Tensor ImplicitNMFImpl::through_kernel(const torch::Tensor& K, const torch::Tensor& D) const {
  // Expected power through the window, back to the data's |X|^compression scale.
  return torch::mm(K, D).clamp_min(1e-30).pow(options.compression() / 2);
}

torch::Tensor ImplicitNMFImpl::W_on_grid() {
  if (!options.spectral_kernel()) return W_net->forward(frequency_coordinate(frequencies_));
  const torch::Tensor D = density();
  return through_kernel(cast_like(kernel_cast_, kernel_train_, D), D);
}

torch::Tensor ImplicitNMFImpl::frequency_coordinate(const torch::Tensor& f) const {
  return (f / options.sample_rate() - 0.5).unsqueeze(1);
}

void ImplicitNMFImpl::check_frequencies(const torch::Tensor& f, const std::string& what) const {
  const double nyquist = options.sample_rate() / 2;
  const double lo = f.min().item<double>(), hi = f.max().item<double>();
  const double slack = 1e-6 * nyquist;  // float32 rounding of the Nyquist bin
  require(lo >= -slack && hi <= nyquist + slack,
          "iN-NMF: " + what + " spans [" + num(lo) + ", " + num(hi) + "] Hz, outside [0, " + num(nyquist) +
              "] Hz, the coordinate range of this model (sample rate " + num(options.sample_rate()) + " Hz)");
  const double tol = 1e-3 * (f_hi_ - f_lo_) + slack;
  if ((lo < f_lo_ - tol || hi > f_hi_ + tol) && !warned_range_) {
    warned_range_ = true;
    std::fprintf(stderr, "factorch: warning: iN-NMF: %s spans [%g, %g] Hz beyond the dictionary's training range "
                 "[%g, %g] Hz: W is extrapolated there\n", what.c_str(), lo, hi, f_lo_, f_hi_);
  }
}

torch::Tensor ImplicitNMFImpl::dictionary(const torch::Tensor& frequencies, int64_t n_fft) {
  require(frequencies.dim() == 1, "iN-NMF: dictionary() needs a vector of frequencies in Hz");
  check_frequencies(frequencies, "the requested frequency grid");
  const auto opts = frequencies_.options();
  if (!options.spectral_kernel()) return W_net->forward(frequency_coordinate(frequencies.to(opts)));
  require(n_fft == 0 || n_fft >= 2, "iN-NMF: dictionary(): n_fft must be >= 2, got " + std::to_string(n_fft));
  const torch::Tensor D = density();
  const int64_t n = n_fft > 0 ? n_fft : options.kernel_n_fft();
  return through_kernel(window_kernel(frequencies, n).to(D.options()), D);
}

torch::Tensor ImplicitNMFImpl::window_kernel(const torch::Tensor& frequencies, int64_t n) const {
  torch::Tensor K = signal::SpectralKernel(options.kernel_window(), n, options.sample_rate())
                        .matrix(frequencies.to(torch::kFloat64).cpu(), density_grid_.cpu());
  // Gliding partials: a longer window than the training one sees them further smeared.
  // The buffer's value (in the model's dtype), so that a reloaded model samples the same templates.
  const double r = kernel_glide_.item<double>();
  if (r > 0) {
    const double d = signal::window_rms_duration(options.kernel_window(), n, options.sample_rate());
    const double d0 = signal::window_rms_duration(options.kernel_window(), options.kernel_n_fft(), options.sample_rate());
    if (d > d0) K = torch::mm(K, signal::glide_spread(density_grid_.cpu(), r * std::sqrt(d * d - d0 * d0)));
  }
  return K;
}

void ImplicitNMFImpl::add_resolution(int64_t n_fft, const torch::Tensor& frequencies, const torch::Tensor& times) {
  require(options.spectral_kernel(), "iN-NMF: joint DFT sizes need spectral_kernel (one density seen through each window)");
  require(options.activations() == ImplicitActivations::Matrix, "iN-NMF: joint DFT sizes need matrix activations (one H per size)");
  require(n_fft >= 2 && n_fft != options.kernel_n_fft(),
          "iN-NMF: a joint DFT size must be >= 2 and differ from the training size " + std::to_string(options.kernel_n_fft()) +
              ", got " + std::to_string(n_fft));
  for (const auto& j : joint_)
    require(j.n_fft != n_fft, "iN-NMF: joint DFT size " + std::to_string(n_fft) + " is given twice");
  require(frequencies.defined() && frequencies.dim() == 1 && frequencies.numel() >= 1 && times.defined() &&
              times.dim() == 1 && times.numel() >= 1,
          "iN-NMF: joint DFT size " + std::to_string(n_fft) + " needs nonempty frequency and time grids");
  Resolution j;
  j.n_fft = n_fft;
  const std::string tag = "_nfft" + std::to_string(n_fft);
  const torch::Tensor f = std::get<0>(torch::sort(frequencies.to(torch::kFloat64).cpu()));
  const torch::Tensor t = std::get<0>(torch::sort(times.to(torch::kFloat64).cpu()));
  check_frequencies(f, "the frequency grid of joint DFT size " + std::to_string(n_fft));
  j.t0 = t[0].item<double>();
  j.dt = t.size(0) > 1 ? t[1].item<double>() - j.t0 : 1.0;
  const torch::Tensor expected = j.t0 + j.dt * torch::arange(t.size(0), torch::kFloat64);
  require(j.dt > 0 && (t - expected).abs().max().item<double>() <= 1e-6 * j.dt + 1e-9,
          "iN-NMF: joint DFT size " + std::to_string(n_fft) + " needs a regular frame grid");
  const auto opts = frequencies_.options();
  j.frequencies = register_buffer("frequencies" + tag, f.to(opts));
  j.times = register_buffer("times" + tag, t.to(opts));
  j.H = register_parameter("H" + tag, inverse_softplus(torch::ones({options.rank(), t.size(0)}, opts)),
                           !options.fixed_activations());
  joint_.push_back(j);
  joint_cache_ = {};
  refresh_joint_kernels();
}

std::vector<int64_t> ImplicitNMFImpl::joint_n_fft() const {
  std::vector<int64_t> out;
  for (const auto& j : joint_) out.push_back(j.n_fft);
  return out;
}

void ImplicitNMFImpl::refresh_joint_kernels() {
  for (auto& j : joint_) {
    j.kernel = window_kernel(j.frequencies, j.n_fft);
    j.kernel_cast = torch::Tensor();
  }
}

torch::Tensor ImplicitNMFImpl::frame_index(const torch::Tensor& t) const {
  return torch::round((t - t0_) / dt_).to(torch::kLong).clamp_(0, times_.size(0) - 1);
}

torch::Tensor ImplicitNMFImpl::activations(const torch::Tensor& times) {
  require(times.dim() == 1, "iN-NMF: activations() needs a vector of times in s");
  const torch::Tensor t = times.to(frequencies_.options());
  if (options.activations() == ImplicitActivations::Matrix) {
    const torch::Tensor idx = frame_index(t);
    const torch::Tensor off = (t - (t0_ + dt_ * idx.to(t.scalar_type()))).abs().max();
    require(off.item<double>() <= 1e-3 * dt_, "iN-NMF: times must lie on the frame grid t0 + n·dt (t0 = " + num(t0_) +
                                                  " s, dt = " + num(dt_) + " s, " + std::to_string(times_.size(0)) + " frames)");
    return torch::softplus(H_).index_select(1, idx);
  }
  return (scale_ * H_net->forward((t / duration_ - 0.5).unsqueeze(1))).t();
}

const ImplicitNMFImpl::GridIndex& ImplicitNMFImpl::grid_index_of(const torch::Tensor& samples) {
  GridIndex& g = grid_cache_;
  if (still_valid(g.samples, g.version, samples, frequencies_.device())) return g;
  g = {};
  const torch::Tensor t = samples.select(1, 0), f = samples.select(1, 1);
  g.f_index = grid_index(frequencies_, f);
  g.t_index = options.activations() == ImplicitActivations::Matrix ? frame_index(t) : grid_index(times_, t);
  const int64_t N = times_.size(0);
  if (g.f_index.defined() && g.t_index.defined()) {
    // The band of bins the rows touch (every bin for a whole spectrogram; a data-parallel
    // rank's bin-major share holds a range of bins): V̂ is computed on that band only.
    const int64_t lo = g.f_index.min().item<int64_t>(), band = g.f_index.max().item<int64_t>() - lo + 1;
    if (4 * samples.size(0) >= band * N) {
      g.f_first = lo;
      g.f_count = band;
      g.flat_index = (g.f_index - lo) * N + g.t_index;
      g.whole_grid = samples.size(0) == band * N &&
                     g.flat_index.equal(torch::arange(band * N, g.flat_index.options()));
    }
  }
  g.samples = samples;
  g.version = static_cast<int64_t>(samples._version());
  return g;
}

torch::Tensor ImplicitNMFImpl::H_on_grid() {
  if (options.activations() == ImplicitActivations::Matrix) return torch::softplus(H_);
  return (scale_ * H_net->forward((times_ / duration_ - 0.5).unsqueeze(1))).t();
}

torch::Tensor ImplicitNMFImpl::group_of(const torch::Tensor& n_fft_column) const {
  const torch::Tensor n = n_fft_column.to(torch::kFloat64);
  torch::Tensor group = torch::full(n.sizes(), -1, n.options().dtype(torch::kLong));
  group.masked_fill_(n.eq(static_cast<double>(options.kernel_n_fft())), 0);
  for (size_t r = 0; r < joint_.size(); ++r) group.masked_fill_(n.eq(static_cast<double>(joint_[r].n_fft)), static_cast<int64_t>(r + 1));
  const torch::Tensor bad = group.lt(0);
  if (bad.any().item<bool>()) {
    const int64_t row = bad.nonzero()[0][0].item<int64_t>();
    std::string sizes = std::to_string(options.kernel_n_fft());
    for (const auto& j : joint_) sizes += ", " + std::to_string(j.n_fft);
    throw Error("iN-NMF data: row " + std::to_string(row) + " has DFT size (column 4) " + num(n[row].item<double>()) +
                ", not one this model trains on (" + sizes + ")");
  }
  return group;
}

const ImplicitNMFImpl::JointIndex& ImplicitNMFImpl::joint_index_of(const torch::Tensor& samples) {
  JointIndex& g = joint_cache_;
  if (still_valid(g.samples, g.version, samples, frequencies_.device())) return g;
  g = {};
  const torch::Tensor group = group_of(samples.select(1, 3));
  std::vector<torch::Tensor> all_rows;
  for (size_t r = 0; r <= joint_.size(); ++r) {
    const torch::Tensor rows = group.eq(static_cast<int64_t>(r)).nonzero().flatten();
    const torch::Tensor part = samples.index_select(0, rows);
    const SizeView v = size_view(r);
    const int64_t N = v.frames;
    const torch::Tensor f_index = grid_index(v.frequencies, part.select(1, 1).to(v.frequencies.scalar_type()));
    require(f_index.defined() || rows.numel() == 0,
            "iN-NMF data: rows of DFT size " + std::to_string(v.n_fft) + " are off that size's frequency bins");
    const torch::Tensor t_index =
        torch::round((part.select(1, 0).to(torch::kFloat64) - v.t0) / v.dt).to(torch::kLong).clamp_(0, N - 1);
    const torch::Tensor flat = rows.numel() ? (f_index.cpu() * N + t_index.cpu()).to(samples.device()) : rows;
    g.rows.push_back(rows);
    g.flat.push_back(flat);
    g.whole.push_back(flat.numel() == v.frequencies.size(0) * N && flat.equal(torch::arange(flat.numel(), flat.options())));
    all_rows.push_back(rows);
  }
  const torch::Tensor cat = torch::cat(all_rows);
  if (!cat.equal(torch::arange(samples.size(0), cat.options()))) g.order = torch::argsort(cat);
  g.samples = samples;
  g.version = static_cast<int64_t>(samples._version());
  return g;
}

torch::Tensor ImplicitNMFImpl::predict_joint(const torch::Tensor& samples) {
  const JointIndex& g = joint_index_of(samples);
  // One density, seen through each size's window; V̂ of each size as one product, then a gather.
  const torch::Tensor D = density();
  std::vector<torch::Tensor> parts;
  for (size_t r = 0; r <= joint_.size(); ++r) {
    if (g.rows[r].numel() == 0) continue;
    torch::Tensor V;
    if (r == 0) {
      V = torch::mm(through_kernel(cast_like(kernel_cast_, kernel_train_, D), D), H_on_grid());
    } else {
      Resolution& j = joint_[r - 1];
      V = torch::mm(through_kernel(cast_like(j.kernel_cast, j.kernel, D), D), torch::softplus(j.H));
    }
    V = V.flatten();
    parts.push_back(g.whole[r] ? V : V.index_select(0, g.flat[r]));
  }
  const torch::Tensor V = torch::cat(parts);
  return g.order.defined() ? V.index_select(0, g.order) : V;
}

torch::Tensor ImplicitNMFImpl::predict(const torch::Tensor& samples) {
  if (samples.size(1) == 4) return predict_joint(samples);
  const GridIndex& g = grid_index_of(samples);
  if (g.flat_index.defined()) {
    // Samples covering most of the training grid (a spectrogram) or of a band of its bins:
    // V̂ = W·H on that band as one product, then a gather (none for bin-major rows covering
    // the band), instead of S×K gathers of W and H rows.
    const torch::Tensor V = torch::mm(W_on_grid().narrow(0, g.f_first, g.f_count), H_on_grid()).flatten();
    return g.whole_grid ? V : V.index_select(0, g.flat_index);
  }
  // W on the distinct frequencies of the batch: the training grid when the batch lies on it.
  const torch::Tensor t = samples.select(1, 0), f = samples.select(1, 1);
  torch::Tensor W_rows;
  if (g.f_index.defined()) {
    W_rows = W_on_grid().index_select(0, g.f_index);
  } else {
    auto [uniq, inverse, counts] = torch::_unique2(f, /*sorted=*/true, /*return_inverse=*/true);
    W_rows = dictionary(uniq).index_select(0, inverse.flatten());
  }
  torch::Tensor H_rows;
  if (options.activations() == ImplicitActivations::Matrix) {
    H_rows = torch::softplus(H_).t().index_select(0, g.t_index);
  } else if (g.t_index.defined()) {
    H_rows = H_on_grid().t().index_select(0, g.t_index);
  } else {
    auto [uniq, inverse, counts] = torch::_unique2(t, true, true);
    H_rows = (H_net->forward((uniq / duration_ - 0.5).unsqueeze(1)) * scale_).index_select(0, inverse.flatten());
  }
  return (W_rows * H_rows).sum(1);
}

void ImplicitNMFImpl::project() {
  if (!H_.defined() || options.h_floor() <= 0 || !H_.requires_grad()) return;
  torch::NoGradGuard no_grad;
  const double floor = std::log(std::expm1(options.h_floor()));  // softplus⁻¹(h_floor)
  H_.clamp_min_(floor);
  for (auto& j : joint_) j.H.clamp_min_(floor);
}

torch::Tensor ImplicitNMFImpl::reconstruct() { return torch::mm(W_on_grid(), activations(times_)); }

torch::Tensor ImplicitNMFImpl::loss(const TrainingData& data) {
  torch::Tensor mask = data.mask.defined() ? data.mask.reshape({-1}) : data.mask;
  const torch::Tensor V = predict(data.X);  // fills grid_cache_ for data.X
  if (!mask.defined() && divergence_.is_kl() && divergence_.eps() == 0.0) {
    // KL = Σ V̂ − x·log V̂ + Σ x·log x − x: the data term is computed once per data tensor.
    torch::Tensor& constant = data.X.size(1) == 4 ? joint_cache_.kl_constant : grid_cache_.kl_constant;
    const torch::Tensor x = data.X.select(1, 2);
    if (!constant.defined()) constant = (at::xlogy(x, x) - x).sum();
    return (V - at::xlogy(x, V)).sum() + constant;
  }
  return divergence_.value(data.X.select(1, 2), V, mask);
}

void ImplicitNMFImpl::init_activations(const TrainingData& data, uint64_t seed) {
  torch::NoGradGuard no_grad;
  const torch::Tensor X = data.X.to(frequencies_.options());
  // Means over every sample; in a data-parallel run, local sums summed over ranks over the
  // global count, so every rank (and one process) gets the same initial scale.
  auto mean_of = [&](const torch::Tensor& v) {
    if (!data.sharded()) return v.mean().item<double>();
    torch::Tensor sum = v.sum().reshape({1}).to(torch::kFloat64);
    data.sum_over_shards(sum);
    return sum.item<double>() / static_cast<double>(data.shard->total);
  };
  const double target = mean_of(X.select(1, 2));
  require(target > 0, "iN-NMF: the data values are all zero");
  if (options.activations() == ImplicitActivations::Matrix && X.size(1) == 4) {
    // Joint sizes: each size's activations match the mean of its own rows (|X| grows with
    // the window length). Sums and counts over every rank's rows.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    std::vector<torch::Tensor> R;
    for (size_t r = 0; r <= joint_.size(); ++r) {
      torch::Tensor H = size_view(r).H;
      R.push_back(at::rand({options.rank(), H.size(1)}, gen, torch::kFloat64).add_(0.5).to(H.options()));
      H.copy_(inverse_softplus(R.back()));
    }
    const torch::Tensor V = predict(X);
    const JointIndex& g = joint_index_of(X);
    for (size_t r = 0; r <= joint_.size(); ++r) {
      torch::Tensor sums = torch::stack({X.select(1, 2).index_select(0, g.rows[r]).sum(), V.index_select(0, g.rows[r]).sum()})
                               .to(torch::kFloat64);
      data.sum_over_shards(sums);
      const double value = sums[0].item<double>(), model = sums[1].item<double>();
      if (value <= 0) continue;  // no rows of this size (anywhere): its H stays at its random start
      size_view(r).H.copy_(inverse_softplus(R[r] * (value / std::max(model, 1e-30))));
    }
    joint_cache_ = {};
  } else if (options.activations() == ImplicitActivations::Matrix) {
    // H spans the whole frame grid (times_ is the global grid in a data-parallel run).
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const torch::Tensor R = at::rand({options.rank(), times_.size(0)}, gen, torch::kFloat64).add_(0.5).to(H_.options());
    H_.copy_(inverse_softplus(R));
    const double current = mean_of(predict(X));
    H_.copy_(inverse_softplus(R * (target / std::max(current, 1e-30))));
  } else {
    scale_.fill_(1.0);
    scale_.fill_(target / std::max(mean_of(predict(X)), 1e-30));
  }
}

void ImplicitNMFImpl::check_data(const TrainingData& data) const {
  const torch::Tensor& X = data.X;
  const bool joint = X.defined() && X.dim() == 2 && X.size(1) == 4;
  require(X.defined() && X.dim() == 2 && (X.size(1) == 3 || (joint && !joint_.empty())),
          std::string("iN-NMF data must be S×3 rows (time s, frequency Hz, value)") +
              (joint_.empty() ? "" : " or S×4 rows (…, DFT size) for joint DFT sizes") + ", got " +
              (X.defined() ? shape_string(X) : "nothing"));
  require(X.size(0) >= 1, "iN-NMF data has no samples");
  const torch::Tensor finite = X.slice(1, 0, 2).isfinite().all(1);
  if (!finite.all().item<bool>()) {
    const int64_t row = (~finite).nonzero()[0][0].item<int64_t>();
    throw Error("iN-NMF data: row " + std::to_string(row) + " has a non-finite time or frequency");
  }
  divergence_.check_data(X.select(1, 2), "iN-NMF data values (column 3)");
  const torch::Tensor t = X.select(1, 0).to(torch::kFloat64), f = X.select(1, 1).to(torch::kFloat64);
  check_frequencies(f, "the data's frequency grid");
  // Each row's frame grid: the training size's, or (S×4) that of its own DFT size.
  const torch::Tensor group = joint ? group_of(X.select(1, 3)) : torch::zeros({X.size(0)}, torch::kLong);
  if (options.activations() == ImplicitActivations::Matrix) {
    for (size_t r = 0; r <= joint_.size(); ++r) {
      const torch::Tensor rows = group.eq(static_cast<int64_t>(r)).nonzero().flatten();
      if (rows.numel() == 0) continue;
      const SizeView v = size_view(r);
      const double t0 = v.t0, dt = v.dt;
      const int64_t N = v.frames;
      const torch::Tensor tr = t.index_select(0, rows);
      const torch::Tensor n = torch::round((tr - t0) / dt);
      const torch::Tensor off = (tr - (t0 + dt * n)).abs() > 1e-3 * dt;
      const torch::Tensor outside = (n < 0) | (n > N - 1) | off;
      if (outside.any().item<bool>()) {
        const int64_t i = outside.nonzero()[0][0].item<int64_t>(), row = rows[i].item<int64_t>();
        throw Error("iN-NMF data: time " + num(t[row].item<double>()) + " s (row " + std::to_string(row) +
                    ") is not on the model's frame grid t0 + n·dt (t0 = " + num(t0) + " s, dt = " + num(dt) + " s, " +
                    std::to_string(N) + " frames" + (r == 0 ? "" : " of DFT size " + std::to_string(v.n_fft)) +
                    "); irregular times need activations: implicit");
      }
      if (r == 0) continue;
      const torch::Tensor& bins = v.frequencies;
      if (!grid_index(bins.to(torch::kFloat64).cpu(), f.index_select(0, rows).cpu()).defined())
        throw Error("iN-NMF data: rows of DFT size " + std::to_string(v.n_fft) + " are off that size's frequency bins (" +
                    std::to_string(bins.size(0)) + " bins up to " + num(bins[-1].item<double>()) + " Hz)");
    }
  }
  if (data.mask.defined())
    require(data.mask.numel() == X.size(0), "iN-NMF mask has " + std::to_string(data.mask.numel()) +
                                                " weights but the data has " + std::to_string(X.size(0)) + " samples");
}

torch::Tensor ImplicitNMFImpl::coordinates() const {
  return torch::tensor({options.sample_rate(), f_lo_, f_hi_, duration_}, torch::kFloat64);
}

NamedTensors ImplicitNMFImpl::factors() {
  torch::NoGradGuard no_grad;
  NamedTensors out;
  out.insert("W", W_on_grid().detach());
  if (options.spectral_kernel()) {
    out.insert("D", density().detach());
    out.insert("density_frequencies", density_grid_.detach().clone());
    out.insert("kernel_glide", kernel_glide_.detach().clone());
  }
  out.insert("H", activations(times_).detach());
  // softplus⁻¹(H) is not bitwise invertible: the raw parameter makes a reload exact.
  if (H_.defined()) out.insert("H_raw", H_.detach().clone());
  const torch::Tensor D = joint_.empty() ? torch::Tensor() : density().detach();
  for (auto& j : joint_) {
    const std::string tag = "_nfft" + std::to_string(j.n_fft);
    out.insert("W" + tag, through_kernel(cast_like(j.kernel_cast, j.kernel, D), D));
    out.insert("H" + tag, torch::softplus(j.H).detach());
    out.insert("H_raw" + tag, j.H.detach().clone());
  }
  out.insert("frequencies", frequencies_.detach().clone());
  out.insert("times", times_.detach().clone());
  out.insert("coordinates", coordinates());
  out.insert("scale", scale_.detach().clone());
  for (const auto& p : W_net->named_parameters(true)) out.insert("W_net." + p.key(), p.value().detach());
  for (const auto& b : W_net->named_buffers(true)) out.insert("W_net." + b.key(), b.value().detach());
  if (H_net) {
    for (const auto& p : H_net->named_parameters(true)) out.insert("H_net." + p.key(), p.value().detach());
    for (const auto& b : H_net->named_buffers(true)) out.insert("H_net." + b.key(), b.value().detach());
  }
  return out;
}

FactorDescriptions ImplicitNMFImpl::describe_factors() {
  FactorDescriptions out;
  out.push_back(FactorDescription("W", FactorRole::Dictionary, "templates W_k(f) on the training grid", FactorPlot::Image)
                    .with_grid("frequencies"));
  if (options.spectral_kernel()) {
    out.emplace_back("D", FactorRole::Other, "spectral densities D_k(nu) (spectral_kernel; W = D seen through the window)");
    out.emplace_back("density_frequencies", FactorRole::Grid, "frequency grid of D (Hz)");
    out.emplace_back("kernel_glide", FactorRole::Other, "relative glide rate of the lines (1/s): extra spread of D at longer windows");
  }
  out.push_back(FactorDescription("H", FactorRole::Activations, "activations", FactorPlot::Image).with_grid("times"));
  if (H_.defined()) out.emplace_back("H_raw", FactorRole::Other, "softplus^-1(H), for an exact reload");
  // model.joint_n_fft: every further training size keeps its own activations.
  for (const auto& j : joint_) {
    const std::string n = std::to_string(j.n_fft), tag = "_nfft" + n;
    out.emplace_back("W" + tag, FactorRole::Other, "templates seen through the window of joint training size " + n);
    out.emplace_back("H" + tag, FactorRole::Other, "activations at joint training size " + n);
    out.emplace_back("H_raw" + tag, FactorRole::Other, "softplus^-1(H) at joint training size " + n + ", for an exact reload");
  }
  out.emplace_back("frequencies", FactorRole::Grid, "training frequency grid (Hz)");
  out.emplace_back("times", FactorRole::Grid, "frame / sample times (s)");
  out.emplace_back("coordinates", FactorRole::Other, "[sample rate, trained f_min, f_max, duration]");
  out.emplace_back("scale", FactorRole::Other, "output scale of the implicit activations (H_net)");
  for (const auto& p : W_net->named_parameters(true)) out.emplace_back("W_net." + p.key(), FactorRole::Network, "dictionary network weights");
  for (const auto& b : W_net->named_buffers(true)) out.emplace_back("W_net." + b.key(), FactorRole::Network, "dictionary network weights");
  if (H_net) {
    for (const auto& p : H_net->named_parameters(true)) out.emplace_back("H_net." + p.key(), FactorRole::Network, "activation network weights");
    for (const auto& b : H_net->named_buffers(true)) out.emplace_back("H_net." + b.key(), FactorRole::Network, "activation network weights");
  }
  return out;
}

void ImplicitNMFImpl::set_factor(const std::string& name, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  require(value.defined() && value.isfinite().all().item<bool>(), "iN-NMF factor " + name + " must be finite");
  if (name == "W" || name == "frequencies" || name == "times" || name == "D" || name == "density_frequencies" ||
      (name == "H" && !H_.defined()))
    return;
  if (name == "coordinates") {
    require(value.numel() == 4, "iN-NMF factor coordinates must have 4 entries, got " + std::to_string(value.numel()));
    const torch::Tensor c = value.to(torch::kFloat64).cpu().flatten();
    require(c[0].item<double>() > 0 && c[3].item<double>() > 0, "iN-NMF coordinates must be positive");
    const bool rate_changed = c[0].item<double>() != options.sample_rate();
    options.sample_rate(c[0].item<double>());
    if (options.spectral_kernel() && rate_changed) {
      density_grid_.copy_(torch::linspace(0.0, options.sample_rate() / 2, density_grid_.size(0), torch::kFloat64));
      kernel_train_ = signal::SpectralKernel(options.kernel_window(), options.kernel_n_fft(), options.sample_rate())
                          .matrix(frequencies_, density_grid_);
      kernel_cast_ = torch::Tensor();
      refresh_joint_kernels();
    }
    f_lo_ = c[1].item<double>();
    f_hi_ = c[2].item<double>();
    if (options.activations() == ImplicitActivations::Implicit) duration_ = c[3].item<double>();
    warned_range_ = false;
    return;
  }
  for (auto& j : joint_) {
    const std::string tag = "_nfft" + std::to_string(j.n_fft);
    if (name == "W" + tag || name == "frequencies" + tag || name == "times" + tag) return;
    if (name != "H" + tag && name != "H_raw" + tag) continue;
    set_matrix_activations(j.H, name, value, name == "H_raw" + tag);
    return;
  }
  torch::Tensor target;
  if (name == "H" || name == "H_raw") {
    require(H_.defined(), "iN-NMF factor " + name + " exists only with activations: matrix");
    set_matrix_activations(H_, name, value, name == "H_raw");
    return;
  }
  if (name == "kernel_glide") {
    require(value.numel() == 1 && value.item<double>() >= 0, "iN-NMF kernel_glide must be one number >= 0");
    if (!options.spectral_kernel()) return;  // a template without a kernel has no glide
    options.kernel_glide(value.item<double>());
    kernel_glide_.fill_(value.item<double>());
    refresh_joint_kernels();
    return;
  }
  if (name == "scale") {
    require(value.numel() == 1 && value.item<double>() > 0, "iN-NMF scale must be one positive number");
    scale_.fill_(value.item<double>());
    return;
  }
  for (auto* net : {&W_net, &H_net}) {
    if (!*net) continue;
    const std::string prefix = net == &W_net ? "W_net." : "H_net.";
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string key = name.substr(prefix.size());
    // Earlier versions: one module per network, "<k>.siren.layers.0.weight" etc.
    const size_t dot = key.find('.');
    if (dot != std::string::npos && dot > 0 && key.find_first_not_of("0123456789") == dot) {
      const int64_t k = std::stoll(key.substr(0, dot));
      require(k < (*net)->count, "iN-NMF factor " + name + ": this model has " + std::to_string((*net)->count) +
                                     " network(s) (rank and separate_networks must match)");
      require((*net)->set_network_tensor(k, key.substr(dot + 1), value), "iN-NMF has no factor '" + name + "'");
      return;
    }
    auto params = (*net)->named_parameters(true);
    auto buffers = (*net)->named_buffers(true);
    if (auto* p = params.find(key)) target = *p;
    else if (auto* b = buffers.find(key)) target = *b;
  }
  require(target.defined(), "iN-NMF has no factor '" + name + "' (W_net.*, H_net.*, H, scale, coordinates)");
  require(value.sizes() == target.sizes(), name + " is " + shape_string(value) + " but the model needs " +
                                               shape_string(target) + " (different network options?)");
  target.copy_(value.to(target.options()));
}

void ImplicitNMFImpl::load_dictionary(const NamedTensors& source, const std::string& path) {
  const std::string hint = " (rank, network width/depth/features and separate_networks must match the run that learnt it)";
  // The names this model saves, or the per-network names of earlier versions.
  std::vector<std::string> names;
  for (const auto& p : W_net->named_parameters(true)) names.push_back("W_net." + p.key());
  for (const auto& b : W_net->named_buffers(true)) names.push_back("W_net." + b.key());
  if (!source.find(names.front())) {
    std::vector<std::string> legacy;
    for (int64_t k = 0; k < W_net->count; ++k)
      for (const auto& n : W_net->network_tensor_names()) legacy.push_back("W_net." + std::to_string(k) + "." + n);
    if (source.find(legacy.front())) names = legacy;
  }
  for (const auto& n : names) {
    const torch::Tensor* v = source.find(n);
    require(v != nullptr, path + ": has no dictionary weight " + n + hint);
    try {
      set_factor(n, *v);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
  }
  // The glide measured on the dictionary's training audio belongs with its densities.
  if (const torch::Tensor* g = source.find("kernel_glide")) set_factor("kernel_glide", *g);
  const torch::Tensor* c = source.find("coordinates");
  require(c != nullptr, path + ": has no 'coordinates' (not an iN-NMF factors file?)");
  const double duration = duration_;
  set_factor("coordinates", *c);
  duration_ = duration;  // time coordinates belong to the new data, not to the dictionary's
}

void ImplicitNMFImpl::pretty_print(std::ostream& stream) const {
  stream << "factorch::ImplicitNMF(K=" << options.rank() << ", fs=" << options.sample_rate()
         << " Hz, F=" << frequencies_.size(0) << ", N=" << times_.size(0) << ", activations=" << implicit_activations_name(options.activations())
         << ", divergence=" << divergence_.name() << (options.separate_networks() ? ", one network per component" : "")
         << (options.fixed_dictionary() ? ", fixed dictionary" : "");
  if (!joint_.empty()) {
    stream << ", trained at n_fft " << options.kernel_n_fft();
    for (const auto& j : joint_) stream << " + " << j.n_fft;
  }
  stream << ")";
}

}  // namespace factorch
