// TL-NMF's configuration keys, data loading, builder (with restarts) and report
// (separation, metrics, DCT-NMF / STFT IS-NMF baselines, atom frequencies, plot).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>

#include "app/audio_data.h"
#include "app/data_block.h"
#include "app/run.h"
#include "factorch/error.h"
#include "factorch/eval/bss.h"
#include "factorch/eval/metrics_json.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_file.h"
#include "factorch/io/png.h"
#include "factorch/io/wav.h"
#include "factorch/signal/frames.h"
#include "factorch/signal/stft.h"
#include "factorch/signal/synthetic.h"
#include "factorch/signal/wiener.h"
#include "factorch/signal/window.h"
#include "factorch/models/nmf.h"
#include "app/experiments/registry.h"
#include "factorch/models/tlnmf.h"

namespace factorch {

namespace fs = std::filesystem;

namespace {

void add_tlnmf_keys(ConfigSchema& s) {
  const std::vector<std::string> m = {"tlnmf"};
  s.add("model.mode", KeyType::String,
        "unsupervised: learn Φ, W, H on the mixture; supervised: ICASSP Alg. 2, W = |Φ·Y_ref|² from clean training "
        "signals of each source, learn Φ and H on the mixture")
      .choice({"unsupervised", "supervised"}).def("unsupervised").for_models(m);
  s.add("model.rank", KeyType::Integer, "number of components K (≤ frame length; ignored when supervised)").def("2").at_least(1).for_models(m);
  s.add("model.objective", KeyType::String,
        "gcm: ½Σ[(V+ε)/(WH+ε) + log(WH+ε)] (GCM paper); is: D_IS(V+ε|WH+ε) (ICASSP paper); both + λ(M/K)‖H‖₁")
      .choice({"gcm", "is"}).def("gcm").for_models(m);
  s.add("model.eps", KeyType::Number, "ε added to V = |ΦY|² and to WH (GCM paper: 5e-7; 0 with silent frames is an error)")
      .def("5.0e-7").at_least(0).for_models(m);
  s.add("model.lambda", KeyType::Number, "sparsity weight λ of λ·(M/K)·‖H‖₁ (supervised: λ·M/N_s per source block)")
      .def("0.0").at_least(0).for_models(m);
  s.add("model.learn_phi", KeyType::Boolean, "learn the transform Φ (false: fixed Φ = phi_init, e.g. DCT-NMF)").def("true").for_models(m);
  s.add("model.phi_init", KeyType::String, "dct (orthonormal DCT-II) | random (Haar orthogonal, from model.seed) | an M×M orthogonal .npy")
      .def("dct").for_models(m);
  s.add("model.phi_update", KeyType::String,
        "Φ retraction: projected (polar/SVD of Φ + μΩ), cayley, qn (expm of the quasi-Newton skew step)")
      .choice({"projected", "cayley", "qn"}).def("qn").for_models(m);
  s.add("model.phi_expm", KeyType::String,
        "qn's exponential: eigh (diagonalise each Φ direction once; every Armijo trial is one matrix product) | "
        "matrix_exp (torch::matrix_exp per trial; same steps, slower)")
      .choice({"eigh", "matrix_exp"}).def("eigh").for_models(m);
  s.add("model.phi_steps", KeyType::Integer, "Φ updates per iteration (after the MU of H and W)").def("5").at_least(0).for_models(m);
  s.add("model.precondition", KeyType::Boolean,
        "scale the skew direction by the diagonal Hessian approximation (plain Riemannian steps are far slower)")
      .def("true").for_models(m);
  s.add("model.hessian_floor", KeyType::Number, "lower clip of the diagonal Hessian, relative to the number of frames N")
      .def("0.01").above(0).for_models(m);
  s.add("model.armijo_step", KeyType::Number, "first step of the Armijo backtracking (1 = the quasi-Newton step)").def("1.0").above(0).for_models(m);
  s.add("model.armijo_shrink", KeyType::Number, "step factor after a rejected Armijo trial").def("0.5").above(0).at_most(0.99).for_models(m);
  s.add("model.armijo_c1", KeyType::Number, "Armijo sufficient-decrease constant").def("1.0e-4").above(0).at_most(0.5).for_models(m);
  s.add("model.armijo_tries", KeyType::Integer, "Armijo trials before a Φ step is given up").def("30").at_least(1).for_models(m);
  s.add("model.armijo_adaptive", KeyType::Boolean,
        "start each Φ line search at 2× the last accepted step if it needed no backtracking (else at it)")
      .def("true").for_models(m);
  s.add("model.armijo_growth_cap", KeyType::Number, "adaptive Armijo: largest first step, in units of armijo_step")
      .def("64").at_least(1).for_models(m);
  s.add("model.warmup", KeyType::Integer,
        "MU sweeps of W, H under the initial Φ before Φ is learnt (Φ steps against a random H go astray, "
        "badly so in supervised mode)")
      .def("20").at_least(0).for_models(m);
  s.add("model.restarts", KeyType::Integer,
        "initialisations tried (W, H seeds model.seed + i); each runs restart_iter iterations, the lowest objective continues")
      .def("1").at_least(1).for_models(m);
  s.add("model.restart_iter", KeyType::Integer, "iterations of each restart candidate").def("30").at_least(1).for_models(m);
  s.add("model.component_sources", KeyType::IntegerList,
        "source index (0-based) of each component for separation; empty: component k → source k (then matched to "
        "references by best permutation)")
      .for_models(m);
  s.add("model.baseline", KeyType::Boolean,
        "report: also train the fixed-transform baseline (DCT-NMF, learn_phi false) into output.dir/baseline; "
        "supervised: also supervised IS-NMF on an STFT")
      .def("true").for_models(m);
  s.add("model.repeats", KeyType::Integer,
        "report: run the whole experiment this many times and write mean ± standard deviation of the "
        "realisation-averaged SDR/SIR/SAR of TL-NMF and of the DCT-NMF baseline to metrics.json (\"protocol\"); "
        "repetition i > 0 draws new phases (data.synthetic.seed + i·realisations) and new initialisations "
        "(model.seed + i·restarts). GCM paper: 5")
      .def("1").at_least(1).for_models(m);
  s.add("model.plot", KeyType::Boolean,
        "report: write atoms.png (the 8 most energetic rows of Φ) and atom_spectra.png (their power spectra, dB) "
        "as heatmaps")
      .def("true").for_models(m);

}

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
        names.push_back(name);
        shortest = std::min(shortest, t.back().size(0));
      }
      for (auto& x : t) x = x.narrow(0, 0, shortest);  // equal sizes: one tensor
      sig.training = torch::stack(t);
      if (sig.source_names.empty()) sig.source_names = names;
      else if (sig.source_names != names) c.fail("data.references", "must name the sources of data.train in the same order");
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

namespace {
// Scores realisation r's estimates (best permutation) and accumulates its metrics.
void score_realisation(SeparationScores& out, int64_t r, const torch::Tensor& references,
                       const std::vector<torch::Tensor>& estimates) {
  const torch::Tensor E = torch::stack(estimates);
  const eval::BssEvalResult b = eval::bss_eval_sources(references, E);
  out.sdr += b.sdr;
  out.sir += b.sir;
  out.sar += b.sar;
  for (int64_t j = 0; j < E.size(0); ++j) out.estimates[r][j].copy_(E[b.permutation[j]]);
}

SeparationScores average_scores(SeparationScores& out, int64_t realisations) {
  out.sdr /= realisations;
  out.sir /= realisations;
  out.sar /= realisations;
  return out;
}
}  // namespace

SeparationScores tlnmf_evaluate(TLNMFImpl& model, const TLNMFSignals& sig, const std::vector<int64_t>& mapping) {
  require(sig.sources.defined(), "no reference sources to evaluate against (set data.references)");
  const torch::Tensor Y = sig.frames();
  const int64_t R = Y.size(0), S = sig.sources.size(1), T = sig.mixtures.size(1);
  SeparationScores out;
  out.sdr = torch::zeros({S}, torch::kFloat64);
  out.sir = torch::zeros({S}, torch::kFloat64);
  out.sar = torch::zeros({S}, torch::kFloat64);
  out.estimates = torch::zeros({R, S, T}, torch::kFloat64);
  for (int64_t r = 0; r < R; ++r) {
    const auto parts = model.separate_frames(Y[r], mapping);
    require(static_cast<int64_t>(parts.size()) == S, "separation gives " + std::to_string(parts.size()) +
                                                         " sources but there are " + std::to_string(S) +
                                                         " references (set model.component_sources)");
    std::vector<torch::Tensor> est;
    for (const auto& p : parts) est.push_back(signal::overlap_add(p.to(torch::kCPU, torch::kFloat64), sig.hop, sig.window, T));
    score_realisation(out, r, sig.sources[r], est);
  }
  return average_scores(out, R);
}

std::vector<double> atom_peak_frequencies(const torch::Tensor& atoms, double fs) {
  const int64_t n_fft = 1 << 16;
  const torch::Tensor mag = torch::fft_rfft(atoms.to(torch::kCPU, torch::kFloat64), n_fft, 1).abs().clamp_min(1e-300).log();
  const auto a = mag.accessor<double, 2>();
  std::vector<double> out;
  for (int64_t m = 0; m < mag.size(0); ++m) {
    int64_t best = 0;
    for (int64_t k = 1; k < mag.size(1); ++k)
      if (a[m][k] > a[m][best]) best = k;
    double delta = 0;
    if (best > 0 && best + 1 < mag.size(1)) {
      const double l = a[m][best - 1], c = a[m][best], r = a[m][best + 1];
      const double den = l - 2 * c + r;
      if (den < 0) delta = 0.5 * (l - r) / den;
    }
    out.push_back((static_cast<double>(best) + delta) * fs / static_cast<double>(n_fft));
  }
  return out;
}

namespace {

// A modified copy (Config copies share their YAML tree, so re-parse the resolved text).
Config derived_config(const Config& c, const std::vector<std::string>& overrides) {
  return Config::parse(c.dump(), c.source(), overrides);
}

TLNMFOptions options_from(const Config& c, int64_t M, int64_t N, int64_t K) {
  TLNMFOptions o(M, N, K);
  o.objective(c.string("model.objective")).eps(c.number("model.eps")).lambda(c.number("model.lambda"));
  o.learn_phi(c.boolean("model.learn_phi")).phi_update(c.string("model.phi_update")).phi_steps(c.integer("model.phi_steps"));
  o.phi_expm(c.string("model.phi_expm"));
  o.precondition(c.boolean("model.precondition")).hessian_floor(c.number("model.hessian_floor"));
  o.armijo_step(c.number("model.armijo_step")).armijo_shrink(c.number("model.armijo_shrink"));
  o.armijo_c1(c.number("model.armijo_c1")).armijo_tries(c.integer("model.armijo_tries"));
  o.armijo_adaptive(c.boolean("model.armijo_adaptive")).armijo_growth_cap(c.number("model.armijo_growth_cap"));
  o.warmup(c.integer("model.warmup"));
  return o;
}

std::shared_ptr<TLNMFImpl> make_model(const Config& c, const TrainingData& data, uint64_t seed) {
  const int64_t M = data.X.size(-2), N = data.X.size(-1);
  const bool supervised = c.string("model.mode") == "supervised";
  std::pair<torch::Tensor, std::vector<int64_t>> ref;
  int64_t K = c.integer("model.rank");
  if (supervised) {
    ref = tlnmf_signals(c).reference_frames();
    K = ref.first.size(1);
  } else if (K > M) {
    c.fail("model.rank", "K = " + std::to_string(K) + " exceeds the frame length M = " + std::to_string(M));
  }
  auto model = std::make_shared<TLNMFImpl>(options_from(c, M, N, K));
  if (supervised) model->set_reference(ref.first, ref.second);
  const std::string init = c.string("model.phi_init");
  const bool file = init != "dct" && init != "random";
  if (file) model->options.warmup(0);  // warm up under the file's Φ, not the DCT
  model->init(data, file ? "dct" : init, seed);
  if (file) {
    try {
      model->set_factor("Phi", io::load_tensor(init));
    } catch (const Error& e) {
      c.fail("model.phi_init", std::string("(") + init + "): " + e.what());
    }
    model->options.warmup(c.integer("model.warmup"));
    model->warm_up(data, model->options.warmup());
  }
  return model;
}

// Validate before computing: the separation must give as many sources as there are
// references (data.references, or the synthetic notes), else the report would fail only
// after training, with outputs already written.
void check_sources_match_references(const Config& c) {
  const bool supervised = c.string("model.mode") == "supervised";
  const bool file_input = c.has("data.input");
  auto count = [&](const char* key) {
    return c.has(key) ? static_cast<int64_t>(app::source_lists(c, key).size()) : int64_t{0};
  };
  const int64_t notes =
      file_input ? 0 : static_cast<int64_t>(app::SyntheticParams(c, {"harmonic_notes"}).numbers("frequencies").size());
  const int64_t references = file_input ? count("data.references") : notes;
  const int64_t components = supervised ? (file_input ? count("data.train") : notes) : c.integer("model.rank");
  if (!supervised && components > c.integer("data.transform.n_fft")) return;  // make_model names that first
  const std::vector<int64_t> mapping = c.integers("model.component_sources");
  int64_t sources = components;
  if (!mapping.empty()) {
    if (static_cast<int64_t>(mapping.size()) != components)
      c.fail("model.component_sources", "has " + std::to_string(mapping.size()) + " entries but the model has " +
                                            std::to_string(components) + " components");
    sources = 0;
    for (int64_t s : mapping) {
      if (s < 0) c.fail("model.component_sources", "has a negative source index " + std::to_string(s));
      sources = std::max(sources, s + 1);
    }
  }
  if (references > 0 && sources != references) {
    const std::string what = file_input ? std::to_string(references) + " data.references"
                                        : std::to_string(references) + " data.synthetic.frequencies (synthetic sources)";
    c.fail(mapping.empty() ? (supervised ? "data.train" : "model.rank") : "model.component_sources",
           "gives " + std::to_string(sources) + " separated sources but there are " + what +
               (mapping.empty() && !supervised ? " (set model.component_sources to group components)" : ""));
  }
}

std::shared_ptr<FactorModelImpl> build_tlnmf(const Config& c, const TrainingData& data) {
  if (data.X.dim() != 2 && data.X.dim() != 3) c.fail("data.input", "must give frames M×N or R×M×N for tlnmf");
  check_sources_match_references(c);
  const auto seed = static_cast<uint64_t>(c.integer("model.seed"));
  const int64_t restarts = c.integer("model.restarts");
  if (restarts <= 1) return make_model(c, data, seed);
  // Restarts: short runs from W, H seeds seed, seed+1, ...; the lowest objective continues.
  const Config short_run = derived_config(
      c, {"trainer.max_iter=" + std::to_string(c.integer("model.restart_iter")), "trainer.progress=never"});
  std::shared_ptr<TLNMFImpl> best;
  double best_j = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < restarts; ++i) {
    auto model = make_model(c, data, seed + static_cast<uint64_t>(i));
    app::RunOptions ro;
    ro.write_outputs = false;
    ro.quiet = true;
    const app::RunResult run = app::fit_model(short_run, model, data, ro, "");
    std::fprintf(stderr, "tlnmf: restart %lld/%lld (seed %llu): objective %.8g after %lld iterations\n",
                 static_cast<long long>(i + 1), static_cast<long long>(restarts),
                 static_cast<unsigned long long>(seed + i), run.result.objective,
                 static_cast<long long>(run.result.iterations));
    if (run.result.ok && run.result.objective < best_j) best_j = run.result.objective, best = model;
  }
  require(best != nullptr, "tlnmf: every restart failed (non-finite objective)");
  best->to(torch::kCPU, torch::kFloat64);
  return best;
}

TrainingData load_tlnmf_data(const Config& c) {
  TrainingData d;
  const TLNMFSignals sig = tlnmf_signals(c);
  d.X = sig.frames();
  if (d.X.size(0) == 1) d.X = d.X[0];
  return d;
}

eval::Json scores_json(const SeparationScores& s, const std::vector<std::string>& names) {
  eval::Json j = eval::Json::object(), per = eval::Json::array();
  for (int64_t k = 0; k < s.sdr.size(0); ++k) {
    eval::Json e = eval::Json::object();
    e.set("source", k < static_cast<int64_t>(names.size()) ? names[k] : std::to_string(k));
    e.set("sdr", s.sdr[k].item<double>()).set("sir", s.sir[k].item<double>()).set("sar", s.sar[k].item<double>());
    per.push(e);
  }
  j.set("sources", per);
  j.set("mean_sdr", s.sdr.mean().item<double>()).set("mean_sir", s.sir.mean().item<double>());
  j.set("mean_sar", s.sar.mean().item<double>());
  return j;
}

void write_sources(const std::string& dir, const SeparationScores& s, const TLNMFSignals& sig) {
  const int rate = static_cast<int>(std::lround(sig.sample_rate));
  io::write_wav((fs::path(dir) / "sources" / "mixture.wav").string(), sig.mixtures[0], rate);
  for (int64_t k = 0; k < s.estimates.size(1); ++k) {
    const std::string name = k < static_cast<int64_t>(sig.source_names.size()) ? sig.source_names[k] : std::to_string(k);
    io::write_wav((fs::path(dir) / "sources" / (name + ".wav")).string(), s.estimates[0][k], rate);
  }
}

// Mean and sample standard deviation over repetitions of realisation-averaged scores.
struct ScoreSpread {
  torch::Tensor mean, std;  // 3 × S: SDR, SIR, SAR per source
  double overall_mean = 0, overall_std = 0;  // of the mean SDR over sources
};

ScoreSpread spread_of(const std::vector<SeparationScores>& runs) {
  std::vector<torch::Tensor> rows;
  for (const auto& r : runs) rows.push_back(torch::stack({r.sdr, r.sir, r.sar}));
  const torch::Tensor all = torch::stack(rows);  // repeats × 3 × S
  const bool several = all.size(0) > 1;
  ScoreSpread out;
  out.mean = all.mean(0);
  out.std = several ? all.std(0) : torch::zeros_like(out.mean);
  const torch::Tensor sdr = all.select(1, 0).mean(1);
  out.overall_mean = sdr.mean().item<double>();
  out.overall_std = several ? sdr.std().item<double>() : 0.0;
  return out;
}

eval::Json spread_json(const ScoreSpread& s, const std::vector<std::string>& names) {
  eval::Json j = eval::Json::object(), per = eval::Json::array();
  const char* metric[3] = {"sdr", "sir", "sar"};
  for (int64_t k = 0; k < s.mean.size(1); ++k) {
    eval::Json e = eval::Json::object();
    e.set("source", k < static_cast<int64_t>(names.size()) ? names[k] : std::to_string(k));
    for (int m = 0; m < 3; ++m) {
      e.set(std::string(metric[m]) + "_mean", s.mean[m][k].item<double>());
      e.set(std::string(metric[m]) + "_std", s.std[m][k].item<double>());
    }
    per.push(e);
  }
  j.set("sources", per).set("mean_sdr", s.overall_mean).set("mean_sdr_std", s.overall_std);
  return j;
}

void print_spread(const char* label, const ScoreSpread& s) {
  std::printf("%-22s", label);
  const char* metric[3] = {"SDR", "SIR", "SAR"};
  for (int64_t k = 0; k < s.mean.size(1); ++k) {
    std::printf("  src%lld", static_cast<long long>(k));
    for (int m = 0; m < 3; ++m)
      std::printf(" %s %6.2f (%.2f)", metric[m], s.mean[m][k].item<double>(), s.std[m][k].item<double>());
  }
  std::printf("  | mean SDR %.2f (%.2f) dB\n", s.overall_mean, s.overall_std);
}

void print_scores(const char* label, const SeparationScores& s) {
  std::printf("%-26s", label);
  for (int64_t k = 0; k < s.sdr.size(0); ++k)
    std::printf("  src%lld SDR %6.2f SIR %6.2f SAR %6.2f", static_cast<long long>(k), s.sdr[k].item<double>(),
                s.sir[k].item<double>(), s.sar[k].item<double>());
  std::printf("  | mean SDR %.2f dB\n", s.sdr.mean().item<double>());
}

}  // namespace

