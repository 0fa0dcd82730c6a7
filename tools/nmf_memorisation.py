#!/usr/bin/python3
"""Does the per-size NMF baseline of the iN-NMF transfer table memorise a short clip?

For each WAV and each DFT size (768, 1024, 1536, 2048; sine window, hop N/2, |STFT|^0.5, as
configs/innmf_speech.yaml), rank-20 KL-NMF (500 MU sweeps, seeded random start):
  all    KL per element of NMF fitted on all frames (the baseline of transfer.csv)
  train  KL per element on the even frames, with W and H fitted on them
  held   KL per element on the odd frames, H fitted with the even frames' W fixed
held/train far above 1 means the baseline fits frames, not sounds: 20 components for a few
dozen frames. Needs python3-torch and python3-numpy (Debian).

usage: tools/nmf_memorisation.py WAV...
"""
import sys, wave
import numpy as np, torch
torch.set_num_threads(1)
def load(p):
    w = wave.open(p); x = np.frombuffer(w.readframes(w.getnframes()), '<i2') / 32768.0; return torch.tensor(x), w.getframerate()
def spec(x, n):
    win = torch.sin(torch.pi * (torch.arange(n, dtype=torch.float64) + 0.5) / n)
    X = torch.stft(x, n, hop_length=n // 2, window=win, center=True, return_complex=True)
    return X.abs() ** 0.5 + 1e-12
def kl(V, WH): return (V * torch.log(V / WH) - V + WH).sum().item()
def mu(V, K, it, W=None, seed=0):
    g = torch.Generator().manual_seed(seed); F, N = V.shape; s = V.mean().sqrt().item() / K ** 0.5
    fixed = W is not None
    if W is None: W = torch.rand(F, K, generator=g, dtype=V.dtype) * s + 1e-3
    H = torch.rand(K, N, generator=g, dtype=V.dtype) * s + 1e-3
    for _ in range(it):
        H *= (W.t() @ (V / (W @ H))) / W.sum(0)[:, None]
        if not fixed:
            W *= ((V / (W @ H)) @ H.t()) / H.sum(1)[None, :]
    return W, H
for path in sys.argv[1:]:
    x, rate = load(path)
    out = []
    for n in (768, 1024, 1536, 2048):
        V = spec(x, n); F, N = V.shape
        W, H = mu(V, 20, 500)
        whole = kl(V, W @ H) / V.numel()
        Ve, Vo = V[:, 0::2], V[:, 1::2]
        We, He = mu(Ve, 20, 500)
        _, Ho = mu(Vo, 20, 500, W=We)
        train, held = kl(Ve, We @ He) / Ve.numel(), kl(Vo, We @ Ho) / Vo.numel()
        out.append(f"{n}: N={N} all {whole:.4f} train {train:.4f} held {held:.4f} (x{held/train:.2f})")
    print(path, ' | '.join(out), flush=True)
