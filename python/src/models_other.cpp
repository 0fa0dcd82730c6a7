// The other models (same pattern as NMF in models.cpp): keyword arguments mirror each
// model's Options (generated from the TORCH_ARG lists of include/factorch/models/*.h by hand
// review). ImplicitNMF (built on a time-frequency grid) and OnlineNMF (built on a column
// stream) need more than options: models_grid.cpp.
#include "models.h"

#include "factorch/models/discriminative_nmf.h"
#include "factorch/models/layered_nmf.h"
#include "factorch/models/multichannel_nmf.h"
#include "factorch/models/tlnmf.h"

namespace factorch::python {

namespace {

// LayeredNMFOptions (models/layered_nmf.h).
LayeredNMFOptions layerednmf_options(int64_t n_features, int64_t n_samples, std::vector<int64_t> layers, py::kwargs kwargs) {
  LayeredNMFOptions o(n_features, n_samples, layers);
  Kwargs k(std::move(kwargs), "LayeredNMF");
  k.take<double>("beta", [&](double v) { o.beta(std::move(v)); });
  k.take<double>("eps", [&](double v) { o.eps(std::move(v)); });
  k.take<std::string>("normalise", [&](std::string v) { o.normalise(normalisation_from_name(v)); });
  k.take<std::string>("init", [&](std::string v) { o.init(std::move(v)); });
  k.take<uint64_t>("seed", [&](uint64_t v) { o.seed(std::move(v)); });
  k.take<int64_t>("pretrain_iter", [&](int64_t v) { o.pretrain_iter(std::move(v)); });
  k.take<bool>("fixed_bases", [&](bool v) { o.fixed_bases(std::move(v)); });
  k.take<double>("floor", [&](double v) { o.floor(std::move(v)); });
  k.finish();
  return o;
}

void bind_layerednmf(py::module& m) {
  auto cls = torch::python::bind_module<LayeredNMFImpl>(m, "LayeredNMF");
  cls.def(py::init([](int64_t n_features, int64_t n_samples, std::vector<int64_t> layers, py::kwargs kwargs) {
    return std::make_shared<LayeredNMFImpl>(layerednmf_options(n_features, n_samples, layers, std::move(kwargs)));
  }), py::arg("n_features"), py::arg("n_samples"), py::arg("layers"));
  cls.def("pretrain", [](LayeredNMFImpl& m, const torch::Tensor& X) { py::gil_scoped_release r; m.pretrain(X); }, py::arg("X"));
  add_factor_model_methods<LayeredNMFImpl>(cls, /*rows_are_samples=*/false);
}

// DiscriminativeLayeredNMFOptions (models/discriminative_nmf.h).
DiscriminativeLayeredNMFOptions discriminativelayerednmf_options(int64_t n_features, int64_t n_samples, std::vector<int64_t> layers, py::kwargs kwargs) {
  DiscriminativeLayeredNMFOptions o(n_features, n_samples, layers);
  Kwargs k(std::move(kwargs), "DiscriminativeLayeredNMF");
  k.take<int64_t>("n_sources", [&](int64_t v) { o.n_sources(std::move(v)); });
  k.take<std::vector<std::string>>("source_names", [&](std::vector<std::string> v) { o.source_names(std::move(v)); });
  k.take<double>("beta", [&](double v) { o.beta(std::move(v)); });
  k.take<double>("eps", [&](double v) { o.eps(std::move(v)); });
  k.take<int64_t>("h_iter", [&](int64_t v) { o.h_iter(std::move(v)); });
  k.take<int64_t>("w_iter", [&](int64_t v) { o.w_iter(std::move(v)); });
  k.take<int64_t>("separation_iter", [&](int64_t v) { o.separation_iter(std::move(v)); });
  k.take<std::string>("normalise", [&](std::string v) { o.normalise(normalisation_from_name(v)); });
  k.take<int64_t>("patience", [&](int64_t v) { o.patience(std::move(v)); });
  k.take<int64_t>("max_rounds", [&](int64_t v) { o.max_rounds(std::move(v)); });
  k.finish();
  return o;
}

void bind_discriminativelayerednmf(py::module& m) {
  auto cls = torch::python::bind_module<DiscriminativeLayeredNMFImpl>(m, "DiscriminativeLayeredNMF");
  cls.def(py::init([](int64_t n_features, int64_t n_samples, std::vector<int64_t> layers, py::kwargs kwargs) {
    return std::make_shared<DiscriminativeLayeredNMFImpl>(discriminativelayerednmf_options(n_features, n_samples, layers, std::move(kwargs)));
  }), py::arg("n_features"), py::arg("n_samples"), py::arg("layers"));
  cls.def("init_activations", [](DiscriminativeLayeredNMFImpl& m, const torch::Tensor& X) { m.init_activations(X); }, py::arg("X"));
  add_factor_model_methods<DiscriminativeLayeredNMFImpl>(cls, /*rows_are_samples=*/false);
}

// TLNMFOptions (models/tlnmf.h).
TLNMFOptions tlnmf_options(int64_t frame_length, int64_t n_frames, int64_t rank, py::kwargs kwargs) {
  TLNMFOptions o(frame_length, n_frames, rank);
  Kwargs k(std::move(kwargs), "TLNMF");
  k.take<std::string>("objective", [&](std::string v) { o.objective(tlnmf_objective_from_name(v)); });
  k.take<double>("eps", [&](double v) { o.eps(std::move(v)); });
  k.take<double>("lambda", [&](double v) { o.lambda(std::move(v)); });
  k.take<bool>("learn_phi", [&](bool v) { o.learn_phi(std::move(v)); });
  k.take<std::string>("phi_update", [&](std::string v) { o.phi_update(orthogonal::retraction_from_name(v)); });
  k.take<int64_t>("phi_steps", [&](int64_t v) { o.phi_steps(std::move(v)); });
  k.take<std::string>("phi_expm", [&](std::string v) { o.phi_expm(orthogonal::exp_method_from_name(v)); });
  k.take<bool>("precondition", [&](bool v) { o.precondition(std::move(v)); });
  k.take<double>("hessian_floor", [&](double v) { o.hessian_floor(std::move(v)); });
  k.take<double>("armijo_step", [&](double v) { o.armijo_step(std::move(v)); });
  k.take<double>("armijo_shrink", [&](double v) { o.armijo_shrink(std::move(v)); });
  k.take<double>("armijo_c1", [&](double v) { o.armijo_c1(std::move(v)); });
  k.take<int64_t>("armijo_tries", [&](int64_t v) { o.armijo_tries(std::move(v)); });
  k.take<bool>("armijo_adaptive", [&](bool v) { o.armijo_adaptive(std::move(v)); });
  k.take<double>("armijo_growth_cap", [&](double v) { o.armijo_growth_cap(std::move(v)); });
  k.take<int64_t>("warmup", [&](int64_t v) { o.warmup(std::move(v)); });
  k.take<double>("floor", [&](double v) { o.floor(std::move(v)); });
  k.finish();
  return o;
}

void bind_tlnmf(py::module& m) {
  auto cls = torch::python::bind_module<TLNMFImpl>(m, "TLNMF");
  cls.def(py::init([](int64_t frame_length, int64_t n_frames, int64_t rank, py::kwargs kwargs) {
    return std::make_shared<TLNMFImpl>(tlnmf_options(frame_length, n_frames, rank, std::move(kwargs)));
  }), py::arg("frame_length"), py::arg("n_frames"), py::arg("rank"));
  cls.def("init", [](TLNMFImpl& m, const torch::Tensor& Y, const std::string& phi_init, uint64_t seed) { m.init(TrainingData(Y), phi_init, seed); }, py::arg("Y"), py::arg("phi_init") = "dct", py::arg("seed") = 0);
  add_factor_model_methods<TLNMFImpl>(cls, /*rows_are_samples=*/false);
}

// MultichannelNMFOptions (models/multichannel_nmf.h).
MultichannelNMFOptions multichannelnmf_options(int64_t channels, int64_t n_features, int64_t n_samples, int64_t sources, int64_t rank, py::kwargs kwargs) {
  MultichannelNMFOptions o(channels, n_features, n_samples, sources, rank);
  Kwargs k(std::move(kwargs), "MultichannelNMF");
  k.take<double>("beta", [&](double v) { o.beta(std::move(v)); });
  k.take<double>("eps", [&](double v) { o.eps(std::move(v)); });
  k.finish();
  return o;
}

void bind_multichannelnmf(py::module& m) {
  auto cls = torch::python::bind_module<MultichannelNMFImpl>(m, "MultichannelNMF");
  cls.def(py::init([](int64_t channels, int64_t n_features, int64_t n_samples, int64_t sources, int64_t rank, py::kwargs kwargs) {
    return std::make_shared<MultichannelNMFImpl>(multichannelnmf_options(channels, n_features, n_samples, sources, rank, std::move(kwargs)));
  }), py::arg("channels"), py::arg("n_features"), py::arg("n_samples"), py::arg("sources"), py::arg("rank"));
  cls.def("init", [](MultichannelNMFImpl& m, const torch::Tensor& V, uint64_t seed) { m.init(V, seed); }, py::arg("V"), py::arg("seed") = 0);
  add_factor_model_methods<MultichannelNMFImpl>(cls, /*rows_are_samples=*/false);
}
}  // namespace

void bind_other_models(py::module& m) {
  bind_layerednmf(m);
  bind_discriminativelayerednmf(m);
  bind_tlnmf(m);
  bind_multichannelnmf(m);
}

}  // namespace factorch::python
