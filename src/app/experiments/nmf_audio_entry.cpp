// model.type: nmf_audio — the β-NMF model (same model.* keys as nmf: penalties, ARD,
// smoothness, forced zeros) on audio, with the embedded piano toy of the β-NMF lecture and a
// report that shows the result: PNG pictures of V, W, H and of every component's Wiener
// reconstruction, the component WAVs, components.json (their standard deviations, the
// lecture's ARD figure) and ard.json.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "app/audio_data.h"
#include "app/run.h"
#include "factorch/error.h"
#include "factorch/eval/table.h"
#include "factorch/io/png.h"
#include "factorch/io/wav.h"
#include "factorch/separation/separate.h"
#include "factorch/signal/piano.h"
#include "app/experiments/nmf_entry.h"
#include "app/experiments/nmf_report.h"
#include "app/experiments/registry.h"

namespace factorch {

namespace {

namespace fs = std::filesystem;
const std::vector<std::string> kNmfAudioModel = {"nmf_audio"};

void add_nmf_audio_keys(ConfigSchema& s) {
  s.add("output.pictures", KeyType::Boolean, "nmf_audio: write pictures/*.png (V, W, H, each component)").def("true")
      .for_models(kNmfAudioModel);
  s.add("output.components", KeyType::Boolean, "nmf_audio: write components/component_K.wav (Wiener reconstructions)")
      .def("true").for_models(kNmfAudioModel);
}

bool is_piano(const Config& c) { return c.has("data.synthetic.signal") && c.string("data.synthetic.signal") == "piano"; }

signal::PianoSignal piano(const Config& c) {
  const app::SyntheticParams p(c, {"piano", "harmonic_notes"});
  signal::PianoOptions o;
  o.midi = p.integers("midi_notes");
  if (o.midi.empty()) p.fail("midi_notes", "must list at least one MIDI note");
  o.sample_rate = p.number("sample_rate");
  o.event_seconds = p.number("event_seconds");
  o.seed = static_cast<uint64_t>(p.integer("seed"));
  try {
    return signal::piano_signal(o);
  } catch (const Error& e) {
    c.fail("data.synthetic", std::string("(piano): ") + e.what());
  }
}

// The mixture signal and its rate, when the data is audio.
bool mixture_of(const Config& c, torch::Tensor& x, int& rate) {
  if (is_piano(c)) {
    const auto p = piano(c);
    x = p.mixture;
    rate = static_cast<int>(std::lround(p.sample_rate));
    return true;
  }
  if (!app::has_audio_input(c)) return false;
  const app::AudioData a = app::load_audio_data(c);
  x = a.mixture;
  rate = a.sample_rate;
  return true;
}

TrainingData load_nmf_audio_data(const Config& c) {
  if (!is_piano(c)) return app::load_training_data(c);
  const app::AudioRepresentation rep(c);
  TrainingData data;
  data.X = rep.nonnegative(rep.analyse(piano(c).mixture));
  return data;
}

void report(const Config& c, FactorModelImpl& base, const TrainingData& data, const std::string& out_dir) {
  auto* model = dynamic_cast<NMFImpl*>(&base);
  require(model != nullptr, "nmf_audio report: the model is not an NMF");
  write_ard_summary(*model, out_dir);
  if (c.boolean("output.pictures")) write_factor_pictures(*model, data.X, out_dir);
  torch::Tensor x;
  int rate = 0;
  if (!mixture_of(c, x, rate)) return;  // a .npy V: no signal to filter
  io::write_wav((fs::path(out_dir) / "mixture.wav").string(), x, rate);  // played by report.html
  // Each component is a source of the one separation routine: parts W_k h_k, Wiener masks on
  // the mixture's coefficients, overlap-add.
  const app::AudioRepresentation rep(c);
  const torch::Tensor W = model->W().detach().to(torch::kCPU, torch::kFloat64);
  const torch::Tensor H = model->H().detach().to(torch::kCPU, torch::kFloat64);
  separation::SeparateOptions so;
  for (int64_t k = 0; k < W.size(1); ++k) so.names.push_back("component_" + std::to_string(k));
  so.mask_exponent = rep.power_exponent();
  so.keep_mixture = false;
  const auto parts = [&](const torch::Tensor&) { return separation::dictionary_parts(W.split(1, 1), H); };
  const torch::Tensor estimates = separation::separate(x, rep.representation(), parts, so).mixture.estimates;
  eval::Table comps("components", {"component", "std", "pruned"}, "components");
  const auto pruned = model->pruned();
  for (size_t k = 0; k < so.names.size(); ++k) {
    const std::string& name = so.names[k];
    const bool dead = std::find(pruned.begin(), pruned.end(), static_cast<int64_t>(k)) != pruned.end();
    const torch::Tensor y = estimates[static_cast<int64_t>(k)];
    comps.add_row({k, y.std().item<double>(), dead});
    if (c.boolean("output.pictures")) {  // what the component's WAV holds, in the run's transform
      const torch::Tensor coefficients = rep.analyse(y);
      const torch::Tensor power = coefficients.is_complex() ? torch::abs(coefficients).square() : coefficients.square();
      io::write_png_heatmap((fs::path(out_dir) / "pictures" / (name + ".png")).string(), power.flip({0}), true);
    }
    if (c.boolean("output.components"))
      io::write_wav((fs::path(out_dir) / "components" / (name + ".wav")).string(), y, rate);
  }
  eval::write_table(comps, out_dir);
}

}  // namespace

ModelEntry nmf_audio_entry() {
  return {"nmf_audio",
          "β-NMF on audio (keys as nmf: ARD, smooth_h, h_zeros) incl. the lecture's piano toy; report: PNG pictures, "
          "Wiener-filtered component WAVs",
          add_nmf_audio_keys, on_matrix(build_nmf), on_matrix(load_nmf_audio_data), on_matrix(report), {}, {false, true, false, false}};
}

}  // namespace factorch
