#include "app/run.h"

#include "app/audio_data.h"
#include "app/column_shard.h"
#include "app/factor_manifest.h"
#include "factorch/distributed/communicator.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>

#include <torch/cuda.h>
#include <ATen/Parallel.h>
#include <yaml-cpp/yaml.h>

#include "factorch/error.h"
#include "factorch/shape_string.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_file.h"
#include "app/experiments/registry.h"
#include "factorch/train/device.h"
#include "factorch/train/restore.h"
#include "factorch/train/threads.h"

namespace factorch::app {

namespace fs = std::filesystem;

TrainerOptions trainer_options(const Config& c) {
  TrainerOptions o;
  o.kind(c.string("trainer.kind")).max_iter(c.integer("trainer.max_iter")).tol(c.number("trainer.tol"));
  o.eval_every(c.integer("trainer.eval_every")).device(c.string("trainer.device")).dtype(c.string("trainer.dtype"));
  o.threads(c.integer("trainer.threads")).seed(static_cast<uint64_t>(c.integer("trainer.seed")));
  o.checkpoint_every(c.integer("trainer.checkpoint_every")).progress(c.string("trainer.progress"));
  o.optimizer(c.string("trainer.optimizer")).lr(c.number("trainer.lr")).momentum(c.number("trainer.momentum"));
  o.batch_size(c.integer("trainer.batch_size")).nonneg(c.string("trainer.nonneg"));
  return o;
}

Dataset load_dataset(const Config& c) {
  Dataset d;
  if (has_audio_input(c)) {
    require(!c.has("data.mask"), c.where("data.mask") + ": data.mask applies to .npy input only");
    const AudioRepresentation rep(c);
    auto audio = std::make_shared<AudioData>(load_audio_data(c));
    d.matrix.X = rep.nonnegative(rep.analyse(audio->mixture));
    d.audio = std::move(audio);
    return d;
  }
  d.matrix = load_training_data(c);
  return d;
}

TrainingData load_training_data(const Config& c) {
  if (has_audio_input(c)) return load_dataset(c).matrix;
  if (!c.has("data.input")) c.fail("data.input", "is required (an F×N nonnegative .npy matrix)");
  const std::string path = c.strings("data.input").at(0);
  TrainingData data;
  try {
    data.X = io::load_npy(path).to(torch::kFloat64);
  } catch (const Error& e) {
    c.fail("data.input", std::string("cannot be loaded: ") + e.what());
  }
  if (c.has("data.mask")) {
    const std::string mask = c.string("data.mask");
    data.mask = io::load_npy(mask).to(torch::kFloat64);
    if (data.mask.sizes() != data.X.sizes())
      c.fail("data.mask", "(" + mask + ") is " + shape_string(data.mask) + " but data.input is " + shape_string(data.X));
  }
  return data;
}

void export_factors(const NamedTensors& factors, const FactorDescriptions& descriptions, const std::string& dir,
                    const std::vector<std::string>& formats) {
  for (const std::string& f : formats) {
    if (f == "npy") {
      for (const auto& item : factors) io::save_npy((fs::path(dir) / "factors" / (item.key() + ".npy")).string(), item.value());
      write_factor_manifest(dir, factors, descriptions);
    } else if (f == "pt") {
      io::save_tensors_pt((fs::path(dir) / "factors.pt").string(), factors);
    } else {
      throw Error("unknown export format '" + f + "' (npy, pt)");
    }
  }
}

torch::Tensor sample_dictionary(const io::Checkpoint& checkpoint, const torch::Tensor& frequencies, int64_t n_fft,
                                const std::string& path) {
  const ModelEntry& entry = model_entry(checkpoint.model_type);
  require(static_cast<bool>(entry.sample_dictionary), path + ": model '" + checkpoint.model_type +
                                                          "' has no dictionary on a continuous frequency axis (innmf has)");
  const Config c = Config::parse(checkpoint.config_yaml, path + " (config)");
  return entry.sample_dictionary(c, checkpoint.factors, frequencies, n_fft);
}

namespace {

// The per-column tensors of every rank put back together (collective: every rank calls it
// with the same names), so that outputs have the layout of a single-process run.
NamedTensors gathered(const FactorModelImpl& model, const NamedTensors& local, const TrainingData& data,
                      distributed::Communicator* comm) {
  if (!data.sharded() || comm == nullptr) return local;
  const std::vector<int64_t> counts = ColumnShard::split(data.shard->total, 0, data.shard->world_size).counts();
  NamedTensors out;
  for (const auto& item : local) {
    const std::vector<std::string> per_column = model.per_column_tensors();
    const bool split = std::find(per_column.begin(), per_column.end(), item.key()) != per_column.end() && item.value().dim() >= 2;
    out.insert(item.key(), split ? comm->all_gather(item.value().detach(), item.value().dim() - 1, counts) : item.value());
  }
  return out;
}

// Runs `f` when training starts (Callback::on_begin).
class BeginCallback : public Callback {
 public:
  explicit BeginCallback(std::function<void()> f) : f_(std::move(f)) {}
  void on_begin(const TrainState&) override { f_(); }

