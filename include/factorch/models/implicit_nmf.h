#pragma once
// Implicit neural NMF (iN-NMF, "Rethinking NMF with implicit neural representations"):
//   V(t, f) ≈ Σ_k W_k(f) · H_k(t)
// with each W_k an implicit function of frequency (an ImplicitMLP: Fourier features → sine
// layers → softplus) and H either a plain nonnegative K×N matrix on a regular frame grid
// (softplus-parametrised, "matrix") or implicit functions of time ("implicit").
//
// Data: TrainingData.X is S×3 rows (time s, frequency Hz, value), rows_are_samples = true,
// so any time–frequency sampling works (STFT of any size, constant-Q bins, user samples).
//
// Coordinates (shared by every DFT size and sampling of one sample rate):
//   frequency  u_f = f / fs − 0.5      (fs = options.sample_rate; [0, fs/2] → [−0.5, 0])
//   time       u_t = t / duration − 0.5 (implicit H only)
// Frequencies outside [0, fs/2] are an error (the networks are periodic in u_f with period 1,
// and the DFT aliases there anyway). Frequencies inside that interval but outside the range
// the dictionary was trained on ("coordinates" factor) give one warning on stderr: W is
// extrapolated there.
//
// The networks depend only on f (or t): each evaluation runs them on the distinct
// coordinates of a batch (a lookup into the training grid when possible) and gathers, so a
// mini-batch costs O(S·K) plus O(F) network evaluations.
//
// Joint resolutions (spectral_kernel, matrix activations): add_resolution(n, …) also trains
// the one density on the spectrogram of the same signal at DFT size n, with its own
// activations "H_nfft<n>". Such data has a fourth column, the DFT size of each row's analysis
// (S×4: time, frequency, value, n_fft); S×3 rows are all at the training size kernel_n_fft.
// A density trained on one size learns its lines where that size's bins put them; seen
// through two windows, it has to put them where both agree (configs/innmf_speech.yaml).
//
// Loss: the shared β-divergence (KL by default) between values and V̂, summed over samples.
// No MU form (autograd only). Resolution transfer: load the W_net.* weights and the
// "coordinates" of a trained model into a model built for other data, fixed_dictionary, and
// fit only H (see load_dictionary()).
#include <string>
#include <utility>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "factorch/divergence.h"
#include "factorch/models/factor_model.h"
#include "factorch/models/networks/mlp.h"
#include "factorch/models/networks/batched_mlp.h"
#include "factorch/models/hand_gradients.h"

