// NMF's configuration keys and builder (model.type: nmf).
#include "factorch/error.h"
#include "factorch/io/npy.h"
#include "factorch/models/nmf.h"
#include "app/experiments/nmf_entry.h"
#include "app/experiments/nmf_report.h"
#include "app/experiments/registry.h"
#include "app/audio_shard.h"
#include "factorch/models/nmf_init.h"
#include "factorch/io/torch_file.h"

#include <algorithm>
#include <cmath>

namespace factorch {

void add_nmf_keys(ConfigSchema& s) {
  const std::vector<std::string> m = {"nmf", "nmf_audio"};
  s.add("model.rank", KeyType::Integer,
        "number of components K; supervised separation (factorch separate with data.train): K per source, "
        "so W has K × (number of sources) columns").def("8").at_least(1).for_models(m);
  s.add("model.beta", KeyType::Beta, "β of the divergence: euclidean (2), kl (1), is (0) or any number").def("1").for_models(m);
  s.add("model.eps", KeyType::Number, "ε added to data and model inside the divergence (needed for IS with zeros)")
      .def("0.0").at_least(0).for_models(m);
  s.add("model.l1_w", KeyType::Number, "L1 penalty weight on W").def("0.0").at_least(0).for_models(m);
  s.add("model.l1_h", KeyType::Number, "L1 penalty weight on H (sparse activations)").def("0.0").at_least(0).for_models(m);
  s.add("model.l2_w", KeyType::Number, "L2 penalty weight on W").def("0.0").at_least(0).for_models(m);
  s.add("model.l2_h", KeyType::Number, "L2 penalty weight on H").def("0.0").at_least(0).for_models(m);
  s.add("model.init", KeyType::StringOrMap, "random | nndsvd | nndsvda | a map {W: w0.npy, H: h0.npy} (.npy, or .pt of one tensor)")
      .choice({"random", "nndsvd", "nndsvda"}).def("random").for_models(m);
  s.add("model.normalise", KeyType::String, "W column normalisation after each MU sweep (H rescaled, WH unchanged)")
      .choice({"l1", "l2", "none"}).def("none").for_models(m);
  s.add("model.fixed_w", KeyType::Boolean, "keep W fixed (fit activations on a given dictionary)").def("false").for_models(m);
  s.add("model.fixed_h", KeyType::Boolean, "keep H fixed").def("false").for_models(m);
  s.add("model.ard", KeyType::String,
        "automatic relevance determination (Tan & Févotte): none, or l1 / l2 for the penalty "
        "ard_lambda·Σ_k log(‖w_k‖+‖h_k‖+ard_b) with ‖x‖ = ‖x‖₁ or ½‖x‖₂²; needs normalise: none")
      .choice({"none", "l1", "l2"}).def("none").for_models(m);
  s.add("model.ard_lambda", KeyType::String,
        "ARD weight λ ≥ 0, or auto: λ = c = F+N+ard_a+1 (l1) or (F+N)/2+ard_a+1 (l2), the MAP value of Tan & Févotte "
        "with unit data dispersion").def("auto").for_models(m);
  s.add("model.ard_b", KeyType::String,
        "ARD relevance floor b > 0, or auto: b = (ard_a−1)·sqrt(mean(V)/K) (l1) or (ard_a−1)·mean(V)/K (l2), the prior "
        "mean of a relevance matched to the scale of one factor entry")
      .def("auto").for_models(m);
  s.add("model.ard_a", KeyType::Number, "shape a of the inverse-Gamma prior on the relevances (enters the auto λ and b)")
      .def("5").above(1).for_models(m);
  s.add("model.ard_prune", KeyType::Number,
        "prune (zero) component k once ‖w_k‖+‖h_k‖ < ard_prune × the largest one (0: never)").def("1e-6").at_least(0)
      .for_models(m);
  s.add("model.smooth_h", KeyType::Number,
        "temporal smoothness weight λ on H: λ Σ d_IS(h_kn | h_k,n−1) (smooth IS-NMF, Févotte 2011; needs beta: is)")
      .def("0.0").at_least(0).for_models(m);
  s.add("model.h_zeros", KeyType::StringList,
        "forced zeros on H (user-guided separation): entries \"K:START:END\" keep component K silent on the "
        "frames START ≤ n < END (END empty: to the last frame)").def("[]").for_models(m);
  s.add("model.h_mask", KeyType::String, ".npy K×N mask of H: 0 = forced zero, nonzero = free (combined with h_zeros)")
      .for_models(m);
}

namespace {

double beta_of(const Config& c) {
  const std::string b = c.string("model.beta");
  return BetaDivergence::from_name(b).beta();
}

// Data-parallel runs start from random or given factors: NNDSVD needs an SVD of the whole V.
void check_nmf_data_parallel(const Config& c) {
  const YAML::Node init = c.node("model.init");
  if (!init.IsMap() && init.Scalar() != "random")
    c.fail("model.init", "is " + init.Scalar() + ", which needs the whole of V at once: data-parallel runs start from "
                         "random or a map {W: w0.npy, H: h0.npy}");
}

// A rank's share of the initial factors, the same whatever the number of ranks: W and the
// full H are drawn as a single process draws them (same seeds, the global mean of V for the
// scale) and this rank keeps its columns of H.
void init_nmf_shard(const Config& c, NMFImpl& model, const TrainingData& data, uint64_t seed) {
  const DataShard& shard = *data.shard;
  check_nmf_data_parallel(c);
  const YAML::Node init = c.node("model.init");
  torch::Tensor moments = torch::stack({data.X.sum(), torch::scalar_tensor(static_cast<double>(data.X.numel()), torch::kFloat64)})
                              .to(torch::kFloat64);
  data.sum_over_shards(moments);
  const double mean = moments[0].item<double>() / moments[1].item<double>();
  const int64_t F = model.options.n_features(), K = model.options.rank();
  const double scale = std::sqrt(std::max(mean, 1e-30) / static_cast<double>(K));
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  // Seeds as in initial_factors(): W with `seed`, H with seed + 0x9E3779B97F4A7C15.
  model.set_factor("W", random_nonnegative({F, K}, scale, seed, f64));
  model.set_factor("H", random_nonnegative({K, shard.total}, scale, seed + 0x9E3779B97F4A7C15ULL, f64)
                            .slice(1, shard.begin, shard.end));
  if (!init.IsMap()) return;
  for (const auto& kv : init) {
    const std::string name = kv.first.Scalar(), file = kv.second.Scalar();
    if (name != "W" && name != "H") c.fail("model.init." + name, "is not a factor of nmf (W, H)");
    try {
      torch::Tensor value = io::load_npy(file);
      if (name == "H") {
        require(value.dim() == 2 && value.size(1) == shard.total,
                "H must have one column per column of V (" + std::to_string(shard.total) + ")");
        value = value.slice(1, shard.begin, shard.end);
      }
      model.set_factor(name, value);
    } catch (const Error& e) {
      c.fail("model.init." + name, std::string("(") + file + "): " + e.what());
    }
  }
}

}  // namespace

void apply_variant_options(const Config& c, const TrainingData& data, NMFOptions& o) {
  const std::string ard = c.string("model.ard");
  const double F = static_cast<double>(o.n_features()), N = static_cast<double>(o.n_samples());
  const double K = static_cast<double>(o.rank()), a = c.number("model.ard_a");
  const double mean = data.X.defined() && data.X.numel() > 0 ? data.X.mean().item<double>() : 1.0;
  // Tan & Févotte (2013): λ = c = F+N+a+1 (l1) or (F+N)/2+a+1 (l2) (unit dispersion, as IS on a
  // power spectrogram); b = (a−1)·E[φ] with the relevance φ at the scale of one factor entry.
  const double lambda_auto = ard == "l2" ? (F + N) / 2.0 + a + 1.0 : F + N + a + 1.0;
  const double b_auto = ard == "l2" ? (a - 1.0) * mean / K : (a - 1.0) * std::sqrt(mean / K);
  o.ard(ard).ard_prune(c.number("model.ard_prune"));
  if (ard != "none") {
    // A non-finite data mean (bad data) is reported by check_data, not as a bad b.
    o.ard_lambda(c.number_or_auto("model.ard_lambda").value_or(lambda_auto));
    o.ard_b(c.number_or_auto("model.ard_b", true).value_or(std::isfinite(b_auto) && b_auto > 0 ? b_auto : 1.0));
  }
  o.smooth_h(c.number("model.smooth_h"));
  if (ard != "none" && o.normalise() != Normalisation::None) c.fail("model.normalise", "must be none with model.ard (ARD is not scale invariant)");
  if (o.smooth_h() > 0 && !divergence::is_is(o.beta())) c.fail("model.smooth_h", "needs model.beta: is (smooth IS-NMF), got beta " + c.string("model.beta"));
}

torch::Tensor h_mask_from_config(const Config& c, int64_t rank, int64_t n_samples) {
  const std::vector<std::string> zeros = c.strings("model.h_zeros");
  if (zeros.empty() && !c.has("model.h_mask")) return {};
  torch::Tensor mask = torch::ones({rank, n_samples}, torch::kFloat64);
  if (c.has("model.h_mask")) {
    const std::string path = c.string("model.h_mask");
    torch::Tensor given;
    try {
      given = io::load_npy(path).to(torch::kFloat64);
    } catch (const Error& e) {
      c.fail("model.h_mask", std::string("cannot be loaded: ") + e.what());
    }
    if (given.dim() != 2 || given.size(0) != rank || given.size(1) != n_samples)
      c.fail("model.h_mask", "(" + path + ") must be " + std::to_string(rank) + "x" + std::to_string(n_samples) +
                                 " (K x N), got " + std::to_string(given.dim()) + "-D of " + std::to_string(given.numel()) + " values");
    mask.mul_(given != 0);
  }
  for (const std::string& z : zeros) {
    // "K:START:END" with END optional.
    const size_t p1 = z.find(':'), p2 = p1 == std::string::npos ? p1 : z.find(':', p1 + 1);
    int64_t k = -1, start = -1, end = n_samples;
    try {
      if (p2 == std::string::npos) throw std::invalid_argument(z);
      size_t used = 0;
      k = std::stoll(z.substr(0, p1), &used);
      if (used != p1) throw std::invalid_argument(z);
      const std::string s1 = z.substr(p1 + 1, p2 - p1 - 1), s2 = z.substr(p2 + 1);
      start = std::stoll(s1, &used);
      if (used != s1.size()) throw std::invalid_argument(z);
      if (!s2.empty()) {
        end = std::stoll(s2, &used);
        if (used != s2.size()) throw std::invalid_argument(z);
      }
    } catch (const std::exception&) {
      c.fail("model.h_zeros", "entries must be \"K:START:END\" (component, frames), got '" + z + "'");
    }
    if (k < 0 || k >= rank || start < 0 || start >= end || end > n_samples)
      c.fail("model.h_zeros", "entry '" + z + "' is outside H (K = " + std::to_string(rank) + " components, N = " +
                                  std::to_string(n_samples) + " frames, START < END)");
    mask[k].slice(0, start, end).zero_();
  }
  return mask;
}

std::shared_ptr<FactorModelImpl> build_nmf(const Config& c, const TrainingData& data) {
  if (data.X.dim() != 2) c.fail("data.input", "must be a 2-D matrix for NMF");
  NMFOptions o(data.X.size(0), data.X.size(1), c.integer("model.rank"));
  o.beta(beta_of(c)).eps(c.number("model.eps"));
  o.l1_w(c.number("model.l1_w")).l1_h(c.number("model.l1_h")).l2_w(c.number("model.l2_w")).l2_h(c.number("model.l2_h"));
  o.normalise(normalisation_from_name(c.string("model.normalise"))).fixed_w(c.boolean("model.fixed_w")).fixed_h(c.boolean("model.fixed_h"));
  o.softplus(c.string("trainer.kind") == "autograd" && c.string("trainer.nonneg") == "softplus");
  apply_variant_options(c, data, o);
  std::shared_ptr<NMFImpl> model;
  try {
    model = std::make_shared<NMFImpl>(o);
  } catch (const Error& e) {
    throw Error(c.source() + ": " + e.what());
  }
  const YAML::Node init = c.node("model.init");
  const uint64_t seed = static_cast<uint64_t>(c.integer("model.seed"));
  if (data.sharded()) {
    init_nmf_shard(c, *model, data, seed);
  } else if (init.IsMap()) {
    model->init(data.X, "random", seed);  // factors not given in the map stay random
    for (const auto& kv : init) {
      const std::string name = kv.first.Scalar(), file = kv.second.Scalar();
      if (name != "W" && name != "H") c.fail("model.init." + name, "is not a factor of nmf (W, H)");
      try {
        model->set_factor(name, io::load_tensor(file));
      } catch (const Error& e) {
        c.fail("model.init." + name, std::string("(") + file + "): " + e.what());
      }
    }
  } else {
    model->init(data.X, init.Scalar(), seed);
  }
  if (data.sharded()) {
    const torch::Tensor mask = h_mask_from_config(c, o.rank(), data.shard->total);
    if (mask.defined()) model->set_h_mask(mask.slice(1, data.shard->begin, data.shard->end));
    return model;
  }
  const torch::Tensor mask = h_mask_from_config(c, o.rank(), o.n_samples());
  if (mask.defined()) model->set_h_mask(mask);
  return model;
}

ModelEntry nmf_entry() {
  // No load_data: nmf reads V through app::load_dataset (.npy or audio).
  auto report = [](const Config&, FactorModelImpl& model, const app::Dataset&, const std::string& out_dir) {
    if (auto* nmf = dynamic_cast<NMFImpl*>(&model)) write_ard_summary(*nmf, out_dir);
  };
  ModelEntry e{"nmf", "β-NMF: V ≈ WH (any β, L1/L2, ARD, temporal smoothness, forced zeros on H, fixed W or H)",
               add_nmf_keys, on_matrix(build_nmf), {}, report, {}, {true, true, true, true}};
  e.load_shard = [](const Config& c, const std::shared_ptr<distributed::Communicator>& comm) {
    app::Dataset d;
    d.matrix = app::load_input_shard(c, comm);  // .npy columns, or the frames of a WAV
    return d;
  };
  e.check_data_parallel = check_nmf_data_parallel;
  // With W fixed, MU on H acts on each column alone, unless a penalty couples them.
  e.capabilities.streams = true;
  e.stream_obstacle = [](const Config& c) -> std::string {
    if (c.string("model.ard") != "none") return "model.ard couples the columns of H";
    if (c.number("model.smooth_h") != 0) return "model.smooth_h couples the columns of H";
    return "";
  };
  return e;
}

}  // namespace factorch
