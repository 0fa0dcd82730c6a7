#include "app/separation_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "app/audio_shard.h"
#include "app/data_block.h"
#include "app/experiments/registry.h"
#include "factorch/error.h"
#include "factorch/eval/metrics_json.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/wav_stream.h"
#include "factorch/separation/separate.h"
#include "factorch/separation/separate_stream.h"
#include "factorch/train/device.h"
#include "factorch/train/threads.h"

namespace factorch::app {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ dictionaries

std::vector<torch::Tensor> learn_source_dictionaries(const Config& c, const ModelEntry& entry,
                                                     const AudioRepresentation& rep,
                                                     const std::vector<torch::Tensor>& training,
                                                     const RunOptions& options) {
  std::vector<torch::Tensor> dictionaries;
  for (const torch::Tensor& signal : training) {
    TrainingData data;
    data.X = rep.nonnegative(rep.analyse(signal));
    RunOptions quiet = options;
    quiet.write_outputs = false;
    quiet.resume.reset();
    const RunResult r = fit_model(c, build_model(entry, c, data), data, quiet, "");
    require(r.result.ok, "training a source model failed: " + r.result.stop_reason);
    const FactorDescriptions described = r.model->describe_factors();
    const FactorDescription* W = whole_factor(described, FactorRole::Dictionary);
    require(W != nullptr, "model.type " + c.string("model.type") + " describes no dictionary to separate with");
    dictionaries.push_back(r.model->factors()[W->name].to(torch::kCPU, torch::kFloat64));
  }
  return dictionaries;
}

Config mixture_fit_config(const Config& c, int64_t sources) {
  Config mix = c;
  mix.set("model.rank", std::to_string(c.integer("model.rank") * sources), "factorch separate");
  mix.set("model.fixed_w", "true", "factorch separate");
  mix.set("model.init", "random", "factorch separate");
  return mix;
}

// ------------------------------------------------------------------ when

namespace {

// Why the block path cannot take this config ("" when it can).
std::string block_path_obstacle(const Config& c, const ModelEntry& entry) {
  if (!entry.capabilities.streams) return "model.type " + entry.name + " does not separate block by block";
  if (!c.has("data.input") || c.has("data.synthetic")) return "the mixture is not a WAV file in data.input";
  if (!has_audio_input(c)) return "data.input is not audio";
  if (!c.has("data.train")) return "there is no data.train (the block path is supervised)";
  if (c.string("trainer.kind") != "mu") return "trainer.kind is not mu";
  if (entry.stream_obstacle)
    if (std::string why = entry.stream_obstacle(c); !why.empty()) return why;
  if (c.has("model.init_from")) return "model.init_from is set";
  if (c.string("data.transform.kind") == "cqt") return "data.transform.kind cqt cannot be inverted";
  return "";
}

int64_t mixture_frames(const Config& c) {
  const auto inputs = resolve_audio_paths(c, "data.input", c.strings("data.input"));
  if (inputs.size() != 1) return -1;  // the in-memory path names the error
  try {
    return io::WavBlockReader(inputs[0]).frames();
  } catch (const Error& e) {
    c.fail("data.input", e.what());
  }
}

int64_t block_frames(const Config& c, int sample_rate, int64_t hop) {
  const double samples = c.number("data.block_seconds") * sample_rate;
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(samples / static_cast<double>(hop))));
}

}  // namespace

bool separates_in_blocks(const Config& c, const ModelEntry& entry) {
  const std::string mode = c.string("data.stream");
  if (mode == "never") return false;
  const std::string obstacle = block_path_obstacle(c, entry);
  if (!obstacle.empty()) {
    if (mode == "always") c.fail("data.stream", "always, but " + obstacle);
    return false;
  }
  if (mode == "always") return true;
  const int64_t T = mixture_frames(c);
  if (T < 0) return false;
  const auto inputs = resolve_audio_paths(c, "data.input", c.strings("data.input"));
  const int rate = io::WavBlockReader(inputs[0]).sample_rate();
  return static_cast<double>(T) > c.number("data.block_seconds") * rate;
}

// ------------------------------------------------------------------ activations

torch::Tensor fit_block_activations(const Config& mix, const ModelEntry& entry, const torch::Tensor& W,
                                    const torch::Tensor& V) {
  const TrainerOptions topt = trainer_options(mix);
  TrainingData data;
  data.X = V.to(torch::kCPU, torch::kFloat64);
  std::shared_ptr<FactorModelImpl> model = build_model(entry, mix, data);
  return model->fit_activations(W, data.X, topt.max_iter(), device_from_name(topt.device(), "trainer.device"),
                                dtype_from_name(topt.dtype(), "trainer.dtype"));
}

// ------------------------------------------------------------------ the block path

namespace {

io::WavBlockReader open_reader(const Config& c, const std::string& key, const std::string& path) {
  try {
    return io::WavBlockReader(path, mono_read_options(c));
  } catch (const Error& e) {
    c.fail(key, e.what());
  }
}

}  // namespace