namespace factorch {

/// iN-NMF's activations: a K×N matrix on a regular frame grid, or implicit functions of time.
enum class ImplicitActivations { Matrix, Implicit };
/// "matrix" | "implicit"; else factorch::Error ("activations must be matrix or implicit, got '…'").
ImplicitActivations implicit_activations_from_name(const std::string& name);
std::string implicit_activations_name(ImplicitActivations activations);

struct ImplicitNMFOptions {
  ImplicitNMFOptions(int64_t rank, double sample_rate) : rank_(rank), sample_rate_(sample_rate) {}
  TORCH_ARG(int64_t, rank);                          ///< K
  TORCH_ARG(double, sample_rate);                    ///< fs in Hz: frequency coordinate f/fs − 0.5
  TORCH_ARG(double, beta) = 1.0;                     ///< divergence (1: generalised KL)
  TORCH_ARG(double, eps) = 0.0;
  TORCH_ARG(nn::ImplicitMLPOptions, w_net) = {};     ///< in/out features are set by the model
  TORCH_ARG(nn::ImplicitMLPOptions, h_net) = {};     ///< implicit activations only
  TORCH_ARG(bool, separate_networks) = true;         ///< one network per component (paper) or one with K outputs
  TORCH_ARG(ImplicitActivations, activations) = ImplicitActivations::Matrix;
  TORCH_ARG(bool, fixed_dictionary) = false;         ///< W networks frozen: fit activations only
  TORCH_ARG(bool, fixed_activations) = false;
  /// Matrix H is kept ≥ h_floor (project()): H = softplus(raw) underflows to exactly 0, with
  /// a zero gradient, once raw < −88 (float32), and no optimiser can revive it; Rprop's
  /// growing steps (up to 50) get there in a few dozen epochs for every activation a frame
  /// does not need, freezing that frame's pattern of zeros while W still changes.
  TORCH_ARG(double, h_floor) = 1e-13;
  /// Spectral-kernel templates: the W networks give a density D_k(ν) = net_k(ν)^(2/compression)
  /// on a fine frequency grid and W_k(f) = (K_n·D_k)(f)^(compression/2), K_n the |window transform|² kernel of the
  /// analysis window of size n (signal::SpectralKernel). Training uses n = kernel_n_fft; other
  /// resolutions sample D_k through their own window (dictionary(f, n_fft)), so spectral peaks
  /// take the width of the window in use.
  TORCH_ARG(bool, spectral_kernel) = false;
  TORCH_ARG(std::string, kernel_window) = "sine";  ///< analysis window (data.transform.window in the app)
  TORCH_ARG(int64_t, kernel_n_fft) = 0;            ///< training window length (data.transform.n_fft in the app)
  TORCH_ARG(int64_t, kernel_oversampling) = 4;     ///< density grid points per training bin
  TORCH_ARG(double, compression) = 0.5;            ///< data are |STFT|^compression
  /// Relative glide rate r (1/s) of the lines (signal/frequency_glide.h): at a DFT size whose
  /// window lasts longer than the training one, D is first spread by a Gaussian of std
  /// ν·r·sqrt(d² − d_train²) (d: rms durations of the windows), the extra smearing of gliding
  /// partials that a longer window sees. 0: stationary lines. Kept in the buffer "kernel_glide".
  TORCH_ARG(double, kernel_glide) = 0.0;
};

/// clone() (torch::nn::Cloneable) is a deep copy: options, networks, activations (joint DFT
/// sizes included), grids and kernels; the clone's parameters train where the original's do,
/// and cloning does not draw from the default random generator.
class ImplicitNMFImpl : public FactorModelImpl, public HandGradients, public torch::nn::Cloneable<ImplicitNMFImpl> {
 public:
  /// `frequencies` (F, Hz): the training frequency grid (distinct values, e.g. the STFT bins),
  /// on which factors() samples W. `times` (N, s): matrix mode: the regular frame times
  /// (H is K×N); implicit mode: the training times (H sampled there by factors()).
  ImplicitNMFImpl(const ImplicitNMFOptions& options, const torch::Tensor& frequencies, const torch::Tensor& times);

  /// Builds the networks (fresh random weights), the activations (H = 1) and the buffers.
  void reset() override;
  std::shared_ptr<torch::nn::Module> clone(const torch::optional<torch::Device>& device = torch::nullopt) const override;
  /// Sets the activations so that the mean of V̂ matches the mean data value (H random in
  /// [0.5, 1.5]·c for matrix H, an output scale for implicit H). Uses `seed`. Data-parallel
  /// (data.shard): the means are over every rank's samples, so the result does not depend on
  /// the number of ranks; every parameter (networks, matrix H) is shared: the model is a sum
  /// over samples, a rank's loss the sum over its rows, and their gradients are summed over
  /// ranks by the trainer. The grids (frequencies, times) must be the whole run's.
  void init_activations(const TrainingData& data, uint64_t seed);

