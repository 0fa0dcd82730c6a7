#pragma once
// Helpers of the innmf registry entry, exposed for tests and benchmarks. One concept per file:
//   innmf_data.cpp        signals and samples, loaded once into InnmfData (the run's DatasetPart)
//   innmf_report.cpp      activation fits with a fixed dictionary, the resolution-transfer table, pictures
//   innmf_separation.cpp  the paper's Algorithm 2 (supervised separation at any window size)
//   implicit_nmf_entry.cpp  model.* keys, builder, the registry entry
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "app/config.h"
#include "app/dataset.h"
#include "factorch/eval/metrics_table.h"
#include "factorch/eval/table.h"
#include "factorch/separation/separation_step.h"
#include "factorch/signal/stft.h"
#include "factorch/models/implicit_nmf.h"

namespace factorch::distributed {
class Communicator;
}

namespace factorch::app {
struct RunOptions;
struct SeparationResult;
}  // namespace factorch::app

namespace factorch::innmf {

struct Signal {
  torch::Tensor signal;   ///< T, float64
  double rate = 0;        ///< Hz
  torch::Tensor sources;  ///< synthetic only: one row per note (sum = signal)
};

/// The embedded toy: note k (fundamental notes[k], `harmonics` partials of amplitude decay^r)
/// sounds in the k-th of S equal slots, overlapping half of the next slot when `overlap`.
/// linewidth = 0: exact harmonic_source() notes (stationary sinusoids: their STFT peaks take
/// the window's shape, which differs between DFT sizes). linewidth > 0: each partial's phase
/// is a random walk (phase diffusion), giving Lorentzian lines of that half-width in Hz, a
/// spectrum that, like speech, has structure broader than a DFT bin.
Signal synthetic_signal(const std::vector<double>& notes, double rate, double seconds, int harmonics, double decay,
                        uint64_t seed, bool overlap = true, double linewidth = 0.0);

/// data.input (WAV, downmixed) or the synthetic toy of data.synthetic (signal: note_sequence).
Signal load_signal(const Config& config);

/// samples (data.input is one S×3 .npy), stft or cqt (data.transform.kind of audio input).
std::string representation(const Config& config);

struct Spectrogram {
  torch::Tensor complex;      ///< STFT (F × N)
  torch::Tensor V;            ///< |STFT|^data.transform.exponent
  torch::Tensor frequencies;  ///< F, Hz
  torch::Tensor times;        ///< N, s (frame centres)
  signal::StftOptions options;
};

/// STFT of size n_fft with the config's window/compression; the hop keeps data.transform.hop/n_fft.
Spectrogram stft_spectrogram(const Config& config, const Signal& signal, int64_t n_fft);

/// model.kernel_glide for a model learnt on `training`: 0 without spectral_kernel, the
/// configured number, or (auto) signal::glide_rate of its STFT at data.transform.n_fft.
double kernel_glide(const Config& config, const Signal& training);

/// (time, frequency, value) rows of a spectrogram.
torch::Tensor samples_of(const Spectrogram& spectrogram);

/// The training samples of `signal`: its STFT at data.transform.n_fft, and with
/// model.joint_n_fft also at each of those sizes, every row then carrying its DFT size in a
/// fourth column (ImplicitNMFImpl::add_resolution).
torch::Tensor stft_training_samples(const Config& config, const Signal& signal);
/// model.joint_n_fft: adds each size's grids (and activations) to `model`, for `signal`.
void add_joint_sizes(const Config& config, ImplicitNMFImpl& model, const Signal& signal);
/// model.kernel_oversampling: the integer given, or for auto 4 points per bin of the longest
/// training size (data.transform.n_fft, model.joint_n_fft), rounded up. One-line error otherwise.
int64_t kernel_oversampling(const Config& config);
/// model.joint_n_fft (and model.kernel_oversampling) against the config and the shortest
/// training signal (samples), before training.
void check_joint_n_fft(const Config& config, const std::string& representation, int64_t shortest_signal);
/// The rows of the training size (all rows of S×3 data).
torch::Tensor training_size_rows(const Config& config, const torch::Tensor& samples);

/// The model options of a config (rank, divergence, networks, activations mode).
ImplicitNMFOptions model_options(const Config& config, double sample_rate, bool regular_times);

/// KL (the NMF objective, β = 1) of V with the fixed dictionary W after the library's
/// activation fit (FactorModelImpl::fit_activations: `iterations` MU sweeps of H from the
/// per-column level start): the optimum of a convex problem, so a fair "after convergence" figure.
double transferred_kl(const torch::Tensor& V, const torch::Tensor& W, int64_t iterations);

/// KL of rank-`rank` matrix NMF (MU, random init from `seed`) after `iterations`.
double fit_nmf(const torch::Tensor& V, int64_t rank, int64_t iterations, uint64_t seed, torch::Tensor* W = nullptr);

struct TransferRow {
  int64_t n_fft = 0, bins = 0, frames = 0;
  double innmf = 0;  ///< KL with the model's W sampled at this size, H fitted
  double nmf = 0;    ///< KL of NMF trained at this size
  double ratio = 0;  ///< innmf / nmf
};

/// The paper's Table 1 on `signal`: one row per DFT size.
std::vector<TransferRow> transfer_table(const Config& config, ImplicitNMFImpl& model, const Signal& signal,
                                        const std::vector<int64_t>& sizes, int64_t iterations);

/// Supervised separation data: clean training audio per source, a mixture, references if known.
struct SeparationSet {
  std::vector<std::string> names;     ///< sources, in output order
  std::vector<torch::Tensor> training;  ///< one clean training signal per source (T_s, float64)
  torch::Tensor mixture;              ///< T
  torch::Tensor references;           ///< S × T, undefined when unknown
  double rate = 0;
};

/// The run's own data (Dataset::part): what the builder and the report need, loaded once.
struct InnmfData : app::DatasetPart {
  std::string representation;  ///< samples | stft | cqt
  double rate = 0;             ///< Hz
  Signal signal;               ///< stft/cqt: the analysed signal
  /// The embedded toy's separation set (two sources of two notes), when model.separation_n_fft
  /// asks for the separation report of `factorch train`.
  std::shared_ptr<const SeparationSet> separation;
  /// Data-parallel runs: the distinct times and frequencies of every rank's samples (the
  /// model's grids); undefined in a single process (the builder takes them from the data).
  torch::Tensor grid_times, grid_frequencies;
};

/// The embedded toy's two-source separation set (data.synthetic, ≥ 4 notes).
SeparationSet toy_separation_set(const Config& config);
/// The user's set: data.input (mixture), data.train (clean audio per source), data.references.
SeparationSet user_separation_set(const app::AudioData& audio);

/// The run's data, loaded once (the entry's load_data): samples in matrix, InnmfData in part.
app::Dataset load_innmf_dataset(const Config& config);

/// The entry's load_shard (data-parallel runs): this rank's balanced contiguous share of the
/// sample rows (a samples .npy: only those rows are read; audio: analysed whole, then its rows,
/// i.e. a range of frequency bins), the run's grids gathered from every rank, marked as a shard.
app::Dataset load_innmf_shard(const Config& config, const std::shared_ptr<distributed::Communicator>& communicator);

/// One window size of Algorithm 2: the separated mixture (sources named after the set's) and,
/// with references, its scores.
struct SeparationAtSize {
  int64_t n_fft = 0;
  separation::SeparatedMixture separated;  ///< estimates S × T, names, references when known
  bool has_metrics = false;
  eval::MetricsTable innmf;       ///< iN-NMF (dictionaries learnt at data.transform.n_fft, sampled here)
  bool has_baseline = false;
  eval::MetricsTable nmf;         ///< supervised NMF re-trained at this size (baseline)
};

/// The paper's Algorithm 2 through the library's separation routine (separation::separate):
/// one implicit dictionary per source learnt on its clean training audio at
/// data.transform.n_fft, sampled at each of `sizes`, H fitted on the mixture there
/// (NMFImpl::fit_activations: KL MU with W fixed, model.report_iter sweeps), ratio masks
/// V_s/Σ_j V_j on the mixture's STFT, sources by inverse STFT, BSS Eval (permutation search)
/// against the references; with `nmf_baseline`, the same with supervised NMF re-trained at
/// each size. `dictionaries`, when
/// given, receives the learnt models (one per source, CPU float64).
std::vector<SeparationAtSize> separate_at_sizes(const Config& config, const SeparationSet& set,
                                                const std::vector<int64_t>& sizes, bool nmf_baseline,
                                                std::vector<std::shared_ptr<ImplicitNMFImpl>>* dictionaries = nullptr);

/// The separation report of `factorch train` (model.separation_n_fft): Algorithm 2 against
/// supervised NMF re-trained per size, a table on stdout and out_dir/separation.json.
void separation_report(const Config& config, const SeparationSet& set, const std::string& out_dir);

/// separation.json as a long table: attributes trained_n_fft, metric and filter_length; rows
/// "scores" of columns (n_fft, method, source, estimate, sdr, sir, sar), one per size, method
/// ("innmf", then "nmf" where scored) and source, then that method's "mean" over the sources
/// (estimate ""). Estimates are named by position ("estimate1" …). Results must be scored.
eval::Table separation_table(int64_t trained_n_fft, const std::vector<SeparationAtSize>& results);

/// `factorch separate` with model.type innmf: Algorithm 2 on data.input with data.train (or on
/// the embedded toy), at each size of model.separation_n_fft (default: data.transform.n_fft).
/// The first size writes DIR/sources/<name>.wav and DIR/metrics.json, each further size
/// DIR/n_fft<N>/sources/… and DIR/n_fft<N>/metrics.json; then DIR/mixture.wav,
/// DIR/config.resolved.yaml and DIR/checkpoint.pt (each source's dictionary model under
/// "<source>_"). Every check runs before training.
app::SeparationResult separate_innmf(const Config& config, const app::RunOptions& options);

/// The innmf report of `factorch train`: dictionary exports, transfer table, separation, pictures.
void report_innmf(const Config& config, FactorModelImpl& model, const app::Dataset& data, const std::string& out_dir);

}  // namespace factorch::innmf
