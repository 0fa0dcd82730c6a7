// Layered NMF (model.type: lnmf) and discriminative layered NMF (model.type: dlnmf):
// configuration keys, data loading (WAV lists or the synthetic two-speaker generator),
// builders, and the dlnmf report: supervised separation of the test mixtures by NMF,
// L-NMF and DL-NMF on the same pipeline, SDR/SIR/SAR table → metrics.json and stdout.
#include <glob.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "app/data_block.h"
#include "app/run.h"
#include "factorch/error.h"
#include "factorch/eval/metrics_json.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_file.h"
#include "factorch/io/wav.h"
#include "factorch/signal/speakers.h"
#include "factorch/models/discriminative_nmf.h"
#include "factorch/models/layered_nmf.h"
#include "app/experiments/registry.h"
#include "app/experiments/supervised_separation.h"

namespace factorch {

namespace fs = std::filesystem;
using separation::Mixture;
using separation::SpeechSet;

namespace {

const std::vector<std::string> kBoth = {"lnmf", "dlnmf"};
const std::vector<std::string> kDL = {"dlnmf"};

void add_layered_keys(ConfigSchema& s) {
  s.add("model.layers", KeyType::IntegerList, "layer sizes K1..KL of X ≈ W1…WL·H (per source for dlnmf; [K] is plain NMF)")
      .def("[180, 20]").at_least(1).for_models(kBoth);
  s.add("model.beta", KeyType::Beta, "β of the divergence: euclidean (2), kl (1, the paper), is (0) or any number")
      .def("1").for_models(kBoth);
  s.add("model.eps", KeyType::Number, "ε added to data and model inside the divergence (needed for IS with zeros)")
      .def("0.0").at_least(0).for_models(kBoth);
  s.add("model.normalise", KeyType::String, "per-layer L1 column normalisation after each sweep (scale pushed into the next layer / H)")
      .choice({"l1", "none"}).def("l1").for_models(kBoth);
  s.add("model.init", KeyType::StringOrMap,
        "pre-training init of each layer: random | nndsvd | nndsvda; lnmf also takes a map {W1: w1.npy, ..., H: h.npy} "
        "(given factors replace pre-trained ones)")
      .choice({"random", "nndsvd", "nndsvda"}).def("random").for_models(kBoth);
  s.add("model.pretrain_iter", KeyType::Integer, "MU iterations of each layer's NMF in layer-wise pre-training")
      .def("100").at_least(0).for_models(kBoth);
  s.add("model.source_iter", KeyType::Integer, "joint MU fine-tuning sweeps of each source's L-NMF dictionaries")
      .def("100").at_least(0).for_models(kDL);
  s.add("model.h_iter", KeyType::Integer, "eq. 11 updates of the training-mixture activations per discriminative round")
      .def("50").at_least(0).for_models(kDL);
  s.add("model.w_iter", KeyType::Integer, "discriminative sweeps of all layers (eq. 14-16) per round; trainer.max_iter = rounds")
      .def("10").at_least(0).for_models(kDL);
  s.add("model.separation_iter", KeyType::Integer, "eq. 11 updates of a test mixture's activations")
      .def("100").at_least(1).for_models(kDL);
  s.add("model.patience", KeyType::Integer,
        "early stopping: rounds without a better validation SDR before the best round is restored (0: off)")
      .def("2").at_least(0).for_models(kDL);
  s.add("model.mask_exponent", KeyType::Number, "Wiener gain exponent p: X_s = X ⊙ S_s^p / Σ S_j^p (p = 1: eq. 19-20)")
      .def("1.0").above(0).for_models(kDL);
  s.add("model.compare", KeyType::IntegerList,
        "K_L values of the report's table (NMF with K, L-NMF and DL-NMF with last layer K); [] = the model's own K_L")
      .def("[]").at_least(1).for_models(kDL);
  s.add("model.baselines", KeyType::Boolean, "report NMF and L-NMF next to DL-NMF on the same pipeline")
      .def("true").for_models(kDL);

  s.add("data.disc_mixtures", KeyType::StringList, "discriminative-training mixtures (WAV files/dirs/globs)").for_models(kDL);
  s.add("data.disc_sources", KeyType::StringListMap, "clean sources of data.disc_mixtures: {name: [files in the same order]}").for_models(kDL);
  s.add("data.valid_mixtures", KeyType::StringList,
        "validation mixtures for early stopping (their mean SDR picks the round: list several)").for_models(kDL);
  s.add("data.valid_sources", KeyType::StringListMap, "clean sources of data.valid_mixtures").for_models(kDL);
  s.add("data.test_mixtures", KeyType::StringList, "test mixtures (separated and scored by the report)").for_models(kDL);
  s.add("data.test_sources", KeyType::StringListMap, "clean sources of data.test_mixtures").for_models(kDL);
}

// ----------------------------------------------------------------------------- data

signal::StftOptions stft_options(const Config& c) {
  const app::TransformSpec t = app::transform_spec(c);
  if (t.kind != "stft") c.fail("data.transform.kind", "must be stft for " + c.string("model.type") + ", got " + t.kind);
  if (t.exponent != 1)
    c.fail("data.transform.exponent", "must be 1 for " + c.string("model.type") +
                                          " (it factorises the magnitude spectrogram, as the paper), got " + std::to_string(t.exponent));
  const signal::StftOptions o = t.stft();
  return o;
}

struct AudioReader {
  const Config& c;
  int rate = 0;
  std::string rate_file;

