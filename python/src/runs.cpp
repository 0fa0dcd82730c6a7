// factorch.train / factorch.separate: the same C++ functions as `factorch train` and
// `factorch separate` (cli/runs.h) on a Config loaded from a YAML file or YAML text, with
// the CLI's overrides ("key.path=value"); the GIL is released while they run.
#include "bindings.h"
#include "cli/runs.h"
#include "app/run.h"
#include "factorch/train/checkpoint.h"
#include "factorch/error.h"

namespace factorch::python {

namespace {

Config load_config(const std::string& source, bool is_path, const std::vector<std::string>& overrides) {
  return is_path ? Config::load(source, overrides) : Config::parse(source, "<dict>", overrides);
}

}  // namespace

void bind_runs(py::module& m) {
  // `factorch export CHECKPOINT --frequencies/--n-fft`: the checkpoint's W (iN-NMF: a
  // dictionary on a continuous frequency axis) sampled at `frequencies` (Hz), as a DFT of size
  // n_fft sees it (0: the training size).
  m.def("_export_on_grid",
        [](const std::string& path, const torch::Tensor& frequencies, int64_t n_fft) {
          const io::Checkpoint ck = io::load_checkpoint(path);
          if (!ck.factors.find("coordinates"))
            throw Error("export_on_grid: model '" + ck.model_type + "' of " + path +
                        " has no dictionary on a continuous frequency axis (innmf has)");
          return app::sample_dictionary(ck, frequencies, n_fft, path);
        },
        py::arg("path"), py::arg("frequencies"), py::arg("n_fft") = 0);
  m.def("_train",
        [](const std::string& source, bool is_path, const std::vector<std::string>& overrides, bool quiet) {
          const Config config = load_config(source, is_path, overrides);
          app::RunOptions options;
          options.quiet = quiet;
          cli::TrainOutcome t;
          {
            py::gil_scoped_release release;
            t = cli::train_config(config, options);
          }
          py::dict factors;
          for (const auto& item : t.run.model->factors()) factors[py::str(item.key())] = item.value();
          py::dict out;
          out["out_dir"] = t.run.out_dir;
          out["ok"] = t.run.result.ok;
          out["stop_reason"] = t.run.result.stop_reason;
          out["iterations"] = t.run.result.iterations;
          out["objective"] = t.run.result.objective;
          out["factors"] = factors;
          out["report"] = t.report;
          out["model_type"] = config.string("model.type");
          return out;
        },
        py::arg("source"), py::arg("is_path"), py::arg("overrides"), py::arg("quiet"));
  m.def("_separate",
        [](const std::string& source, bool is_path, const std::vector<std::string>& overrides, bool quiet) {
          const Config config = load_config(source, is_path, overrides);
          app::RunOptions options;
          options.quiet = quiet;
          cli::SeparateOutcome s;
          {
            py::gil_scoped_release release;
            s = cli::separate_config(config, options);
          }
          const app::SeparationResult& r = s.result;
          py::dict out;
          out["out_dir"] = r.out_dir;
          out["names"] = r.names;
          out["estimates"] = r.estimates;
          out["report"] = s.report;
          out["streamed"] = r.streamed;
          if (r.has_metrics && r.metrics.sdr.defined()) {
            py::dict metrics;
            metrics["sdr"] = r.metrics.sdr;
            metrics["sir"] = r.metrics.sir;
            metrics["sar"] = r.metrics.sar;
            metrics["permutation"] = r.metrics.permutation;
            metrics["references"] = r.reference_names;
            out["metrics"] = metrics;
          } else {
            out["metrics"] = py::none();
          }
          return out;
        },
        py::arg("source"), py::arg("is_path"), py::arg("overrides"), py::arg("quiet"));
}

}  // namespace factorch::python
