// The piano toy signal and the IS-NMF demo config (pictures, Wiener components).
#include <gtest/gtest.h>

#include <filesystem>

#include "../png_pixels.h"
#include "../test_support.h"
#include "app/run.h"
#include "app/config.h"
#include "factorch/error.h"
#include "factorch/io/wav.h"
#include "factorch/signal/piano.h"

using namespace factorch;

TEST(Piano, SignalIsTheSumOfItsParts) {
  signal::PianoOptions o;
  o.sample_rate = 8000;
  o.event_seconds = 0.25;
  const auto p = signal::piano_signal(o);
  EXPECT_EQ(p.events.size(), 9u);  // 4 notes alone, 4 pairs, all four
  EXPECT_EQ(p.mixture.size(0), 9 * 2000);
  EXPECT_TRUE(torch::allclose(p.notes.sum(0) + p.hammer + p.noise, p.mixture));
  // Note 0 sounds in events 0, 4, 6, 8 only.
  EXPECT_EQ(p.notes[0].slice(0, 2000, 8000).abs().max().item<double>(), 0.0);
  EXPECT_GT(p.notes[0].slice(0, 0, 2000).abs().max().item<double>(), 0.1);
  EXPECT_NEAR(signal::midi_to_hz(69), 440.0, 1e-12);
  o.events = {{4}};
  EXPECT_THROW(signal::piano_signal(o), Error);
}

TEST(Piano, DemoConfigWritesPicturesAndLosslessComponents) {
  testkit::TempDir dir;
  const std::string cfg = std::string(testkit::kSourceDir) + "/configs/piano_is_nmf.yaml";
  const Config c = Config::load(cfg, {"trainer.max_iter=40", "trainer.progress=never", "data.synthetic.sample_rate=8000",
                                      "data.synthetic.event_seconds=0.25", "data.transform.n_fft=256", "data.transform.hop=64",
                                      "output.dir=" + (dir / "run")});
  app::run_training(c, {});
  // Every picture draws data (a heatmap of many colours, not a blank or flat image), and the
  // eight component spectrograms are eight different pictures.
  std::vector<std::vector<uint32_t>> components;
  for (int k = 0; k < 8; ++k) {
    const std::string f = "component_" + std::to_string(k) + ".png";
    const testkit::Png png = testkit::read_png(dir / ("run/pictures/" + f));
    ASSERT_GT(png.width, 0) << f;
    for (const auto& other : components) EXPECT_NE(png.rgb, other) << f << " repeats an earlier component";
    components.push_back(png.rgb);
  }
  for (const std::string f : {"spectrogram.png", "W.png", "H.png", "component_0.png", "component_7.png"}) {
    const testkit::Png png = testkit::read_png(dir / ("run/pictures/" + f));
    ASSERT_GT(png.width, 0) << f;
    const size_t colours = testkit::colour_counts(png).size();
    std::printf("%s: %dx%d, %zu colours\n", f.c_str(), png.width, png.height, colours);
    EXPECT_GT(colours, 200u) << f;  // measured 325 (W) to 607 (spectrogram)
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "run/components.json"));
  // Wiener masks sum to one: the component signals add up to the mixture.
  signal::PianoOptions o;
  o.sample_rate = 8000;
  o.event_seconds = 0.25;
  const torch::Tensor x = signal::piano_signal(o).mixture;
  torch::Tensor sum = torch::zeros_like(x);
  for (int k = 0; k < 8; ++k)
    sum += io::read_wav(dir / ("run/components/component_" + std::to_string(k) + ".wav")).samples[0];
  EXPECT_LT((sum - x).abs().max().item<double>(), 1e-5);  // float32 WAVs
}