 private:
  std::function<void()> f_;
};

// model.init_from: factors of the same shape are copied; others stay initialised.
void init_from_factors(FactorModelImpl& model, const Config& c, const TrainingData& data) {
  const std::string path = c.string("model.init_from");
  NamedTensors given;
  try {
    given = io::load_tensors_pt(path);
  } catch (const Error& e) {
    c.fail("model.init_from", std::string("cannot be loaded: ") + e.what());
  }
  const NamedTensors current = model.factors();
  int used = 0;
  std::string mismatches;  // "W is 64x12 there, the model needs 64x8; ..."
  for (const auto& item : given) {
    const torch::Tensor* mine = current.find(item.key());
    if (!mine) continue;
    const torch::Tensor value = column_part(model, item.key(), item.value(), data);
    if (mine->sizes() != value.sizes()) {
      mismatches += (mismatches.empty() ? "" : "; ") + item.key() + " is " + shape_string(item.value()) +
                    " there, the model needs " + shape_string(*mine);
      continue;
    }
    model.set_factor(item.key(), value);
    ++used;
  }
  if (used == 0) {
    std::string names;
    for (const auto& item : current) names += (names.empty() ? "" : ", ") + item.key();
    c.fail("model.init_from", "(" + path + ") has no factor matching this model (" +
                                  (mismatches.empty() ? "it needs " + names : mismatches + ": same model.rank and data?") +
                                  ")");
  }
  if (!mismatches.empty())
    std::fprintf(stderr, "factorch: init_from: %s (%s): re-initialised\n", mismatches.c_str(), path.c_str());
}

std::string trainer_signature(const std::string& config_yaml) {
  try {
    const YAML::Node n = YAML::Load(config_yaml);
    return n["trainer"]["kind"].as<std::string>() + "/" + n["trainer"]["optimizer"].as<std::string>();
  } catch (const YAML::Exception&) {
    return "";
  }
}

std::string hash_hex(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across builds, unlike std::hash
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ULL;
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(h));
  return out;
}

// One rank of a data-parallel run: its columns of V, the model built on them (the same
// initial factors as one process would draw), then fit_model, which gathers for outputs.
RunResult run_data_parallel(const Config& c, const RunOptions& options) {
  distributed::Communicator& comm = *options.communicator;
  // Before anything is read or written: every rank must run the same resolved config.
  comm.require_same("resolved configs (FNV-1a of config.resolved.yaml and --resume)",
                    hash_hex(c.dump() + "\nresume: " + options.resume.value_or("")));
  check_data_parallel(c);
  const std::string type = c.string("model.type");
  const ModelEntry& entry = model_entry(type);
  const Dataset dataset = entry.load_shard(c, options.communicator);
  require(dataset.matrix.sharded(), type + ": load_shard returned data that is not marked as a shard");
  std::shared_ptr<FactorModelImpl> model = build_model(entry, c, dataset);
  return fit_model(c, model, dataset.matrix, options, c.string("output.dir"));
}

}  // namespace

void check_resume(const Config& c, const io::Checkpoint& checkpoint, const std::string& path) {
  const std::string type = c.string("model.type");
  require(checkpoint.model_type == type,
          path + ": checkpoint holds a '" + checkpoint.model_type + "' model but the config asks for '" + type + "'");
  // max_iter counts from the start of the first run. A resume with nothing left to do is an
  // error, not a run that reports "stopped after N iterations" and rewrites the old outputs.
  const int64_t done = checkpoint.train_state.iteration, max_iter = c.integer("trainer.max_iter");
  if (done >= max_iter)
    throw Error(path + " has already run " + std::to_string(done) + " iterations >= trainer.max_iter = " +
                std::to_string(max_iter) + " (" + c.where("trainer.max_iter") +
                "; it counts the checkpoint's iterations): nothing to train; set trainer.max_iter above " +
                std::to_string(done) + " to continue");
}

void check_data_parallel(const Config& c) {
  const std::string type = c.string("model.type");
  const ModelEntry& entry = model_entry(type);
  if (!entry.capabilities.data_parallel || !entry.load_shard) {
    std::string supported;
    for (const ModelEntry& e : model_registry())
      if (e.capabilities.data_parallel && e.load_shard) supported += (supported.empty() ? "" : ", ") + e.name;
    c.fail("model.type", "is " + type + ": data-parallel training (torchrun, --nproc) supports " + supported + " so far");
  }
  if (entry.check_data_parallel) entry.check_data_parallel(c);
}

RunResult run_training(const Config& c, const RunOptions& options) {
  if (options.communicator) return run_data_parallel(c, options);
  const ModelEntry& entry = model_entry(c.string("model.type"));
  // Build on the CPU in float64 so that initialisation is identical on every device.
  const Dataset data = entry.load_data ? entry.load_data(c) : load_dataset(c);
  std::shared_ptr<FactorModelImpl> model = build_model(entry, c, data);
  RunResult out = fit_model(c, model, data.matrix, options, c.string("output.dir"));
  if (options.write_outputs && out.result.ok && entry.report) entry.report(c, *out.model, data, out.out_dir);
  return out;
}

