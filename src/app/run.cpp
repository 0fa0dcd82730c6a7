#include "factorch/app/run.h"

#include "factorch/app/audio_data.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <torch/cuda.h>
#include <ATen/Parallel.h>
#include <yaml-cpp/yaml.h>

#include "factorch/error.h"
#include "factorch/shape_string.h"
#include "factorch/io/atomic_file.h"
#include "factorch/io/npy.h"
#include "factorch/io/torch_file.h"
#include "models/registry.h"

namespace factorch::app {

namespace fs = std::filesystem;

torch::Device parse_device(const std::string& name) {
  std::optional<torch::Device> device;
  try {
    device = torch::Device(name);
  } catch (const c10::Error&) {
    throw Error("trainer.device must be cpu, cuda or cuda:N, got '" + name + "'");
  }
  require(device->is_cpu() || device->is_cuda(), "trainer.device must be cpu, cuda or cuda:N, got '" + name + "'");
  if (device->is_cuda()) {
    require(torch::cuda::is_available(), "trainer.device is '" + name + "' but no CUDA GPU is available to LibTorch");
    require(!device->has_index() || device->index() < static_cast<int>(torch::cuda::device_count()),
            "trainer.device is '" + name + "' but only " + std::to_string(torch::cuda::device_count()) + " GPU(s) exist");
  }
  return *device;
}

torch::ScalarType parse_dtype(const std::string& name) {
  if (name == "float64") return torch::kFloat64;
  if (name == "float32") return torch::kFloat32;
  throw Error("trainer.dtype must be float32 or float64, got '" + name + "'");
}

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

TrainingData load_training_data(const Config& c) {
  if (has_audio_input(c)) {
    require(!c.has("data.mask"), c.where("data.mask") + ": data.mask applies to .npy input only");
    const AudioRepresentation rep(c);
    const AudioData audio = load_audio_data(c);
    TrainingData data;
    data.X = rep.nonnegative(rep.analyse(audio.mixture));
    return data;
  }
  if (!c.has("data.input")) c.fail("data.input", "is required (an F×N nonnegative .npy matrix)");
  const std::string path = c.string("data.input");
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

void export_factors(const NamedTensors& factors, const std::string& dir, const std::vector<std::string>& formats) {
  for (const std::string& f : formats) {
    if (f == "npy") {
      for (const auto& item : factors) io::save_npy((fs::path(dir) / "factors" / (item.key() + ".npy")).string(), item.value());
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

// Copies checkpointed raw parameters into the model; names and shapes must agree.
void restore_parameters(FactorModelImpl& model, const NamedTensors& saved, const std::string& path) {
  torch::NoGradGuard no_grad;
  auto params = model.named_parameters(true);
  auto buffers = model.named_buffers(true);
  for (auto* dict : {&params, &buffers}) {
    for (auto& item : *dict) {
      const torch::Tensor* src = saved.find(item.key());
      require(src != nullptr, path + ": has no parameter '" + item.key() + "' (different model options?)");
      require(src->sizes() == item.value().sizes(), path + ": parameter " + item.key() + " is " + shape_string(*src) +
                                                        " but this config/data needs " + shape_string(item.value()));
      item.value().copy_(src->to(item.value().options()));
    }
  }
}

// model.init_from: factors of the same shape are copied; others stay initialised.
void init_from_factors(FactorModelImpl& model, const Config& c) {
  const std::string path = c.string("model.init_from");
  NamedTensors given;
  try {
    given = io::load_tensors_pt(path);
  } catch (const Error& e) {
    c.fail("model.init_from", std::string("cannot be loaded: ") + e.what());
  }
  const NamedTensors current = model.factors();
  int used = 0;
  for (const auto& item : given) {
    const torch::Tensor* mine = current.find(item.key());
    if (!mine) continue;
    if (mine->sizes() != item.value().sizes()) {
      std::fprintf(stderr, "factorch: init_from: %s is %s in %s, the model needs %s: re-initialised\n", item.key().c_str(),
                   shape_string(item.value()).c_str(), path.c_str(), shape_string(*mine).c_str());
      continue;
    }
    model.set_factor(item.key(), item.value());
    ++used;
  }
  if (used == 0) c.fail("model.init_from", "(" + path + ") has no factor matching this model");
}

std::string trainer_signature(const std::string& config_yaml) {
  try {
    const YAML::Node n = YAML::Load(config_yaml);
    return n["trainer"]["kind"].as<std::string>() + "/" + n["trainer"]["optimizer"].as<std::string>();
  } catch (const YAML::Exception&) {
    return "";
  }
}

}  // namespace

RunResult run_training(const Config& c, const RunOptions& options) {
  const ModelEntry& entry = model_entry(c.string("model.type"));
  // Build on the CPU in float64 so that initialisation is identical on every device.
  TrainingData data = entry.load_data ? entry.load_data(c) : load_training_data(c);
  std::shared_ptr<FactorModelImpl> model = entry.build(c, data);
  RunResult out = fit_model(c, model, data, options, c.string("output.dir"));
  if (options.write_outputs && out.result.ok && entry.report) entry.report(c, *out.model, out.data, out.out_dir);
  return out;
}

RunResult fit_model(const Config& c, std::shared_ptr<FactorModelImpl> model, TrainingData data,
                    const RunOptions& options, const std::string& out_dir) {
  const TrainerOptions topt = trainer_options(c);
  std::optional<torch::Device> parsed;
  try {
    parsed = parse_device(topt.device());
  } catch (const Error& e) {
    throw Error(c.where("trainer.device") + ": " + e.what());
  }
  const torch::Device device = *parsed;
  const torch::ScalarType dtype = parse_dtype(topt.dtype());
  if (topt.threads() > 0) {
    at::set_num_threads(static_cast<int>(topt.threads()));
    // A pthreads OpenBLAS (Debian's libopenblas0-pthread) keeps its own pool, which
    // at::set_num_threads does not reach: without this every GEMM uses all cores.
    if (auto* f = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
      f(static_cast<int>(topt.threads()));
  }

  std::optional<io::Checkpoint> checkpoint;
  if (options.resume) {
    checkpoint = io::load_checkpoint(*options.resume);
    require(checkpoint->model_type == model->type(), *options.resume + ": checkpoint holds a '" +
                                                         checkpoint->model_type + "' model but the config asks for '" +
                                                         model->type() + "'");
  }
  model->check_data(data);
  if (checkpoint) {
    restore_parameters(*model, checkpoint->parameters, *options.resume);
  } else if (c.has("model.init_from")) {
    init_from_factors(*model, c);
  }
  model->to(device, dtype);
  data = data.to(device, dtype);

  std::unique_ptr<Trainer> trainer = make_trainer(topt);
  if (checkpoint) {
    TrainState state = checkpoint->train_state;
    if (trainer_signature(checkpoint->config_yaml) != topt.kind() + "/" + topt.optimizer()) state.optimizer_state.clear();
    trainer->set_state(state);
  }

  RunResult out;
  out.out_dir = out_dir;
  if (options.write_outputs) {
    // From here on files are written (each atomically).
    io::write_file_atomically((fs::path(out_dir) / "config.resolved.yaml").string(), c.dump());
    trainer->add_callback(std::make_shared<HistoryCallback>((fs::path(out_dir) / "history.csv").string()));
    const std::string ckpt_path = (fs::path(out_dir) / "checkpoint.pt").string();
    Trainer* t = trainer.get();
    const std::string config_yaml = c.dump();
    trainer->add_callback(std::make_shared<CheckpointCallback>(topt.checkpoint_every(), [=](const TrainState& s) {
      io::Checkpoint ck;
      ck.model_type = model->type();
      ck.config_yaml = config_yaml;
      for (const auto& p : model->named_parameters(true)) ck.parameters.insert(p.key(), p.value());
      for (const auto& b : model->named_buffers(true)) ck.parameters.insert(b.key(), b.value());
      ck.factors = model->factors();
      ck.train_state = s;
      ck.train_state.optimizer_state = t->optimizer_state();
      io::save_checkpoint(ckpt_path, ck);
    }));
  }
  if (topt.kind() == "autograd" && !(topt.tol() >= 1e-9)) trainer->add_callback(std::make_shared<StallCallback>());
  const bool tty = ::isatty(2);
  if (!options.quiet && topt.progress() != "never")
    trainer->add_callback(std::make_shared<ProgressCallback>(tty && topt.progress() == "auto"));

  out.result = trainer->fit(model, data);
  out.model = model;
  out.data = data;
  if (options.write_outputs && out.result.ok) export_factors(model->factors(), out_dir, c.strings("output.formats"));
  return out;
}

}  // namespace factorch::app
