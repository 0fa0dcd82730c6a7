// iN-NMF's registry entry (model.type: innmf): its model.* keys, the builder and the entry.
// Data: innmf_data.cpp; report of `factorch train`: innmf_report.cpp; `factorch separate`
// (the paper's Algorithm 2 at any window size): innmf_separation.cpp.
#include <algorithm>
#include <cmath>

#include "app/data_block.h"
#include "app/experiments/implicit_nmf_entry.h"
#include "app/experiments/registry.h"
#include "app/separation.h"
#include "factorch/error.h"
#include "factorch/io/torch_file.h"
#include "factorch/models/implicit_nmf.h"
#include "factorch/signal/frequency_glide.h"

namespace factorch {

namespace {

const std::vector<std::string> kModels = {"innmf"};

void add_innmf_keys(ConfigSchema& s) {
  const auto& m = kModels;
  s.add("model.rank", KeyType::Integer, "number of components K (implicit templates W_k(f))").def("8").at_least(1).for_models(m);
  s.add("model.beta", KeyType::Beta, "β of the divergence: kl (1, default), euclidean (2), is (0) or any number").def("1").for_models(m);
  s.add("model.eps", KeyType::Number, "ε added to data and model inside the divergence").def("0.0").at_least(0).for_models(m);
  s.add("model.activations", KeyType::String,
        "H: matrix (K×N softplus matrix, regular frame times), implicit (networks of time) or auto (matrix for stft/cqt)")
      .choice({"auto", "matrix", "implicit"}).def("auto").for_models(m);
  s.add("model.separate_networks", KeyType::Boolean, "one network per component (paper) instead of one network with K outputs")
      .def("true").for_models(m);
  s.add("model.width", KeyType::Integer, "width of the sine layers of the W networks").def("64").at_least(1).for_models(m);
  s.add("model.depth", KeyType::Integer, "number of sine layers of the W networks").def("3").at_least(1).for_models(m);
  s.add("model.omega_0", KeyType::Number, "ω₀ of the sine layers. SIREN's 30 fits the training grid as well as 5 but oscillates between its bins: "
        "on configs/innmf_transfer.yaml the transferred KL was 1.75–1.95× NMF's at n_fft 768–1536 with 30, 1.07–1.12× with 5").def("5.0").above(0).for_models(m);
  s.add("model.features", KeyType::String, "Fourier features of the frequency coordinate: octave (2^k), gaussian (N(0, σ²)) or none")
      .choice({"octave", "gaussian", "none"}).def("octave").for_models(m);
  s.add("model.n_frequencies", KeyType::Integer, "Fourier feature frequencies (octave: 2^0…2^(n−1); 2n features; paper 10: finest period fs/2^(n−1))").def("8").at_least(1).for_models(m);
  s.add("model.sigma", KeyType::Number, "σ of Gaussian Fourier features").def("10.0").above(0).for_models(m);
  s.add("model.random_phase", KeyType::Boolean, "random phase in the Fourier features").def("true").for_models(m);
  s.add("model.trainable_features", KeyType::Boolean, "learn the Fourier feature frequencies B").def("false").for_models(m);
  s.add("model.h_width", KeyType::Integer, "implicit activations: width of the H networks").def("32").at_least(1).for_models(m);
  s.add("model.h_depth", KeyType::Integer, "implicit activations: sine layers of the H networks").def("2").at_least(1).for_models(m);
  s.add("model.h_n_frequencies", KeyType::Integer, "implicit activations: octave features of the time coordinate").def("8").at_least(1).for_models(m);
  s.add("model.fixed_dictionary", KeyType::Boolean, "keep the W networks fixed and fit only the activations (with model.dictionary_from)")
      .def("false").for_models(m);
  s.add("model.dictionary_from", KeyType::String,
        "factors.pt or checkpoint.pt of an innmf run whose W networks (and frequency coordinates) start this model; "
        "the network options and rank must match. Any DFT size / CQT / sample grid may be used here").for_models(m);
  s.add("model.h_floor", KeyType::Number, "matrix activations are kept >= this value after every step: H = softplus(raw) "
        "reaches exactly 0 with a zero gradient (raw < -88 in float32), from where no optimiser revives it, and "
        "Rprop's growing steps drive every unneeded activation there (0: no floor)").def("1e-13").at_least(0).for_models(m);
  s.add("model.spectral_kernel", KeyType::Boolean,
        "the W networks learn a spectral density D_k(ν) and each template is D_k seen through the analysis window, "
        "W_k(f) = (Σ_ν |Ŵ(f−ν)|² D_k(ν))^(compression/2); at another DFT size (transfer, export) the density is seen "
        "through that size's window, so spectral peaks take the width of the window in use (stft data only)")
      .def("false").for_models(m);
  s.add("model.kernel_glide", KeyType::String,
        "spectral_kernel: relative glide rate r (1/s) of the spectral lines, |d log ν/dt|. At a DFT size whose window "
        "lasts longer than the training one, each density is first spread by a Gaussian of std ν·r·sqrt(d² − d_train²) "
        "(d: the windows' rms durations), the extra smearing of gliding partials (intonation) that a longer window sees. "
        "0 (the default): stationary lines; auto: measured on the training audio (frame-to-frame shifts of the lines on "
        "a log-frequency grid; ≈ 0.5 for speech, ≈ 0.05 for a piano). Off by default: on speech and piano, 3–27 s, the "
        "spread made every longer window worse (configs/innmf_speech.yaml), the measured shifts being mostly pitch "
        "jitter that the longer window averages rather than smears")
      .def("0").for_models(m);
  s.add("model.joint_n_fft", KeyType::IntegerList,
        "spectral_kernel: further DFT sizes of the same audio on which the one density is trained together with "
        "data.transform.n_fft (one activation matrix per size). A density learnt at one size puts its lines where that "
        "size's bins place them; seen through two windows it must put them where both agree, and the sizes between, "
        "never seen, transfer better too (configs/innmf_speech.yaml). Costs about one training per size, and "
        "model.kernel_oversampling: auto refines the density grid with the longest size")
      .def("[]").for_models(m);
  s.add("model.kernel_oversampling", KeyType::String,
        "spectral_kernel: density grid points per training bin, a positive integer or auto: 4 per bin of the longest "
        "training size (data.transform.n_fft and model.joint_n_fft), i.e. 4 without joint sizes and 8 for 1024 + 2048. "
        "Finer resolves peaks narrower than a bin of the longest window: at 4 per 1024 bin (2 per 2048 bin) a piano's "
        "steady lines gave 1.16x per-size NMF at the unseen sizes, at 8 1.11-1.13x (configs/innmf_speech.yaml). "
        "Costs one network evaluation per point")
      .def("auto").for_models(m);
  s.add("model.export_n_fft", KeyType::IntegerList, "report: write dictionary/W_nfft<N>.npy, W sampled on the bins of these DFT sizes")
      .def("[]").for_models(m);
  s.add("model.export_frequencies", KeyType::NumberList, "report: write dictionary/W_custom.npy, W sampled at these frequencies (Hz)")
      .def("[]").for_models(m);
  s.add("model.transfer_n_fft", KeyType::IntegerList,
        "report: resolution-transfer table (transfer.csv/json): for each DFT size, KL of the learnt W sampled there with "
        "only H fitted vs matrix NMF re-trained at that size").def("[]").for_models(m);
  s.add("model.separation_n_fft", KeyType::IntegerList,
        "supervised separation at these window sizes (paper's Algorithm 2): one implicit dictionary per source learnt on "
        "its clean audio (data.train, or the embedded toy's two sources) at data.transform.n_fft, sampled at each size, H "
        "fitted on the mixture, ratio masks V_s/Σ V_j (paper Eq. 3). factorch separate: sources/ and metrics.json for the first size, "
        "n_fft<N>/sources/ and n_fft<N>/metrics.json for the others (empty: data.transform.n_fft alone). "
        "factorch train: a table against supervised NMF re-trained per size, separation.json").def("[]").for_models(m);
  s.add("model.report_iter", KeyType::Integer, "report: MU iterations of activation fits and of the per-size NMF baselines")
      .def("500").at_least(1).for_models(m);
  s.add("model.plot", KeyType::Boolean, "report: innmf_W.png (templates on the training grid, low frequencies at the bottom) and "
        "innmf_H.png (activations), each component normalised to its maximum; tools/plot_innmf.py RUN_DIR draws "
        "matplotlib figures (optional)")
      .def("true").for_models(m);

}

}  // namespace

namespace innmf {

ImplicitNMFOptions model_options(const Config& c, double sample_rate, bool regular_times) {
  ImplicitNMFOptions o(c.integer("model.rank"), sample_rate);
  o.beta(BetaDivergence::from_name(c.string("model.beta")).beta()).eps(c.number("model.eps"));
  nn::ImplicitMLPOptions w;
  w.width(c.integer("model.width")).depth(c.integer("model.depth")).omega_0(c.number("model.omega_0"));
  w.features(c.string("model.features")).n_frequencies(c.integer("model.n_frequencies")).sigma(c.number("model.sigma"));
  w.random_phase(c.boolean("model.random_phase")).trainable_features(c.boolean("model.trainable_features"));
  nn::ImplicitMLPOptions h = w;
  h.width(c.integer("model.h_width")).depth(c.integer("model.h_depth")).n_frequencies(c.integer("model.h_n_frequencies"));
  h.features("octave");
  o.w_net(w).h_net(h).separate_networks(c.boolean("model.separate_networks"));
  std::string act = c.string("model.activations");
  if (act == "auto") act = regular_times ? "matrix" : "implicit";
  if (act == "matrix" && !regular_times)
    c.fail("model.activations", "is matrix but the data's times are not a regular frame grid (use implicit)");
  o.activations(implicit_activations_from_name(act)).fixed_dictionary(c.boolean("model.fixed_dictionary")).h_floor(c.number("model.h_floor"));
  if (c.boolean("model.spectral_kernel")) {
    if (representation(c) != "stft")
      c.fail("model.spectral_kernel", "needs STFT data (data.transform.kind: stft; the kernel is that of the STFT window)");
    o.spectral_kernel(true).kernel_window(c.string("data.transform.window")).kernel_n_fft(c.integer("data.transform.n_fft"));
    o.kernel_oversampling(kernel_oversampling(c)).compression(c.number("data.transform.exponent"));
  }
  return o;
}

int64_t kernel_oversampling(const Config& c) {
  const std::string key = "model.kernel_oversampling";
  if (const std::optional<double> v = c.number_or_auto(key, true)) {
    if (*v != std::floor(*v) || *v > 1024) c.fail(key, "must be a positive integer (at most 1024) or auto, got " + c.string(key));
    return static_cast<int64_t>(*v);
  }
  // auto: 4 points per bin of the longest window trained on (a line must fall between points
  // finer than that window's bins, see the key's help).
  const int64_t n = c.integer("data.transform.n_fft");
  int64_t longest = n;
  for (int64_t j : c.integers("model.joint_n_fft")) longest = std::max(longest, j);
  return (4 * longest + n - 1) / n;
}

void check_joint_n_fft(const Config& c, const std::string& representation, int64_t shortest_signal) {
  kernel_oversampling(c);  // its value is checked wherever the joint sizes are, before any data is read
  const std::vector<int64_t> joint = c.integers("model.joint_n_fft");
  if (joint.empty()) return;
  if (!c.boolean("model.spectral_kernel"))
    c.fail("model.joint_n_fft", "needs model.spectral_kernel: true (one density seen through each size's window)");
  if (representation != "stft") c.fail("model.joint_n_fft", "needs STFT data (data.transform.kind: stft)");
  if (c.string("model.activations") == "implicit")
    c.fail("model.joint_n_fft", "needs matrix activations (one H per DFT size), but model.activations is implicit");
  const int64_t n_train = c.integer("data.transform.n_fft");
  for (size_t i = 0; i < joint.size(); ++i) {
    const int64_t n = joint[i];
    if (n < 2 || n > shortest_signal)
      c.fail("model.joint_n_fft", std::to_string(n) + " is not a DFT size between 2 and the training signal's " +
                                      std::to_string(shortest_signal) + " samples");
    if (n == n_train) c.fail("model.joint_n_fft", std::to_string(n) + " is data.transform.n_fft, trained on anyway");
    const auto before = joint.begin() + static_cast<std::ptrdiff_t>(i);
    if (std::find(joint.begin(), before, n) != before) c.fail("model.joint_n_fft", std::to_string(n) + " is given twice");
  }
}

double kernel_glide(const Config& c, const Signal& training) {
  if (!c.boolean("model.spectral_kernel")) return 0.0;
  if (const std::optional<double> r = c.number_or_auto("model.kernel_glide")) return *r;
  const Spectrogram sp = stft_spectrogram(c, training, c.integer("data.transform.n_fft"));
  const double r = signal::glide_rate(signal::magnitude(sp.complex), sp.frequencies,
                                      static_cast<double>(sp.options.hop) / training.rate);
  std::printf("iN-NMF: line glide rate %.3g /s measured on the training audio (model.kernel_glide: auto)\n", r);
  return r;
}

}  // namespace innmf

namespace {

using namespace innmf;

torch::Tensor distinct(const torch::Tensor& x) { return std::get<0>(torch::_unique2(x.contiguous(), true, false)); }

bool regular(const torch::Tensor& t) {
  if (t.size(0) < 2) return true;
  const torch::Tensor d = t.slice(0, 1) - t.slice(0, 0, -1);
  const double dt = d[0].item<double>();
  return dt > 0 && (d - dt).abs().max().item<double>() <= 1e-6 * dt;
}

// The report's requests against the data, before training (validate before computing).
void check_report_keys(const Config& c, const InnmfData& own) {
  for (const int64_t n : c.integers("model.export_n_fft"))
    if (n < 2) c.fail("model.export_n_fft", "sizes must be >= 2, got " + std::to_string(n));
  if (!c.integers("model.transfer_n_fft").empty()) {
    if (own.representation != "stft") c.fail("model.transfer_n_fft", "needs STFT data (data.transform.kind: stft)");
    for (const int64_t n : c.integers("model.transfer_n_fft"))
      if (n < 2 || n > own.signal.signal.size(0))
        c.fail("model.transfer_n_fft", std::to_string(n) + " is not a DFT size between 2 and the signal's " +
                                           std::to_string(own.signal.signal.size(0)) + " samples");
  }
  check_joint_n_fft(c, own.representation, own.signal.signal.size(0));
  if (!c.integers("model.separation_n_fft").empty()) {
    if (!own.separation)
      c.fail("model.separation_n_fft", "needs clean sources: the embedded toy (data.synthetic) or data.input with "
                                       "data.train (on your audio, factorch separate)");
    if (!own.separation->references.defined())
      c.fail("model.separation_n_fft", "in factorch train scores against data.references, which are not given "
                                       "(factorch separate writes the sources without them)");
  }
}

std::shared_ptr<FactorModelImpl> build_innmf(const Config& c, const app::Dataset& dataset) {
  const TrainingData& data = dataset.matrix;
  const InnmfData& own = dataset.get<InnmfData>();
  if (c.string("trainer.kind") != "autograd")
    c.fail("trainer.kind", "must be autograd for model.type innmf (networks have no multiplicative update), got " +
                               c.string("trainer.kind"));
  const bool joint = !c.integers("model.joint_n_fft").empty();
  if (data.X.dim() != 2 || data.X.size(1) != (joint ? 4 : 3))
    c.fail("data.input", joint ? "iN-NMF with model.joint_n_fft needs S×4 (time, frequency, value, n_fft) samples"
                               : "iN-NMF needs S×3 (time, frequency, value) samples");
  if (!data.X.isfinite().all().item<bool>()) c.fail("data.input", "has NaN or Inf samples");
  check_report_keys(c, own);
  const double rate = own.rate;
  // A data-parallel rank holds some rows only: the grids are the whole run's (load_innmf_shard).
  const torch::Tensor main_rows = training_size_rows(c, data.X);
  const torch::Tensor times = own.grid_times.defined() ? own.grid_times : distinct(main_rows.select(1, 0));
  const torch::Tensor freqs = own.grid_frequencies.defined() ? own.grid_frequencies : distinct(main_rows.select(1, 1));
  ImplicitNMFOptions o = model_options(c, rate, regular(times));
  if (o.spectral_kernel()) o.kernel_glide(kernel_glide(c, own.signal));
  if (o.fixed_dictionary() && !c.has("model.dictionary_from") && !c.has("model.init_from"))
    c.fail("model.fixed_dictionary", "needs model.dictionary_from (the factors.pt of a trained innmf run)");
  torch::manual_seed(static_cast<uint64_t>(c.integer("model.seed")));
  std::shared_ptr<ImplicitNMFImpl> model;
  try {
    model = std::make_shared<ImplicitNMFImpl>(o, freqs, times);
  } catch (const Error& e) {
    c.fail("data.sample_rate", e.what());
  }
  try {
    add_joint_sizes(c, *model, own.signal);
  } catch (const Error& e) {
    c.fail("model.joint_n_fft", e.what());
  }
  if (c.has("model.dictionary_from")) {
    const std::string path = c.string("model.dictionary_from");
    try {
      model->load_dictionary(io::load_tensors_pt(path), path);
    } catch (const Error& e) {
      c.fail("model.dictionary_from", e.what());
    }
  }
  model->check_data(data);
  model->init_activations(data, static_cast<uint64_t>(c.integer("model.seed")));
  return model;
}

// The dictionary of a finished run on another grid: the model rebuilt from its config and
// factors (network weights, coordinates, training grids), then W sampled at `frequencies`.
torch::Tensor sample_innmf_dictionary(const Config& c, const NamedTensors& factors, const torch::Tensor& frequencies,
                                      int64_t n_fft) {
  const torch::Tensor* coords = factors.find("coordinates");
  const torch::Tensor* freqs = factors.find("frequencies");
  const torch::Tensor* times = factors.find("times");
  require(coords && freqs && times, "the factors have no coordinates/frequencies/times (not an innmf run?)");
  ImplicitNMFOptions o = model_options(c, coords->to(torch::kFloat64)[0].item<double>(), factors.find("H_raw") != nullptr);
  o.fixed_dictionary(true);
  // Only W is sampled: one frame stands for the time grid (the saved times are in the
  // trained dtype, float32 rounding would fail the regular-grid check).
  ImplicitNMFImpl model(o, *freqs, torch::zeros({1}, torch::kFloat64));
  model.load_dictionary(factors, "checkpoint");
  torch::NoGradGuard no_grad;
  return model.dictionary(frequencies.to(torch::kFloat64), n_fft).contiguous();
}

}  // namespace

ModelEntry innmf_entry() {
  return {"innmf", "implicit neural NMF: W_k(f) SIREN/Fourier-feature networks on (time, frequency, value) samples, "
          "resolution transfer, supervised separation at any window size", add_innmf_keys, build_innmf, innmf::load_innmf_dataset,
          innmf::report_innmf, sample_innmf_dictionary, {true, true, true, /*data_parallel=*/true}, innmf::separate_innmf,
          innmf::load_innmf_shard};
}

}  // namespace factorch
