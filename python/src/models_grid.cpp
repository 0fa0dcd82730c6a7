// ImplicitNMF and OnlineNMF (same pattern as models_other.cpp), which need more than their
// Options: iN-NMF is built on a frequency grid (Hz) and a time grid (s); online NMF reads its
// columns from a stream, here one whose source is swapped for the V of each fit (set_data).
#include <memory>

#include "models.h"

#include "factorch/error.h"
#include "factorch/models/implicit_nmf.h"
#include "factorch/models/online_nmf.h"

namespace factorch::python {

namespace {

// nn::ImplicitMLPOptions from a dict (w_net=..., h_net=...); in/out features are the model's.
nn::ImplicitMLPOptions mlp_options(const py::dict& d, const std::string& owner) {
  nn::ImplicitMLPOptions o;
  Kwargs k(py::kwargs(d.attr("copy")()), owner);
  k.take<int64_t>("width", [&](int64_t v) { o.width(v); });
  k.take<int64_t>("depth", [&](int64_t v) { o.depth(v); });
  k.take<double>("omega_0", [&](double v) { o.omega_0(v); });
  k.take<std::string>("features", [&](std::string v) { o.features(std::move(v)); });
  k.take<int64_t>("n_frequencies", [&](int64_t v) { o.n_frequencies(v); });
  k.take<double>("sigma", [&](double v) { o.sigma(v); });
  k.take<bool>("random_phase", [&](bool v) { o.random_phase(v); });
  k.take<bool>("trainable_features", [&](bool v) { o.trainable_features(v); });
  k.take<bool>("softplus", [&](bool v) { o.softplus(v); });
  k.take<double>("output_bias", [&](double v) { o.output_bias(v); });
  k.finish();
  return o;
}

// ImplicitNMFOptions (models/implicit_nmf.h).
ImplicitNMFOptions implicitnmf_options(int64_t rank, double sample_rate, py::kwargs kwargs) {
  ImplicitNMFOptions o(rank, sample_rate);
  Kwargs k(std::move(kwargs), "ImplicitNMF");
  k.take<double>("beta", [&](double v) { o.beta(v); });
  k.take<double>("eps", [&](double v) { o.eps(v); });
  k.take<py::dict>("w_net", [&](py::dict v) { o.w_net(mlp_options(v, "ImplicitNMF w_net")); });
  k.take<py::dict>("h_net", [&](py::dict v) { o.h_net(mlp_options(v, "ImplicitNMF h_net")); });
  k.take<bool>("separate_networks", [&](bool v) { o.separate_networks(v); });
  k.take<std::string>("activations", [&](std::string v) { o.activations(implicit_activations_from_name(v)); });
  k.take<bool>("fixed_dictionary", [&](bool v) { o.fixed_dictionary(v); });
  k.take<bool>("fixed_activations", [&](bool v) { o.fixed_activations(v); });
  k.take<double>("h_floor", [&](double v) { o.h_floor(v); });
  k.take<bool>("spectral_kernel", [&](bool v) { o.spectral_kernel(v); });
  k.take<std::string>("kernel_window", [&](std::string v) { o.kernel_window(std::move(v)); });
  k.take<int64_t>("kernel_n_fft", [&](int64_t v) { o.kernel_n_fft(v); });
  k.take<int64_t>("kernel_oversampling", [&](int64_t v) { o.kernel_oversampling(v); });
  k.take<double>("compression", [&](double v) { o.compression(v); });
  k.take<double>("kernel_glide", [&](double v) { o.kernel_glide(v); });
  k.finish();
  return o;
}

void bind_implicitnmf(py::module& m) {
  auto cls = torch::python::bind_module<ImplicitNMFImpl>(m, "ImplicitNMF");
  cls.def(py::init([](int64_t rank, double sample_rate, const torch::Tensor& frequencies, const torch::Tensor& times,
                      py::kwargs kwargs) {
            return std::make_shared<ImplicitNMFImpl>(implicitnmf_options(rank, sample_rate, std::move(kwargs)),
                                                     frequencies, times);
          }),
          py::arg("rank"), py::arg("sample_rate"), py::arg("frequencies"), py::arg("times"))
      .def("init_activations", [](ImplicitNMFImpl& m, const torch::Tensor& samples, uint64_t seed) {
             m.init_activations(TrainingData(samples, torch::Tensor(), true), seed);
           }, py::arg("samples"), py::arg("seed") = 0)
      .def("dictionary", [](ImplicitNMFImpl& m, const torch::Tensor& f, int64_t n_fft) { return m.dictionary(f, n_fft); },
           py::arg("frequencies"), py::arg("n_fft") = 0)
      .def("activations", [](ImplicitNMFImpl& m, const torch::Tensor& t) { return m.activations(t); }, py::arg("times"))
      .def("predict", [](ImplicitNMFImpl& m, const torch::Tensor& s) { return m.predict(s); }, py::arg("samples"))
      .def("coordinates", &ImplicitNMFImpl::coordinates)
      .def_property_readonly("frequencies", &ImplicitNMFImpl::frequencies)
      .def_property_readonly("times", &ImplicitNMFImpl::times);
  add_factor_model_methods<ImplicitNMFImpl>(cls, /*rows_are_samples=*/true);
}

// A stream of `rows` rows whose source is set per fit (empty until then).
class SwappableStream : public ColumnStream {
 public:
  explicit SwappableStream(int64_t rows) : rows_(rows) {}
  int64_t rows() const override { return rows_; }
  void rewind() override {
    if (inner_) inner_->rewind();
  }
  torch::Tensor next(int64_t max_columns) override {
    torch::Tensor X = inner_ ? inner_->next(max_columns) : torch::Tensor();
    if (X.defined()) note_columns(X.size(1));
    return X;
  }
  int64_t skip(int64_t max_columns) override { return inner_ ? inner_->skip(max_columns) : 0; }
  void set(std::shared_ptr<ColumnStream> inner) { inner_ = std::move(inner); }

