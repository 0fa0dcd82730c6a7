// Fits a KL-NMF to the magnitude spectrogram of a WAV file and saves the dictionary W as .npy,
// using only factorch's installed C++ library (no YAML, no CLI).
//   nmf_from_wav IN.wav W.npy [rank] [iterations]
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <factorch/error.h>
#include <factorch/io/npy.h>
#include <factorch/io/wav.h>
#include <factorch/models/nmf.h>
#include <factorch/signal/stft.h>
#include <factorch/train/trainer.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: nmf_from_wav IN.wav W.npy [rank] [iterations]\n");
    return 2;
  }
  try {
    const int64_t rank = argc > 3 ? std::atoll(argv[3]) : 8;
    const int64_t iterations = argc > 4 ? std::atoll(argv[4]) : 100;

    factorch::io::ReadOptions read;
    read.downmix = true;
    const factorch::io::Audio audio = factorch::io::read_wav(argv[1], read);

    factorch::signal::StftOptions stft;
    stft.n_fft = 512;
    stft.hop = 128;
    const torch::Tensor V = factorch::signal::magnitude(factorch::signal::stft(audio.samples[0], stft));

    factorch::NMF nmf(factorch::NMFOptions(V.size(0), V.size(1), rank).beta(1.0).normalise(factorch::Normalisation::L1));
    nmf->init(V, "random", /*seed=*/0);

    factorch::TrainerOptions options;
    options.kind("mu").max_iter(iterations).tol(1e-6).progress("never");
    factorch::TrainingData data;
    data.X = V;
    const factorch::TrainResult result = factorch::make_trainer(options)->fit(nmf.ptr(), data);

    factorch::io::save_npy(argv[2], nmf->W());
    std::printf("V %lld x %lld, K = %lld: KL %.6g after %lld iterations (%s); W saved to %s\n",
                static_cast<long long>(V.size(0)), static_cast<long long>(V.size(1)),
                static_cast<long long>(rank), result.objective, static_cast<long long>(result.iterations),
                result.stop_reason.c_str(), argv[2]);
    return result.ok ? 0 : 1;
  } catch (const factorch::Error& e) {
    std::fprintf(stderr, "nmf_from_wav: %s\n", e.what());
    return 1;
  }
}
