// iN-NMF's data, loaded once per run into InnmfData: a signal (data.input WAV, or the embedded
// note_sequence toy) turned into (time, frequency, value) samples by an STFT (|STFT|^exponent)
// or a constant-Q transform, or a user's S×3 .npy of samples (data.input: samples.npy).
#include <cmath>

#include <algorithm>
#include <fstream>
#include <optional>

#include "app/audio_data.h"
#include "app/column_shard.h"
#include "app/data_block.h"
#include "factorch/distributed/column_shard.h"
#include "factorch/distributed/communicator.h"
#include "app/experiments/implicit_nmf_entry.h"
#include "factorch/error.h"
#include "factorch/io/npy.h"
#include "factorch/io/wav.h"
#include "factorch/signal/frames.h"
#include "factorch/signal/logfreq.h"
#include "factorch/signal/stft.h"
#include "factorch/signal/synthetic.h"

namespace factorch::innmf {

namespace {

bool is_npy(const std::string& path) { return path.size() > 4 && path.substr(path.size() - 4) == ".npy"; }

// The toy brings its own sources: audio keys beside it would be silently ignored.
void refuse_user_sources(const Config& c) {
  for (const char* key : {"data.train", "data.references"})
    if (c.has(key)) c.fail(key, "is given by data.synthetic (the toy's own sources); use data.input for your audio");
}

}  // namespace

std::string representation(const Config& c) {
  if (c.has("data.input")) {
    const auto inputs = c.strings("data.input");
    if (inputs.size() == 1 && is_npy(inputs[0])) return "samples";
  }
  const std::string kind = c.string("data.transform.kind");
  if (kind == "dct") c.fail("data.transform.kind", "must be stft or cqt for innmf, got dct");
  return kind;
}

Signal synthetic_signal(const std::vector<double>& notes, double rate, double seconds, int harmonics, double decay,
                        uint64_t seed, bool overlap, double linewidth) {
  const int64_t T = std::llround(seconds * rate);
  const int64_t S = static_cast<int64_t>(notes.size());
  require(S >= 1, "synthetic signal: needs at least one note");
  Signal out;
  out.rate = rate;
  out.sources = torch::zeros({S, T}, torch::kFloat64);
  // Note k sounds in slot k of S (plus, with overlap, half of the next slot): every note is
  // heard alone and with a neighbour, so the components are identifiable.
  const int64_t slot = T / S;
  for (int64_t k = 0; k < S; ++k) {
    signal::Envelope env;
    env.fade = std::min<int64_t>(slot / 8, std::llround(0.02 * rate));
    const int64_t start = k * slot, end = std::min(T, (k + 1) * slot + (overlap ? slot / 2 : 0));
    env.active.push_back({start, k == S - 1 ? T : end});
    if (linewidth <= 0) {
      out.sources[k].copy_(signal::harmonic_source(notes[k], rate, T, harmonics, decay, env, seed * 7919 + k));
      continue;
    }
    // Phase diffusion: increments N(0, σ²) per sample give a Lorentzian line of half-width
    // σ²·fs/(4π) Hz around each partial.
    require(harmonics * notes[k] < rate / 2, "synthetic signal: harmonic " + std::to_string(harmonics) + " of " +
                                                 std::to_string(notes[k]) + " Hz is above the Nyquist frequency");
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed * 7919 + k);
    const double sigma = std::sqrt(4 * M_PI * linewidth / rate);
    const torch::Tensor n = torch::arange(T, torch::kFloat64);
    torch::Tensor x = torch::zeros({T}, torch::kFloat64);
    for (int r = 1; r <= harmonics; ++r) {
      const torch::Tensor phi = at::normal(0.0, sigma, {T}, gen, torch::kFloat64).cumsum(0);
      x += std::pow(decay, r) * torch::cos((2 * M_PI * r * notes[k] / rate) * n + phi);
    }
    out.sources[k].copy_(x * signal::envelope_signal(env, T));
  }
  out.signal = out.sources.sum(0);
  return out;
}

SeparationSet user_separation_set(const app::AudioData& a) {
  SeparationSet out;
  out.names = a.source_names;
  out.training = a.training;
  out.mixture = a.mixture;
  out.references = a.references;
  out.rate = a.sample_rate;
  return out;
}