 private:
  int64_t rows_;
  std::shared_ptr<ColumnStream> inner_;
};

// OnlineNMFImpl with the stream it reads (bind_module needs one class per Python class).
class PyOnlineNMFImpl : public OnlineNMFImpl {
 public:
  PyOnlineNMFImpl(const OnlineNMFOptions& o, std::shared_ptr<SwappableStream> s) : OnlineNMFImpl(o, s), source(std::move(s)) {}
  std::shared_ptr<SwappableStream> source;
};

// OnlineNMFOptions (models/online_nmf.h).
OnlineNMFOptions onlinenmf_options(int64_t n_features, int64_t rank, py::kwargs kwargs) {
  OnlineNMFOptions o(n_features, rank);
  Kwargs k(std::move(kwargs), "OnlineNMF");
  k.take<double>("beta", [&](double v) { o.beta(v); });
  k.take<double>("eps", [&](double v) { o.eps(v); });
  k.take<int64_t>("batch_size", [&](int64_t v) { o.batch_size(v); });
  k.take<double>("forget", [&](double v) { o.forget(v); });
  k.take<int64_t>("inner_iter", [&](int64_t v) { o.inner_iter(v); });
  k.take<int64_t>("holdout_every", [&](int64_t v) { o.holdout_every(v); });
  k.take<int64_t>("holdout_max_columns", [&](int64_t v) { o.holdout_max_columns(v); });
  k.take<int64_t>("batches_per_step", [&](int64_t v) { o.batches_per_step(v); });
  k.take<int64_t>("train_columns", [&](int64_t v) { o.train_columns(v); });
  k.finish();
  require(n_features > 0, "OnlineNMF: n_features must be > 0, got " + std::to_string(n_features));
  return o;
}

void bind_onlinenmf(py::module& m) {
  auto cls = torch::python::bind_module<PyOnlineNMFImpl>(m, "OnlineNMF");
  cls.def(py::init([](int64_t n_features, int64_t rank, py::kwargs kwargs) {
            const OnlineNMFOptions o = onlinenmf_options(n_features, rank, std::move(kwargs));
            return std::make_shared<PyOnlineNMFImpl>(o, std::make_shared<SwappableStream>(n_features));
          }),
          py::arg("n_features"), py::arg("rank"))
      // Streams V (F × N) from now on: checks it (scan_stream: domain, held-back and training
      // batches), sets train_columns; returns the mean of the held-back values (init's scale).
      .def("set_data", [](PyOnlineNMFImpl& m, const torch::Tensor& V) {
             require(V.dim() == 2 && V.size(0) == m.options.n_features(),
                     "OnlineNMF: V must be " + std::to_string(m.options.n_features()) + " x N");
             m.source->set(tensor_column_stream(V.to(torch::kFloat64).contiguous()));
             StreamSummary s;
             try {
               s = scan_stream(*m.source, m.options);
             } catch (...) {
               m.source->set(nullptr);
               throw;
             }
             m.options.train_columns(s.train_columns);
             return s.held_sum / (static_cast<double>(s.held_columns) * s.rows);
           }, py::arg("V"))
      .def("init", [](PyOnlineNMFImpl& m, double scale, uint64_t seed) { m.init(scale, seed); }, py::arg("scale"),
           py::arg("seed") = 0)
      .def("transform", [](PyOnlineNMFImpl& m, const torch::Tensor& X, int64_t passes) {
             return m.fit_activations(X, passes);
           }, py::arg("X"), py::arg("passes") = 2)
      .def_property_readonly("W", [](PyOnlineNMFImpl& m) { return m.W(); });
  add_factor_model_methods<PyOnlineNMFImpl>(cls, /*rows_are_samples=*/false);
}

}  // namespace

void bind_grid_models(py::module& m) {
  bind_implicitnmf(m);
  bind_onlinenmf(m);
}

}  // namespace factorch::python
