"""Differentiable functions of the library."""
from . import _C
from ._tensors import as_tensor


def beta_divergence(X, V, beta=1.0, eps=0.0, mask=None):
    """Σ mask ⊙ d_β(X | V) as a 0-dim tensor, differentiable in V (and X).

    β = 2 Euclidean (½(x−v)²), 1 generalised KL, 0 Itakura–Saito; eps is added to both
    arguments (the library's ε policy). Use it to train a factorch module from a Python loop:
    ``loss = factorch.beta_divergence(V, model(), beta); loss.backward()``.
    """
    X = as_tensor(X, "X")
    V = as_tensor(V, "V")
    if mask is not None:
        mask = as_tensor(mask, "mask")
    return _C.beta_divergence(X, V, float(beta), float(eps), mask)
