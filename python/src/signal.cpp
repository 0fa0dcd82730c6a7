// The audio pipeline: STFT/ISTFT, windows, DCT matrices, constant-Q transform, Wiener masks.
#include "bindings.h"
#include "factorch/error.h"
#include "factorch/signal/dct.h"
#include "factorch/signal/logfreq.h"
#include "factorch/signal/stft.h"
#include "factorch/signal/wiener.h"
#include "factorch/signal/window.h"

namespace factorch::python {

namespace {

signal::StftOptions stft_options(int64_t n_fft, int64_t hop, int64_t win_length, const std::string& window,
                                 double tukey_alpha, const std::string& padding) {
  signal::StftOptions o;
  o.n_fft = n_fft;
  o.hop = hop;
  o.win_length = win_length;
  o.window = window;
  o.tukey_alpha = tukey_alpha;
  require(padding == "zero" || padding == "none", "padding must be 'zero' or 'none', got '" + padding + "'");
  o.padding = padding == "zero" ? signal::FramePadding::Zero : signal::FramePadding::None;
  return o;
}

}  // namespace

void bind_signal(py::module& m) {
  m.def("stft",
        [](const torch::Tensor& x, int64_t n_fft, int64_t hop, int64_t win_length, const std::string& window,
           double tukey_alpha, const std::string& padding) {
          return signal::stft(x, stft_options(n_fft, hop, win_length, window, tukey_alpha, padding));
        },
        py::arg("x"), py::arg("n_fft") = 1024, py::arg("hop") = 256, py::arg("win_length") = 0,
        py::arg("window") = "hann", py::arg("tukey_alpha") = 0.5, py::arg("padding") = "zero");
  m.def("istft",
        [](const torch::Tensor& spectrum, int64_t length, int64_t n_fft, int64_t hop, int64_t win_length,
           const std::string& window, double tukey_alpha, const std::string& padding) {
          return signal::istft(spectrum, stft_options(n_fft, hop, win_length, window, tukey_alpha, padding), length);
        },
        py::arg("spectrum"), py::arg("length"), py::arg("n_fft") = 1024, py::arg("hop") = 256,
        py::arg("win_length") = 0, py::arg("window") = "hann", py::arg("tukey_alpha") = 0.5,
        py::arg("padding") = "zero");
  m.def("stft_frequencies", &signal::stft_frequencies, py::arg("n_fft"), py::arg("sample_rate"));
  m.def("window",
        [](const std::string& name, int64_t M, double alpha, py::object dtype) {
          torch::ScalarType t = torch::kFloat64;
          if (!dtype.is_none()) t = torch::python::detail::py_object_to_dtype(dtype);
          return signal::window_from_name(name, M, alpha, t);
        },
        py::arg("name"), py::arg("M"), py::arg("alpha") = 0.5, py::arg("dtype") = py::none());
  m.def("dct2_matrix", [](int64_t M) { return signal::dct2_matrix(M); }, py::arg("M"));
  m.def("dct4_matrix", [](int64_t M) { return signal::dct4_matrix(M); }, py::arg("M"));
  m.def("constant_q",
        [](const torch::Tensor& x, double sample_rate, double f_min, double f_max, int bins_per_octave, int64_t hop,
           double q_scale, const std::string& window) {
          signal::ConstantQOptions o;
          o.f_min = f_min;
          o.f_max = f_max;
          o.bins_per_octave = bins_per_octave;
          o.hop = hop;
          o.q_scale = q_scale;
          o.window = window;
          const signal::ConstantQ q = signal::constant_q(x, sample_rate, o);
          return py::make_tuple(q.coefficients, q.frequencies, q.times);
        },
        py::arg("x"), py::arg("sample_rate"), py::arg("f_min") = 55.0, py::arg("f_max") = 0.0,
        py::arg("bins_per_octave") = 12, py::arg("hop") = 256, py::arg("q_scale") = 1.0, py::arg("window") = "hann");
  m.def("wiener_masks", &signal::wiener_masks, py::arg("source_powers"), py::arg("eps") = signal::kWienerEps);
  m.def("apply_masks", &signal::apply_masks, py::arg("coefficients"), py::arg("masks"));
}

}  // namespace factorch::python