Signal load_signal(const Config& c) {
  if (c.has("data.input")) {  // the shared loader: data.channel/downmix, rate and count checks
    const app::AudioData a = app::load_audio_data(c);
    return Signal{a.mixture, static_cast<double>(a.sample_rate), {}};
  }
  if (!c.has("data.synthetic")) c.fail("data.input", "is required (a WAV, or an S×3 samples .npy) unless data.synthetic is set");
  refuse_user_sources(c);
  const app::SyntheticParams p(c, {"note_sequence"});
  try {
    return synthetic_signal(p.numbers("frequencies"), p.number("sample_rate"), p.number("seconds"),
                            static_cast<int>(p.integer("harmonics")), p.number("decay"),
                            static_cast<uint64_t>(p.integer("seed")), true, p.number("linewidth"));
  } catch (const Error& e) {
    p.fail("frequencies", std::string("do not make a valid signal: ") + e.what());
  }
}

Spectrogram stft_spectrogram(const Config& c, const Signal& s, int64_t n_fft) {
  const signal::StftOptions o = app::transform_spec(c).stft(n_fft);
  require(n_fft <= s.signal.size(0), "iN-NMF: n_fft " + std::to_string(n_fft) + " exceeds the signal's " +
                                         std::to_string(s.signal.size(0)) + " samples");
  Spectrogram out;
  out.complex = signal::stft(s.signal, o);
  out.V = signal::magnitude(out.complex).pow(c.number("data.transform.exponent"));
  out.frequencies = signal::stft_frequencies(n_fft, s.rate);
  out.times = signal::frame_times(out.V.size(1), o.frame_length(), o.hop, s.rate);
  out.options = o;
  return out;
}

torch::Tensor samples_of(const Spectrogram& sp) {
  return signal::time_frequency_samples(sp.V, sp.frequencies, sp.times);
}

torch::Tensor stft_training_samples(const Config& c, const Signal& s) {
  const int64_t n_train = c.integer("data.transform.n_fft");
  const std::vector<int64_t> joint = c.integers("model.joint_n_fft");
  if (joint.empty()) return samples_of(stft_spectrogram(c, s, n_train));
  // A fourth column names each row's DFT size: the model keeps one H per size.
  std::vector<int64_t> sizes{n_train};
  sizes.insert(sizes.end(), joint.begin(), joint.end());
  std::vector<torch::Tensor> parts;
  for (const int64_t n : sizes) {
    const torch::Tensor X = samples_of(stft_spectrogram(c, s, n));
    parts.push_back(torch::cat({X, torch::full({X.size(0), 1}, static_cast<double>(n), X.options())}, 1));
  }
  return torch::cat(parts);
}

void add_joint_sizes(const Config& c, ImplicitNMFImpl& model, const Signal& s) {
  for (const int64_t n : c.integers("model.joint_n_fft")) {
    const Spectrogram sp = stft_spectrogram(c, s, n);
    model.add_resolution(n, sp.frequencies, sp.times);
  }
}

torch::Tensor training_size_rows(const Config& c, const torch::Tensor& X) {
  if (X.size(1) != 4) return X;
  const double n_train = static_cast<double>(c.integer("data.transform.n_fft"));
  return X.index_select(0, X.select(1, 3).eq(n_train).nonzero().flatten());
}


SeparationSet toy_separation_set(const Config& c) {
  // Two "instruments" of two notes each, with different harmonic structures; dictionaries are
  // learnt on solo renderings, the mixture uses other phases and the notes in the other order.
  refuse_user_sources(c);
  const app::SyntheticParams p(c, {"note_sequence"});
  const double rate = p.number("sample_rate");
  const double seconds = p.number("seconds");
  const std::vector<double> notes = p.numbers("frequencies");
  if (notes.size() < 4) p.fail("frequencies", "needs 4 notes for the separation report (2 per source)");
  const uint64_t seed = static_cast<uint64_t>(p.integer("seed"));
  const int harmonics = static_cast<int>(p.integer("harmonics"));
  const double lw = p.number("linewidth");
  SeparationSet out;
  out.rate = rate;
  out.names = {"source1", "source2"};
  const std::vector<std::vector<double>> src = {{notes[0], notes[2]}, {notes[1], notes[3]}};
  const std::vector<double> decays = {0.85, 0.35};  // bright vs dull source
  std::vector<torch::Tensor> refs;
  for (size_t k = 0; k < 2; ++k) {
    out.training.push_back(synthetic_signal(src[k], rate, seconds, harmonics, decays[k], seed + 100 + k, true, lw).signal);
    refs.push_back(synthetic_signal({src[k][1], src[k][0]}, rate, seconds, harmonics, decays[k], seed + 200 + k, true, lw).signal);
  }
  out.references = torch::stack(refs);
  out.mixture = out.references.sum(0);
  return out;
}

