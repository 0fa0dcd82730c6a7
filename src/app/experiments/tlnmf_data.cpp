// TL-NMF's data, loaded once per run: the mixture(s) of data.input or data.synthetic
// (harmonic_notes realisations), their clean sources when known, and the clean training
// signals of supervised mode, framed by data.transform (n_fft = M, the size of Φ).
#include <algorithm>
#include <limits>

#include "app/audio_data.h"
#include "app/audio_shard.h"
#include "app/column_shard.h"
#include "factorch/distributed/column_shard.h"
#include "factorch/distributed/communicator.h"
#include "app/data_block.h"
#include "app/experiments/tlnmf_app.h"
#include "factorch/error.h"
#include "factorch/io/wav.h"
#include "factorch/signal/frames.h"
#include "factorch/signal/window.h"

namespace factorch {

torch::Tensor TLNMFSignals::frames() const {
  std::vector<torch::Tensor> out;
  for (int64_t r = 0; r < mixtures.size(0); ++r)
    out.push_back(signal::frame_signal(mixtures[r], frame_length(), hop, window));
  return torch::stack(out);
}

int64_t TLNMFSignals::frame_count() const { return signal::frame_count(mixtures.size(1), frame_length(), hop); }

torch::Tensor TLNMFSignals::frames(int64_t begin, int64_t end) const {
  const int64_t M = frame_length(), N = frame_count();
  require(0 <= begin && begin < end && end <= N, "tlnmf: frames [" + std::to_string(begin) + ", " +
                                                     std::to_string(end) + ") of " + std::to_string(N));
  // The samples under frames [begin, end) (frames overlap: M + (n−1)·hop of them) in the
  // zero-padded signal of frame_signal, framed alone: the same values as frames() there.
  const int64_t left = -signal::frame_offset(M, hop), T = mixtures.size(1);
  const int64_t first = begin * hop - left, length = (end - begin - 1) * hop + M;
  std::vector<torch::Tensor> out;
  for (int64_t r = 0; r < mixtures.size(0); ++r) {
    torch::Tensor piece = torch::zeros({length}, mixtures.options());
    const int64_t a = std::max<int64_t>(first, 0), b = std::min<int64_t>(first + length, T);
    if (b > a) piece.slice(0, a - first, b - first).copy_(mixtures[r].slice(0, a, b));
    out.push_back(piece.unfold(0, M, hop).t() * window.to(piece.options()).unsqueeze(1));
  }
  return torch::stack(out);
}

std::pair<torch::Tensor, std::vector<int64_t>> TLNMFSignals::reference_frames() const {
  require(training.defined(), "supervised TL-NMF needs clean training signals");
  std::vector<torch::Tensor> parts;
  std::vector<int64_t> sizes;
  for (int64_t s = 0; s < training.size(0); ++s) {
    parts.push_back(signal::frame_signal(training[s], frame_length(), hop, window));
    sizes.push_back(parts.back().size(1));
  }
  return {torch::cat(parts, 1), sizes};
}

namespace {

// The user's audio through the shared reader (data.input, data.references, data.train).
void read_user_audio(const Config& c, bool supervised, int64_t M, TLNMFSignals& sig) {
  if (!supervised && c.has("data.train"))
    c.fail("data.train", "is used in supervised mode only (set model.mode: supervised, or remove data.train)");
  if (supervised && !c.has("data.train"))
    c.fail("data.train", "is required in supervised mode (clean training audio per source)");
  const app::AudioData a = app::load_audio_data(c);
  sig.mixtures = a.mixture.unsqueeze(0);
  sig.sample_rate = a.sample_rate;
  if (a.references.defined()) sig.sources = a.references.unsqueeze(0);
  sig.source_names = a.source_names;
  if (!supervised) return;
  if (a.training.size() < 2) c.fail("data.train", "must name at least 2 sources in supervised mode");
  int64_t shortest = std::numeric_limits<int64_t>::max();
  for (size_t s = 0; s < a.training.size(); ++s) {
    if (a.training[s].size(0) < M)
      c.fail("data.train." + a.source_names[s], "has " + std::to_string(a.training[s].size(0)) +
                                                   " samples, fewer than data.transform.n_fft (" + std::to_string(M) + ")");
    shortest = std::min(shortest, a.training[s].size(0));
  }
  std::vector<torch::Tensor> t;
  for (const auto& x : a.training) t.push_back(x.narrow(0, 0, shortest));  // equal sizes: one tensor
  sig.training = torch::stack(t);
}

// The embedded harmonic_notes: data.synthetic.realisations mixtures with phases from seed + r.
void synthesise_notes(const Config& c, bool supervised, TLNMFSignals& sig) {
  if (!c.has("data.synthetic")) c.fail("data.input", "is required (a WAV file) unless data.synthetic is set");
  for (const char* k : {"data.references", "data.train"})
    if (c.has(k)) c.fail(k, "is given by data.synthetic (its clean notes)");
  const app::SyntheticParams p(c, {"harmonic_notes"});
  const int64_t R = p.integer("realisations");
  const auto seed = static_cast<uint64_t>(p.integer("seed"));
  std::vector<torch::Tensor> mix, src;
  for (int64_t r = 0; r < R; ++r) {
    const auto hm = app::harmonic_notes(p, seed + static_cast<uint64_t>(r));
    mix.push_back(hm.mixture);
    src.push_back(hm.sources);
    sig.sample_rate = hm.sample_rate;
  }
  if (supervised) {
    if (p.number("train_seconds") <= 0)
      p.fail("train_seconds", "must be > 0 in supervised mode (seconds of clean training audio per note)");
    sig.training = torch::stack(app::harmonic_training_notes(p));
  }
  sig.mixtures = torch::stack(mix);
  sig.sources = torch::stack(src);
  sig.source_names = app::harmonic_note_names(p.numbers("frequencies").size());
}

}  // namespace

namespace {

// The framing of data.transform (window, hop), checked for TL-NMF; no signal yet.
TLNMFSignals tlnmf_framing(const Config& c) {
  TLNMFSignals sig;
  const app::TransformSpec tf = app::transform_spec(c);
  const int64_t M = tf.n_fft;
  if (tf.win_length != M) c.fail("data.transform.win_length", "must equal data.transform.n_fft (the size of Φ) for tlnmf");
  if (tf.exponent != 2) c.fail("data.transform.exponent", "must be 2 for tlnmf (it models the power |ΦY|²)");
  sig.hop = tf.hop;
  sig.window = signal::window_from_name(tf.window, M, tf.tukey_alpha);
  return sig;
}

}  // namespace

TLNMFSignals tlnmf_signals(const Config& c) {
  TLNMFSignals sig = tlnmf_framing(c);
  const int64_t M = sig.frame_length();
  const bool supervised = c.string("model.mode") == "supervised";
  if (c.has("data.input")) read_user_audio(c, supervised, M, sig);
  else synthesise_notes(c, supervised, sig);
  if (sig.mixtures.size(1) < M)
    c.fail("data.transform.n_fft", "(" + std::to_string(M) + ") is longer than the signal (" + std::to_string(sig.mixtures.size(1)) + " samples)");
  return sig;
}

app::Dataset load_tlnmf_data(const Config& c) {
  auto sig = std::make_shared<TLNMFSignals>(tlnmf_signals(c));
  app::Dataset d;
  d.matrix.X = sig->frames();
  if (d.matrix.X.size(0) == 1) d.matrix.X = d.matrix.X[0];
  d.part = sig;
  return d;
}

namespace {

// An unsupervised run on a WAV: this rank's frames from only the samples under them (a seek
// into the file, app/audio_shard.h), framed as frames() frames the whole signal. The signals
// keep no mixture (and no references: a data-parallel run trains only, it does not separate).
app::Dataset load_wav_frames_shard(const Config& c, const std::shared_ptr<distributed::Communicator>& comm) {
  if (c.has("data.train"))
    c.fail("data.train", "is used in supervised mode only (set model.mode: supervised, or remove data.train)");
  auto sig = std::make_shared<TLNMFSignals>(tlnmf_framing(c));
  const std::vector<std::string> inputs = app::resolve_audio_paths(c, "data.input", c.strings("data.input"));
  if (inputs.size() != 1)
    c.fail("data.input", "must be one mixture for model.type tlnmf, got " + std::to_string(inputs.size()) + " files");
  const int64_t M = sig->frame_length();
  io::AudioInfo info;
  try {
    info = io::read_wav_info(inputs[0]);
  } catch (const Error& e) {
    c.fail("data.input", e.what());
  }
  if (info.frames < M)
    c.fail("data.transform.n_fft", "(" + std::to_string(M) + ") is longer than the signal (" + std::to_string(info.frames) + " samples)");
  sig->sample_rate = info.sample_rate;
  const int64_t N = signal::frame_count(info.frames, M, sig->hop);
  if (N < comm->world_size())
    c.fail("data.transform.hop", "gives " + std::to_string(N) + " frames, fewer than the " +
                                     std::to_string(comm->world_size()) + " ranks");
  comm->require_same("frames of the signal (realisations x frame length x frames)", "1x" + std::to_string(M) + "x" + std::to_string(N));
  const distributed::ColumnShard shard = distributed::ColumnShard::split(N, comm->rank(), comm->world_size());
  torch::Tensor segment;
  try {
    segment = app::read_frame_segment(inputs[0], app::mono_read_options(c), shard, M, sig->hop)[0];
  } catch (const Error& e) {
    c.fail("data.input", e.what());
  }
  app::Dataset d;
  d.matrix.X = segment.unfold(0, M, sig->hop).t() * sig->window.to(segment.options()).unsqueeze(1);
  distributed::attach_shard(d.matrix, shard, comm);
  d.part = sig;
  return d;
}

}  // namespace

app::Dataset load_tlnmf_shard(const Config& c, const std::shared_ptr<distributed::Communicator>& comm) {
  require(comm != nullptr, "load_tlnmf_shard: no communicator");
  if (c.has("data.input") && c.string("model.mode") != "supervised") return load_wav_frames_shard(c, comm);
  // Embedded signals and supervised runs (whose clean training signals every rank uses): the
  // signals are read (or synthesised) whole, as one process does; only this rank's frames are
  // made, from the samples under them.
  auto sig = std::make_shared<TLNMFSignals>(tlnmf_signals(c));
  const int64_t N = sig->frame_count();
  if (N < comm->world_size())
    c.fail("data.transform.hop", "gives " + std::to_string(N) + " frames, fewer than the " +
                                     std::to_string(comm->world_size()) + " ranks");
  comm->require_same("frames of the signal (realisations x frame length x frames)",
                     std::to_string(sig->mixtures.size(0)) + "x" + std::to_string(sig->frame_length()) + "x" +
                         std::to_string(N));
  const distributed::ColumnShard shard = distributed::ColumnShard::split(N, comm->rank(), comm->world_size());
  app::Dataset d;
  d.matrix.X = sig->frames(shard.begin, shard.end);
  if (d.matrix.X.size(0) == 1) d.matrix.X = d.matrix.X[0];
  distributed::attach_shard(d.matrix, shard, comm);
  d.part = sig;
  return d;
}

const TLNMFSignals& tlnmf_signals_of(const app::Dataset& data) {
  require(data.part != nullptr, "tlnmf: the data has no signals (load it with the tlnmf entry's load_data)");
  return data.get<TLNMFSignals>();
}

}  // namespace factorch
