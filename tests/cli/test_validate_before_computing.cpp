// Validate before computing: for every model type, a disagreement between the config and the
// data (counts of sources, references and components, sample rates, shapes, channels) is a
// one-line error of `factorch train` / `factorch separate`, exit 2, before any output exists.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "../test_support.h"
#include "factorch/io/npy.h"
#include "factorch/io/wav.h"

using namespace factorch;
namespace fs = std::filesystem;

namespace {

struct Case {
  std::string command;  // "train" or "separate"
  std::string yaml;     // the whole config (output.dir is added)
  std::string needle;   // a part of the expected message
};

// Runs each case through the CLI in `dir` and checks: status 2, one line naming the key,
// no output folder.
void expect_fails_before_output(const testkit::TempDir& dir, const std::vector<Case>& cases) {
  for (const Case& k : cases) {
    const size_t output = k.yaml.find("output: {");  // a case's own output section gets the dir
    testkit::write_text(dir / "cfg.yaml", output == std::string::npos
                                              ? k.yaml + "output: {dir: out}\n"
                                              : std::string(k.yaml).insert(output + 9, "dir: out, "));
    const auto r = testkit::run_factorch(k.command + " cfg.yaml", dir.path().string());
    EXPECT_EQ(r.status, 2) << k.yaml << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("factorch: error: ", 0), 0u) << k.yaml << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << k.yaml << "\n" << r.err;
    EXPECT_NE(r.err.find(k.needle), std::string::npos) << k.yaml << "\n" << r.err;
    EXPECT_FALSE(fs::exists(dir.path() / "out")) << k.yaml;
  }
}

torch::Tensor tone(double hz, int64_t n, int rate) {
  return 0.3 * torch::sin(torch::arange(n, torch::kFloat64) * (2 * M_PI * hz / rate));
}

const std::string kQuick = "trainer: {max_iter: 2, progress: never}\n";

}  // namespace

TEST(ValidateBeforeComputing, Nmf) {
  testkit::TempDir dir;
  io::save_npy(dir / "x.npy", torch::rand({16, 25}, torch::kFloat64) + 0.1);
  io::save_npy(dir / "mask.npy", torch::ones({16, 24}, torch::kFloat64));
  io::write_wav(dir / "mix.wav", tone(440, 8000, 8000) + tone(660, 8000, 8000), 8000);
  io::write_wav(dir / "a.wav", tone(440, 8000, 8000), 8000);
  io::write_wav(dir / "b16k.wav", tone(660, 8000, 16000), 16000);
  io::write_wav(dir / "b.wav", tone(660, 8000, 8000), 8000);
  expect_fails_before_output(
      dir, {
               {"train", "model: {type: nmf, rank: 2}\ndata: {input: x.npy, mask: mask.npy}\n" + kQuick, "data.mask"},
               {"train", "model: {type: nmf, rank: 2, h_zeros: ['2:0:5']}\ndata: {input: x.npy}\n" + kQuick,
                "model.h_zeros"},
               {"separate", "model: {type: nmf, rank: 2}\ndata: {input: mix.wav, references: {a: a.wav, b: b16k.wav}}\n" + kQuick,
                "sample rate 16000 Hz"},
               // Three components, two references: the metrics would be skipped after training.
               {"separate", "model: {type: nmf, rank: 3}\ndata: {input: mix.wav, references: {a: a.wav, b: b.wav}}\n" + kQuick,
                "model.rank gives 3 separated sources but there are 2 references"},
               {"separate", "model: {type: nmf, rank: 2}\ndata: {synthetic: {signal: harmonic_notes}}\n" + kQuick +
                                "output: {sources: {all: [0, 1]}}\n",
                "output.sources gives 1 separated sources but there are 2 references"},
           });
}

TEST(ValidateBeforeComputing, NmfAudio) {
  testkit::TempDir dir;
  expect_fails_before_output(
      dir, {{"train", "model: {type: nmf_audio, rank: 3, h_zeros: ['5:0:10']}\ndata: {synthetic: {signal: piano}}\n" + kQuick,
             "model.h_zeros"}});
}

TEST(ValidateBeforeComputing, OnlineNmf) {
  testkit::TempDir dir;
  io::save_npy(dir / "v.npy", torch::rand({5, 40}, torch::kFloat64));
  fs::create_directories(dir.path() / "wavs");
  io::write_wav((dir.path() / "wavs/a.wav").string(), tone(440, 4000, 8000), 8000);
  io::write_wav((dir.path() / "wavs/b.wav").string(), tone(440, 4000, 16000), 16000);
  expect_fails_before_output(
      dir, {
               {"train", "model: {type: online_nmf, rank: 2}\ndata: {input: v.npy, batch_size: 10, holdout_every: 5}\n" + kQuick,
                "data.holdout_every"},
               {"train", "model: {type: online_nmf, rank: 2}\ndata: {input: wavs}\n" + kQuick, "16000"},
           });
}

