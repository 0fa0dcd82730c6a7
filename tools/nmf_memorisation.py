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
import os, sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kl_nmf import kl, mu, read_wav, spec  # noqa: E402

torch.set_num_threads(1)
for path in sys.argv[1:]:
    x, rate = read_wav(path)
    out = []
    for n in (768, 1024, 1536, 2048):
        V = spec(x, n); F, N = V.shape
        W, H = mu(V, 20, 500)
        whole = kl(V, W @ H)
        Ve, Vo = V[:, 0::2], V[:, 1::2]
        We, He = mu(Ve, 20, 500)
        _, Ho = mu(Vo, 20, 500, W=We)
        train, held = kl(Ve, We @ He), kl(Vo, We @ Ho)
        out.append(f"{n}: N={N} all {whole:.4f} train {train:.4f} held {held:.4f} (x{held/train:.2f})")
    print(path, ' | '.join(out), flush=True)
