#include "factorch/train/threads.h"

#include <dlfcn.h>

#include <ATen/Parallel.h>

namespace factorch {

namespace {

template <class Fn>
Fn blas_symbol(const char* name) {
  // RTLD_DEFAULT: the libraries the executable was linked against (libtorch → libblas.so.3,
  // which is OpenBLAS on Debian when libopenblas0 is the selected alternative).
  return reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, name));
}

}  // namespace

void set_total_threads(int n) {
  if (n <= 0) return;
  at::set_num_threads(n);
  if (auto set = blas_symbol<void (*)(int)>("openblas_set_num_threads")) set(n);
}

int blas_threads() {
  if (auto get = blas_symbol<int (*)()>("openblas_get_num_threads")) return get();
  return -1;
}

}  // namespace factorch
