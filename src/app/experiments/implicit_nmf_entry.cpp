// iN-NMF's configuration keys, data loading, builder and report (model.type: innmf).
//
// Data: a signal (data.input WAV, or an embedded synthetic harmonic toy when data.input is
// absent) turned into (time, frequency, value) samples by an STFT (|STFT|^compression) or a
// constant-Q transform, or a user's S×3 .npy of samples (data.input: samples.npy).
// Report (after training): dictionary exports on requested grids, the resolution-transfer
// table (iN-NMF W sampled at other DFT sizes, only H fitted, vs matrix NMF re-trained per
// size), supervised two-source separation at several window sizes (paper's Algorithm 2),
// and PNGs of the factors (io/png.h; tools/plot_innmf.py draws matplotlib figures).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "app/data_block.h"
#include "app/run.h"
#include "factorch/error.h"
#include "factorch/eval/bss.h"
#include "factorch/eval/metrics_json.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/npy.h"
#include "factorch/io/png.h"
#include "factorch/io/torch_file.h"
#include "factorch/io/wav.h"
#include "factorch/signal/frames.h"
#include "factorch/signal/logfreq.h"
#include "factorch/signal/stft.h"
#include "factorch/signal/synthetic.h"
#include "factorch/signal/wiener.h"
#include "factorch/train/trainer.h"
#include "factorch/models/implicit_nmf.h"
#include "app/experiments/implicit_nmf_entry.h"
#include "factorch/models/nmf.h"
#include "app/experiments/registry.h"

namespace factorch {

namespace fs = std::filesystem;

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
  s.add("model.kernel_oversampling", KeyType::Integer, "spectral_kernel: density grid points per training bin "
        "(finer resolves peaks narrower than a training bin, for larger DFT sizes; costs one network evaluation per point)")
      .def("4").at_least(1).for_models(m);
  s.add("model.export_n_fft", KeyType::IntegerList, "report: write dictionary/W_nfft<N>.npy, W sampled on the bins of these DFT sizes")
      .def("[]").for_models(m);
  s.add("model.export_frequencies", KeyType::NumberList, "report: write dictionary/W_custom.npy, W sampled at these frequencies (Hz)")
      .def("[]").for_models(m);
  s.add("model.transfer_n_fft", KeyType::IntegerList,
        "report: resolution-transfer table (transfer.csv/json): for each DFT size, KL of the learnt W sampled there with "
        "only H fitted vs matrix NMF re-trained at that size").def("[]").for_models(m);
  s.add("model.separation_n_fft", KeyType::IntegerList,
        "report (synthetic data only): supervised two-source separation, dictionaries learnt on clean sources at data.transform.n_fft and "
        "used at these window sizes (paper's Algorithm 2) vs supervised NMF per size; separation.json").def("[]").for_models(m);
  s.add("model.report_iter", KeyType::Integer, "report: MU iterations of activation fits and of the per-size NMF baselines")
      .def("500").at_least(1).for_models(m);
  s.add("model.plot", KeyType::Boolean, "report: innmf_W.png (templates on the training grid, low frequencies at the bottom) and "
        "innmf_H.png (activations), each component normalised to its maximum; tools/plot_innmf.py RUN_DIR draws "
        "matplotlib figures (optional)")
      .def("true").for_models(m);

}

// ------------------------------------------------------------------------------ data

bool is_npy(const std::string& path) { return path.size() > 4 && path.substr(path.size() - 4) == ".npy"; }

// samples (data.input is one S×3 .npy), stft or cqt (data.transform.kind of audio input).
std::string representation(const Config& c) {
  if (c.has("data.input")) {
    const auto inputs = c.strings("data.input");
    if (inputs.size() == 1 && is_npy(inputs[0])) return "samples";
  }
  const std::string kind = c.string("data.transform.kind");
  if (kind == "dct") c.fail("data.transform.kind", "must be stft or cqt for innmf, got dct");
  return kind;
}

// data.transform.hop belongs to data.transform.n_fft; other sizes keep the same overlap ratio.
signal::StftOptions stft_options(const Config& c, int64_t n_fft) { return app::transform_spec(c).stft(n_fft); }

}  // namespace