SeparationResult run_block_separation(const Config& c, const ModelEntry& entry, const RunOptions& options) {
  // 1. Open and check every input before computing anything.
  const AudioRepresentation audio_rep(c);
  const separation::Representation& rep = audio_rep.representation();
  const auto inputs = resolve_audio_paths(c, "data.input", c.strings("data.input"));
  if (inputs.size() != 1) c.fail("data.input", "must be one mixture, got " + std::to_string(inputs.size()) + " files");
  io::WavBlockReader mixture = open_reader(c, "data.input", inputs[0]);
  const int rate = mixture.sample_rate();
  const int64_t T = mixture.frames();
  if (T < rep.frame_length())
    c.fail("data.input", inputs[0] + ": " + std::to_string(T) + " samples, shorter than one frame (" +
                             std::to_string(rep.frame_length()) + ")");
  std::vector<std::string> names;
  std::vector<torch::Tensor> training;
  for (const auto& [name, entries] : source_lists(c, "data.train")) {
    std::vector<torch::Tensor> parts;
    for (const std::string& path : resolve_audio_paths(c, "data.train." + name, entries)) {
      io::WavBlockReader r = open_reader(c, "data.train." + name, path);
      if (r.sample_rate() != rate)
        c.fail("data.train." + name, path + ": sample rate " + std::to_string(r.sample_rate()) + " Hz differs from " +
                                         std::to_string(rate) + " Hz of " + inputs[0]);
      parts.push_back(r.read(0, r.frames())[0]);
    }
    training.push_back(torch::cat(parts));
    names.push_back(name);
  }
  std::vector<io::WavBlockReader> references;
  if (c.has("data.references")) {
    std::vector<std::string> ref_names;
    for (const auto& [name, files] : source_lists(c, "data.references")) {
      if (files.size() != 1)
        c.fail("data.references." + name, "must be one file (one mixture in data.input), got " + std::to_string(files.size()));
      io::WavBlockReader r = open_reader(c, "data.references." + name, files[0]);
      if (r.sample_rate() != rate)
        c.fail("data.references." + name, files[0] + ": sample rate " + std::to_string(r.sample_rate()) +
                                              " Hz differs from " + std::to_string(rate) + " Hz of " + inputs[0]);
      if (r.frames() != T)
        c.fail("data.references." + name, files[0] + ": has " + std::to_string(r.frames()) +
                                              " samples but the mixture " + inputs[0] + " has " + std::to_string(T));
      ref_names.push_back(name);
      references.push_back(std::move(r));
    }
    if (ref_names != names) c.fail("data.references", "must name the same sources in the same order as data.train");
  }
  const int64_t S = static_cast<int64_t>(names.size());
  const std::string out_dir = c.string("output.dir");
  const io::WavFormat format = io::wav_format_from_name(c.string("output.wav_format"));

  // 2. Dictionaries from the training audio, then the library's routine fed block by block:
  // H on the fixed dictionaries, parts W_s H_s.
  set_total_threads(static_cast<int>(trainer_options(c).threads()));
  const std::vector<torch::Tensor> dictionaries = learn_source_dictionaries(c, entry, audio_rep, training, options);
  training.clear();
  const torch::Tensor W = torch::cat(dictionaries, 1);
  const Config mix = mixture_fit_config(c, S);
  const separation::SourceParts parts = [&](const torch::Tensor& V) {
    return separation::dictionary_parts(dictionaries, fit_block_activations(mix, entry, W, V));
  };

  std::vector<std::unique_ptr<io::WavBlockWriter>> writers;
  std::unique_ptr<io::WavBlockWriter> mixture_writer;
  separation::StreamOptions stream;
  stream.names = names;
  stream.block_frames = block_frames(c, rate, rep.hop());
  stream.known_assignment = true;  // supervised: estimate s belongs to source s
  stream.eval_window = c.number("output.eval_window");
  stream.eval_hop = c.number("output.eval_hop");
  for (auto& r : references) stream.references.push_back(separation::wav_source(r));
  if (options.write_outputs) {
    for (const auto& n : names) {
      writers.push_back(std::make_unique<io::WavBlockWriter>((fs::path(out_dir) / "sources" / (n + ".wav")).string(), 1,
                                                             rate, format));
      stream.sources.push_back(separation::wav_sink(*writers.back()));
    }
    mixture_writer = std::make_unique<io::WavBlockWriter>((fs::path(out_dir) / "mixture.wav").string(), 1, rate, format);
    stream.mixture = separation::wav_sink(*mixture_writer);
  }
  if (!options.quiet && c.string("trainer.progress") != "never")
    stream.progress = [](int64_t done, int64_t blocks) {
      std::fprintf(stderr, "\rseparating: block %lld/%lld%s", static_cast<long long>(done), static_cast<long long>(blocks),
                   done == blocks ? "\n" : "");
    };
  const separation::StreamSeparation separated =
      separation::separate_stream(separation::wav_source(mixture), rep, parts, stream);

  // 3. The scores' document, then the files (each renamed into place), metrics.json last.
  SeparationResult out;
  out.names = names;
  out.out_dir = out_dir;
  out.streamed = true;
  out.has_metrics = separated.scored;
  eval::Json document;
  if (separated.scored) {
    out.metrics = separated.metrics;
    out.reference_names = names;
    out.table = separated.table;
    document = eval::metrics_json({out.table});
  }
  if (!options.write_outputs) return out;
  io::write_file_atomically((fs::path(out_dir) / "config.resolved.yaml").string(), c.dump());
  for (auto& w : writers) w->commit();
  mixture_writer->commit();
  if (separated.scored) eval::write_json((fs::path(out_dir) / "metrics.json").string(), document);
  else if (!options.quiet) std::printf("no references: metrics.json not written\n");
  return out;
}

}  // namespace factorch::app
