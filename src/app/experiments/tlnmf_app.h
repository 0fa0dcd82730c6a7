#pragma once
// TL-NMF in the app: its signals (loaded once into the run's Dataset), the builder, the
// separation of the user's audio (`factorch separate`) and the report of `factorch train`.
//   tlnmf_entry.cpp       keys, builder (restarts), checks made before training
//   tlnmf_data.cpp        data.input / data.synthetic → TLNMFSignals (the DatasetPart)
//   tlnmf_separation.cpp  masks on ΦY → Φᵀ → overlap-add → sources for the separation step, `separate`
//   tlnmf_baselines.cpp   DCT-NMF and supervised STFT IS-NMF baselines (separated, scored by the step)
//   tlnmf_report.cpp      atoms, plots, the GCM paper's repeated protocol; the step writes
//                         sources/ and metrics.json (shared schema, TL-NMF's extras in "details")
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "app/config.h"
#include "app/dataset.h"
#include "app/run.h"
#include "factorch/separation/separation_step.h"
#include "factorch/eval/table.h"
#include "factorch/models/tlnmf.h"

namespace factorch {

namespace app {
struct SeparationResult;
}
namespace distributed {
class Communicator;
}

/// The signals of a tlnmf config: the mixture(s) the model is fitted to, the clean sources
/// when known (synthetic data, or data.references), and for supervised mode the clean
/// training signals whose frames make the reference dictionary. Loaded once per run.
struct TLNMFSignals : app::DatasetPart {
  torch::Tensor mixtures;                ///< R × T
  torch::Tensor sources;                 ///< R × S × T (undefined when unknown)
  torch::Tensor training;                ///< supervised: S × T_train clean training signals
  torch::Tensor window;                  ///< M
  int64_t hop = 0;
  double sample_rate = 0;
  std::vector<std::string> source_names;

  int64_t frame_length() const { return window.size(0); }
  /// R × M × N frames of the mixtures (TrainingData.X of the model).
  torch::Tensor frames() const;
  /// Frames [begin, end) of every realisation (R × M × (end − begin)), equal to those of
  /// frames(), made from the samples under them only (a data-parallel rank's share).
  torch::Tensor frames(int64_t begin, int64_t end) const;
  /// N, the number of frames of the mixtures.
  int64_t frame_count() const;
  /// Supervised reference frames [Y_1 … Y_S] (M × ΣN_s) and the column count of each source.
  std::pair<torch::Tensor, std::vector<int64_t>> reference_frames() const;
};

/// Builds the signals from data.* keys: data.input (a WAV file) or data.synthetic: harmonic_notes.
TLNMFSignals tlnmf_signals(const Config& config);
/// The run's Dataset: the frames (M×N, or R×M×N for several realisations) and the signals.
app::Dataset load_tlnmf_data(const Config& config);
/// The entry's load_shard (data-parallel training, no report): the signals whole, this rank's
/// balanced contiguous share of the frames, marked as a shard.
app::Dataset load_tlnmf_shard(const Config& config, const std::shared_ptr<distributed::Communicator>& communicator);
/// The signals of a Dataset loaded by load_tlnmf_data (a bare matrix has none: an error).
const TLNMFSignals& tlnmf_signals_of(const app::Dataset& data);

/// Builds (with model.restarts) after checking the config against the data.
std::shared_ptr<FactorModelImpl> build_tlnmf(const Config& config, const app::Dataset& data);
/// A copy of `config` with overrides (Config copies share their YAML tree, so re-parse).
Config tlnmf_derived_config(const Config& config, const std::vector<std::string>& overrides);

/// Source signals of realisation r: Wiener masks on ΦY (see separate_frames), Φᵀ and
/// overlap-add; one T-sample signal per source, in the model's source order.
std::vector<torch::Tensor> tlnmf_separate(TLNMFImpl& model, const TLNMFSignals& signals, int64_t r,
                                          const std::vector<int64_t>& component_source = {});

/// Every realisation's separation as the separation step (app/separation_step.h) takes it:
/// mixture "realisation<r>" (unnamed when there is one), with its mixture signal and, when
/// known, its references. Supervised estimates are named after data.train's sources;
/// unsupervised ones "component<k>" (the step's permutation search finds each one's source).
std::vector<separation::SeparatedMixture> tlnmf_separated(TLNMFImpl& model, const TLNMFSignals& signals,
                                                   const std::vector<int64_t>& component_source = {});

/// The separation step's options for TL-NMF's estimates: nothing written, known assignment
/// when supervised (else BSS Eval's permutation search), the config's WAV format.
separation::SeparationStepOptions tlnmf_step_options(const Config& config, const TLNMFImpl& model, const TLNMFSignals& signals);

/// Scores of a run over R realisations, averaged over them (the GCM paper's figures).
struct RealisationScores {
  torch::Tensor sdr, sir, sar;  ///< S, dB, mean over realisations (references in order)
  static RealisationScores of(const std::vector<eval::MetricsTable>& realisations);
};

/// Separates and scores every realisation (nothing written); references required.
RealisationScores tlnmf_evaluate(TLNMFImpl& model, const TLNMFSignals& signals,
                                 const std::vector<int64_t>& component_source = {});

/// DCT-NMF: the same model with Φ fixed to the DCT, trained on the same data into
/// out_dir/baselines/dct_nmf, every realisation separated; nullopt (said on stdout) if its
/// training diverged.
std::optional<std::vector<separation::SeparatedMixture>> tlnmf_dct_baseline(const Config& config, const app::Dataset& data,
                                                                     const std::vector<int64_t>& component_source,
                                                                     const std::string& out_dir);

/// Baseline of supervised separation: IS-NMF on the power STFT of the mixture (same frame
/// length, hop and window as the config) with the fixed dictionary [|STFT(training_s)|²],
/// activations by trainer.max_iter MU sweeps (λ·M/N_1 sparsity), Wiener masks on the STFT.
/// Every realisation separated, estimates in data.train's order.
std::vector<separation::SeparatedMixture> supervised_stft_isnmf(const Config& config, const TLNMFSignals& signals);

/// Frequency (Hz) of the spectral peak of each row of `atoms` (zero-padded FFT, parabolic
/// interpolation of the log-magnitude peak).
std::vector<double> atom_peak_frequencies(const torch::Tensor& atoms, double sample_rate);

/// The GCM paper's protocol (Sec. III-C): the experiment repeated model.repeats times with
/// new realisations and initialisations (`first` and `first_dct` are repetition 0); writes
/// "protocol" into `details` (metrics.json's "details") and prints mean (std) over repetitions.
void tlnmf_protocol(const Config& config, const RealisationScores& first,
                    const std::optional<RealisationScores>& first_dct, const TLNMFSignals& signals, eval::Table& details);

/// `factorch separate` for tlnmf: loads and checks everything, trains, writes
/// DIR/sources/<name>.wav and, with references, DIR/metrics.json.
app::SeparationResult separate_tlnmf(const Config& config, const app::RunOptions& options);

/// The report of `factorch train`: separation and scores, baselines, protocol, atoms, plots.
void report_tlnmf(const Config& config, FactorModelImpl& model, const app::Dataset& data, const std::string& out_dir);

}  // namespace factorch
