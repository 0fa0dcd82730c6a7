#!/usr/bin/env python3
"""factorch from Python against scikit-learn, one thread each.

  PYTHONPATH=build/python /usr/bin/python3 tools/bench/bench_python_sklearn.py [--repeat 3]

1. factorch.sklearn.NMF.fit vs sklearn.decomposition.NMF.fit (solver "mu", init "nndsvda",
   tol 0, max_iter 200) on a 513×2000 magnitude-like matrix, K = 20, β = 2 / 1 / 0.
2. The Python overhead of factorch.NMF.fit (argument handling, GIL release, the signal
   check at each evaluation) against the same C++ trainer without the Python layer:
   wall time of model.fit(...) vs the bare C++ trainer's own clock (no callbacks) on the
   same model and data.
Best of --repeat runs; every run starts from the same initial factors.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

import sklearn.decomposition  # noqa: E402

import factorch  # noqa: E402
import factorch.sklearn  # noqa: E402


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--max-iter", type=int, default=200)
    ap.add_argument("--F", type=int, default=513)
    ap.add_argument("--N", type=int, default=2000)
    ap.add_argument("--K", type=int, default=20)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    X = rng.random((a.F, a.K)) @ rng.random((a.K, a.N)) + rng.random((a.F, a.N)) * 0.1 + 1e-3
    print(f"X {a.F}x{a.N}, K={a.K}, max_iter={a.max_iter}, float64, 1 thread; best of {a.repeat}")
    print(f"{'beta':>6} {'sklearn (s)':>12} {'factorch (s)':>13} {'speed-up':>9}")
    warnings.simplefilter("ignore")
    for beta in (2.0, 1.0, 0.0):
        kw = dict(n_components=a.K, init="nndsvda", solver="mu", beta_loss=beta, max_iter=a.max_iter, tol=0)
        ts = best(lambda: sklearn.decomposition.NMF(**kw).fit(X), a.repeat)
        tf = best(lambda: factorch.sklearn.NMF(**kw).fit(X), a.repeat)
        print(f"{beta:6.1f} {ts:12.3f} {tf:13.3f} {ts / tf:8.2f}x")

    V = torch.from_numpy(X)
    print("\nmodel.fit overhead (MU, beta=1, tol=0):")
    model = factorch.NMF(a.F, a.N, a.K, beta=1.0, init="nndsvda").initialize(V)
    W0, H0 = model.W.clone(), model.H.clone()

    def reset():
        with torch.no_grad():
            model.W.copy_(W0)
            model.H.copy_(H0)

    def python_fit():
        reset()
        model.fit(V, kind="mu", max_iter=a.max_iter, tol=0)

    def cpp_fit():
        reset()
        return model.cpp_module._time_trainer(V, kind="mu", max_iter=a.max_iter, tol=0)

    tc = min(cpp_fit() for _ in range(a.repeat))
    tp = best(python_fit, a.repeat)
    print(f"  C++ trainer alone {tc:.3f} s, model.fit {tp:.3f} s: overhead {100 * (tp - tc) / tc:+.2f} %")


if __name__ == "__main__":
    main()