  torch::Tensor read(const std::string& key, const std::string& path) {
    io::Audio a;
    try {
      io::ReadOptions o;
      o.downmix = true;
      a = io::read_wav(path, o);
    } catch (const Error& e) {
      c.fail(key, std::string("cannot be read: ") + e.what());
    }
    if (rate == 0) {
      rate = a.sample_rate, rate_file = path;
    } else if (a.sample_rate != rate) {
      c.fail(key, "(" + path + ") has sample rate " + std::to_string(a.sample_rate) + " Hz but the training audio (" +
                      rate_file + ") is " + std::to_string(rate) + " Hz");
    }
    return a.samples[0];
  }
};

std::vector<Mixture> read_mixtures(const Config& c, AudioReader& reader, const std::string& mix_key,
                                   const std::string& src_key, const std::vector<std::string>& names) {
  std::vector<Mixture> out;
  if (!c.has(mix_key)) {
    if (c.has(src_key)) c.fail(src_key, "is given but " + mix_key + " is not");
    return out;
  }
  const std::vector<std::string> files = app::resolve_audio_paths(c, mix_key, c.strings(mix_key));
  if (!c.has(src_key)) c.fail(src_key, "is required with " + mix_key + " (the clean sources of each mixture)");
  std::map<std::string, std::vector<std::string>> sources;
  for (auto& [name, list] : app::source_lists(c, src_key)) sources[name] = app::resolve_audio_paths(c, src_key + "." + name, list);
  for (const auto& [name, list] : sources)
    if (std::find(names.begin(), names.end(), name) == names.end())
      c.fail(src_key + "." + name, "is not a source of data.train");
  for (const std::string& name : names) {
    auto it = sources.find(name);
    if (it == sources.end()) c.fail(src_key, "has no files for source '" + name + "'");
    if (it->second.size() != files.size())
      c.fail(src_key + "." + name, "lists " + std::to_string(it->second.size()) + " files for " +
                                       std::to_string(files.size()) + " mixtures in " + mix_key);
  }
  for (size_t i = 0; i < files.size(); ++i) {
    Mixture m;
    m.name = fs::path(files[i]).stem().string();
    m.mixture = reader.read(mix_key, files[i]);
    std::vector<torch::Tensor> srcs;
    for (const std::string& name : names) {
      const std::string& f = sources[name][i];
      torch::Tensor x = reader.read(src_key + "." + name, f);
      if (x.size(0) != m.mixture.size(0))
        c.fail(src_key + "." + name, "(" + f + ") has " + std::to_string(x.size(0)) + " samples but its mixture " +
                                         files[i] + " has " + std::to_string(m.mixture.size(0)));
      srcs.push_back(x);
    }
    m.sources = torch::stack(srcs);
    out.push_back(std::move(m));
  }
  return out;
}

uint64_t derived_seed(int64_t seed, int kind, int64_t index) {
  return static_cast<uint64_t>(seed) * 1000003ULL + static_cast<uint64_t>(kind) * 10007ULL + static_cast<uint64_t>(index);
}

std::shared_ptr<const SpeechSet> read_speech_set(const Config& c) {
  auto set = std::make_shared<SpeechSet>();
  const bool dl = c.string("model.type") == "dlnmf";
  if (c.has("data.synthetic")) {
    const app::SyntheticParams p(c, {"speakers"});
    for (const char* k : {"data.train", "data.disc_mixtures", "data.valid_mixtures", "data.test_mixtures", "data.input"})
      if (c.has(k)) c.fail(k, "cannot be combined with data.synthetic: speakers");
    const std::vector<signal::SpeakerOptions> speakers = {signal::speaker_preset(0), signal::speaker_preset(1)};
    const double rate = p.number("sample_rate");
    if (rate < 2000) p.fail("sample_rate", "must be at least 2000 Hz for the speakers, got " + std::to_string(rate));
    const int64_t seed = p.integer("seed");
    set->sample_rate = static_cast<int>(rate);
    try {
      for (size_t s = 0; s < speakers.size(); ++s) {
        set->source_names.push_back(speakers[s].name);
        set->train.push_back({signal::speaker_signal(speakers[s], p.number("train_seconds"), rate, derived_seed(seed, 0, s))});
      }
      const double secs = p.number("mixture_seconds");
      auto make = [&](int kind, int64_t count, std::vector<Mixture>& out, const char* prefix) {
        for (int64_t i = 0; i < count; ++i) {
          const auto m = signal::speaker_mixture(speakers, secs, rate, derived_seed(seed, kind, i));
          out.push_back({prefix + std::to_string(i), m.mixture, m.sources});
        }
      };
      if (dl) {
        make(1, p.integer("disc_count"), set->disc, "disc");
        make(2, p.integer("valid_count"), set->valid, "valid");
        make(3, p.integer("test_count"), set->test, "test");
      }
    } catch (const Error& e) {
      c.fail("data.synthetic", std::string("cannot generate the speakers: ") + e.what());
    }
    return set;
  }
  if (!c.has("data.train")) c.fail("data.train", "is required (per-source training WAVs) unless data.synthetic: speakers");
  AudioReader reader{c};
  for (const auto& [name, entries] : app::source_lists(c, "data.train")) {
    const std::vector<std::string> files = app::resolve_audio_paths(c, "data.train." + name, entries);
    set->source_names.push_back(name);
    std::vector<torch::Tensor> signals;
    for (const std::string& f : files) signals.push_back(reader.read("data.train." + name, f));
    set->train.push_back(std::move(signals));
  }
  if (set->train.empty()) c.fail("data.train", "lists no sources");
  if (dl) {
    if (set->source_names.size() < 2) c.fail("data.train", "needs at least two sources for separation");
    set->disc = read_mixtures(c, reader, "data.disc_mixtures", "data.disc_sources", set->source_names);
    set->valid = read_mixtures(c, reader, "data.valid_mixtures", "data.valid_sources", set->source_names);
    set->test = read_mixtures(c, reader, "data.test_mixtures", "data.test_sources", set->source_names);
    if (set->disc.empty()) c.fail("data.disc_mixtures", "is required for dlnmf (discriminative-training mixtures)");
  }
  set->sample_rate = reader.rate;
  return set;
}

separation::PipelineOptions pipeline_options(const Config& c) {
  separation::PipelineOptions o;
  o.stft = stft_options(c);
  o.mask_exponent = c.number("model.mask_exponent");
  try {
    o.device = app::parse_device(c.string("trainer.device"));
  } catch (const Error& e) {
    throw Error(c.where("trainer.device") + ": " + e.what());
  }
  o.dtype = app::parse_dtype(c.string("trainer.dtype"));
  return o;
}

TrainingData load_lnmf(const Config& c) {
  if (c.has("data.input")) {
    if (c.has("data.synthetic") || c.has("data.train"))
      c.fail("data.input", "cannot be combined with data.synthetic or data.train");
    return app::load_training_data(c);
  }
  const auto set = read_speech_set(c);
  std::vector<torch::Tensor> all;
  for (const auto& signals : set->train) all.insert(all.end(), signals.begin(), signals.end());
  return {separation::concatenated_spectrogram(all, stft_options(c)), {}, false};
}

TrainingData load_dlnmf(const Config& c) {
  if (c.has("data.input")) c.fail("data.input", "does not apply to dlnmf (use data.train and data.*_mixtures, or data.synthetic)");
  const auto set = read_speech_set(c);
  return {separation::discriminative_matrix(set->disc, stft_options(c)), {}, false};
}

// ----------------------------------------------------------------------------- builders

LayeredNMFOptions layered_options(const Config& c, int64_t F, int64_t N) {
  LayeredNMFOptions o(F, N, c.integers("model.layers"));
  o.beta(BetaDivergence::from_name(c.string("model.beta")).beta()).eps(c.number("model.eps"));
  o.normalise(c.string("model.normalise")).pretrain_iter(c.integer("model.pretrain_iter"));
  o.seed(static_cast<uint64_t>(c.integer("model.seed")));
  const YAML::Node init = c.node("model.init");
  o.init(init.IsScalar() ? init.Scalar() : "random");
  return o;
}

std::shared_ptr<FactorModelImpl> build_lnmf(const Config& c, const TrainingData& data) {
  if (data.X.dim() != 2) c.fail("data.input", "must be a 2-D matrix for lnmf");
  auto model = std::make_shared<LayeredNMFImpl>(layered_options(c, data.X.size(0), data.X.size(1)));
  try {
    model->check_data(data);
  } catch (const Error& e) {
    c.fail(c.has("data.input") ? "data.input" : "data", e.what());
  }
  model->pretrain(data.X);
  const YAML::Node init = c.node("model.init");
  if (init.IsMap()) {
    for (const auto& kv : init) {
      const std::string name = kv.first.Scalar(), file = kv.second.Scalar();
      try {
        model->set_factor(name, io::load_tensor(file));
      } catch (const Error& e) {
        c.fail("model.init." + name, "(" + file + "): " + e.what());
      }
    }
  }
  return model;
}

DiscriminativeLayeredNMFOptions dl_options(const Config& c, const SpeechSet& set, int64_t F, int64_t N,
                                           std::vector<int64_t> layers) {
  DiscriminativeLayeredNMFOptions o(F, N, std::move(layers), static_cast<int64_t>(set.source_names.size()));
  o.source_names(set.source_names).beta(BetaDivergence::from_name(c.string("model.beta")).beta()).eps(c.number("model.eps"));
  o.h_iter(c.integer("model.h_iter")).w_iter(c.integer("model.w_iter")).separation_iter(c.integer("model.separation_iter"));
  o.normalise(c.string("model.normalise")).patience(c.integer("model.patience")).max_rounds(c.integer("trainer.max_iter"));
  return o;
}

// Per-source L-NMF dictionaries → compound model with its round-0 activations and validator.
// `first_layers`: the per-source layer-1 pre-training for layers[0] (computed here when
// empty and the model has more than one layer); the model keeps it for the report.
std::shared_ptr<DiscriminativeLayeredNMFImpl> make_dlnmf(const Config& c, const std::shared_ptr<const SpeechSet>& set,
                                                         const TrainingData& data, const std::vector<int64_t>& layers,
                                                         std::vector<PretrainedLayer> first_layers = {}) {
  const separation::PipelineOptions p = pipeline_options(c);
  std::vector<torch::Tensor> spectrograms;
  for (const auto& signals : set->train) spectrograms.push_back(separation::concatenated_spectrogram(signals, p.stft));
  LayeredNMFOptions base = layered_options(c, 1, 1);
  base.layers(layers);
  if (layers.size() > 1 && first_layers.empty()) first_layers = separation::pretrain_first_layers(spectrograms, base, p);
  const auto source_layers =
      separation::learn_source_layers(spectrograms, base, c.integer("model.source_iter"), p, first_layers);
  const int64_t F = spectrograms[0].size(0);
  auto model = separation::compose(source_layers, dl_options(c, *set, F, data.X.size(1), layers), p);
  model->set_first_layer_pretraining(std::move(first_layers));
  model->remember_initial_layers();
  model->init_activations(data.X.narrow(0, 0, F).to(p.device, p.dtype));
  if (!set->valid.empty()) {
    // Mean SDR over every validation mixture: one mixture is too noisy a guide for the round.
    auto* raw = model.get();  // the validator lives in the model: no shared_ptr cycle
    model->set_validator([raw, set, p] { return separation::evaluate(*raw, set->valid, p).mean_sdr(); });
  }
  return model;
}

std::shared_ptr<FactorModelImpl> build_dlnmf(const Config& c, const TrainingData& data) {
  if (c.string("trainer.kind") != "mu")
    c.fail("trainer.kind", "must be mu for dlnmf (its rounds alternate eq. 11 and eq. 14-16 multiplicative updates)");
  if (c.node("model.init").IsMap()) c.fail("model.init", "must be random, nndsvd or nndsvda for dlnmf");
  return make_dlnmf(c, read_speech_set(c), data, c.integers("model.layers"));
}

// ----------------------------------------------------------------------------- report

struct Row {
  std::string method;
  std::vector<int64_t> layers;
  separation::Scores scores;
};

std::string sizes_text(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

eval::Json scores_json(const separation::Scores& sc, const std::vector<std::string>& names) {
  eval::Json out = eval::Json::object();
  for (const auto& [label, t] : {std::pair<const char*, torch::Tensor>{"sdr", sc.sdr}, {"sir", sc.sir}, {"sar", sc.sar}}) {
    eval::Json per = eval::Json::object();
    for (size_t s = 0; s < names.size(); ++s) per.set(names[s], t[s].item<double>());
    per.set("mean", t.mean().item<double>());
    out.set(label, per);
  }
  return out;
}

void report_dlnmf(const Config& c, FactorModelImpl& trained, const TrainingData& data, const std::string& out_dir) {
  auto* model = dynamic_cast<DiscriminativeLayeredNMFImpl*>(&trained);
  require(model != nullptr, "dlnmf report: the trained model is not a DL-NMF");
  const auto start = std::chrono::steady_clock::now();
  const auto set = read_speech_set(c);
  if (set->test.empty()) {
    std::fprintf(stderr, "factorch: dlnmf: no test mixtures, nothing to separate\n");
    return;
  }
  const separation::PipelineOptions p = pipeline_options(c);
  const std::vector<int64_t> own = c.integers("model.layers");
  std::vector<int64_t> ks = c.integers("model.compare");
  if (ks.empty()) ks = {own.back()};
  const bool baselines = c.boolean("model.baselines");
  const TrainingData cpu_data = data.to(torch::kCPU, torch::kFloat64);
  std::vector<Row> rows;
  eval::Json training = eval::Json::array();
  std::vector<std::string> selections;  // which discriminative round each DL-NMF kept, and why

  auto lnmf_of = [&](const DiscriminativeLayeredNMFImpl& dl) {
    auto copy = std::make_shared<DiscriminativeLayeredNMFImpl>(dl.options);
    copy->to(p.device, p.dtype);
    const auto init = dl.initial_layers();
    for (size_t l = 0; l < init.size(); ++l) copy->set_factor("W" + std::to_string(l + 1), init[l]);
    return copy;
  };
  auto note_training = [&](const DiscriminativeLayeredNMFImpl& dl) {
    eval::Json j = eval::Json::object();
    j.set("layers", sizes_text(dl.options.layers()));
    j.set("rounds", dl.rounds_done());
    j.set("best_round", dl.best_round());
    j.set("kept_round", dl.best_round());
    j.set("kept_because", dl.selection_reason());
    j.set("validation_mixtures", static_cast<int64_t>(set->valid.size()));
    selections.push_back("DL-NMF [" + sizes_text(dl.options.layers()) + "]: kept round " + std::to_string(dl.best_round()) +
                         " of " + std::to_string(dl.rounds_done()) + ": " + dl.selection_reason());
    eval::Json v = eval::Json::array();
    for (double x : dl.validation_history()) v.push(x);
    j.set("validation_sdr", v);
    training.push(j);
  };

  for (const int64_t k : ks) {
    std::vector<int64_t> layers = own;
    layers.back() = k;
    if (baselines) {
      auto nmf = make_dlnmf(c, set, cpu_data, {k});
      rows.push_back({"NMF", {k}, separation::evaluate(*nmf, set->test, p)});
      if (k == own.back()) app::export_factors(nmf->factors(), (fs::path(out_dir) / "baselines" / ("nmf_K" + std::to_string(k))).string(), c.strings("output.formats"));
    }
    std::shared_ptr<DiscriminativeLayeredNMFImpl> dl;
    DiscriminativeLayeredNMFImpl* dl_model = nullptr;
    if (k == own.back()) {
      dl_model = model;
    } else {
      // Same K₁: the trained model's layer-1 pre-training is reused, not recomputed.
      dl = make_dlnmf(c, set, cpu_data, layers, layers.size() > 1 ? model->first_layer_pretraining()
                                                                    : std::vector<PretrainedLayer>{});
      app::RunOptions quiet;
      quiet.write_outputs = false;
      quiet.quiet = true;
      app::fit_model(c, dl, cpu_data, quiet, "");
      dl_model = dl.get();
    }
    if (baselines) {
      auto lnmf = lnmf_of(*dl_model);
      rows.push_back({"L-NMF", layers, separation::evaluate(*lnmf, set->test, p)});
      if (k == own.back()) app::export_factors(lnmf->factors(), (fs::path(out_dir) / "baselines" / ("lnmf_" + sizes_text(layers))).string(), c.strings("output.formats"));
    }
    std::vector<torch::Tensor> estimates;
    rows.push_back({"DL-NMF", layers, separation::evaluate(*dl_model, set->test, p, k == own.back() ? &estimates : nullptr)});
    note_training(*dl_model);
    for (size_t i = 0; i < estimates.size(); ++i) {
      // The test mixture too, played next to its sources by report.html.
      io::write_wav((fs::path(out_dir) / "mixtures" / (set->test[i].name + ".wav")).string(), set->test[i].mixture,
                    set->sample_rate);
      for (size_t s = 0; s < set->source_names.size(); ++s)
        io::write_wav((fs::path(out_dir) / "sources" / (set->test[i].name + "_" + set->source_names[s] + ".wav")).string(),
                      estimates[i][s], set->sample_rate);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Table on stdout and in metrics.json.
  std::ostringstream table;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-7s %-10s", "method", "layers");
  table << buf;
  for (const auto& n : set->source_names) {
    std::snprintf(buf, sizeof buf, " | %-6.6s SDR    SIR    SAR", n.c_str());
    table << buf;
  }
  table << " | mean SDR\n";
  eval::Json jrows = eval::Json::array();
  for (const Row& r : rows) {
    std::snprintf(buf, sizeof buf, "%-7s %-10s", r.method.c_str(), ("[" + sizes_text(r.layers) + "]").c_str());
    table << buf;
    for (size_t s = 0; s < set->source_names.size(); ++s) {
      std::snprintf(buf, sizeof buf, " |      %6.2f %6.2f %6.2f", r.scores.sdr[s].item<double>(), r.scores.sir[s].item<double>(),
                    r.scores.sar[s].item<double>());
      table << buf;
    }
    std::snprintf(buf, sizeof buf, " | %6.2f\n", r.scores.mean_sdr());
    table << buf;
    eval::Json j = scores_json(r.scores, set->source_names);
    j.set("method", r.method);
    j.set("layers", sizes_text(r.layers));
    jrows.push(j);
  }
  eval::Json ordering = eval::Json::object();
  eval::Json margins = eval::Json::object();  // mean-SDR gaps (dB) behind each ordering flag
  if (baselines) {
    for (size_t i = 0; i + 2 < rows.size(); i += 3) {
      const double a = rows[i].scores.mean_sdr(), b = rows[i + 1].scores.mean_sdr(), d = rows[i + 2].scores.mean_sdr();
      ordering.set("K=" + std::to_string(rows[i].layers.back()), a < b && b < d);
      eval::Json m = eval::Json::object();
      m.set("lnmf_minus_nmf", b - a);
      m.set("dlnmf_minus_lnmf", d - b);
      margins.set("K=" + std::to_string(rows[i].layers.back()), m);
    }
  }
  std::printf("Supervised separation of %zu test mixture(s) (SDR/SIR/SAR in dB, mean over mixtures):\n%s",
              set->test.size(), table.str().c_str());
  if (!set->valid.empty()) std::printf("Round selection on %zu validation mixture(s), mean SDR in dB:\n", set->valid.size());
  for (const std::string& line : selections) std::printf("  %s\n", line.c_str());
  std::fflush(stdout);

  eval::Json out = eval::Json::object();
  eval::Json names = eval::Json::array();
  for (const auto& n : set->source_names) names.push(n);
  out.set("sources", names);
  out.set("sample_rate", static_cast<int64_t>(set->sample_rate));
  out.set("test_mixtures", static_cast<int64_t>(set->test.size()));
  out.set("table", jrows);
  out.set("ordering_nmf_lt_lnmf_lt_dlnmf", ordering);
  out.set("ordering_margins_db", margins);
  out.set("dlnmf_training", training);
  out.set("report_seconds", seconds);
  eval::write_json((fs::path(out_dir) / "metrics.json").string(), out);
}

}  // namespace

ModelEntry lnmf_entry() {
  ModelEntry e{"lnmf", "layered NMF: X ≈ W1…WL·H, layer-wise pre-training + joint MU fine-tuning (any β)",
               add_layered_keys, on_matrix(build_lnmf)};
  e.load_data = on_matrix(load_lnmf);
  e.capabilities = {true, true, false, false};
  return e;
}

ModelEntry dlnmf_entry() {
  // Keys are declared once by lnmf_entry (they apply to both types).
  ModelEntry e{"dlnmf", "discriminative layered NMF for supervised separation (NMF / L-NMF baselines in the report)",
               nullptr, on_matrix(build_dlnmf)};
  e.load_data = on_matrix(load_dlnmf);
  e.report = on_matrix(report_dlnmf);
  e.capabilities = {false, true, false, false};
  return e;
}

}  // namespace factorch
