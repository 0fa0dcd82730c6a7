#!/usr/bin/env python3
"""Separates a WAV mixture into sources with KL-NMF + Wiener masks, and plots W.

  PYTHONPATH=build/python /usr/bin/python3 examples/python/separate_and_plot.py [MIXTURE.wav] [--sources 2]
      [--rank 4] [--out runs/python_example]

Without a file it makes a two-note mixture (220 Hz + 330 Hz tones with harmonics). Writes
OUT/source1.wav, ... and OUT/W.png (skipped with a message when matplotlib is absent).
Components are grouped into sources by their order (component k → source k mod S):
for real separation use supervised dictionaries (`factorch separate` with data.train).
"""
import argparse
import os

import numpy as np
import torch

import factorch


def two_notes(sr=16000, seconds=2.0):
    t = np.arange(int(sr * seconds)) / sr
    a = sum(np.sin(2 * np.pi * 220 * h * t) / h for h in (1, 2, 3)) * (t < 1.2)
    b = sum(np.sin(2 * np.pi * 330 * h * t) / h for h in (1, 2, 3)) * (t > 0.8)
    return 0.3 * (a + b), sr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mixture", nargs="?")
    ap.add_argument("--sources", type=int, default=2)
    ap.add_argument("--rank", type=int, default=2, help="components per source")
    ap.add_argument("--out", default="runs/python_example")
    a = ap.parse_args()
    if a.mixture:
        samples, sr = factorch.read_wav(a.mixture, downmix=True)
        x = samples[0]
    else:
        x, sr = two_notes()
        x = torch.from_numpy(x)
    os.makedirs(a.out, exist_ok=True)

    X = factorch.stft(x, n_fft=1024, hop=256)  # complex F × N
    V = X.abs() ** 2 + 1e-10
    K = a.sources * a.rank
    model = factorch.NMF(V.shape[0], V.shape[1], K, beta=1.0, init="nndsvda", normalise="l1")
    result = model.fit(V, kind="mu", max_iter=200, tol=1e-6)
    print(f"KL-NMF: objective {result.objective:.6g} after {result.iterations} iterations ({result.stop_reason})")

    W, H = model.W, model.H
    powers = [W[:, s::a.sources] @ H[s::a.sources] for s in range(a.sources)]
    masks = factorch.wiener_masks(powers)
    for s, part in enumerate(factorch.apply_masks(X, masks)):
        y = factorch.istft(part, len(x), n_fft=1024, hop=256)
        path = os.path.join(a.out, f"source{s + 1}.wav")
        factorch.write_wav(path, y, sr)
        print("wrote", path)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (apt-get install python3-matplotlib)")
        return
    freqs = factorch.stft_frequencies(1024, sr)
    fig, ax = plt.subplots(figsize=(6, 4))
    for k in range(K):
        ax.plot(freqs, W[:, k].detach() + k * W.max().item(), label=f"w{k} (source {k % a.sources + 1})")
    ax.set_xlabel("frequency (Hz)")
    ax.set_xlim(0, 2000)
    ax.set_title("NMF dictionary W (offset per component)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "W.png"), dpi=100)
    print("wrote", os.path.join(a.out, "W.png"))


if __name__ == "__main__":
    main()