app::Dataset load_innmf_dataset(const Config& c) {
  auto part = std::make_shared<InnmfData>();
  part->representation = representation(c);
  app::Dataset out;
  TrainingData& data = out.matrix;
  data.rows_are_samples = true;
  if (part->representation != "stft") check_joint_n_fft(c, part->representation, 0);
  if (part->representation == "samples") {
    if (!c.has("data.sample_rate"))
      c.fail("data.sample_rate", "is required with a samples .npy (it sets the frequency range up to Nyquist)");
    part->rate = c.number("data.sample_rate");
    torch::Tensor X;
    try {
      X = io::load_npy(c.strings("data.input")[0]).to(torch::kFloat64);
    } catch (const Error& e) {
      c.fail("data.input", std::string("cannot be loaded: ") + e.what());
    }
    if (X.dim() != 2 || X.size(1) != 3) {
      std::string shape;
      for (int64_t i = 0; i < X.dim(); ++i) shape += (i ? "x" : "") + std::to_string(X.size(i));
      c.fail("data.input", "must be an S×3 array (time s, frequency Hz, value), got shape " + (shape.empty() ? "()" : shape));
    }
    if (X.size(0) == 0) c.fail("data.input", "has no samples");
    data.X = X;
  } else {
    if (c.has("data.input")) {
      // Read once: the mixture is the signal; clean training audio, if any, is the separation set.
      auto audio = std::make_shared<const app::AudioData>(app::load_audio_data(c));
      part->signal = Signal{audio->mixture, static_cast<double>(audio->sample_rate), {}};
      if (!audio->training.empty()) part->separation = std::make_shared<const SeparationSet>(user_separation_set(*audio));
      out.audio = audio;
    } else {
      part->signal = load_signal(c);
      if (!c.integers("model.separation_n_fft").empty())
        part->separation = std::make_shared<const SeparationSet>(toy_separation_set(c));
    }
    part->rate = part->signal.rate;
    if (part->representation == "stft") {
      const int64_t n_fft = c.integer("data.transform.n_fft");
      if (n_fft > part->signal.signal.size(0))
        c.fail("data.transform.n_fft", std::to_string(n_fft) + " exceeds the signal's " +
                                           std::to_string(part->signal.signal.size(0)) + " samples");
      check_joint_n_fft(c, part->representation, part->signal.signal.size(0));
      data.X = stft_training_samples(c, part->signal);
    } else {
      const app::TransformSpec tf = app::transform_spec(c);
      signal::ConstantQOptions o;
      o.f_min = tf.cqt_f_min;
      o.bins_per_octave = tf.cqt_bins_per_octave;
      o.hop = tf.hop;
      signal::ConstantQ cq;
      try {
        cq = signal::constant_q(part->signal.signal, part->rate, o);
      } catch (const Error& e) {
        c.fail("data.transform.cqt_f_min", e.what());
      }
      data.X = signal::time_frequency_samples(cq.magnitude().pow(tf.exponent), cq.frequencies, cq.times);
    }
  }
  out.part = part;
  return out;
}

namespace {

// Rows [begin, end) of an S×3 float32/float64 .npy (C or Fortran order), read without reading
// the other rows: one contiguous range (C order) or one per column (Fortran order).
class NpyRowReader {
 public:
  explicit NpyRowReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
    require(in_.good(), path + ": cannot open");
    in_.seekg(0, std::ios::end);
    const int64_t size = static_cast<int64_t>(in_.tellg());
    in_.seekg(0);
    std::string prefix(static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>(size, 12 + io::kMaxNpyHeader))), '\0');
    in_.read(prefix.data(), static_cast<std::streamsize>(prefix.size()));
    require(in_.gcount() == static_cast<std::streamsize>(prefix.size()), path + ": read error");
    h_ = io::parse_npy_header(prefix, path);
    require(h_.dtype == torch::kFloat64 || h_.dtype == torch::kFloat32,
            path + ": data-parallel runs read a little-endian float32/float64 .npy");
    std::string shape;
    for (size_t i = 0; i < h_.shape.size(); ++i) shape += (i ? "x" : "") + std::to_string(h_.shape[i]);
    require(h_.shape.size() == 2 && h_.shape[1] == 3,
            "must be an S×3 array (time s, frequency Hz, value), got shape " + (shape.empty() ? "()" : shape));
    require(size - h_.data_offset >= h_.nbytes, path + ": truncated (" + shape + " values expected)");
  }
  int64_t rows() const { return h_.shape[0]; }
  torch::Tensor read(int64_t begin, int64_t end) {
    const int64_t n = end - begin, item = h_.dtype == torch::kFloat64 ? 8 : 4;
    torch::Tensor out = torch::empty({h_.fortran_order ? 3 : n, h_.fortran_order ? n : 3}, h_.dtype);
    auto* dst = static_cast<char*>(out.data_ptr());
    in_.clear();
    for (int64_t j = 0; j < (h_.fortran_order ? 3 : 1); ++j) {
      const int64_t at = h_.fortran_order ? (j * rows() + begin) : begin * 3;
      const int64_t count = h_.fortran_order ? n : 3 * n;
      in_.seekg(h_.data_offset + at * item);
      in_.read(dst + j * n * item, count * item);
      require(in_.good(), path_ + ": read error");
    }
    return (h_.fortran_order ? out.t() : out).to(torch::kFloat64).contiguous();
  }

 private:
  std::string path_;
  std::ifstream in_;
  io::NpyHeader h_;
};

