"""The iN-NMF evaluation tools (tools/kl_nmf.py, tools/innmf_heldout.py): the pieces whose errors
would silently change the README's held-out and memorisation tables."""
import importlib.util
import os
import sys

import numpy as np
import pytest
import torch

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "tools"))
import kl_nmf  # noqa: E402


def load_innmf_heldout():
    pytest.importorskip("yaml")  # the tool reads the config (python3-yaml, tools/test.sh installs it)
    spec = importlib.util.spec_from_file_location("innmf_heldout", os.path.join(REPO, "tools", "innmf_heldout.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_held_out_blocks_alternate_and_keep_every_block_once():
    innmf_heldout = load_innmf_heldout()
    rate, block = 1000, 0.25
    x = np.ones(10 * 250 + 100)  # ten whole blocks and a short last one
    train, held = innmf_heldout.split(x, rate, block)
    # Blocks 0, 2, ... go to train, 1, 3, ... to held; the 100-sample tail is block 10 (train).
    assert len(train) == 5 * 250 + 100 and len(held) == 5 * 250
    # Each block is faded in and out over 10 ms (10 samples here), flat in between.
    assert train[0] < 0.05 and train[249] < 0.05 and train[10:240].min() == 1.0
    assert held[250] < 0.05 and held[259] < 1.0 and held[260:490].min() == 1.0


def test_fitting_h_on_a_fixed_dictionary_reaches_the_exact_factorisation():
    # A positive 30 × 4 dictionary whose atoms each own a band (well conditioned).
    W0 = 0.05 + torch.kron(torch.eye(4, dtype=torch.float64), torch.ones(8, 1, dtype=torch.float64))[:30]
    H0 = torch.rand(4, 50, generator=torch.Generator().manual_seed(2), dtype=torch.float64) + 0.1
    V = W0 @ H0
    _, H = kl_nmf.mu(V, 4, 3000, W=W0)
    assert kl_nmf.kl(V, W0 @ H) < 1e-8
    assert torch.allclose(H, H0, rtol=1e-3)
    # KL per element: a constant ratio a gives (a - 1 - log a) per unit of V.
    a = 2.0
    assert kl_nmf.kl(V, a * V) == pytest.approx((a - 1 - np.log(a)) * V.mean().item(), rel=1e-12)


def test_spectrogram_is_the_configs_stft():
    rate, n = 8000, 256
    t = np.arange(rate) / rate
    V = kl_nmf.spec(np.sin(2 * np.pi * 1000 * t), n, exponent=1.0)
    assert V.shape == (n // 2 + 1, rate // (n // 2) + 1)  # centred frames, hop n/2
    assert int(V[:, 10].argmax()) == 1000 * n // rate    # the line in its bin