namespace innmf {

Signal synthetic_signal(const std::vector<double>& notes, double rate, double seconds, int harmonics, double decay,
                        uint64_t seed, bool overlap, double linewidth) {
  const int64_t T = std::llround(seconds * rate);
  const int64_t S = static_cast<int64_t>(notes.size());
  require(S >= 1, "synthetic signal: needs at least one note");
  Signal out;
  out.rate = rate;
  out.sources = torch::zeros({S, T}, torch::kFloat64);
  // Note k sounds in slot k of S (plus, with overlap, half of the next slot): every note is
  // heard alone and with a neighbour, so the components are identifiable.
  const int64_t slot = T / S;
  for (int64_t k = 0; k < S; ++k) {
    signal::Envelope env;
    env.fade = std::min<int64_t>(slot / 8, std::llround(0.02 * rate));
    const int64_t start = k * slot, end = std::min(T, (k + 1) * slot + (overlap ? slot / 2 : 0));
    env.active.push_back({start, k == S - 1 ? T : end});
    if (linewidth <= 0) {
      out.sources[k].copy_(signal::harmonic_source(notes[k], rate, T, harmonics, decay, env, seed * 7919 + k));
      continue;
    }
    // Phase diffusion: increments N(0, σ²) per sample give a Lorentzian line of half-width
    // σ²·fs/(4π) Hz around each partial.
    require(harmonics * notes[k] < rate / 2, "synthetic signal: harmonic " + std::to_string(harmonics) + " of " +
                                                 std::to_string(notes[k]) + " Hz is above the Nyquist frequency");
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed * 7919 + k);
    const double sigma = std::sqrt(4 * M_PI * linewidth / rate);
    const torch::Tensor n = torch::arange(T, torch::kFloat64);
    torch::Tensor x = torch::zeros({T}, torch::kFloat64);
    for (int r = 1; r <= harmonics; ++r) {
      const torch::Tensor phi = at::normal(0.0, sigma, {T}, gen, torch::kFloat64).cumsum(0);
      x += std::pow(decay, r) * torch::cos((2 * M_PI * r * notes[k] / rate) * n + phi);
    }
    out.sources[k].copy_(x * signal::envelope_signal(env, T));
  }
  out.signal = out.sources.sum(0);
  return out;
}

Signal load_signal(const Config& c) {
  if (c.has("data.input")) {
    const auto inputs = app::resolve_audio_paths(c, "data.input", c.strings("data.input"));
    if (inputs.size() != 1) c.fail("data.input", "must be one WAV for innmf, got " + std::to_string(inputs.size()) + " files");
    const std::string path = inputs[0];
    io::Audio a;
    try {
      io::ReadOptions ro;
      ro.downmix = true;
      a = io::read_wav(path, ro);
    } catch (const Error& e) {
      c.fail("data.input", std::string("cannot be read as audio: ") + e.what());
    }
    return Signal{a.samples[0], static_cast<double>(a.sample_rate), {}};
  }
  if (!c.has("data.synthetic")) c.fail("data.input", "is required (a WAV, or an S×3 samples .npy) unless data.synthetic is set");
  const app::SyntheticParams p(c, {"note_sequence"});
  try {
    return synthetic_signal(p.numbers("frequencies"), p.number("sample_rate"), p.number("seconds"),
                            static_cast<int>(p.integer("harmonics")), p.number("decay"),
                            static_cast<uint64_t>(p.integer("seed")), true, p.number("linewidth"));
  } catch (const Error& e) {
    p.fail("frequencies", std::string("do not make a valid signal: ") + e.what());
  }
}

