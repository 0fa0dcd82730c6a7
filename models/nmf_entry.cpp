// NMF's configuration keys and builder (model.type: nmf).
#include "factorch/error.h"
#include "factorch/io/npy.h"
#include "models/nmf.h"
#include "models/registry.h"

namespace factorch {

namespace {

void add_nmf_keys(ConfigSchema& s) {
  const std::vector<std::string> m = {"nmf"};
  s.add("model.rank", KeyType::Integer, "number of components K").def("8").at_least(1).for_models(m);
  s.add("model.beta", KeyType::Beta, "β of the divergence: euclidean (2), kl (1), is (0) or any number").def("1").for_models(m);
  s.add("model.eps", KeyType::Number, "ε added to data and model inside the divergence (needed for IS with zeros)")
      .def("0.0").at_least(0).for_models(m);
  s.add("model.l1_w", KeyType::Number, "L1 penalty weight on W").def("0.0").at_least(0).for_models(m);
  s.add("model.l1_h", KeyType::Number, "L1 penalty weight on H (sparse activations)").def("0.0").at_least(0).for_models(m);
  s.add("model.l2_w", KeyType::Number, "L2 penalty weight on W").def("0.0").at_least(0).for_models(m);
  s.add("model.l2_h", KeyType::Number, "L2 penalty weight on H").def("0.0").at_least(0).for_models(m);
  s.add("model.init", KeyType::StringOrMap, "random | nndsvd | nndsvda | a map {W: w0.npy, H: h0.npy}")
      .choice({"random", "nndsvd", "nndsvda"}).def("random").for_models(m);
  s.add("model.normalise", KeyType::String, "W column normalisation after each MU sweep (H rescaled, WH unchanged)")
      .choice({"l1", "l2", "none"}).def("none").for_models(m);
  s.add("model.fixed_w", KeyType::Boolean, "keep W fixed (fit activations on a given dictionary)").def("false").for_models(m);
  s.add("model.fixed_h", KeyType::Boolean, "keep H fixed").def("false").for_models(m);
}

double beta_of(const Config& c) {
  const std::string b = c.string("model.beta");
  return BetaDivergence::from_name(b).beta();
}

std::shared_ptr<FactorModelImpl> build_nmf(const Config& c, const TrainingData& data) {
  if (data.X.dim() != 2) c.fail("data.input", "must be a 2-D matrix for NMF");
  NMFOptions o(data.X.size(0), data.X.size(1), c.integer("model.rank"));
  o.beta(beta_of(c)).eps(c.number("model.eps"));
  o.l1_w(c.number("model.l1_w")).l1_h(c.number("model.l1_h")).l2_w(c.number("model.l2_w")).l2_h(c.number("model.l2_h"));
  o.normalise(c.string("model.normalise")).fixed_w(c.boolean("model.fixed_w")).fixed_h(c.boolean("model.fixed_h"));
  o.softplus(c.string("trainer.kind") == "autograd" && c.string("trainer.nonneg") == "softplus");
  auto model = std::make_shared<NMFImpl>(o);
  const YAML::Node init = c.node("model.init");
  const uint64_t seed = static_cast<uint64_t>(c.integer("model.seed"));
  if (init.IsMap()) {
    model->init(data.X, "random", seed);  // factors not given in the map stay random
    for (const auto& kv : init) {
      const std::string name = kv.first.Scalar(), file = kv.second.Scalar();
      if (name != "W" && name != "H") c.fail("model.init." + name, "is not a factor of nmf (W, H)");
      try {
        model->set_factor(name, io::load_npy(file));
      } catch (const Error& e) {
        c.fail("model.init." + name, std::string("(") + file + "): " + e.what());
      }
    }
  } else {
    model->init(data.X, init.Scalar(), seed);
  }
  return model;
}

}  // namespace

ModelEntry nmf_entry() {
  return {"nmf", "β-NMF: V ≈ WH (any β, L1/L2 penalties, fixed W or H)", add_nmf_keys, build_nmf};
}

}  // namespace factorch