SeparationScores supervised_stft_isnmf(const Config& c, const TLNMFSignals& sig) {
  signal::StftOptions so;
  so.n_fft = sig.frame_length();
  so.hop = sig.hop;
  so.window = c.string("data.transform.window");
  so.tukey_alpha = c.number("data.transform.tukey_alpha");
  std::vector<torch::Tensor> Ws;
  std::vector<int64_t> sizes;
  for (int64_t s = 0; s < sig.training.size(0); ++s) {
    Ws.push_back(signal::power(signal::stft(sig.training[s], so)));
    sizes.push_back(Ws.back().size(1));
  }
  const torch::Tensor W = torch::cat(Ws, 1);
  const int64_t R = sig.mixtures.size(0), S = sig.training.size(0), T = sig.mixtures.size(1);
  SeparationScores out;
  out.sdr = torch::zeros({S}, torch::kFloat64);
  out.sir = torch::zeros({S}, torch::kFloat64);
  out.sar = torch::zeros({S}, torch::kFloat64);
  out.estimates = torch::zeros({R, S, T}, torch::kFloat64);
  const double eps = c.number("model.eps") > 0 ? c.number("model.eps") : 1e-12;
  for (int64_t r = 0; r < R; ++r) {
    const torch::Tensor X = signal::stft(sig.mixtures[r], so);
    const torch::Tensor V = signal::power(X);
    NMFOptions no(V.size(0), V.size(1), W.size(1));
    no.beta(0.0).eps(eps).fixed_w(true).l1_h(c.number("model.lambda") * static_cast<double>(sig.frame_length()) /
                                             static_cast<double>(sizes[0]));
    NMF nmf(no);
    nmf->set_factor("W", W);
    nmf->init(V, "random", static_cast<uint64_t>(c.integer("model.seed")));
    nmf->set_factor("W", W);
    TrainingData d;
    d.X = V;
    for (int64_t it = 0; it < c.integer("trainer.max_iter"); ++it) nmf->mu_step(d);
    std::vector<torch::Tensor> powers;
    int64_t off = 0;
    for (int64_t n : sizes) {
      powers.push_back(torch::mm(W.narrow(1, off, n), nmf->H().narrow(0, off, n)).detach());
      off += n;
    }
    const auto parts = signal::apply_masks(X, signal::wiener_masks(powers));
    std::vector<torch::Tensor> est;
    for (const auto& p : parts) est.push_back(signal::istft(p, so, T));
    score_realisation(out, r, sig.sources[r], est);
  }
  return average_scores(out, R);
}