  std::string type() const override { return "innmf"; }
  /// V̂ on the training grid (F × N): dictionary(frequencies) · activations(times).
  torch::Tensor reconstruct() override;
  torch::Tensor loss(const TrainingData& data) override;
  /// Hand-written gradients (implicit_nmf_gradients.cpp) for matrix activations without the
  /// spectral kernel, KL (β = 1, eps 0, no mask), samples on a band of the training grid and
  /// networks without trainable features: one forward pass keeping sin and cos of every
  /// layer, then GEMMs. Anything else: autograd on loss().
  bool has_gradients(const TrainingData& data) override;
  torch::Tensor gradients(const TrainingData& data, bool with_loss) override;
  void check_data(const TrainingData& data) const override;
  /// Keeps matrix H ≥ h_floor (see ImplicitNMFOptions::h_floor).
  void project() override;
  NamedTensors factors() override;
  FactorDescriptions describe_factors() override;
  /// Network weights ("W_net.…", "H_net.…": the stacked tensors of nn::BatchedImplicitMLP), "H" and its raw parameter "H_raw" =
  /// softplus⁻¹(H) (matrix mode; "H_raw" wins over "H", so a reload is bitwise exact),
  /// "scale", "coordinates".
  /// "W", "frequencies", "times" (and "H" in implicit mode) are sampled from the networks or
  /// the grid: setting them is accepted and ignored, so init_from a run's factors.pt works.
  /// Per-network names of earlier versions ("W_net.<k>.siren.layers.0.weight", …) load into
  /// network k.
  void set_factor(const std::string& name, const torch::Tensor& value) override;
  void pretty_print(std::ostream& stream) const override;

  /// Joint training (spectral_kernel and matrix activations only): the model also fits data
  /// rows whose fourth column is `n_fft` (≠ kernel_n_fft), on that size's bins `frequencies`
  /// (Hz) and regular frame times `times` (s), with its own activations: parameter
  /// "H_nfft<n>" (raw, softplus as H), buffers "frequencies_nfft<n>", "times_nfft<n>".
  /// Call before init_activations() and before an optimiser sees the parameters.
  void add_resolution(int64_t n_fft, const torch::Tensor& frequencies, const torch::Tensor& times);
  /// The DFT sizes added by add_resolution, in order.
  std::vector<int64_t> joint_n_fft() const;

  /// W sampled at `frequencies` (Hz, any grid) → F × K, ≥ 0. Error outside [0, fs/2].
  /// With spectral_kernel, as seen through the analysis window of size `n_fft` (0: the
  /// training size); without, `n_fft` is ignored.
  torch::Tensor dictionary(const torch::Tensor& frequencies, int64_t n_fft = 0);
  /// spectral_kernel: the densities D (G × K) on density_frequencies() (G, Hz).
  torch::Tensor density();
  const torch::Tensor& density_frequencies() const { return density_grid_; }
  /// H at `times` (s) → K × N: grid lookup (matrix mode; off-grid times are an error) or
  /// the time networks.
  torch::Tensor activations(const torch::Tensor& times);
  /// V̂ at the rows (time s, frequency Hz[, value]) of `samples` → S.
  torch::Tensor predict(const torch::Tensor& samples);

  /// Copies W_net.* and "coordinates" from a factors.pt/checkpoint dict; throws (naming
  /// `path`) when a weight is missing or has another shape (different network options).
  void load_dictionary(const NamedTensors& source, const std::string& path);

  /// [sample_rate, trained f_min, trained f_max, duration] (float64, CPU).
  torch::Tensor coordinates() const;
  const BetaDivergence& divergence() const { return divergence_; }
  /// The training grids (Hz, s), sorted.
  const torch::Tensor& frequencies() const { return frequencies_; }
  const torch::Tensor& times() const { return times_; }

  ImplicitNMFOptions options;
  nn::BatchedImplicitMLP W_net{nullptr};  ///< "W_net": K networks (or one with K outputs), batched
  nn::BatchedImplicitMLP H_net{nullptr};  ///< "H_net": implicit activations only

