// factorch._C: the compiled half of the Python package (the other half is python/factorch).
// `import torch` must come first (the package's __init__ does it): the bound modules derive
// from torch::nn::Module, whose Python type torch._C registers.
#include "bindings.h"

#ifndef FACTORCH_VERSION
#define FACTORCH_VERSION "dev"
#endif

PYBIND11_MODULE(_C, m) {
  namespace fp = factorch::python;
  m.doc() = "factorch C++ extension (use the `factorch` package)";
  m.attr("__version__") = FACTORCH_VERSION;
  fp::bind_errors(m);
  fp::bind_models(m);
  fp::bind_other_models(m);
  fp::bind_grid_models(m);
  fp::bind_sklearn(m);
  fp::bind_signal(m);
  fp::bind_eval(m);
  fp::bind_io(m);
#ifdef FACTORCH_PYTHON_RUNS
  fp::bind_runs(m);
#endif
}
