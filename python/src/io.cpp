// WAV read/write (libsndfile) and checkpoints (.pt archives the CLI writes and reads).
#include "bindings.h"
#include "factorch/io/wav.h"
#include "factorch/train/checkpoint.h"

namespace factorch::python {

void bind_io(py::module& m) {
  m.def("read_wav",
        [](const std::string& path, c10::optional<int> channel, bool downmix) {
          io::ReadOptions o;
          if (channel) o.channel = *channel;
          o.downmix = downmix;
          const io::Audio a = io::read_wav(path, o);
          return py::make_tuple(a.samples, a.sample_rate);
        },
        py::arg("path"), py::arg("channel") = py::none(), py::arg("downmix") = false);
  m.def("write_wav",
        [](const std::string& path, const torch::Tensor& samples, int sample_rate, const std::string& format) {
          io::write_wav(path, samples, sample_rate, io::wav_format_from_name(format));
        },
        py::arg("path"), py::arg("samples"), py::arg("sample_rate"), py::arg("format") = "float32");
  // A checkpoint as a dict: model_type, config (YAML text), parameters, factors (name → tensor),
  // iteration, history [(iter, objective, rel_change, seconds)].
  m.def("load_checkpoint", [](const std::string& path) {
    const io::Checkpoint c = io::load_checkpoint(path);
    py::dict out, parameters, factors;
    for (const auto& item : c.parameters) parameters[py::str(item.key())] = item.value();
    for (const auto& item : c.factors) factors[py::str(item.key())] = item.value();
    py::list history;
    for (const TrainRecord& r : c.train_state.history)
      history.append(py::make_tuple(r.iteration, r.objective, r.rel_change, r.seconds));
    out["model_type"] = c.model_type;
    out["config"] = c.config_yaml;
    out["parameters"] = parameters;
    out["factors"] = factors;
    out["iteration"] = c.train_state.iteration;
    out["history"] = history;
    return out;
  }, py::arg("path"));
  m.def("save_checkpoint",
        [](const std::string& path, const std::string& model_type, py::dict parameters, py::dict factors,
           const std::string& config, int64_t iteration) {
          io::Checkpoint c;
          c.model_type = model_type;
          c.config_yaml = config;
          for (auto item : parameters) c.parameters.insert(item.first.cast<std::string>(), item.second.cast<torch::Tensor>());
          for (auto item : factors) c.factors.insert(item.first.cast<std::string>(), item.second.cast<torch::Tensor>());
          c.train_state.iteration = iteration;
          io::save_checkpoint(path, c);
        },
        py::arg("path"), py::arg("model_type"), py::arg("parameters"), py::arg("factors"), py::arg("config") = "",
        py::arg("iteration") = 0);
}

}  // namespace factorch::python
