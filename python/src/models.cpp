// The models as torch modules: factorch._C.cpp.<Name> (torch::python::bind_module), built
// from keyword arguments that mirror the C++ Options; python/factorch/models.py wraps each
// in a torch.nn.Module subclass of the same name.
#include "models.h"

#include <sstream>

#include "factorch/divergence.h"
#include "factorch/models/nmf.h"

namespace factorch::python {

namespace {

NMFOptions nmf_options(int64_t F, int64_t N, int64_t K, py::kwargs kwargs) {
  NMFOptions o(F, N, K);
  Kwargs k(std::move(kwargs), "NMF");
  k.take<double>("beta", [&](double v) { o.beta(v); });
  k.take<double>("eps", [&](double v) { o.eps(v); });
  k.take<double>("l1_w", [&](double v) { o.l1_w(v); });
  k.take<double>("l1_h", [&](double v) { o.l1_h(v); });
  k.take<double>("l2_w", [&](double v) { o.l2_w(v); });
  k.take<double>("l2_h", [&](double v) { o.l2_h(v); });
  k.take<std::string>("normalise", [&](std::string v) { o.normalise(normalisation_from_name(v)); });
  k.take<bool>("fixed_w", [&](bool v) { o.fixed_w(v); });
  k.take<bool>("fixed_h", [&](bool v) { o.fixed_h(v); });
  k.take<bool>("softplus", [&](bool v) { o.softplus(v); });
  k.take<double>("floor", [&](double v) { o.floor(v); });
  k.take<std::string>("ard", [&](std::string v) { o.ard(v); });
  k.take<double>("ard_lambda", [&](double v) { o.ard_lambda(v); });
  k.take<double>("ard_b", [&](double v) { o.ard_b(v); });
  k.take<double>("ard_prune", [&](double v) { o.ard_prune(v); });
  k.take<double>("smooth_h", [&](double v) { o.smooth_h(v); });
  k.finish();
  return o;
}

void bind_nmf(py::module& m) {
  auto cls = torch::python::bind_module<NMFImpl>(m, "NMF");
  cls.def(py::init([](int64_t F, int64_t N, int64_t K, py::kwargs kwargs) {
            return std::make_shared<NMFImpl>(nmf_options(F, N, K, std::move(kwargs)));
          }),
          py::arg("n_features"), py::arg("n_samples"), py::arg("rank"))
      .def("init", [](NMFImpl& m, const torch::Tensor& V, const std::string& method, uint64_t seed) {
             m.init(V, method, seed);
           }, py::arg("V"), py::arg("method") = "nndsvda", py::arg("seed") = 0)
      .def_property_readonly("W", &NMFImpl::W)
      .def_property_readonly("H", &NMFImpl::H)
      .def("set_h_mask", &NMFImpl::set_h_mask)
      .def("relevance", &NMFImpl::relevance)
      .def("pruned", &NMFImpl::pruned)
      .def_property_readonly("shape", [](NMFImpl& m) {
        return py::make_tuple(m.options.n_features(), m.options.n_samples(), m.options.rank());
      });
  add_factor_model_methods<NMFImpl>(cls);
}

}  // namespace

void bind_models(py::module& m) {
  bind_nmf(m);
  m.def("beta_divergence",
        [](const torch::Tensor& X, const torch::Tensor& V, double beta, double eps, const c10::optional<torch::Tensor>& mask) {
          return BetaDivergence(beta, eps).value(X, V, mask.value_or(torch::Tensor()));
        },
        py::arg("X"), py::arg("V"), py::arg("beta") = 1.0, py::arg("eps") = 0.0, py::arg("mask") = py::none());
}

}  // namespace factorch::python