Spectrogram stft_spectrogram(const Config& c, const Signal& s, int64_t n_fft) {
  const signal::StftOptions o = stft_options(c, n_fft);
  require(n_fft <= s.signal.size(0), "iN-NMF: n_fft " + std::to_string(n_fft) + " exceeds the signal's " +
                                         std::to_string(s.signal.size(0)) + " samples");
  Spectrogram out;
  out.complex = signal::stft(s.signal, o);
  out.V = signal::magnitude(out.complex).pow(c.number("data.transform.exponent"));
  out.frequencies = signal::stft_frequencies(n_fft, s.rate);
  out.times = signal::frame_times(out.V.size(1), o.frame_length(), o.hop, s.rate);
  out.options = o;
  return out;
}

torch::Tensor samples_of(const Spectrogram& sp) {
  return signal::time_frequency_samples(sp.V, sp.frequencies, sp.times);
}

}  // namespace innmf

namespace {

using namespace innmf;

TrainingData load_innmf_data(const Config& c) {
  TrainingData data;
  data.rows_are_samples = true;
  const std::string rep = representation(c);
  if (rep == "samples") {
    if (!c.has("data.sample_rate"))
      c.fail("data.sample_rate", "is required with a samples .npy (it sets the frequency range up to Nyquist)");
    torch::Tensor X;
    try {
      X = io::load_npy(c.strings("data.input")[0]).to(torch::kFloat64);
    } catch (const Error& e) {
      c.fail("data.input", std::string("cannot be loaded: ") + e.what());
    }
    if (X.dim() != 2 || X.size(1) != 3) {
      std::string shape;
      for (int64_t i = 0; i < X.dim(); ++i) shape += (i ? "x" : "") + std::to_string(X.size(i));
      c.fail("data.input", "must be an S×3 array (time s, frequency Hz, value), got shape " + (shape.empty() ? "()" : shape));
    }
    if (X.size(0) == 0) c.fail("data.input", "has no samples");
    data.X = X;
    return data;
  }
  const Signal s = load_signal(c);
  if (rep == "stft") {
    data.X = samples_of(stft_spectrogram(c, s, c.integer("data.transform.n_fft")));
  } else {
    const app::TransformSpec tf = app::transform_spec(c);
    signal::ConstantQOptions o;
    o.f_min = tf.cqt_f_min;
    o.bins_per_octave = tf.cqt_bins_per_octave;
    o.hop = tf.hop;
    signal::ConstantQ cq;
    try {
      cq = signal::constant_q(s.signal, s.rate, o);
    } catch (const Error& e) {
      c.fail("data.transform.cqt_f_min", e.what());
    }
    data.X = signal::time_frequency_samples(cq.magnitude().pow(tf.exponent), cq.frequencies, cq.times);
  }
  return data;
}

double sample_rate_of(const Config& c) {
  const std::string rep = representation(c);
  if (rep == "samples") return c.number("data.sample_rate");
  if (c.has("data.input")) return load_signal(c).rate;
  return app::SyntheticParams(c, {"note_sequence"}).number("sample_rate");
}

torch::Tensor distinct(const torch::Tensor& x) { return std::get<0>(torch::_unique2(x.contiguous(), true, false)); }

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
  o.activations(act).fixed_dictionary(c.boolean("model.fixed_dictionary")).h_floor(c.number("model.h_floor"));
  if (c.boolean("model.spectral_kernel")) {
    if (representation(c) != "stft")
      c.fail("model.spectral_kernel", "needs STFT data (data.transform.kind: stft; the kernel is that of the STFT window)");
    o.spectral_kernel(true).kernel_window(c.string("data.transform.window")).kernel_n_fft(c.integer("data.transform.n_fft"));
    o.kernel_oversampling(c.integer("model.kernel_oversampling")).compression(c.number("data.transform.exponent"));
  }
  return o;
}

}  // namespace innmf

