// BSS Eval (sources and images), numerically mir_eval's.
#include "bindings.h"
#include "factorch/eval/bss.h"

namespace factorch::python {

namespace {

// Both measures take the same arguments and run without the GIL.
template <class Result, class Measure>
Result evaluate(Measure measure, const torch::Tensor& references, const torch::Tensor& estimates,
                int64_t filter_length, bool compute_permutation) {
  eval::BssEvalOptions o;
  o.filter_length = filter_length;
  o.compute_permutation = compute_permutation;
  py::gil_scoped_release release;
  return measure(references, estimates, o);
}

}  // namespace

void bind_eval(py::module& m) {
  m.def("bss_eval_sources",
        [](const torch::Tensor& references, const torch::Tensor& estimates, int64_t filter_length,
           bool compute_permutation) {
          const auto r = evaluate<eval::BssEvalResult>(eval::bss_eval_sources, references, estimates,
                                                       filter_length, compute_permutation);
          py::dict out;
          out["sdr"] = r.sdr;
          out["sir"] = r.sir;
          out["sar"] = r.sar;
          out["permutation"] = torch::tensor(r.permutation);
          return out;
        },
        py::arg("references"), py::arg("estimates"), py::arg("filter_length") = 512,
        py::arg("compute_permutation") = true);
  m.def("bss_eval_images",
        [](const torch::Tensor& references, const torch::Tensor& estimates, int64_t filter_length,
           bool compute_permutation) {
          const auto r = evaluate<eval::BssEvalImagesResult>(eval::bss_eval_images, references, estimates,
                                                             filter_length, compute_permutation);
          py::dict out;
          out["sdr"] = r.sdr;
          out["isr"] = r.isr;
          out["sir"] = r.sir;
          out["sar"] = r.sar;
          out["permutation"] = torch::tensor(r.permutation);
          return out;
        },
        py::arg("references"), py::arg("estimates"), py::arg("filter_length") = 512,
        py::arg("compute_permutation") = true);
}

}  // namespace factorch::python
