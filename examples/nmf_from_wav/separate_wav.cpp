// Separates a WAV mixture into sources with factorch's installed C++ library alone (no YAML,
// no app): one KL-NMF dictionary per source learnt on its clean training WAV, the mixture's
// activations on the fixed dictionaries, Wiener masks on its STFT (the library's one
// separation routine), then OUT_DIR/sources/<name>.wav, and with references
// OUT_DIR/metrics.json (BSS Eval SDR/SIR/SAR).
//   separate_wav MIX.wav OUT_DIR TRAIN_1.wav TRAIN_2.wav ... [--references REF_1.wav REF_2.wav ...]
#include <cstdio>
#include <string>
#include <vector>

#include <factorch/error.h>
#include <factorch/io/wav.h>
#include <factorch/models/nmf.h>
#include <factorch/separation/separate.h>
#include <factorch/train/trainer.h>

namespace {

constexpr int64_t kRank = 8;         // components per source
constexpr int64_t kIterations = 200;

torch::Tensor read_mono(const std::string& path, int* rate) {
  factorch::io::ReadOptions read;
  read.downmix = true;
  const factorch::io::Audio audio = factorch::io::read_wav(path, read);
  if (*rate == 0) *rate = audio.sample_rate;
  factorch::require(audio.sample_rate == *rate, path + ": sample rate differs from the mixture's");
  return audio.samples[0];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: separate_wav MIX.wav OUT_DIR TRAIN_1.wav TRAIN_2.wav ... [--references REF_1.wav ...]\n");
    return 2;
  }
  try {
    namespace sep = factorch::separation;
    int rate = 0;
    const torch::Tensor mixture = read_mono(argv[1], &rate);
    std::vector<std::string> training, references;
    for (int i = 3, refs = 0; i < argc; ++i) {
      if (std::string(argv[i]) == "--references") refs = 1;
      else (refs ? references : training).push_back(argv[i]);
    }

    // V = |STFT| (n_fft 512, hop 128); masks on the power (W_s H_s)².
    sep::RepresentationOptions ro;
    ro.stft.n_fft = 512;
    ro.stft.hop = 128;
    ro.exponent = 1;
    const sep::Representation representation(ro);

    // 1. One dictionary per source, learnt on its clean training signal.
    std::vector<torch::Tensor> dictionaries;
    std::vector<std::string> names;
    for (size_t s = 0; s < training.size(); ++s) {
      const torch::Tensor V = representation.nonnegative(representation.analyse(read_mono(training[s], &rate)));
      factorch::NMF nmf(factorch::NMFOptions(V.size(0), V.size(1), kRank).beta(1.0).eps(1e-9).normalise(factorch::Normalisation::L1));
      nmf->init(V, "random", /*seed=*/s);
      factorch::TrainerOptions options;
      options.kind("mu").max_iter(kIterations).tol(1e-7).progress("never");
      factorch::TrainingData data;
      data.X = V;
      factorch::make_trainer(options)->fit(nmf.ptr(), data);
      dictionaries.push_back(nmf->W().detach());
      names.push_back("source" + std::to_string(s + 1));
    }
    const torch::Tensor W = torch::cat(dictionaries, 1);

    // 2. The separation routine: the parts W_s H_s of the mixture's V, H fitted on fixed W.
    const auto parts = [&](const torch::Tensor& V) {
      factorch::NMF nmf(factorch::NMFOptions(V.size(0), V.size(1), W.size(1)).beta(1.0).eps(1e-9).fixed_w(true));
      return sep::dictionary_parts(dictionaries, nmf->fit_activations(W, V, kIterations));
    };
    sep::SeparateOptions options;
    options.names = names;
    if (!references.empty()) {
      std::vector<torch::Tensor> refs;
      for (const auto& r : references) refs.push_back(read_mono(r, &rate));
      options.references = torch::stack(refs);
    }
    const sep::Separation separated = sep::separate(mixture, representation, parts, options);

    // 3. The library's writer: sources/<name>.wav, mixture.wav, metrics.json.
    sep::SeparationStepOptions write;
    write.out_dir = argv[2];
    write.sample_rate = rate;
    sep::SeparationScores scores;
    scores.scored = separated.scored;
    if (separated.scored) scores.mixtures.push_back(separated.table);
    sep::write_separation({separated.mixture}, scores, write);
    for (size_t s = 0; s < names.size(); ++s)
      std::printf("%s/sources/%s.wav%s\n", argv[2], names[s].c_str(),
                  separated.scored ? (": SDR " + std::to_string(separated.table.sdr[s]) + " dB").c_str() : "");
    return 0;
  } catch (const factorch::Error& e) {
    std::fprintf(stderr, "separate_wav: %s\n", e.what());
    return 1;
  }
}
