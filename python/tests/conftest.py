import os

import pytest
import torch

# One thread: the suite's timings and results do not depend on the machine's core count.
torch.set_num_threads(1)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def nmf_data(F, N, K, seed=0, dtype=torch.float64):
    """A positive F×N matrix of rank K plus a small positive floor (defined for every β)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.rand(F, K, generator=g, dtype=dtype)
    H = torch.rand(K, N, generator=g, dtype=dtype)
    return W @ H + 0.05


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