namespace {

void report_tlnmf(const Config& c, FactorModelImpl& base_model, const TrainingData& data, const std::string& out_dir) {
  auto* model = dynamic_cast<TLNMFImpl*>(&base_model);
  require(model != nullptr, "tlnmf report: the model is not a TL-NMF");
  model->to(torch::kCPU, torch::kFloat64);
  const TLNMFSignals sig = tlnmf_signals(c);
  const std::vector<int64_t> mapping = c.integers("model.component_sources");
  eval::Json metrics = eval::Json::object();
  metrics.set("model", model->supervised() ? "supervised TL-NMF" : (model->options.learn_phi() ? "TL-NMF" : "fixed-transform NMF"));
  metrics.set("sample_rate", sig.sample_rate).set("realisations", static_cast<int64_t>(sig.mixtures.size(0)));

  // Atoms: the 8 most energetic rows of Φ (as exported), their peak frequency, and per
  // component the atom with the largest weight in w_k.
  const NamedTensors f = model->factors();
  const torch::Tensor Phi = *f.find("Phi"), W = *f.find("W");
  const int64_t top = std::min<int64_t>(8, Phi.size(0));
  const auto freqs = atom_peak_frequencies(Phi.narrow(0, 0, top), sig.sample_rate);
  eval::Json atoms = eval::Json::array();
  std::printf("tlnmf: peak frequency of the %lld most energetic atoms (Hz):", static_cast<long long>(top));
  for (double hz : freqs) {
    std::printf(" %.2f", hz);
    atoms.push(hz);
  }
  std::printf("\n");
  metrics.set("atom_frequencies_hz", atoms);
  if (!model->supervised()) {
    eval::Json comp = eval::Json::array();
    const torch::Tensor peak_rows = W.argmax(0);
    const auto cf = atom_peak_frequencies(Phi.index_select(0, peak_rows), sig.sample_rate);
    for (int64_t k = 0; k < W.size(1); ++k) {
      std::printf("tlnmf: component %lld: main atom %lld, fundamental %.2f Hz\n", static_cast<long long>(k),
                  static_cast<long long>(peak_rows[k].item<int64_t>()), cf[k]);
      comp.push(cf[k]);
    }
    metrics.set("component_frequencies_hz", comp);
  }

  std::optional<SeparationScores> mine, dct;
  if (sig.sources.defined()) {
    mine = tlnmf_evaluate(*model, sig, mapping);
    metrics.set("separation", scores_json(*mine, sig.source_names));
    write_sources(out_dir, *mine, sig);
    print_scores(model->options.learn_phi() ? "TL-NMF:" : "fixed-transform NMF:", *mine);
  } else {
    // No references: write the separated sources of the (single) input.
    const auto parts = model->separate_frames(sig.frames()[0], mapping);
    const int rate = static_cast<int>(std::lround(sig.sample_rate));
    for (size_t k = 0; k < parts.size(); ++k)
      io::write_wav((fs::path(out_dir) / "sources" / ("source_" + std::to_string(k) + ".wav")).string(),
                    signal::overlap_add(parts[k], sig.hop, sig.window, sig.mixtures.size(1)), rate);
    std::printf("tlnmf: no reference sources (data.references): separated sources written, no metrics\n");
  }

  if (c.boolean("model.baseline") && model->options.learn_phi()) {
    // Fixed-transform baseline on the same code path: Φ = phi_init (DCT), same W, H seeds.
    std::vector<std::string> ov = {"model.learn_phi=false", "model.baseline=false", "model.plot=false",
                                   "output.dir=" + (fs::path(out_dir) / "baseline").string()};
    if (c.string("model.phi_init") == "random") ov.push_back("model.phi_init=dct");
    const Config bc = derived_config(c, ov);
    const std::string bdir = (fs::path(out_dir) / "baseline").string();
    std::shared_ptr<FactorModelImpl> bmodel = build_tlnmf(bc, data.to(torch::kCPU, torch::kFloat64));
    app::RunOptions ro;
    ro.quiet = true;
    const app::RunResult run = app::fit_model(bc, bmodel, data.to(torch::kCPU, torch::kFloat64), ro, bdir);
    if (run.result.ok && mine) {
      auto* b = dynamic_cast<TLNMFImpl*>(run.model.get());
      b->to(torch::kCPU, torch::kFloat64);
      const SeparationScores bs = tlnmf_evaluate(*b, sig, mapping);
      write_sources(bdir, bs, sig);
      eval::Json bj = eval::Json::object();
      bj.set("model", "DCT-NMF (fixed Phi)").set("separation", scores_json(bs, sig.source_names));
      eval::write_json((fs::path(bdir) / "metrics.json").string(), bj);
      metrics.set("baseline_dct_nmf", scores_json(bs, sig.source_names));
      print_scores("DCT-NMF (fixed Phi):", bs);
      dct = bs;
    } else {  // no silent skip
      std::printf("tlnmf: DCT-NMF baseline not scored (%s)\n",
                  run.result.ok ? "no reference sources" : ("its training stopped: " + run.result.stop_reason).c_str());
    }
    if (model->supervised() && mine) {
      const SeparationScores ss = supervised_stft_isnmf(c, sig);
      metrics.set("baseline_stft_isnmf", scores_json(ss, sig.source_names));
      print_scores("supervised IS-NMF (STFT):", ss);
    } else if (model->supervised()) {
      std::printf("tlnmf: supervised IS-NMF baseline not scored (no reference sources)\n");
    }
  }
  const int64_t repeats = c.integer("model.repeats");
  if (repeats > 1 && mine && model->options.learn_phi()) {
    // The GCM paper's protocol (Sec. III-C): the experiment (R realisations, separation,
    // scores averaged over them) repeated with new phases and initialisations; this run is
    // repetition 0.
    std::vector<SeparationScores> tl_runs{*mine}, dct_runs;
    if (dct) dct_runs.push_back(*dct);
    const int64_t R = sig.mixtures.size(0), restarts = c.integer("model.restarts");
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 1; i < repeats; ++i) {
      std::vector<std::string> ov = {"model.seed=" + std::to_string(c.integer("model.seed") + i * restarts),
                                     "trainer.progress=never", "model.baseline=false", "model.plot=false"};
      if (!c.has("data.input"))
        ov.push_back("data.synthetic.seed=" + std::to_string(app::SyntheticParams(c).integer("seed") + i * R));
      for (const bool learn : {true, false}) {
        if (!learn && !dct) continue;
        std::vector<std::string> o = ov;
        o.push_back(std::string("model.learn_phi=") + (learn ? "true" : "false"));
        if (!learn && c.string("model.phi_init") == "random") o.push_back("model.phi_init=dct");
        const Config rc = derived_config(c, o);
        const TrainingData rd = load_tlnmf_data(rc);
        app::RunOptions ro;
        ro.write_outputs = false;
        ro.quiet = true;
        const app::RunResult run = app::fit_model(rc, build_tlnmf(rc, rd), rd, ro, "");
        require(run.result.ok, "tlnmf report: repetition " + std::to_string(i) + " failed (non-finite objective)");
        auto* m = dynamic_cast<TLNMFImpl*>(run.model.get());
        m->to(torch::kCPU, torch::kFloat64);
        (learn ? tl_runs : dct_runs).push_back(tlnmf_evaluate(*m, tlnmf_signals(rc), mapping));
      }
      std::fprintf(stderr, "tlnmf: repetition %lld/%lld: TL-NMF %.2f dB, DCT-NMF %.2f dB (%.0f s so far)\n",
                   static_cast<long long>(i + 1), static_cast<long long>(repeats),
                   tl_runs.back().sdr.mean().item<double>(),
                   dct ? dct_runs.back().sdr.mean().item<double>() : std::nan(""),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    eval::Json protocol = eval::Json::object();
    protocol.set("repeats", repeats).set("realisations", R).set("std", "sample standard deviation over repetitions");
    std::printf("tlnmf: %lld repetitions of %lld realisations, mean (std) over repetitions:\n",
                static_cast<long long>(repeats), static_cast<long long>(R));
    const ScoreSpread tl = spread_of(tl_runs);
    protocol.set("tlnmf", spread_json(tl, sig.source_names));
    print_spread("  TL-NMF:", tl);
    if (!dct_runs.empty()) {
      const ScoreSpread d = spread_of(dct_runs);
      protocol.set("dct_nmf", spread_json(d, sig.source_names));
      print_spread("  DCT-NMF (fixed Phi):", d);
    }
    metrics.set("protocol", protocol);
  }
  eval::write_json((fs::path(out_dir) / "metrics.json").string(), metrics);

  if (c.boolean("model.plot")) {
    // Pictures without Python: the 8 most energetic atoms (rows: atoms, columns: samples) and
    // their power spectra (columns: 0 … fs/2, dB), as heatmaps. tools/plot_tlnmf.py draws
    // nicer curves from factors/Phi.npy where matplotlib is installed.
    const torch::Tensor atoms8 = Phi.narrow(0, 0, top).to(torch::kCPU, torch::kFloat64);
    io::write_png_heatmap((fs::path(out_dir) / "atoms.png").string(),
                          atoms8.repeat_interleave(8, 0), /*log_scale=*/false);
    const torch::Tensor spectra = torch::fft_rfft(atoms8, 1024, 1).abs().pow(2);
    io::write_png_heatmap((fs::path(out_dir) / "atom_spectra.png").string(),
                          spectra.repeat_interleave(8, 0), /*log_scale=*/true);
    std::printf("tlnmf: atoms.png and atom_spectra.png written (rows: the %lld most energetic atoms)\n",
                static_cast<long long>(top));
  }

}

}  // namespace

ModelEntry tlnmf_entry() {
  return {"tlnmf", "TL-NMF: |ΦY|² ≈ WH with a learnt orthogonal transform Φ (GCM / IS objective, supervised mode)",
          add_tlnmf_keys, on_matrix(build_tlnmf), on_matrix(load_tlnmf_data), on_matrix(report_tlnmf), {},
          {true, true, false, false}};
}

}  // namespace factorch
