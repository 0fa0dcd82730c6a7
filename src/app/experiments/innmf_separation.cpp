// iN-NMF supervised separation at any window size (the paper's Algorithm 2), on the user's
// audio (`factorch separate`: data.input, data.train, data.references) or on the embedded toy
// (the separation report of `factorch train`), through one function, separate_at_sizes.
// Each size's separation is the library's routine (separation::separate: masks → sources →
// scores); write_separation hands its result to the one writer (separation::write_separation).
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "app/audio_data.h"
#include "app/data_block.h"
#include "app/experiments/implicit_nmf_entry.h"
#include "app/run.h"
#include "app/separation.h"
#include "factorch/error.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/wav.h"
#include "factorch/models/nmf.h"
#include "factorch/separation/separate.h"
#include "factorch/signal/stft.h"
#include "factorch/train/checkpoint.h"

namespace factorch::innmf {

namespace fs = std::filesystem;

namespace {

// One implicit dictionary per source, learnt on its clean audio at data.transform.n_fft.
std::vector<std::shared_ptr<ImplicitNMFImpl>> learn_dictionaries(const Config& c, const SeparationSet& set) {
  const uint64_t seed = static_cast<uint64_t>(c.integer("model.seed"));
  const int64_t n_train = c.integer("data.transform.n_fft");
  std::vector<std::shared_ptr<ImplicitNMFImpl>> dicts;
  for (size_t k = 0; k < set.training.size(); ++k) {
    TrainingData d;
    d.rows_are_samples = true;
    const Signal training{set.training[k], set.rate, {}};
    const Spectrogram sp = stft_spectrogram(c, training, n_train);
    d.X = stft_training_samples(c, training);
    ImplicitNMFOptions o = model_options(c, set.rate, true);
    o.fixed_dictionary(false).kernel_glide(kernel_glide(c, training));
    torch::manual_seed(seed + k);
    auto m = std::make_shared<ImplicitNMFImpl>(o, sp.frequencies, sp.times);
    add_joint_sizes(c, *m, training);
    m->init_activations(d, seed + k);
    app::RunOptions ro;
    ro.write_outputs = false;
    ro.quiet = true;
    std::string sizes = std::to_string(n_train);
    for (const int64_t n : m->joint_n_fft()) sizes += " + " + std::to_string(n);
    std::printf("separation: learning the implicit dictionary of %s at n_fft = %s\n", set.names[k].c_str(), sizes.c_str());
    const app::RunResult rr = app::fit_model(c, m, d, ro, "");
    require(rr.result.ok, "separation: training the dictionary of " + set.names[k] + " failed: " + rr.result.stop_reason);
    m->to(torch::kCPU, torch::kFloat64);
    dicts.push_back(m);
  }
  return dicts;
}

}  // namespace

std::vector<SeparationAtSize> separate_at_sizes(const Config& c, const SeparationSet& set,
                                                const std::vector<int64_t>& sizes, bool nmf_baseline,
                                                std::vector<std::shared_ptr<ImplicitNMFImpl>>* dictionaries) {
  const int64_t iters = c.integer("model.report_iter");
  const uint64_t seed = static_cast<uint64_t>(c.integer("model.seed"));
  const auto dicts = learn_dictionaries(c, set);
  if (dictionaries) *dictionaries = dicts;
  torch::NoGradGuard no_grad;
  std::vector<SeparationAtSize> out;
  for (const int64_t n_fft : sizes) {
    require(n_fft <= set.mixture.size(0), "iN-NMF: n_fft " + std::to_string(n_fft) + " exceeds the mixture's " +
                                              std::to_string(set.mixture.size(0)) + " samples");
    separation::RepresentationOptions ro;
    ro.stft = app::transform_spec(c).stft(n_fft);
    ro.exponent = c.number("data.transform.exponent");
    const separation::Representation rep(ro);
    // W = [W_1 … W_S] sampled at this size, H fitted on the mixture's V (the library's KL MU
    // with W fixed), ratio masks of the sources' parts W_s H_s (the paper's Eq. 3: V_s / Σ_j V_j
    // on the modelled |X|^exponent, as trained, so mask exponent 1) on the mixture's STFT.
    separation::SeparateOptions so;
    so.names = set.names;
    so.mask_exponent = 1.0;
    so.references = set.references;
    so.known_assignment = false;  // BSS Eval's permutation search, as the paper's scores
    so.keep_mixture = false;
    auto separate = [&](const std::vector<torch::Tensor>& Ws) {
      const torch::Tensor W = torch::cat(Ws, 1);
      const auto parts = [&](const torch::Tensor& V) {
        NMF nmf(NMFOptions(V.size(0), V.size(1), W.size(1)).fixed_w(true));
        return separation::dictionary_parts(Ws, nmf->fit_activations(W, V, iters));
      };
      return separation::separate(set.mixture, rep, parts, so);
    };
    const torch::Tensor frequencies = signal::stft_frequencies(n_fft, set.rate);
    SeparationAtSize r;
    r.n_fft = n_fft;
    std::vector<torch::Tensor> implicit_W;
    for (const auto& d : dicts) implicit_W.push_back(d->dictionary(frequencies, n_fft).to(torch::kFloat64));
    separation::Separation innmf = separate(implicit_W);
    r.separated = std::move(innmf.mixture);
    r.has_metrics = innmf.scored;
    r.innmf = std::move(innmf.table);
    if (nmf_baseline && r.has_metrics) {
      std::vector<torch::Tensor> nmf_W;
      for (size_t k = 0; k < dicts.size(); ++k) {
        torch::Tensor Wk;
        fit_nmf(stft_spectrogram(c, Signal{set.training[k], set.rate, {}}, n_fft).V, dicts[k]->options.rank(), iters,
                seed + k, &Wk);
        nmf_W.push_back(Wk);
      }
      r.nmf = separate(nmf_W).table;
      r.has_baseline = true;
    }
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// The model.* sizes of Algorithm 2: model.separation_n_fft, or the training size alone.
std::vector<int64_t> separation_sizes(const Config& c) {
  std::vector<int64_t> sizes = c.integers("model.separation_n_fft");
  if (sizes.empty()) sizes.push_back(c.integer("data.transform.n_fft"));
  return sizes;
}

// Frame sizes against the signals they cut, before any training.
void check_sizes(const Config& c, const SeparationSet& set, const std::vector<int64_t>& sizes) {
  const int64_t n_train = c.integer("data.transform.n_fft");
  for (size_t k = 0; k < set.training.size(); ++k)
    if (n_train > set.training[k].size(0))
      c.fail("data.transform.n_fft", std::to_string(n_train) + " exceeds the " + std::to_string(set.training[k].size(0)) +
                                         " samples of the training audio of " + set.names[k]);
  int64_t shortest = set.mixture.size(0);
  for (const auto& t : set.training) shortest = std::min(shortest, t.size(0));
  check_joint_n_fft(c, "stft", shortest);
  for (const int64_t n : sizes) {
    if (n < 16) c.fail("model.separation_n_fft", "sizes must be >= 16, got " + std::to_string(n));
    if (n > set.mixture.size(0))
      c.fail("model.separation_n_fft", std::to_string(n) + " exceeds the mixture's " +
                                           std::to_string(set.mixture.size(0)) + " samples");
  }
}

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (const double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

void print_scores(const eval::MetricsTable& t) {
  std::printf(" %6.2f / %6.2f / %6.2f", mean_of(t.sdr), mean_of(t.sir), mean_of(t.sar));
}

void print_row(const SeparationAtSize& r) {
  std::printf("  %7lld", static_cast<long long>(r.n_fft));
  print_scores(r.innmf);
  if (r.has_baseline) print_scores(r.nmf);
  std::printf("\n");
}

// The one writer for one size, with the scores already computed: DIR/sources/<name>.wav, and
// DIR/metrics.json when scored.
void write_separation(const Config& c, const SeparationSet& set, const SeparationAtSize& r, const std::string& dir,
                      bool quiet) {
  separation::SeparationScores scores;
  scores.scored = r.has_metrics;
  if (r.has_metrics) scores.mixtures.push_back(r.innmf);
  separation::SeparationStepOptions step;
  step.out_dir = dir;
  step.sample_rate = static_cast<int>(set.rate);
  step.wav_format = io::wav_format_from_name(c.string("output.wav_format"));
  step.quiet = quiet;
  separation::write_separation({r.separated}, scores, step);
}

// The run's checkpoint: the dictionary model of each source, its parameters and factors
// under "<source>_" (as DL-NMF names its per-source blocks <source>_W1), with the resolved
// config that learnt them.
void write_checkpoint(const Config& c, const SeparationSet& set,
                      const std::vector<std::shared_ptr<ImplicitNMFImpl>>& dicts, const std::string& dir) {
  io::Checkpoint ck;
  ck.model_type = "innmf";
  ck.config_yaml = c.dump();
  for (size_t k = 0; k < dicts.size(); ++k) {
    const std::string prefix = set.names[k] + "_";
    for (const auto& p : dicts[k]->named_parameters(true)) ck.parameters.insert(prefix + p.key(), p.value().detach());
    for (const auto& b : dicts[k]->named_buffers(true)) ck.parameters.insert(prefix + b.key(), b.value().detach());
    for (const auto& f : dicts[k]->factors()) ck.factors.insert(prefix + f.key(), f.value());
  }
  io::save_checkpoint((fs::path(dir) / "checkpoint.pt").string(), ck);
}

}  // namespace

void separation_report(const Config& c, const SeparationSet& set, const std::string& out_dir) {
  const std::vector<int64_t> sizes = c.integers("model.separation_n_fft");
  const int64_t n_train = c.integer("data.transform.n_fft");
  const auto results = separate_at_sizes(c, set, sizes, true);
  if (results.empty() || !results.front().has_metrics) return;
  std::printf("supervised separation (dictionaries learnt at n_fft = %lld), mean SDR / SIR / SAR in dB:\n",
              static_cast<long long>(n_train));
  std::printf("  %7s %22s %22s\n", "n_fft", "iN-NMF (transferred)", "NMF (per size)");
  for (const auto& r : results) print_row(r);
  eval::write_table(separation_table(n_train, results), out_dir);
}

eval::Table separation_table(int64_t trained_n_fft, const std::vector<SeparationAtSize>& results) {
  require(!results.empty() && results.front().has_metrics, "separation_table: no scored separation");
  eval::Table t("separation", {"n_fft", "method", "source", "estimate", "sdr", "sir", "sar"}, "scores");
  const eval::MetricsTable& first = results.front().innmf;
  t.set("trained_n_fft", trained_n_fft).set("metric", first.metric).set("filter_length", first.filter_length);
  const auto add = [&](int64_t n_fft, const char* method, const eval::MetricsTable& m) {
    require(m.metric == first.metric && m.filter_length == first.filter_length,
            "separation_table: n_fft " + std::to_string(n_fft) + " is scored with another metric");
    for (size_t j = 0; j < m.size(); ++j)
      t.add_row({n_fft, method, m.names[j], "estimate" + std::to_string(m.permutation[j] + 1), m.sdr[j], m.sir[j], m.sar[j]});
    // The mean over the sources, as metrics.json's "mean".
    t.add_row({n_fft, method, "mean", "", mean_of(m.sdr), mean_of(m.sir), mean_of(m.sar)});
  };
  for (const auto& r : results) {
    add(r.n_fft, "innmf", r.innmf);
    if (r.has_baseline) add(r.n_fft, "nmf", r.nmf);
  }
  return t;
}

app::SeparationResult separate_innmf(const Config& c, const app::RunOptions& options) {
  // Everything is read and checked before any training or writing.
  if (c.string("trainer.kind") != "autograd")
    c.fail("trainer.kind", "must be autograd for model.type innmf (networks have no multiplicative update), got " +
                               c.string("trainer.kind"));
  if (representation(c) == "samples")
    c.fail("data.input", "must be audio (a WAV mixture with data.train) for factorch separate, got a samples .npy");
  if (representation(c) != "stft")
    c.fail("data.transform.kind", "must be stft for factorch separate with model.type innmf, got " + representation(c));
  SeparationSet set;
  if (c.has("data.input")) {
    const app::AudioData audio = app::load_audio_data(c);
    if (audio.training.empty())
      c.fail("data.train", "is required by factorch separate with model.type innmf (clean audio per source: "
                           "{name: [files, dirs, globs]})");
    set = user_separation_set(audio);
  } else {
    set = toy_separation_set(c);
  }
  const std::vector<int64_t> sizes = separation_sizes(c);
  check_sizes(c, set, sizes);
  // Nothing can fail on the config from here: the model options are those of training.
  model_options(c, set.rate, true);

  std::vector<std::shared_ptr<ImplicitNMFImpl>> dicts;
  const auto results = separate_at_sizes(c, set, sizes, false, &dicts);
  const std::string out_dir = c.string("output.dir");
  if (results.front().has_metrics) {
    std::printf("iN-NMF separation (dictionaries learnt at n_fft = %lld), mean SDR / SIR / SAR in dB:\n",
                static_cast<long long>(c.integer("data.transform.n_fft")));
    std::printf("  %7s %22s\n", "n_fft", "iN-NMF (transferred)");
    for (const auto& r : results) print_row(r);
  }
  if (options.write_outputs) {
    // The first size in DIR, each further size in DIR/n_fft<N>.
    for (size_t i = 0; i < results.size(); ++i)
      write_separation(c, set, results[i],
                       i == 0 ? out_dir : (fs::path(out_dir) / ("n_fft" + std::to_string(results[i].n_fft))).string(),
                       /*quiet=*/i > 0 || options.quiet);
    io::write_wav((fs::path(out_dir) / "mixture.wav").string(), set.mixture, static_cast<int>(set.rate),
                  io::wav_format_from_name(c.string("output.wav_format")));
    // What every separate run writes: the config that reproduces it and its model.
    io::write_file_atomically((fs::path(out_dir) / "config.resolved.yaml").string(), c.dump());
    write_checkpoint(c, set, dicts, out_dir);
  }
  app::SeparationResult out;
  out.names = set.names;
  out.estimates = results.front().separated.estimates;
  out.out_dir = out_dir;
  out.has_metrics = results.front().has_metrics;
  if (out.has_metrics) {
    out.table = results.front().innmf;
    out.reference_names = set.names;
  }
  return out;
}

}  // namespace factorch::innmf
