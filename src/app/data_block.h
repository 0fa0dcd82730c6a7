#pragma once
// The `data:` block of every config, declared once for every model (`factorch config data`):
//
//   data:
//     input: mix.wav            # mixture(s): a WAV, a list, a directory or a glob; or one .npy
//     channel: 0 / downmix: true
//     references: {voice: v.wav, piano: p.wav}     # clean sources (lists: one per mixture)
//     train: {voice: [v1.wav, voices/], piano: ["p*.wav"]}   # clean training audio per source
//     synthetic:                # or an embedded signal, chosen by name, with its own parameters
//       signal: harmonic_notes
//       seconds: 3
//     transform:                # the one time-frequency transform block
//       kind: stft              # stft | dct | cqt
//       n_fft: 1024             # frame size: FFT size, DCT/TL-NMF frame length M
//       win_length: 0           # 0: n_fft
//       hop: 0                  # 0: half the window length
//       window: hann
//       tukey_alpha: 0.5
//       exponent: 2             # V = |X|^exponent: 2 power, 1 magnitude, 0.5 compressed
//
// ConfigSchema refuses a key declared twice, so a model cannot bring back a private spelling
// of one of these concepts: a model reads them through TransformSpec and SyntheticParams.
#include <cstdint>
#include <string>
#include <vector>

#include "app/config.h"
#include "factorch/signal/stft.h"

namespace factorch::app {

/// Declares every data.* key (the same names and defaults for every model).
void add_data_keys(ConfigSchema& schema);

/// data.transform.*, resolved (win_length and hop filled in) and checked.
struct TransformSpec {
  std::string kind = "stft";  ///< stft | dct | cqt
  int64_t n_fft = 1024;       ///< FFT size / frame length M
  int64_t win_length = 1024;  ///< ≤ n_fft
  int64_t hop = 512;          ///< ≤ win_length
  std::string window = "hann";
  double tukey_alpha = 0.5;
  double exponent = 2;        ///< V = |X|^exponent
  double cqt_f_min = 55;
  int cqt_bins_per_octave = 24;

  /// For an STFT of another size (e.g. evaluation at other resolutions): n_fft, with the
  /// window length and the hop scaled in proportion.
  signal::StftOptions stft(int64_t n_fft_override = 0) const;
  /// Exponent p such that V^p is a power (Wiener masks are built from model parts raised to it).
  double power_exponent() const { return 2.0 / exponent; }
};

/// Reads data.transform.*; errors name the key ("data.transform.hop must not exceed ...").
TransformSpec transform_spec(const Config& config);

/// The embedded signal of data.synthetic: its name and its parameters, each with the signal's
/// own default when the config does not set it. A parameter the signal does not use is an error.
class SyntheticParams {
 public:
  /// Throws naming data.synthetic.signal when absent or not one of `allowed` (empty: any).
  SyntheticParams(const Config& config, const std::vector<std::string>& allowed = {});

  const std::string& signal() const { return signal_; }
  double number(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  std::string string(const std::string& key) const;
  std::vector<double> numbers(const std::string& key) const;
  std::vector<int64_t> integers(const std::string& key) const;
  /// seconds · sample_rate, rounded.
  int64_t samples(const std::string& seconds_key = "seconds") const;
  /// "data.synthetic.KEY" for errors.
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

 private:
  std::string text(const std::string& key) const;
  const Config& config_;
  std::string signal_;
};

/// The names of the embedded signals and, for each, the parameters it takes with their defaults
/// (for `factorch config data` and the errors).
std::string synthetic_signals_doc();

/// A list of WAV files, directories (their .wav/.flac files, sorted) and globs (* and ?, in the
/// file name) → the files, in order. Throws naming `key` when an entry matches nothing.
std::vector<std::string> resolve_audio_paths(const Config& config, const std::string& key,
                                             const std::vector<std::string>& entries);

/// {name: [files, dirs, globs]} (or {name: file}) of the config, in the order written.
std::vector<std::pair<std::string, std::vector<std::string>>> source_lists(const Config& config, const std::string& key);

}  // namespace factorch::app
