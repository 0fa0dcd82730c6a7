# TL-NMF from Python: learns Φ, W, H on frames of a two-note mixture and plots the dictionary.
#   OPENBLAS_NUM_THREADS=1 PYTHONPATH=build/python /usr/bin/python3 examples/python/tlnmf_dictionary.py
import torch, factorch, matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
sr = 5000; t = torch.arange(3 * sr, dtype=torch.float64) / sr; g = torch.Generator().manual_seed(0)
x = torch.sin(2 * torch.pi * 440 * t) * (t < 1.8) + torch.sin(2 * torch.pi * 466.16 * t) * (t > 1.2) + 1e-3 * torch.randn(len(t), generator=g, dtype=torch.float64)
Y = x.unfold(0, 200, 100).T * factorch.window("tukey", 200, 0.1)[:, None]  # frames M × N
model = factorch.TLNMF(200, Y.shape[1], 2, objective="gcm")
model.init(Y, "dct", 0)
r = model.fit(Y, kind="mu", max_iter=30, tol=1e-9); print(r.stop_reason, r.iterations, r.objective)
f = model.factors(); print({k: tuple(v.shape) for k, v in f.items()})
plt.plot(f["Phi"][:2].T); plt.title("TL-NMF: two learnt atoms (rows of Phi)"); plt.savefig("tlnmf_atoms.png")
plt.figure(); plt.plot(f["W"][:20]); plt.title("TL-NMF dictionary W (first 20 rows)"); plt.savefig("tlnmf_W.png")
