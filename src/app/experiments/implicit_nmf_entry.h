#pragma once
// Helpers of the innmf registry entry (implicit_nmf_entry.cpp), exposed for tests and
// benchmarks: data preparation, activation fits with a fixed dictionary, the
// resolution-transfer table.
#include <string>
#include <vector>

#include <torch/types.h>

#include "app/config.h"
#include "factorch/signal/stft.h"
#include "factorch/models/implicit_nmf.h"

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

/// data.input (WAV, downmixed) or the synthetic toy of the data.synthetic_* keys.
Signal load_signal(const Config& config);

struct Spectrogram {
  torch::Tensor complex;      ///< STFT (F × N)
  torch::Tensor V;            ///< |STFT|^data.transform.exponent
  torch::Tensor frequencies;  ///< F, Hz
  torch::Tensor times;        ///< N, s (frame centres)
  signal::StftOptions options;
};

/// STFT of size n_fft with the config's window/compression; the hop keeps data.transform.hop/n_fft.
Spectrogram stft_spectrogram(const Config& config, const Signal& signal, int64_t n_fft);

/// (time, frequency, value) rows of a spectrogram.
torch::Tensor samples_of(const Spectrogram& spectrogram);

/// The model options of a config (rank, divergence, networks, activations mode).
ImplicitNMFOptions model_options(const Config& config, double sample_rate, bool regular_times);

/// KL (the NMF objective, β = 1) after `iterations` MU updates of H with W fixed, from a
/// seeded random H; the optimum of a convex problem, so a fair "after convergence" figure.
double fit_activations(const torch::Tensor& V, const torch::Tensor& W, int64_t iterations, uint64_t seed,
                       torch::Tensor* H = nullptr);

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

}  // namespace factorch::innmf
