// TL-NMF's configuration keys, builder (with restarts) and the checks made before training.
#include <cstdio>
#include <limits>

#include "app/experiments/registry.h"
#include "app/experiments/tlnmf_app.h"
#include "app/report.h"
#include "app/separation.h"
#include "factorch/error.h"
#include "factorch/io/torch_file.h"

namespace factorch {

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
        "qn's exponential: taylor (degree-12 Taylor from E, E², E³ for steps with ‖μE‖ ≤ 0.3, else degree 18 "
        "with E⁶ and squarings; powers once per Φ direction, every Armijo trial two matrix products, halved "
        "steps after squarings free) | eigh (diagonalise each direction once; every trial one product) | "
        "matrix_exp (torch::matrix_exp per trial; same steps, slower)")
      .choice({"taylor", "eigh", "matrix_exp"}).def("taylor").for_models(m);
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
        "source index (0-based) of each component for separation (report and factorch separate), every source "
        "getting at least one; empty: component k → source k. Estimates are matched to data.references by the best "
        "permutation")
      .for_models(m);
  s.add("model.baseline", KeyType::Boolean,
        "report: also train the fixed-transform baseline (DCT-NMF, learn_phi false) into output.dir/baselines/dct_nmf; "
        "supervised: also supervised IS-NMF on an STFT")
      .def("true").for_models(m);
  s.add("model.repeats", KeyType::Integer,
        "report: run the whole experiment this many times and write mean ± standard deviation of the "
        "realisation-averaged SDR/SIR/SAR of TL-NMF and of the DCT-NMF baseline to metrics.json (details.protocol); "
        "repetition i > 0 draws new phases (data.synthetic.seed + i·realisations) and new initialisations "
        "(model.seed + i·restarts). GCM paper: 5")
      .def("1").at_least(1).for_models(m);
  s.add("model.plot", KeyType::Boolean,
        "report: write atoms.png (the " + std::to_string(app::kShownAtoms) +
            " most energetic rows of Φ) and atom_spectra.png (their power spectra, dB) as heatmaps")
      .def("true").for_models(m);

}

TLNMFOptions options_from(const Config& c, int64_t M, int64_t N, int64_t K) {
  TLNMFOptions o(M, N, K);
  // The closed choices (strings checked against their choices by the schema) become the model's enums here.
  o.objective(tlnmf_objective_from_name(c.string("model.objective"))).eps(c.number("model.eps")).lambda(c.number("model.lambda"));
  o.learn_phi(c.boolean("model.learn_phi")).phi_update(orthogonal::retraction_from_name(c.string("model.phi_update")));
  o.phi_steps(c.integer("model.phi_steps")).phi_expm(orthogonal::exp_method_from_name(c.string("model.phi_expm")));
  o.precondition(c.boolean("model.precondition")).hessian_floor(c.number("model.hessian_floor"));
  o.armijo_step(c.number("model.armijo_step")).armijo_shrink(c.number("model.armijo_shrink"));
  o.armijo_c1(c.number("model.armijo_c1")).armijo_tries(c.integer("model.armijo_tries"));
  o.armijo_adaptive(c.boolean("model.armijo_adaptive")).armijo_growth_cap(c.number("model.armijo_growth_cap"));
  o.warmup(c.integer("model.warmup"));
  return o;
}

std::shared_ptr<TLNMFImpl> make_model(const Config& c, const TrainingData& data, const TLNMFSignals& sig, uint64_t seed) {
  const int64_t M = data.X.size(-2), N = data.X.size(-1);
  const bool supervised = c.string("model.mode") == "supervised";
  std::pair<torch::Tensor, std::vector<int64_t>> ref;
  int64_t K = c.integer("model.rank");
  if (supervised) {
    ref = sig.reference_frames();
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
// references (data.references, or the synthetic notes), else the report (or `separate`)
// would fail only after training. Counts come from the loaded signals.
void check_sources_match_references(const Config& c, const TLNMFSignals& sig) {
  const bool supervised = c.string("model.mode") == "supervised";
  const bool file_input = c.has("data.input");
  const int64_t references = sig.sources.defined() ? sig.sources.size(1) : 0;
  const int64_t components = supervised ? sig.training.size(0) : c.integer("model.rank");
  if (!supervised && components > sig.frame_length()) return;  // make_model names that first
  const std::vector<int64_t> mapping = c.integers("model.component_sources");
  int64_t sources = components;
  if (!mapping.empty()) {
    if (static_cast<int64_t>(mapping.size()) != components)
      c.fail("model.component_sources", "has " + std::to_string(mapping.size()) + " entries but the model has " +
                                            std::to_string(components) + " components");
    std::vector<bool> used;
    for (int64_t s : mapping) {
      if (s < 0) c.fail("model.component_sources", "has a negative source index " + std::to_string(s));
      if (s >= static_cast<int64_t>(used.size())) used.resize(s + 1, false);
      used[s] = true;
    }
    sources = static_cast<int64_t>(used.size());
    for (int64_t s = 0; s < sources; ++s)
      if (!used[s]) c.fail("model.component_sources", "gives source " + std::to_string(s) + " no component");
  }
  if (references > 0 && sources != references) {
    const std::string what = file_input ? std::to_string(references) + " data.references"
                                        : std::to_string(references) + " data.synthetic.frequencies (synthetic sources)";
    c.fail(mapping.empty() ? (supervised ? "data.train" : "model.rank") : "model.component_sources",
           "gives " + std::to_string(sources) + " separated sources but there are " + what +
               (mapping.empty() && !supervised ? " (set model.component_sources to group components)" : ""));
  }
}

}  // namespace

Config tlnmf_derived_config(const Config& c, const std::vector<std::string>& overrides) {
  return Config::parse(c.dump(), c.source(), overrides);
}

std::shared_ptr<FactorModelImpl> build_tlnmf(const Config& c, const app::Dataset& dataset) {
  const TrainingData& data = dataset.matrix;
  const TLNMFSignals& sig = tlnmf_signals_of(dataset);
  if (data.X.dim() != 2 && data.X.dim() != 3) c.fail("data.input", "must give frames M×N or R×M×N for tlnmf");
  check_sources_match_references(c, sig);
  const auto seed = static_cast<uint64_t>(c.integer("model.seed"));
  const int64_t restarts = c.integer("model.restarts");
  if (restarts <= 1) return make_model(c, data, sig, seed);
  // Restarts: short runs from W, H seeds seed, seed+1, ...; the lowest objective continues.
  const Config short_run = tlnmf_derived_config(
      c, {"trainer.max_iter=" + std::to_string(c.integer("model.restart_iter")), "trainer.progress=never"});
  std::shared_ptr<TLNMFImpl> best;
  double best_j = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < restarts; ++i) {
    auto model = make_model(c, data, sig, seed + static_cast<uint64_t>(i));
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

ModelEntry tlnmf_entry() {
  ModelEntry e;
  e.name = "tlnmf";
  e.summary = "TL-NMF: |ΦY|² ≈ WH with a learnt orthogonal transform Φ (GCM / IS objective, supervised mode)";
  e.add_keys = add_tlnmf_keys;
  e.build = build_tlnmf;
  e.load_data = load_tlnmf_data;
  e.report = report_tlnmf;
  // Audio only (a WAV or the embedded notes): the frames of Φ must come from a signal.
  e.capabilities = {/*matrix_input=*/false, /*audio_input=*/true, /*separates=*/true, /*data_parallel=*/true};
  e.load_shard = load_tlnmf_shard;  // training only: the report and separation need every frame
  e.separate = separate_tlnmf;
  return e;
}

}  // namespace factorch
