// Every configuration key that is not model-specific; models add theirs (models/registry).
#include "app/data_block.h"
#include "app/config.h"
#include "app/experiments/registry.h"

namespace factorch {

namespace {

void add_common_keys(ConfigSchema& s) {
  std::vector<std::string> types;
  for (const auto& e : model_registry()) types.push_back(e.name);
  s.add("model.type", KeyType::String, "model to train").choice(types).needed();
  s.add("model.seed", KeyType::Integer, "seed of the random initialisation").def("0").at_least(0);
  s.add("model.init_from", KeyType::String,
        "checkpoint.pt or factors.pt (or a Python torch.save dict) whose factors start this run; "
        "factors of another shape are re-initialised unless fixed");

  app::add_data_keys(s);

  s.add("trainer.kind", KeyType::String, "mu: multiplicative updates; autograd: torch::optim on the loss")
      .choice({"mu", "autograd"}).def("mu");
  s.add("trainer.max_iter", KeyType::Integer, "MU sweeps or autograd epochs").def("200").at_least(0);
  s.add("trainer.tol", KeyType::Number, "stop when the relative objective change at an evaluation is below tol (0: never)")
      .def("1.0e-6").at_least(0);
  s.add("trainer.eval_every", KeyType::Integer, "evaluate the objective every k iterations").def("1").at_least(1);
  s.add("trainer.device", KeyType::String, "cpu, cuda or cuda:N").def("cpu");
  s.add("trainer.dtype", KeyType::String, "floating point type of model and data").choice({"float32", "float64"}).def("float64");
  s.add("trainer.threads", KeyType::Integer,
        "CPU threads in total for this process (per rank when distributed), BLAS pool included "
        "(0: LibTorch's and the BLAS's defaults)").def("1").at_least(0);
  s.add("trainer.seed", KeyType::Integer, "seed of mini-batch shuffling").def("0").at_least(0);
  s.add("trainer.checkpoint_every", KeyType::Integer, "iterations between checkpoints (0: only at the end)").def("0").at_least(0);
  s.add("trainer.progress", KeyType::String, "progress line on stderr").choice({"auto", "always", "never"}).def("auto");
  s.add("trainer.dist_backend", KeyType::String,
        "data-parallel runs (torchrun variables or train --nproc): process-group backend; auto = nccl on CUDA "
        "when built with NCCL, else gloo").choice({"auto", "gloo", "nccl"}).def("auto");
  s.add("trainer.dist_timeout", KeyType::Number,
        "data-parallel runs: seconds a rank waits for the others (rendezvous, each collective) before it stops "
        "with an error").def("300").above(0);
  s.add("trainer.optimizer", KeyType::String, "autograd optimiser").choice({"adam", "sgd", "lbfgs", "rprop"}).def("adam");
  s.add("trainer.lr", KeyType::Number, "autograd learning rate (rprop: initial step)").def("0.01").above(0);
  s.add("trainer.momentum", KeyType::Number, "sgd momentum").def("0.0").at_least(0);
  s.add("trainer.batch_size", KeyType::Integer, "rows per mini-batch for sample data (0: full batch)").def("0").at_least(0);
  s.add("trainer.nonneg", KeyType::String, "autograd nonnegativity: project (clamp after each step) or softplus parametrisation")
      .choice({"project", "softplus"}).def("project");

  s.add("output.dir", KeyType::String, "output directory (created; files replaced atomically)").def("runs/run");
  s.add("output.sources", KeyType::StringListMap,
        "factorch separate without data.train: components of each source {name: [0, 1], other: [2]} "
        "(default: component k is source k)");
  s.add("output.wav_format", KeyType::String, "sample format of separated WAVs").choice({"float32", "pcm16", "pcm24"})
      .def("float32");
  s.add("output.formats", KeyType::StringList, "factor exports: npy (factors/*.npy) and/or pt (factors.pt)").def("[npy, pt]");
  s.add("output.log_frequency", KeyType::Boolean,
        "report.html figures: frequency axes on a log scale (music); factorch report --log-frequency overrides")
      .def("false");

  // factorch separate of long recordings (app/separation_blocks.h).
  s.add("data.block_seconds", KeyType::Number,
        "factorch separate: seconds of audio fitted, filtered, written and scored at a time; memory grows "
        "with it, not with the recording (supervised nmf on a WAV mixture)").def("30").above(0);
  s.add("data.stream", KeyType::String,
        "auto: block by block when the mixture is longer than one block; always: even one block; "
        "never: the whole mixture in memory").choice({"auto", "always", "never"}).def("auto");
  s.add("output.eval_window", KeyType::Number,
        "framewise BSS Eval window in seconds (SiSEC/museval: 1); 0: whole-signal scores only")
      .def("0").at_least(0);
  s.add("output.eval_hop", KeyType::Number, "framewise BSS Eval hop in seconds (0: the window)")
      .def("0").at_least(0);
}

}  // namespace

const ConfigSchema& config_schema() {
  static const ConfigSchema schema = [] {
    ConfigSchema s;
    add_common_keys(s);
    for (const auto& e : model_registry())
      if (e.add_keys) e.add_keys(s);
    s.check_unique();
    return s;
  }();
  return schema;
}

}  // namespace factorch
