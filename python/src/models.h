#pragma once
// What every bound model has besides its own constructor and factors: reconstruct, loss,
// mu_step, factors by name, set_factor, fit (train.h). One template, used per model class.
#include <memory>
#include <sstream>

#include "bindings.h"
#include "train.h"
#include "factorch/models/factor_model.h"

namespace factorch::python {

template <class Impl>
using ModelClass = torch::python::detail::PyModuleClass<Impl>;

template <class Impl>
ModelClass<Impl>& add_factor_model_methods(ModelClass<Impl>& cls, bool rows_are_samples = false) {
  cls.def("type", [](Impl& m) { return m.type(); })
      .def("reconstruct", [](Impl& m) { return m.reconstruct(); })
      .def("loss", [rows_are_samples](Impl& m, const torch::Tensor& X, const c10::optional<torch::Tensor>& mask) {
             return m.loss(TrainingData(X, mask.value_or(torch::Tensor()), rows_are_samples));
           }, py::arg("X"), py::arg("mask") = py::none())
      .def("check_data", [rows_are_samples](Impl& m, const torch::Tensor& X, const c10::optional<torch::Tensor>& mask) {
             m.check_data(TrainingData(X, mask.value_or(torch::Tensor()), rows_are_samples));
           }, py::arg("X"), py::arg("mask") = py::none())
      .def("mu_step", [rows_are_samples](Impl& m, const torch::Tensor& X, const c10::optional<torch::Tensor>& mask) {
             const TrainingData data(X, mask.value_or(torch::Tensor()), rows_are_samples);
             py::gil_scoped_release release;
             m.mu_step(data);
           }, py::arg("X"), py::arg("mask") = py::none())
      .def("has_mu", [](Impl& m) { return m.has_mu(); })
      .def("normalise", [](Impl& m) { m.normalise(); })
      .def("project", [](Impl& m) { m.project(); })
      .def("factors", [](Impl& m) {
             py::dict out;
             for (const auto& item : m.factors()) out[py::str(item.key())] = item.value();
             return out;
           })
      .def("set_factor", [](Impl& m, const std::string& name, const torch::Tensor& value) { m.set_factor(name, value); })
      .def("fit", [rows_are_samples](std::shared_ptr<Impl> m, const torch::Tensor& X,
                                     const c10::optional<torch::Tensor>& mask, py::kwargs kwargs) {
             return fit_model(m, X, mask.value_or(torch::Tensor()), rows_are_samples, std::move(kwargs));
           }, py::arg("X"), py::arg("mask") = py::none())
      .def("_time_trainer", [](std::shared_ptr<Impl> m, const torch::Tensor& X, py::kwargs kwargs) {
             return time_trainer(m, X, std::move(kwargs));
           })
      .def("pretty", [](Impl& m) {
             std::ostringstream s;
             m.pretty_print(s);
             return s.str();
           });
  return cls;
}

}  // namespace factorch::python
