"""Shared pieces of the iN-NMF evaluation tools (tools/nmf_memorisation.py, tools/innmf_heldout.py):
the STFT of configs/innmf_speech.yaml (sine window, hop N/2, centred frames, |STFT|^exponent),
the KL divergence per element, and rank-K KL-NMF by multiplicative updates (seeded random start;
W fixed when given, then only H is fitted). Needs python3-torch and python3-numpy (Debian)."""
import sys, wave

import numpy as np
import torch


def read_wav(path):
    """A 16-bit PCM WAV as float64 samples (channels averaged) and its rate."""
    with wave.open(path) as w:
        if w.getsampwidth() != 2:
            sys.exit(f"{path}: only 16-bit PCM WAVs are supported")
        x = np.frombuffer(w.readframes(w.getnframes()), '<i2').astype(np.float64) / 32768.0
        if w.getnchannels() > 1:
            x = x.reshape(-1, w.getnchannels()).mean(1)
        return x, w.getframerate()


def spec(x, n, exponent=0.5):
    win = torch.sin(torch.pi * (torch.arange(n, dtype=torch.float64) + 0.5) / n)
    X = torch.stft(torch.as_tensor(x), n, hop_length=n // 2, window=win, center=True, return_complex=True)
    return X.abs() ** exponent + 1e-12


def kl(V, WH):
    """Generalised KL divergence per element."""
    return (V * torch.log(V / WH) - V + WH).sum().item() / V.numel()


def mu(V, K, iterations, W=None, seed=0):
    """KL multiplicative updates from a seeded random start; W fixed when given."""
    g = torch.Generator().manual_seed(seed)
    F, N = V.shape
    s = V.mean().sqrt().item() / K ** 0.5
    fixed = W is not None
    if not fixed:
        W = torch.rand(F, K, generator=g, dtype=V.dtype) * s + 1e-3
    H = torch.rand(K, N, generator=g, dtype=V.dtype) * s + 1e-3
    for _ in range(iterations):
        H *= (W.t() @ (V / (W @ H))) / W.sum(0)[:, None]
        if not fixed:
            W *= ((V / (W @ H)) @ H.t()) / H.sum(1)[None, :]
    return W, H