namespace {

bool regular(const torch::Tensor& t) {
  if (t.size(0) < 2) return true;
  const torch::Tensor d = t.slice(0, 1) - t.slice(0, 0, -1);
  const double dt = d[0].item<double>();
  return dt > 0 && (d - dt).abs().max().item<double>() <= 1e-6 * dt;
}

std::shared_ptr<FactorModelImpl> build_innmf(const Config& c, const TrainingData& data) {
  if (c.string("trainer.kind") != "autograd")
    c.fail("trainer.kind", "must be autograd for model.type innmf (networks have no multiplicative update), got " +
                               c.string("trainer.kind"));
  if (data.X.dim() != 2 || data.X.size(1) != 3) c.fail("data.input", "iN-NMF needs S×3 (time, frequency, value) samples");
  if (!data.X.isfinite().all().item<bool>()) c.fail("data.input", "has NaN or Inf samples");
  const double rate = sample_rate_of(c);
  const torch::Tensor times = distinct(data.X.select(1, 0)), freqs = distinct(data.X.select(1, 1));
  const ImplicitNMFOptions o = model_options(c, rate, regular(times));
  if (o.fixed_dictionary() && !c.has("model.dictionary_from") && !c.has("model.init_from"))
    c.fail("model.fixed_dictionary", "needs model.dictionary_from (the factors.pt of a trained innmf run)");
  torch::manual_seed(static_cast<uint64_t>(c.integer("model.seed")));
  std::shared_ptr<ImplicitNMFImpl> model;
  try {
    model = std::make_shared<ImplicitNMFImpl>(o, freqs, times);
  } catch (const Error& e) {
    c.fail("data.sample_rate", e.what());
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

// ------------------------------------------------------------------------------ report

}  // namespace

namespace innmf {

double fit_activations(const torch::Tensor& V, const torch::Tensor& W, int64_t iterations, uint64_t seed, torch::Tensor* H) {
  NMFOptions o(V.size(0), V.size(1), W.size(1));
  o.fixed_w(true);
  auto nmf = std::make_shared<NMFImpl>(o);
  nmf->init(V, "random", seed);
  nmf->set_factor("W", W.to(torch::kFloat64).cpu().clamp_min(0));
  TrainerOptions t;
  t.kind("mu").max_iter(iterations).tol(1e-8).progress("never");
  const TrainingData d{V, {}, false};
  const TrainResult r = make_trainer(t)->fit(nmf, d);
  if (H) *H = nmf->H().detach();
  return r.objective;
}

double fit_nmf(const torch::Tensor& V, int64_t rank, int64_t iterations, uint64_t seed, torch::Tensor* W) {
  auto nmf = std::make_shared<NMFImpl>(NMFOptions(V.size(0), V.size(1), rank).normalise("l1"));
  nmf->init(V, "random", seed);
  TrainerOptions t;
  t.kind("mu").max_iter(iterations).tol(1e-8).progress("never");
  const TrainingData d{V, {}, false};
  const TrainResult r = make_trainer(t)->fit(nmf, d);
  if (W) *W = nmf->W().detach();
  return r.objective;
}

std::vector<TransferRow> transfer_table(const Config& c, ImplicitNMFImpl& model, const Signal& s,
                                        const std::vector<int64_t>& sizes, int64_t iterations) {
  torch::NoGradGuard no_grad;
  std::vector<TransferRow> rows;
  const uint64_t seed = static_cast<uint64_t>(c.integer("model.seed"));
  for (const int64_t n_fft : sizes) {
    const Spectrogram sp = stft_spectrogram(c, s, n_fft);
    TransferRow r;
    r.n_fft = n_fft;
    r.bins = sp.V.size(0);
    r.frames = sp.V.size(1);
    const torch::Tensor W = model.dictionary(sp.frequencies, n_fft).to(torch::kFloat64).cpu();
    r.innmf = fit_activations(sp.V, W, iterations, seed);
    r.nmf = fit_nmf(sp.V, model.options.rank(), iterations, seed);
    r.ratio = r.innmf / r.nmf;
    rows.push_back(r);
  }
  return rows;
}

}  // namespace innmf

namespace {

void write_transfer(const std::vector<TransferRow>& rows, int64_t trained, const std::string& out_dir) {
  std::ostringstream csv;
  csv << "n_fft,bins,frames,kl_innmf_transferred,kl_nmf_per_size,ratio\n";
  std::printf("resolution transfer (iN-NMF W learnt at n_fft = %lld, only H fitted; NMF re-trained per size), KL:\n",
              static_cast<long long>(trained));
  std::printf("  %7s %6s %7s %14s %14s %8s\n", "n_fft", "bins", "frames", "iN-NMF", "NMF", "ratio");
  auto rows_json = eval::Json::array();
  for (const auto& r : rows) {
    char line[256];
    std::snprintf(line, sizeof line, "%lld,%lld,%lld,%.6g,%.6g,%.4f\n", static_cast<long long>(r.n_fft),
                  static_cast<long long>(r.bins), static_cast<long long>(r.frames), r.innmf, r.nmf, r.ratio);
    csv << line;
    std::printf("  %7lld %6lld %7lld %14.6g %14.6g %8.4f%s\n", static_cast<long long>(r.n_fft), static_cast<long long>(r.bins),
                static_cast<long long>(r.frames), r.innmf, r.nmf, r.ratio, r.n_fft == trained ? "  (training size)" : "");
    auto j = eval::Json::object();
    j.set("n_fft", r.n_fft).set("bins", r.bins).set("frames", r.frames);
    j.set("kl_innmf_transferred", r.innmf).set("kl_nmf_per_size", r.nmf).set("ratio", r.ratio);
    rows_json.push(j);
  }
  io::write_file_atomically((fs::path(out_dir) / "transfer.csv").string(), csv.str());
  auto root = eval::Json::object();
  root.set("trained_n_fft", trained).set("rows", rows_json);
  eval::write_json((fs::path(out_dir) / "transfer.json").string(), root);
}

// Separation sources for the synthetic toy: two "instruments" of two notes each, with
// different harmonic structures; dictionaries are learnt on solo renderings (seed s), the
// mixture uses other phases and note timings.
struct SeparationData {
  std::vector<Signal> training;  // one per source
  torch::Tensor mixture, references;
  double rate = 0;
};

SeparationData separation_data(const Config& c) {
  const app::SyntheticParams p(c, {"note_sequence"});
  const double rate = p.number("sample_rate");
  const double seconds = p.number("seconds");
  const std::vector<double> notes = p.numbers("frequencies");
  if (notes.size() < 4) p.fail("frequencies", "needs 4 notes for the separation report (2 per source)");
  const uint64_t seed = static_cast<uint64_t>(p.integer("seed"));
  const int harmonics = static_cast<int>(p.integer("harmonics"));
  SeparationData out;
  out.rate = rate;
  const std::vector<std::vector<double>> src = {{notes[0], notes[2]}, {notes[1], notes[3]}};
  const std::vector<double> decays = {0.85, 0.35};  // bright vs dull source
  std::vector<torch::Tensor> refs;
  for (size_t k = 0; k < 2; ++k) {
    const double lw = p.number("linewidth");
    out.training.push_back(synthetic_signal(src[k], rate, seconds, harmonics, decays[k], seed + 100 + k, true, lw));
    // Test rendering: other phases, notes in the opposite order.
    const Signal test = synthetic_signal({src[k][1], src[k][0]}, rate, seconds, harmonics, decays[k], seed + 200 + k, true, lw);
    refs.push_back(test.signal);
  }
  out.references = torch::stack(refs);
  out.mixture = out.references.sum(0);
  return out;
}

void separation_report(const Config& c, const std::string& out_dir) {
  if (c.has("data.input")) c.fail("model.separation_n_fft", "needs the embedded synthetic data (no data.input)");
  const std::vector<int64_t> sizes = c.integers("model.separation_n_fft");
  const SeparationData sd = separation_data(c);
  const int64_t iters = c.integer("model.report_iter");
  const uint64_t seed = static_cast<uint64_t>(c.integer("model.seed"));
  const int64_t n_train = c.integer("data.transform.n_fft");
  // 1. Implicit dictionaries learnt on each clean source at the training size.
  std::vector<std::shared_ptr<ImplicitNMFImpl>> dicts;
  for (size_t k = 0; k < sd.training.size(); ++k) {
    TrainingData d;
    d.rows_are_samples = true;
    const Spectrogram sp = stft_spectrogram(c, sd.training[k], n_train);
    d.X = samples_of(sp);
    ImplicitNMFOptions o = model_options(c, sd.rate, true);
    o.fixed_dictionary(false);
    torch::manual_seed(seed + k);
    auto m = std::make_shared<ImplicitNMFImpl>(o, sp.frequencies, sp.times);
    m->init_activations(d, seed + k);
    app::RunOptions ro;
    ro.write_outputs = false;
    ro.quiet = true;
    std::printf("separation: learning the implicit dictionary of source %zu at n_fft = %lld\n", k + 1,
                static_cast<long long>(n_train));
    const app::RunResult rr = app::fit_model(c, m, d, ro, out_dir);
    require(rr.result.ok, "separation: training the dictionary of source " + std::to_string(k + 1) + " failed: " +
                              rr.result.stop_reason);
    m->to(torch::kCPU, torch::kFloat64);
    dicts.push_back(m);
  }
  // 2. For each window size: W = [W1 W2] sampled there, H fitted on the mixture, ratio masks.
  auto results = eval::Json::array();
  std::printf("supervised separation (dictionaries learnt at n_fft = %lld), mean SDR / SIR / SAR in dB:\n",
              static_cast<long long>(n_train));
  std::printf("  %7s %22s %22s\n", "n_fft", "iN-NMF (transferred)", "NMF (per size)");
  torch::NoGradGuard no_grad;
  Signal mix{sd.mixture, sd.rate, {}};
  for (const int64_t n_fft : sizes) {
    const Spectrogram sp = stft_spectrogram(c, mix, n_fft);
    auto separate = [&](const std::vector<torch::Tensor>& Ws) {
      const torch::Tensor W = torch::cat(Ws, 1);
      torch::Tensor H;
      fit_activations(sp.V, W, iters, seed, &H);
      std::vector<torch::Tensor> parts;
      int64_t k0 = 0;
      for (const auto& Wk : Ws) {
        parts.push_back(torch::mm(Wk, H.slice(0, k0, k0 + Wk.size(1))));
        k0 += Wk.size(1);
      }
      const auto masked = signal::apply_masks(sp.complex, signal::wiener_masks(parts));
      std::vector<torch::Tensor> est;
      for (const auto& m : masked) est.push_back(signal::istft(m, sp.options, sd.mixture.size(0)));
      return eval::bss_eval_sources(sd.references, torch::stack(est));
    };
    std::vector<torch::Tensor> implicit_W, nmf_W;
    for (size_t k = 0; k < dicts.size(); ++k) {
      implicit_W.push_back(dicts[k]->dictionary(sp.frequencies, n_fft).to(torch::kFloat64));
      torch::Tensor Wk;
      fit_nmf(stft_spectrogram(c, sd.training[k], n_fft).V, dicts[k]->options.rank(), iters, seed + k, &Wk);
      nmf_W.push_back(Wk);
    }
    const auto a = separate(implicit_W), b = separate(nmf_W);
    std::printf("  %7lld %6.2f / %6.2f / %6.2f %6.2f / %6.2f / %6.2f\n", static_cast<long long>(n_fft),
                a.sdr.mean().item<double>(), a.sir.mean().item<double>(), a.sar.mean().item<double>(),
                b.sdr.mean().item<double>(), b.sir.mean().item<double>(), b.sar.mean().item<double>());
    auto j = eval::Json::object();
    j.set("n_fft", n_fft);
    j.set("innmf", eval::bss_metrics_json(a, {"source1", "source2"}, {"estimate1", "estimate2"}));
    j.set("nmf", eval::bss_metrics_json(b, {"source1", "source2"}, {"estimate1", "estimate2"}));
    results.push(j);
  }
  auto root = eval::Json::object();
  root.set("trained_n_fft", n_train).set("results", results);
  eval::write_json((fs::path(out_dir) / "separation.json").string(), root);
}

// Pictures without matplotlib: each template W_k (normalised to its maximum, low
// frequencies at the bottom) as a 24-pixel-wide band, and H (each row normalised) with
// 12-pixel-high rows and 3-pixel-wide frames, via the shared PNG writer. tools/plot_innmf.py draws nicer figures.
void write_pictures(ImplicitNMFImpl& model, const std::string& out_dir) {
  const torch::Tensor W = model.dictionary(model.frequencies()).to(torch::kFloat64);  // F × K
  const torch::Tensor H = model.activations(model.times()).to(torch::kFloat64);        // K × N
  const torch::Tensor Wn = W / W.amax(0, true).clamp_min(1e-30);
  const torch::Tensor Hn = H / H.amax(1, true).clamp_min(1e-30);
  io::write_png_heatmap((fs::path(out_dir) / "innmf_W.png").string(), Wn.flip(0).repeat_interleave(24, 1), false);
  io::write_png_heatmap((fs::path(out_dir) / "innmf_H.png").string(), Hn.flip(0).repeat_interleave(12, 0).repeat_interleave(3, 1), false);
}

void report_innmf(const Config& c, FactorModelImpl& base, const TrainingData& data, const std::string& out_dir) {
  auto& model = dynamic_cast<ImplicitNMFImpl&>(base);
  // The report works on the CPU in float64 (MU baselines, BSS eval); training may be elsewhere.
  const auto device = model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters().front().device();
  const auto dtype = model.parameters().empty() ? torch::kFloat64 : model.parameters().front().scalar_type();
  model.to(torch::kCPU, torch::kFloat64);
  torch::NoGradGuard no_grad;
  const double rate = model.options.sample_rate();
  for (const int64_t n : c.integers("model.export_n_fft")) {
    if (n < 2) c.fail("model.export_n_fft", "sizes must be >= 2, got " + std::to_string(n));
    const torch::Tensor f = signal::stft_frequencies(n, rate);
    io::save_npy((fs::path(out_dir) / "dictionary" / ("W_nfft" + std::to_string(n) + ".npy")).string(), model.dictionary(f, n));
    io::save_npy((fs::path(out_dir) / "dictionary" / ("frequencies_nfft" + std::to_string(n) + ".npy")).string(), f);
  }
  {  // report.html draws W_k(f) as curves: the templates on a fine grid over the trained range
    const torch::Tensor f = model.frequencies().to(torch::kCPU, torch::kFloat64);
    const double lo = f.min().item<double>(), hi = f.max().item<double>();
    const torch::Tensor fine = representation(c) == "cqt" && lo > 0
                                   ? torch::logspace(std::log10(lo), std::log10(hi), 2048, 10.0, torch::kFloat64)
                                   : torch::linspace(lo, hi, 2048, torch::kFloat64);
    io::save_npy((fs::path(out_dir) / "dictionary" / "W_fine.npy").string(), model.dictionary(fine));
    io::save_npy((fs::path(out_dir) / "dictionary" / "frequencies_fine.npy").string(), fine);
  }
  const std::vector<double> custom = c.numbers("model.export_frequencies");
  if (!custom.empty()) {
    const torch::Tensor f = torch::tensor(custom, torch::kFloat64);
    io::save_npy((fs::path(out_dir) / "dictionary" / "W_custom.npy").string(), model.dictionary(f));
    io::save_npy((fs::path(out_dir) / "dictionary" / "frequencies_custom.npy").string(), f);
  }
  const std::vector<int64_t> sizes = c.integers("model.transfer_n_fft");
  if (!sizes.empty()) {
    if (representation(c) != "stft") c.fail("model.transfer_n_fft", "needs STFT data (data.transform.kind: stft)");
    const auto rows = transfer_table(c, model, load_signal(c), sizes, c.integer("model.report_iter"));
    write_transfer(rows, c.integer("data.transform.n_fft"), out_dir);
  }
  if (!c.integers("model.separation_n_fft").empty()) separation_report(c, out_dir);
  if (c.boolean("model.plot")) write_pictures(model, out_dir);
  model.to(device, dtype);
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
          "resolution transfer", add_innmf_keys, on_matrix(build_innmf), on_matrix(load_innmf_data), on_matrix(report_innmf),
          sample_innmf_dictionary, {true, true, false, false}};
}

}  // namespace factorch
