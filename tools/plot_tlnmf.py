#!/usr/bin/env python3
"""Plots the learnt TL-NMF atoms (rows of Phi) and their spectra: DIR/atoms.png.

usage: plot_tlnmf.py RUN_DIR [--sample-rate HZ] [--atoms N]

Reads RUN_DIR/factors/Phi.npy (rows ordered by decreasing energy, as factorch exports them).
Without matplotlib it says so and exits 0 (the plot is optional).
"""
import argparse
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--sample-rate", type=float, default=5000.0)
    ap.add_argument("--atoms", type=int, default=8)
    args = ap.parse_args()
    try:
        import numpy as np
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        print(f"plot_tlnmf: {e.name or 'matplotlib'} is not installed: no plot written", file=sys.stderr)
        return 0
    phi_path = os.path.join(args.run_dir, "factors", "Phi.npy")
    if not os.path.exists(phi_path):
        print(f"plot_tlnmf: error: {phi_path} not found (run factorch train first)", file=sys.stderr)
        return 2
    phi = np.load(phi_path)
    n = min(args.atoms, phi.shape[0])
    fs = args.sample_rate
    n_fft = 1 << 14
    freqs = np.fft.rfftfreq(n_fft, 1.0 / fs)
    fig, axes = plt.subplots(n, 2, figsize=(10, 1.4 * n), squeeze=False)
    t = np.arange(phi.shape[1]) / fs * 1e3
    for m in range(n):
        spec = np.abs(np.fft.rfft(phi[m], n_fft))
        peak = freqs[np.argmax(spec)]
        axes[m, 0].plot(t, phi[m], lw=0.8)
        axes[m, 0].set_ylabel(f"m={m + 1}", rotation=0, labelpad=18)
        axes[m, 1].plot(freqs, 20 * np.log10(spec / spec.max() + 1e-12), lw=0.8)
        axes[m, 1].set_xlim(0, fs / 2)
        axes[m, 1].set_ylim(-60, 3)
        axes[m, 1].axvline(peak, color="r", lw=0.6)
        axes[m, 1].text(0.99, 0.8, f"{peak:.1f} Hz", transform=axes[m, 1].transAxes, ha="right", fontsize=8)
        if m + 1 < n:
            axes[m, 0].set_xticklabels([])
            axes[m, 1].set_xticklabels([])
    axes[-1, 0].set_xlabel("time (ms)")
    axes[-1, 1].set_xlabel("frequency (Hz)")
    axes[0, 0].set_title("atoms (rows of Φ, by decreasing energy)")
    axes[0, 1].set_title("spectrum (dB)")
    fig.tight_layout()
    out = os.path.join(args.run_dir, "atoms.png")
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=90)
    os.replace(tmp, out)
    print(f"plot_tlnmf: wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