RunResult fit_model(const Config& c, std::shared_ptr<FactorModelImpl> model, TrainingData data,
                    const RunOptions& options, const std::string& out_dir) {
  const TrainerOptions topt = trainer_options(c);
  std::optional<torch::Device> parsed;
  try {
    parsed = device_from_name(topt.device(), "trainer.device");
  } catch (const Error& e) {
    throw Error(c.where("trainer.device") + ": " + e.what());
  }
  torch::Device device = *parsed;
  // torchrun's convention: one GPU per local rank when the config says just "cuda".
  if (device.is_cuda() && !device.has_index() && data.sharded() && options.communicator)
    device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(options.communicator->local_rank() %
                                                                         std::max<int64_t>(1, torch::cuda::device_count())));
  const torch::ScalarType dtype = dtype_from_name(topt.dtype(), "trainer.dtype");
  set_total_threads(static_cast<int>(topt.threads()));  // ATen and the BLAS pool (threads.h)

  std::optional<io::Checkpoint> checkpoint;
  if (options.resume) {
    checkpoint = io::load_checkpoint(*options.resume);
    check_resume(c, *checkpoint, *options.resume);
  }
  try {
    model->check_data(data);
  } catch (const Error& e) {
    // The model names what it checked ("data: ..."); the user needs the file it came from.
    if (!c.has("data.input")) throw;
    const std::vector<std::string> inputs = c.strings("data.input");
    throw Error(c.where("data.input") + ": data.input (" + (inputs.size() == 1 ? inputs[0] : inputs[0] + ", …") +
                "): " + e.what());
  }
  if (checkpoint) {
    restore_parameters(*model, checkpoint->parameters, *options.resume, data);
  } else if (c.has("model.init_from")) {
    init_from_factors(*model, c, data);
  }
  model->to(device, dtype);
  data = data.to(device, dtype);

  std::unique_ptr<Trainer> trainer = make_trainer(topt);
  if (checkpoint) {
    TrainState state = checkpoint->train_state;
    if (trainer_signature(checkpoint->config_yaml) != topt.kind() + "/" + topt.optimizer() || data.sharded())
      state.optimizer_state.clear();
    trainer->set_state(state);
  }

  RunResult out;
  out.out_dir = out_dir;
  // Data-parallel runs: every rank trains and takes part in gathers; rank 0 writes.
  distributed::Communicator* comm = data.sharded() ? options.communicator.get() : nullptr;
  const bool writer = data.counts_shared_terms();
  if (options.write_outputs) {
    // From here on files are written (each atomically).
    if (writer) {
      // At the start of training, not before: a run that cannot start (an infinite initial
      // objective) leaves no run directory behind.
      trainer->add_callback(std::make_shared<BeginCallback>(
          [path = (fs::path(out_dir) / "config.resolved.yaml").string(), text = c.dump()] {
            io::write_file_atomically(path, text);
          }));
      trainer->add_callback(std::make_shared<HistoryCallback>((fs::path(out_dir) / "history.csv").string()));
    }
    const std::string ckpt_path = (fs::path(out_dir) / "checkpoint.pt").string();
    Trainer* t = trainer.get();
    const std::string config_yaml = c.dump();
    trainer->add_callback(std::make_shared<CheckpointCallback>(topt.checkpoint_every(), [=](const TrainState& s) {
      io::Checkpoint ck;
      ck.model_type = model->type();
      ck.config_yaml = config_yaml;
      NamedTensors state;
      for (const auto& p : model->named_parameters(true)) state.insert(p.key(), p.value());
      for (const auto& b : model->named_buffers(true)) state.insert(b.key(), b.value());
      ck.parameters = gathered(*model, state, data, comm);
      ck.factors = gathered(*model, model->factors(), data, comm);
      ck.descriptions = model->describe_factors();
      ck.train_state = s;
      // An optimiser's state holds per-column moments of this rank only: not kept across ranks.
      ck.train_state.optimizer_state = comm ? std::string() : t->optimizer_state();
      if (writer) io::save_checkpoint(ckpt_path, ck);
    }));
  }
  if (topt.kind() == "autograd" && !(topt.tol() >= 1e-9)) trainer->add_callback(std::make_shared<StallCallback>());
  const bool tty = ::isatty(2);
  if (!options.quiet && topt.progress() != "never" && writer)
    trainer->add_callback(std::make_shared<ProgressCallback>(tty && topt.progress() == "auto"));
  for (const auto& cb : options.callbacks) trainer->add_callback(cb);

  out.result = trainer->fit(model, data);
  out.model = model;
  out.data = data;
  if (options.write_outputs && out.result.ok) {
    const NamedTensors factors = gathered(*model, model->factors(), data, comm);
    if (writer) export_factors(factors, model->describe_factors(), out_dir, c.strings("output.formats"));
  }
  // Rank 0's last write is part of the run: a rank that fails there fails them all.
  if (comm) comm->barrier();
  return out;
}

}  // namespace factorch::app
