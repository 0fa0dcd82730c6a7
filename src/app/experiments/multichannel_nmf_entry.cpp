// model.type: multichannel_nmf — instantaneous-mixing multichannel NMF on a multichannel WAV
// (or an embedded stereo mixture of two harmonic notes); report and `factorch separate`:
// per-source images (sources/<name>.wav, all channels; names from data.references, else
// source1, source2, …) and, when the true images are known, metrics.json (bss_eval_images).
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "factorch/distributed/column_shard.h"
#include "factorch/distributed/communicator.h"
#include "factorch/error.h"
#include "factorch/io/wav.h"
#include "factorch/signal/stft.h"
#include "factorch/signal/synthetic.h"
#include "factorch/models/multichannel_nmf.h"
#include "app/audio_shard.h"
#include "app/data_block.h"
#include "app/run.h"
#include "app/separation.h"
#include "factorch/separation/separation_step.h"
#include "app/experiments/registry.h"

namespace factorch {

namespace {

namespace fs = std::filesystem;
const std::vector<std::string> kModel = {"multichannel_nmf"};

void add_keys(ConfigSchema& s) {
  s.add("model.sources", KeyType::Integer, "number of sources J").def("2").at_least(1).for_models(kModel);
  s.add("model.rank", KeyType::Integer, "NMF components per source").def("4").at_least(1).for_models(kModel);
  s.add("model.beta", KeyType::Beta, "β of the divergence on each channel's power spectrogram (is: Ozerov & Févotte)")
      .def("is").for_models(kModel);
  s.add("model.eps", KeyType::Number, "ε added to data and model inside the divergence").def("0.0").at_least(0)
      .for_models(kModel);
}

struct Multichannel : app::DatasetPart {
  torch::Tensor mixture;  // I × T
  torch::Tensor images;   // J × I × T (undefined when unknown)
  std::vector<std::string> names;  // of the images (data.references), empty for stereo_notes
  int rate = 0;
};

signal::StftOptions stft_options(const Config& c) {
  const app::TransformSpec t = app::transform_spec(c);
  if (t.kind != "stft" || t.exponent != 2)
    c.fail("data.transform", "must be an STFT power spectrogram (kind: stft, exponent: 2) for multichannel_nmf");
  return t.stft();
}

Multichannel load_signal(const Config& c) {
  Multichannel m;
  if (c.has("data.synthetic")) {
    const app::SyntheticParams p(c, {"stereo_notes"});
    const auto freqs = p.numbers("frequencies");
    const auto gains = p.numbers("mixing");
    const auto J = static_cast<int64_t>(freqs.size());
    if (J < 1) p.fail("frequencies", "must list at least one source");
    if (gains.empty() || gains.size() % J != 0)
      p.fail("mixing", "must have channels × " + std::to_string(J) + " gains (one per source and channel), got " +
                           std::to_string(gains.size()));
    const int64_t I = static_cast<int64_t>(gains.size()) / J, T = p.samples();
    if (T < 64) p.fail("seconds", "gives " + std::to_string(T) + " samples, fewer than 64");
    m.rate = static_cast<int>(std::lround(p.number("sample_rate")));
    std::vector<torch::Tensor> src;
    for (int64_t j = 0; j < J; ++j) {
      // Overlapping on/off patterns: source j starts at j·T/(J+1) and stops at (j+2)·T/(J+1).
      signal::Envelope env{{{j * T / (J + 1), std::min(T, (j + 2) * T / (J + 1))}}, 64};
      try {
        src.push_back(signal::harmonic_source(freqs[j], m.rate, T, static_cast<int>(p.integer("harmonics")),
                                              p.number("decay"), env, p.integer("seed") + j));
      } catch (const Error& e) {
        p.fail("frequencies", std::string("(stereo_notes): ") + e.what());
      }
    }
    const torch::Tensor A = torch::tensor(gains, torch::kFloat64).reshape({I, J});
    m.images = torch::stack(src).unsqueeze(1) * A.t().unsqueeze(2);  // J × I × T
    m.mixture = m.images.sum(0);
    return m;
  }
  if (!c.has("data.input")) c.fail("data.input", "is required (a multichannel WAV) unless data.synthetic is set");
  const auto inputs = app::resolve_audio_paths(c, "data.input", c.strings("data.input"));
  if (inputs.size() != 1) c.fail("data.input", "must be one multichannel WAV, got " + std::to_string(inputs.size()) + " files");
  io::Audio a;
  try {
    a = io::read_wav(inputs[0]);
  } catch (const Error& e) {
    c.fail("data.input", std::string("cannot be read: ") + e.what());
  }
  m.mixture = a.samples;
  m.rate = a.sample_rate;
  if (c.has("data.references")) {
    std::vector<torch::Tensor> imgs;
    for (const auto& [name, files] : app::source_lists(c, "data.references")) {
      const std::string key = "data.references." + name;
      if (files.size() != 1) c.fail(key, "must be one WAV (the source's image), got " + std::to_string(files.size()));
      const std::string& r = files[0];
      io::Audio ref;
      try {
        ref = io::read_wav(r);
      } catch (const Error& e) {
        c.fail(key, std::string("cannot be read: ") + e.what());
      }
      if (ref.channels() != a.channels())
        c.fail(key, "(" + r + ") has " + std::to_string(ref.channels()) + " channels but the mixture " + a.path + " has " +
                        std::to_string(a.channels()));
      if (ref.frames() != a.frames() || ref.sample_rate != a.sample_rate)
        c.fail(key, "(" + r + ") must have the mixture's length and sample rate");
      imgs.push_back(ref.samples);
      m.names.push_back(name);
    }
    m.images = torch::stack(imgs);
  }
  return m;
}

app::Dataset load_data(const Config& c) {
  auto m = std::make_shared<Multichannel>(load_signal(c));
  const auto o = stft_options(c);
  std::vector<torch::Tensor> V;
  for (int64_t i = 0; i < m->mixture.size(0); ++i) V.push_back(signal::power(signal::stft(m->mixture[i], o)));
  app::Dataset d;
  d.matrix.X = torch::stack(V);
  d.part = std::move(m);
  return d;
}

// Data-parallel runs: this rank's frames of every channel's power spectrogram, from only the
// samples under them (app/audio_shard.h); the embedded stereo_notes are generated whole and
// sliced (they are short). Only training is sharded: data.references are not read.
app::Dataset load_shard(const Config& c, const std::shared_ptr<distributed::Communicator>& comm) {
  const signal::StftOptions o = stft_options(c);
  const int world = comm->world_size();
  auto require_frames = [&](const std::string& key, int64_t frames) {
    if (frames < world)
      c.fail(key, "gives " + std::to_string(frames) + " frames (columns of V), fewer than the " + std::to_string(world) +
                      " ranks");
  };
  distributed::ColumnShard shard;
  TrainingData data;
  if (c.has("data.synthetic")) {
    const torch::Tensor V = load_data(c).matrix.X;
    require_frames("data.synthetic", V.size(2));
    shard = distributed::ColumnShard::split(V.size(2), comm->rank(), world);
    data.X = shard.slice(V, 2).contiguous();
  } else {
    if (!c.has("data.input")) c.fail("data.input", "is required (a multichannel WAV) unless data.synthetic is set");
    const auto inputs = app::resolve_audio_paths(c, "data.input", c.strings("data.input"));
    if (inputs.size() != 1) c.fail("data.input", "must be one multichannel WAV, got " + std::to_string(inputs.size()) + " files");
    int64_t total = 0;
    try {
      total = signal::frame_count(io::read_wav_info(inputs[0]).frames, o.frame_length(), o.hop);
    } catch (const Error& e) {
      c.fail("data.input", std::string("cannot be read: ") + e.what());
    }
    require_frames("data.input", total);
    shard = distributed::ColumnShard::split(total, comm->rank(), world);
    torch::Tensor segment;
    try {
      segment = app::read_frame_segment(inputs[0], {}, shard, o.frame_length(), o.hop);  // I × span
    } catch (const Error& e) {
      c.fail("data.input", std::string("cannot be read: ") + e.what());
    }
    signal::StftOptions inside = o;
    inside.padding = signal::FramePadding::None;  // the segment holds the padding's zeros already
    std::vector<torch::Tensor> V;
    for (int64_t i = 0; i < segment.size(0); ++i) V.push_back(signal::power(signal::stft(segment[i], inside)));
    data.X = torch::stack(V);
  }
  comm->require_same("shapes of V (channels x F x frames)", std::to_string(data.X.size(0)) + "x" +
                                                                std::to_string(data.X.size(1)) + "x" +
                                                                std::to_string(shard.total));
  distributed::attach_shard(data, shard, comm);
  app::Dataset d;
  d.matrix = std::move(data);
  return d;
}

std::shared_ptr<FactorModelImpl> build(const Config& c, const TrainingData& data) {
  // Validate before computing: metrics need one true image per source.
  const int64_t J = c.integer("model.sources");
  const bool synthetic = c.has("data.synthetic");
  const size_t images = synthetic ? app::SyntheticParams(c).numbers("frequencies").size()
                                  : (c.has("data.references") ? app::source_lists(c, "data.references").size() : 0);
  if (images > 0 && static_cast<int64_t>(images) != J)
    c.fail(synthetic ? "data.synthetic.frequencies" : "data.references",
           "gives " + std::to_string(images) + " source images but model.sources is " + std::to_string(J));
  MultichannelNMFOptions o(data.X.size(0), data.X.size(1), data.X.size(2), c.integer("model.sources"),
                           c.integer("model.rank"));
  o.beta(BetaDivergence::from_name(c.string("model.beta")).beta()).eps(c.number("model.eps"));
  auto model = std::make_shared<MultichannelNMFImpl>(o);
  model->init(data, static_cast<uint64_t>(c.integer("model.seed")));  // sharded: the whole run's init, sliced
  return model;
}

// Source images by the library's multichannel Wiener filter, through the shared separation step: one
// image per source (all channels) in sources/<name>.wav and, when the true images are known,
// bss_eval_images (SDR, ISR, SIR, SAR) in metrics.json with the per-channel SDRs as details.
separation::SeparationScores separate_images(const Config& c, MultichannelNMFImpl& model, const Multichannel& m,
                                      const std::string& out_dir, bool quiet) {
  const auto o = stft_options(c);
  std::vector<torch::Tensor> X;
  for (int64_t i = 0; i < m.mixture.size(0); ++i) X.push_back(signal::stft(m.mixture[i], o));
  const auto images = model.source_images(torch::stack(X));
  separation::SeparatedMixture s;
  s.estimates = separation::image_estimates(  // J × I × T
      images, [&](const torch::Tensor& Xi) { return signal::istft(Xi, o, m.mixture.size(1)); });
  s.mixture = m.mixture;
  for (size_t j = 0; j < images.size(); ++j)
    s.names.push_back(j < m.names.size() ? m.names[j] : "source" + std::to_string(j + 1));
  separation::SeparationStepOptions step;
  step.out_dir = out_dir;
  step.sample_rate = m.rate;
  step.wav_format = io::wav_format_from_name(c.string("output.wav_format"));
  step.known_assignment = false;  // components are not tied to sources: permutation search
  step.quiet = quiet;
  step.per_channel_sdr = true;  // each channel's SDR beside the image metrics (details.per_channel_sdr)
  if (m.images.defined()) s.references = m.images;
  const separation::SeparationScores scores = separation::run_separation_step({s}, step);
  if (scores.scored) {
    const eval::MetricsTable& t = scores.mixtures.front();
    std::printf("multichannel_nmf: bss_eval_images per source:");
    for (size_t j = 0; j < t.size(); ++j)
      std::printf("  %s SDR %.2f ISR %.2f SIR %.2f SAR %.2f", t.names[j].c_str(), t.sdr[j], t.isr[j], t.sir[j], t.sar[j]);
    std::printf(" dB\n");
  }
  return scores;
}

void report(const Config& c, FactorModelImpl& base, const app::Dataset& data, const std::string& out_dir) {
  separate_images(c, dynamic_cast<MultichannelNMFImpl&>(base), data.get<Multichannel>(), out_dir, false);
}

// `factorch separate`: train as `factorch train` does (its report writes the sources and the
// scores), then hand the separation back to the CLI.
app::SeparationResult separate(const Config& c, const app::RunOptions& options) {
  const app::Dataset data = load_data(c);
  auto model = build_model(model_entry("multichannel_nmf"), c, data);
  app::RunResult run = app::fit_model(c, model, data.matrix, options, c.string("output.dir"));
  require(run.result.ok, "multichannel_nmf: training stopped: " + run.result.stop_reason);
  const std::string out_dir = options.write_outputs ? run.out_dir : "";
  auto& trained = dynamic_cast<MultichannelNMFImpl&>(*run.model);
  const Multichannel& m = data.get<Multichannel>();
  const separation::SeparationScores scores = separate_images(c, trained, m, out_dir, options.quiet);
  app::SeparationResult out;
  out.out_dir = run.out_dir;
  for (size_t j = 0; j < static_cast<size_t>(c.integer("model.sources")); ++j)
    out.names.push_back(j < m.names.size() ? m.names[j] : "source" + std::to_string(j + 1));
  out.has_metrics = scores.scored;
  if (scores.scored) {
    out.table = scores.mixtures.front();
    out.reference_names = out.table.names;
  }
  return out;
}

}  // namespace

ModelEntry multichannel_nmf_entry() {
  ModelEntry e{"multichannel_nmf",
               "multichannel IS-NMF with instantaneous mixing (Ozerov & Févotte): per-source NMF + mixing powers, "
               "separation into source images",
               add_keys, on_matrix(build), load_data, report, {}, {false, true, true, true}, separate};
  e.load_shard = load_shard;
  return e;
}

}  // namespace factorch
