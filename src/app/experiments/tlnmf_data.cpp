// TL-NMF's data, loaded once per run: the mixture(s) of data.input or data.synthetic
// (harmonic_notes realisations), their clean sources when known, and the clean training
// signals of supervised mode, framed by data.transform (n_fft = M, the size of Φ).
#include <algorithm>
#include <limits>

#include "app/audio_data.h"
#include "app/data_block.h"
#include "app/experiments/tlnmf_app.h"
#include "factorch/error.h"
#include "factorch/io/wav.h"
#include "factorch/signal/frames.h"
#include "factorch/signal/window.h"

namespace factorch {

namespace {

torch::Tensor read_mono(const Config& c, const std::string& key, const std::string& path, int* rate) {
  io::ReadOptions ro;
  ro.downmix = true;
  try {
    io::Audio a = io::read_wav(path, ro);
    *rate = a.sample_rate;
    return a.samples[0];
  } catch (const Error& e) {
    c.fail(key, std::string("cannot be read: ") + e.what());
  }
}

}  // namespace

torch::Tensor TLNMFSignals::frames() const {
  std::vector<torch::Tensor> out;
  for (int64_t r = 0; r < mixtures.size(0); ++r)
    out.push_back(signal::frame_signal(mixtures[r], frame_length(), hop, window));
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

TLNMFSignals tlnmf_signals(const Config& c) {
  TLNMFSignals sig;
  const app::TransformSpec tf = app::transform_spec(c);
  const int64_t M = tf.n_fft;
  if (tf.win_length != M) c.fail("data.transform.win_length", "must equal data.transform.n_fft (the size of Φ) for tlnmf");
  if (tf.exponent != 2) c.fail("data.transform.exponent", "must be 2 for tlnmf (it models the power |ΦY|²)");
  sig.hop = tf.hop;
  sig.window = signal::window_from_name(tf.window, M, tf.tukey_alpha);
  const bool supervised = c.string("model.mode") == "supervised";
  if (c.has("data.input")) {
    int rate = 0;
    const auto inputs = app::resolve_audio_paths(c, "data.input", c.strings("data.input"));
    if (inputs.size() != 1) c.fail("data.input", "must be one mixture for tlnmf, got " + std::to_string(inputs.size()) + " files");
    sig.mixtures = read_mono(c, "data.input", inputs[0], &rate).unsqueeze(0);
    sig.sample_rate = rate;
    if (c.has("data.references")) {
      std::vector<torch::Tensor> srcs;
      for (const auto& [name, files] : app::source_lists(c, "data.references")) {
        const std::string key = "data.references." + name;
        if (files.size() != 1) c.fail(key, "must be one WAV (one mixture), got " + std::to_string(files.size()));
        int r2 = 0;
        srcs.push_back(read_mono(c, key, files[0], &r2));
        if (r2 != rate) c.fail(key, "(" + files[0] + ") has sample rate " + std::to_string(r2) + " Hz, the input " + std::to_string(rate));
        if (srcs.back().size(0) != sig.mixtures.size(1))
          c.fail(key, "(" + files[0] + ") has " + std::to_string(srcs.back().size(0)) + " samples, the input " +
                          std::to_string(sig.mixtures.size(1)));
        sig.source_names.push_back(name);
      }
      sig.sources = torch::stack(srcs).unsqueeze(0);
    }
    if (!supervised && c.has("data.train"))
      c.fail("data.train", "is used in supervised mode only (set model.mode: supervised, or remove data.train)");
    if (supervised) {
      if (!c.has("data.train")) c.fail("data.train", "is required in supervised mode (clean training audio per source)");
      const auto train = app::source_lists(c, "data.train");
      if (train.size() < 2) c.fail("data.train", "must name at least 2 sources in supervised mode");
      std::vector<torch::Tensor> t;
      std::vector<std::string> names;
      int64_t shortest = std::numeric_limits<int64_t>::max();
      for (const auto& [name, entries] : train) {
        const std::string key = "data.train." + name;
        std::vector<torch::Tensor> parts;
        for (const auto& p : app::resolve_audio_paths(c, key, entries)) {
          int r2 = 0;
          parts.push_back(read_mono(c, key, p, &r2));
          if (r2 != rate) c.fail(key, "(" + p + ") has sample rate " + std::to_string(r2) + " Hz, the input " + std::to_string(rate));
        }
        t.push_back(torch::cat(parts));
        if (t.back().size(0) < M)
          c.fail(key, "has " + std::to_string(t.back().size(0)) + " samples, fewer than data.transform.n_fft (" +
                          std::to_string(M) + ")");
        names.push_back(name);
        shortest = std::min(shortest, t.back().size(0));
      }
      for (auto& x : t) x = x.narrow(0, 0, shortest);  // equal sizes: one tensor
      sig.training = torch::stack(t);
      if (sig.source_names.empty()) {
        sig.source_names = names;
      } else if (sig.source_names != names) {
        // References in data.train's order: supervised source s is data.train's s-th source.
        if (sig.source_names.size() != names.size())
          c.fail("data.references", "names " + std::to_string(sig.source_names.size()) + " sources but data.train " +
                                        std::to_string(names.size()));
        std::vector<int64_t> order;
        for (const auto& n : names) {
          const auto at = std::find(sig.source_names.begin(), sig.source_names.end(), n);
          if (at == sig.source_names.end())
            c.fail("data.references", "has no reference for data.train's source '" + n + "'");
          order.push_back(at - sig.source_names.begin());
        }
        sig.sources = sig.sources.index_select(1, torch::tensor(order, torch::kLong));
        sig.source_names = names;
      }
    }
  } else {
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

const TLNMFSignals& tlnmf_signals_of(const app::Dataset& data) {
  require(data.part != nullptr, "tlnmf: the data has no signals (load it with the tlnmf entry's load_data)");
  return data.get<TLNMFSignals>();
}

}  // namespace factorch
