#pragma once
// `trainer.threads: N` means N CPU threads in total for this process, the BLAS pool included.
//
// at::set_num_threads() sizes ATen's intra-op pool (OpenMP or native) and, with MKL, MKL's
// pool, but OpenBLAS (Debian's libtorch links it through libblas.so.3) keeps its own pthread
// pool sized by OPENBLAS_NUM_THREADS or the core count, so a "1-thread" run still used every
// core for matrix products. set_total_threads() also calls openblas_set_num_threads when
// that symbol is in the process (looked up with dlsym, so no link-time dependency on a BLAS).
// ATen's elementwise kernels and the BLAS calls of one process do not run at the same time
// (mm is called from the thread that runs the step), so N + N never run together: N in total.

namespace factorch {

/// Sets ATen's intra-op threads and the BLAS pool to n (n ≤ 0: leave both as they are).
void set_total_threads(int n);

/// Threads of the BLAS pool as the BLAS reports them (openblas_get_num_threads), or −1 when
/// no known BLAS thread control is in the process.
int blas_threads();

}  // namespace factorch