TEST(ValidateBeforeComputing, MultichannelNmf) {
  testkit::TempDir dir;
  const torch::Tensor a = tone(440, 8000, 8000), b = tone(554, 8000, 8000);
  io::write_wav(dir / "mix.wav", torch::stack({a + 0.4 * b, 0.4 * a + b}), 8000);
  io::write_wav(dir / "img_a.wav", torch::stack({a, 0.4 * a}), 8000);
  io::write_wav(dir / "mono.wav", a, 8000);
  expect_fails_before_output(
      dir, {
               // The case: one reference for two sources was a silent success.
               {"train", "model: {type: multichannel_nmf, sources: 2}\ndata: {input: mix.wav, references: {a: img_a.wav}}\n" + kQuick,
                "data.references gives 1 source images but model.sources is 2"},
               {"train", "model: {type: multichannel_nmf, sources: 2}\ndata: {input: mix.wav, references: {a: img_a.wav, b: mono.wav}}\n" + kQuick,
                "has 1 channels but the mixture"},
               {"train", "model: {type: multichannel_nmf, sources: 3}\ndata: {synthetic: {signal: stereo_notes}}\n" + kQuick,
                "data.synthetic.frequencies gives 2 source images but model.sources is 3"},
           });
}

TEST(ValidateBeforeComputing, LayeredAndDiscriminativeNmf) {
  testkit::TempDir dir;
  io::save_npy(dir / "x.npy", torch::rand({8, 10}, torch::kFloat64) + 0.1);
  io::save_npy(dir / "w1_bad.npy", torch::rand({7, 4}, torch::kFloat64));
  io::write_wav(dir / "a.wav", tone(440, 8000, 8000), 8000);
  io::write_wav(dir / "b.wav", tone(660, 8000, 8000), 8000);
  const std::string dl = "model: {type: dlnmf, layers: [4, 2]}\n" + kQuick;
  expect_fails_before_output(
      dir, {
               {"train", "model: {type: lnmf, layers: [4, 2], init: {W1: w1_bad.npy}}\ndata: {input: x.npy}\n" + kQuick,
                "model.init.W1"},
               {"train", dl + "data: {train: {a: [a.wav], b: [b.wav]}, disc_mixtures: [a.wav], "
                              "disc_sources: {a: [a.wav, b.wav], b: [b.wav]}}\n",
                "lists 2 files for 1 mixtures"},
           });
}

TEST(ValidateBeforeComputing, TlNmf) {
  testkit::TempDir dir;
  io::write_wav(dir / "mix.wav", tone(440, 6000, 5000) + tone(466, 6000, 5000), 5000);
  io::write_wav(dir / "a.wav", tone(440, 6000, 5000), 5000);
  io::write_wav(dir / "b.wav", tone(466, 6000, 5000), 5000);
  io::write_wav(dir / "b8k.wav", tone(466, 6000, 8000), 8000);
  const std::string refs = "data: {input: mix.wav, references: {a: a.wav, b: b.wav}}\n";
  expect_fails_before_output(
      dir, {
               // The case: found after training, with outputs left behind.
               {"train", "model: {type: tlnmf, rank: 3}\n" + refs + kQuick,
                "model.rank gives 3 separated sources but there are 2 data.references"},
               {"train", "model: {type: tlnmf, rank: 3}\ndata: {synthetic: {signal: harmonic_notes}}\n" + kQuick,
                "2 data.synthetic.frequencies"},
               {"train", "model: {type: tlnmf, rank: 3, component_sources: [0, 1]}\n" + refs + kQuick,
                "model.component_sources has 2 entries but the model has 3 components"},
               {"train", "model: {type: tlnmf, rank: 3, component_sources: [0, 1, 2]}\n" + refs + kQuick,
                "model.component_sources gives 3 separated sources"},
               {"train", "model: {type: tlnmf, rank: 2}\ndata: {input: mix.wav, references: {a: a.wav, b: b8k.wav}}\n" + kQuick,
                "sample rate 8000 Hz"},
           });
}

TEST(ValidateBeforeComputing, ImplicitNmf) {
  testkit::TempDir dir;
  io::save_npy(dir / "s2.npy", torch::rand({20, 2}, torch::kFloat64));
  const std::string head = "model: {type: innmf, rank: 2}\ntrainer: {kind: autograd, max_iter: 2, progress: never}\n";
  io::write_wav(dir / "mix.wav", tone(440, 8000, 8000) + tone(660, 8000, 8000), 8000);
  io::write_wav(dir / "a.wav", tone(440, 8000, 8000), 8000);
  io::write_wav(dir / "b.wav", tone(660, 8000, 8000), 8000);
  io::write_wav(dir / "b16k.wav", tone(660, 8000, 16000), 16000);
  const std::string sep = "model: {type: innmf, rank: 2, separation_n_fft: [256]}\n"
                          "trainer: {kind: autograd, max_iter: 2, progress: never}\n";
  expect_fails_before_output(
      dir, {{"train", head + "data: {input: s2.npy, sample_rate: 4000}\n", "S×3"},
            // The separation report of train: clean sources and references, read before training.
            {"train", sep + "data: {input: mix.wav}\n", "model.separation_n_fft needs clean sources"},
            {"train", sep + "data: {input: mix.wav, train: {a: [a.wav], b: [b.wav]}}\n",
             "model.separation_n_fft in factorch train scores against data.references"},
            {"train", "model: {type: innmf, rank: 2, transfer_n_fft: [65536]}\ntrainer: {kind: autograd, max_iter: 2}\n"
                      "data: {input: mix.wav}\n", "model.transfer_n_fft"},
            // Algorithm 2 on the user's audio.
            {"separate", sep + "data: {input: mix.wav, train: {a: [a.wav], b: [b16k.wav]}}\n", "data.train.b"},
            {"separate", sep + "data: {input: s2.npy, sample_rate: 4000}\n", "data.input must be audio"},
            {"separate", sep + "data: {synthetic: {signal: note_sequence}, train: {a: [a.wav]}}\n",
             "data.train is given by data.synthetic"}});
}