 private:
  // Where the rows of a sample tensor lie on the training grids (cached for the tensor the
  // trainer passes every epoch): f_index into frequencies_, t_index into the frame grid /
  // times_; undefined when some row is off the grid.
  struct GridIndex {
    torch::Tensor samples;  // the tensor the indices belong to (identity + version checked)
    int64_t version = -1;
    torch::Tensor f_index, t_index;
    torch::Tensor flat_index;  // (f − f_first)·N + t when most of a band of bins is sampled (V̂ = W·H there, then a gather)
    int64_t f_first = 0, f_count = 0;  // the band: bins [f_first, f_first + f_count)
    bool whole_grid = false;   // the rows are the whole band, bin-major: no gather
    torch::Tensor kl_constant; // Σ x·log x − x of the values (β = 1), computed on first use
  };
  const GridIndex& grid_index_of(const torch::Tensor& samples);
  torch::Tensor H_on_grid();  // K × N on times_
  torch::Tensor W_on_grid();  // F × K on frequencies_
  torch::Tensor through_kernel(const torch::Tensor& K, const torch::Tensor& D) const;
  torch::Tensor frequency_coordinate(const torch::Tensor& f) const;
  // |window|² kernel of DFT size n at `f` on the density grid, with the glide spread of a
  // window longer than the training one (float64 CPU).
  torch::Tensor window_kernel(const torch::Tensor& f, int64_t n) const;

  // A further training DFT size (add_resolution).
  struct Resolution {
    int64_t n_fft = 0;
    torch::Tensor frequencies, times;  // buffers: its bins (Hz) and frame times (s)
    torch::Tensor H;                   // parameter: raw K × N_n activations
    double t0 = 0, dt = 1;
    torch::Tensor kernel, kernel_cast; // F_n × G (float64 CPU) and its copy in the parameters' dtype
  };
  std::vector<Resolution> joint_;
  // Training size r of S×4 data (0: kernel_n_fft, r ≥ 1: joint_[r − 1]): its DFT size, bins,
  // regular frame grid and raw activations (handles sharing the model's tensors).
  struct SizeView {
    int64_t n_fft;
    torch::Tensor frequencies;
    double t0, dt;
    int64_t frames;
    torch::Tensor H;
  };
  SizeView size_view(size_t r) const;
  void refresh_joint_kernels();
  // S×4 rows: per resolution (0: the training size, r: joint_[r − 1]) the rows it holds and
  // their flat index into its V̂ (F_n × N_n); `order` puts the groups back in row order.
  struct JointIndex {
    torch::Tensor samples;
    int64_t version = -1;
    std::vector<torch::Tensor> rows, flat;
    std::vector<bool> whole;  // group r's rows are its whole V̂, bin-major: no gather
    torch::Tensor order;  // undefined when the rows are already grouped in resolution order
    torch::Tensor kl_constant;
  };
  JointIndex joint_cache_;
  const JointIndex& joint_index_of(const torch::Tensor& samples);
  torch::Tensor predict_joint(const torch::Tensor& samples);
  // (W of group r on its bins, H of group r on its frames)
  std::pair<torch::Tensor, torch::Tensor> group_factors(size_t r);
  // Group of each row's fourth column (0 = the training size); throws naming the row otherwise.
  torch::Tensor group_of(const torch::Tensor& n_fft_column) const;
  torch::Tensor frame_index(const torch::Tensor& t) const;
  void check_frequencies(const torch::Tensor& f, const std::string& what) const;

  BetaDivergence divergence_;
  torch::Tensor H_;              // "H": raw K×N (matrix mode), H = softplus(H_)
  torch::Tensor frequencies_;    // "frequencies" buffer: training grid (Hz)
  torch::Tensor times_;          // "times" buffer: frame times / training times (s)
  torch::Tensor scale_;          // "scale" buffer: V̂ = scale · Σ W H (implicit H; 1 for matrix H)
  double f_lo_ = 0, f_hi_ = 0;   // frequency range the dictionary was trained on
  double t0_ = 0, dt_ = 1;       // matrix mode frame grid
  double duration_ = 1;          // implicit mode time scale
  mutable bool warned_range_ = false;
  GridIndex grid_cache_;
  // gradients(): W_net's forward tape, kept so that every epoch reuses its buffers.
  nn::BatchedImplicitMLPImpl::Tape w_tape_;
  // spectral_kernel: density grid (buffer "density_frequencies"), the training kernel on
  // frequencies_ (F × G, float64 CPU, recomputed from the options) and its copy in the
  // parameters' dtype/device.
  torch::Tensor density_grid_, kernel_train_, kernel_cast_, kernel_glide_;
};
TORCH_MODULE(ImplicitNMF);

}  // namespace factorch
