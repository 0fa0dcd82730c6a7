// Layered NMF (model.type: lnmf) and discriminative layered NMF (model.type: dlnmf): the
// model.* keys and the registry entries. Data: layered_nmf_data.cpp; models:
// layered_nmf_models.cpp; dlnmf's table: dlnmf_report.cpp; `factorch separate`:
// layered_nmf_separation.cpp.
#include "app/audio_shard.h"
#include "app/experiments/layered_nmf_data.h"
#include "app/experiments/layered_nmf_models.h"
#include "app/experiments/layered_nmf_report.h"
#include "app/experiments/registry.h"

namespace factorch {

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
  s.add("model.source_iter", KeyType::Integer,
        "joint MU fine-tuning sweeps of each source's L-NMF dictionaries (lnmf separate: trainer.max_iter)")
      .def("100").at_least(0).for_models(kDL);
  s.add("model.h_iter", KeyType::Integer, "eq. 11 updates of the training-mixture activations per discriminative round")
      .def("50").at_least(0).for_models(kDL);
  s.add("model.w_iter", KeyType::Integer, "discriminative sweeps of all layers (eq. 14-16) per round; trainer.max_iter = rounds")
      .def("10").at_least(0).for_models(kDL);
  s.add("model.separation_iter", KeyType::Integer, "eq. 11 updates of a mixture's activations when it is separated")
      .def("100").at_least(1).for_models(kBoth);
  s.add("model.patience", KeyType::Integer,
        "early stopping: rounds without a better validation SDR before the best round is restored (0: off)")
      .def("2").at_least(0).for_models(kDL);
  s.add("model.mask_exponent", KeyType::Number,
        "gain exponent p on the estimated magnitudes: X_s = X ⊙ M_s^p / Σ M_j^p, M_s = S_s^(1/e), V = |X|^e "
        "(e = data.transform.exponent; p = 1: eq. 19-20, p = 2: power Wiener)")
      .def("1.0").above(0).for_models(kBoth);
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

}  // namespace

ModelEntry lnmf_entry() {
  ModelEntry e;
  e.name = "lnmf";
  e.summary = "layered NMF: X ≈ W1…WL·H, layer-wise pre-training + joint MU fine-tuning (any β)";
  e.add_keys = add_layered_keys;
  e.build = layered::build_lnmf;
  e.load_data = layered::load_lnmf;
  e.separate = layered::separate_layered;
  e.capabilities.matrix_input = true;
  e.capabilities.audio_input = true;
  e.capabilities.separates = true;
  // Data-parallel training of X = data.input (an F×N .npy or one WAV): pre-training and
  // fine-tuning are sums over X's columns. The concatenated training signals of data.train
  // (or data.synthetic) are not sharded.
  e.capabilities.data_parallel = true;
  e.check_data_parallel = [](const Config& c) {
    if (!c.has("data.input"))
      c.fail("data.input", "is required for a data-parallel lnmf run (an F×N .npy or one WAV): the training signals of "
                           "data.train / data.synthetic are not sharded");
    if (c.has("data.synthetic") || c.has("data.train")) c.fail("data.input", "cannot be combined with data.synthetic or data.train");
    const YAML::Node init = c.node("model.init");
    if (!init.IsMap() && init.Scalar() != "random")
      c.fail("model.init", "is " + init.Scalar() + ", which needs the whole of X at once: data-parallel runs "
                           "pre-train from random (or a map of given factors)");
  };
  e.load_shard = [](const Config& c, const std::shared_ptr<distributed::Communicator>& comm) {
    app::Dataset d;
    d.matrix = app::load_input_shard(c, comm);
    return d;
  };
  return e;
}

ModelEntry dlnmf_entry() {
  // Keys are declared once by lnmf_entry (they apply to both types).
  ModelEntry e;
  e.name = "dlnmf";
  e.summary = "discriminative layered NMF for supervised separation (NMF / L-NMF baselines in the report)";
  e.build = layered::build_dlnmf;
  e.load_data = layered::load_dlnmf;
  e.report = layered::report_dlnmf;
  e.separate = layered::separate_layered;
  e.capabilities.audio_input = true;
  e.capabilities.separates = true;
  return e;
}

}  // namespace factorch