// The sorted distinct values of every rank's `local` column (the run's grid).
torch::Tensor distinct_over_ranks(const torch::Tensor& local, distributed::Communicator& comm) {
  const torch::Tensor mine = std::get<0>(torch::_unique2(local.contiguous(), true, false));
  torch::Tensor sizes = torch::zeros({comm.world_size()}, torch::kFloat64);
  sizes[comm.rank()] = static_cast<double>(mine.size(0));
  comm.all_reduce_sum(sizes);
  std::vector<int64_t> counts;
  for (int r = 0; r < comm.world_size(); ++r) counts.push_back(static_cast<int64_t>(sizes[r].item<double>()));
  return std::get<0>(torch::_unique2(comm.all_gather(mine, 0, counts).contiguous(), true, false));
}

}  // namespace

app::Dataset load_innmf_shard(const Config& c, const std::shared_ptr<distributed::Communicator>& comm) {
  require(comm != nullptr, "load_innmf_shard: no communicator");
  const int rank = comm->rank(), world = comm->world_size();
  app::Dataset out;
  std::shared_ptr<InnmfData> part;
  int64_t total = 0;
  distributed::ColumnShard shard;
  if (representation(c) == "samples") {
    check_joint_n_fft(c, "samples", 0);
    if (!c.has("data.sample_rate"))
      c.fail("data.sample_rate", "is required with a samples .npy (it sets the frequency range up to Nyquist)");
    part = std::make_shared<InnmfData>();
    part->representation = "samples";
    part->rate = c.number("data.sample_rate");
    std::optional<NpyRowReader> reader;
    try {
      reader.emplace(c.strings("data.input")[0]);
    } catch (const Error& e) {
      c.fail("data.input", std::string("cannot be read: ") + e.what());
    }
    total = reader->rows();
    if (total < world)
      c.fail("data.input", "has " + std::to_string(total) + " samples, fewer than the " + std::to_string(world) + " ranks");
    shard = distributed::ColumnShard::split(total, rank, world);
    try {
      out.matrix.X = reader->read(shard.begin, shard.end);
    } catch (const Error& e) {
      c.fail("data.input", std::string("cannot be read: ") + e.what());
    }
  } else {
    // Audio: the signal is read and analysed whole on every rank (the analysis is cheap next to
    // training), then each rank keeps its share of the samples' rows, which are bin-major: a
    // contiguous range of frequency bins (every frame of them).
    app::Dataset whole = load_innmf_dataset(c);
    part = std::make_shared<InnmfData>(whole.get<InnmfData>());
    total = whole.matrix.X.size(0);
    if (total < world)
      c.fail("data.input", "gives " + std::to_string(total) + " samples, fewer than the " + std::to_string(world) + " ranks");
    shard = distributed::ColumnShard::split(total, rank, world);
    out.matrix.X = shard.slice(whole.matrix.X, 0).clone();
    out.audio = whole.audio;
  }
  out.matrix.rows_are_samples = true;
  comm->require_same("the number of samples of data.input", std::to_string(total));
  // The model's grids are the whole run's: a rank's rows hold only some times (or bins). They
  // are the training size's (model.joint_n_fft's sizes bring their own, from the signal).
  const torch::Tensor main_rows = training_size_rows(c, out.matrix.X);
  part->grid_times = distinct_over_ranks(main_rows.select(1, 0), *comm);
  part->grid_frequencies = distinct_over_ranks(main_rows.select(1, 1), *comm);
  distributed::attach_shard(out.matrix, shard, comm);
  out.part = part;
  return out;
}

}  // namespace factorch::innmf
