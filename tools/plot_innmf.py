#!/usr/bin/env python3
"""Plot iN-NMF templates and activations of a run: plot_innmf.py RUN_DIR [OUT.png].

Reads RUN_DIR/factors/{W,H,frequencies,times}.npy (written by `factorch train` with
output.formats including npy) and, if present, RUN_DIR/dictionary/W_nfft*.npy; writes
RUN_DIR/innmf.png (atomically: temporary file + rename). Needs numpy and matplotlib (not
installed on CI: it then says so and exits with status 1; the run's own innmf_W.png /
innmf_H.png come from the C++ report and need nothing).
"""
import glob
import os
import sys

try:
    import numpy as np
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError as e:  # reported in main(), with the usage
    plt, missing = None, e.name


def main():
    if len(sys.argv) < 2:
        print("usage: plot_innmf.py RUN_DIR [OUT.png]", file=sys.stderr)
        return 2
    run = sys.argv[1]
    if plt is None:
        print("plot_innmf: this script needs numpy and matplotlib; %s is not installed "
              "(pip install matplotlib, or apt-get install python3-matplotlib). " % missing +
              "`factorch train` already wrote innmf_W.png / innmf_H.png (model.plot: true); "
              "the factors are in %s/factors" % run, file=sys.stderr)
        return 1
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(run, "innmf.png")
    f = os.path.join(run, "factors")
    if not os.path.exists(os.path.join(f, "W.npy")):
        print("plot_innmf: %s/W.npy not found (a run with output.formats including npy?)" % f, file=sys.stderr)
        return 1
    W, H = np.load(os.path.join(f, "W.npy")), np.load(os.path.join(f, "H.npy"))
    freqs, times = np.load(os.path.join(f, "frequencies.npy")), np.load(os.path.join(f, "times.npy"))
    K = W.shape[1]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [1, 2]})
    scale = W.max(axis=0, keepdims=True) + 1e-30
    for k in range(K):
        axes[0].plot(freqs, k + 0.9 * W[:, k] / scale[0, k], lw=0.8, label="training grid" if k == 0 else None)
    for path in sorted(glob.glob(os.path.join(run, "dictionary", "W_nfft*.npy")))[:1]:
        n = path.split("W_nfft")[1][:-4]
        Wn = np.load(path)
        fn = np.load(os.path.join(run, "dictionary", "frequencies_nfft%s.npy" % n))
        for k in range(K):
            axes[0].plot(fn, k + 0.9 * Wn[:, k] / scale[0, k], "k:", lw=0.6,
                         label="sampled at n_fft %s" % n if k == 0 else None)
    axes[0].set_xlabel("frequency (Hz)")
    axes[0].set_ylabel("component")
    axes[0].set_title("implicit templates W_k(f)")
    axes[0].legend(loc="upper right", fontsize=7)
    hs = H / (H.max(axis=1, keepdims=True) + 1e-30)
    axes[1].imshow(hs, aspect="auto", origin="lower", interpolation="nearest",
                   extent=[times[0], times[-1], -0.5, K - 0.5], cmap="magma")
    axes[1].set_xlabel("time (s)")
    axes[1].set_ylabel("component")
    axes[1].set_title("activations H_k(t)")
    fig.tight_layout()
    tmp = out + ".tmp-%d.png" % os.getpid()
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, out)
    print("plot: wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
