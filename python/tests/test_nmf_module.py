import re

import numpy as np
import pytest
import torch

import factorch
from conftest import REPO, cuda, nmf_data


def test_version_matches_the_cpp_library():
    text = open(f"{REPO}/CMakeLists.txt").read()
    assert factorch.__version__ == re.search(r"project\(factorch VERSION ([0-9.]+)", text).group(1)


def test_module_shares_the_cpp_parameters():
    model = factorch.NMF(6, 7, 3)
    assert isinstance(model, torch.nn.Module)
    params = dict(model.named_parameters())
    assert set(params) == {"W", "H"}
    # Zero copies: the Python parameters, the factors and the C++ tensors are one storage.
    assert params["W"].data_ptr() == model.W.data_ptr() == model.factors()["W"].data_ptr()
    assert params["H"].data_ptr() == model.H.data_ptr()
    with torch.no_grad():
        params["W"].fill_(2.0)
    assert torch.all(model.cpp_module.W == 2.0)
    assert torch.equal(model(), model.W @ model.H)


def test_fit_mu_matches_manual_sweeps_and_decreases():
    V = nmf_data(20, 30, 4)
    a = factorch.NMF(20, 30, 4, beta=1.0, init="random", seed=3)
    r = a.fit(V, kind="mu", max_iter=40, tol=0)
    assert r.ok and r.iterations == 40 and r.stop_reason == "max_iter"
    objectives = [h[1] for h in r.history]
    assert all(b <= a_ + 1e-9 * abs(a_) for a_, b in zip(objectives, objectives[1:]))
    # The same iterates by hand: init, then 40 MU sweeps of the C++ model.
    b = factorch.NMF(20, 30, 4, beta=1.0, init="random", seed=3).initialize(V)
    for _ in range(40):
        b.mu_step(V)
    assert torch.equal(a.W, b.W) and torch.equal(a.H, b.H)
    assert r.objective == pytest.approx(factorch.beta_divergence(V, b(), 1.0).item(), rel=1e-12)


def test_fit_autograd_and_python_loop():
    V = nmf_data(15, 12, 3, seed=1)
    model = factorch.NMF(15, 12, 3, beta=2.0, init="random", seed=0).initialize(V)
    start = factorch.beta_divergence(V, model(), 2.0).item()
    r = model.fit(V, kind="autograd", max_iter=50, tol=0, lr=0.01)
    assert r.ok and r.objective < start
    # A plain Python loop on the same module: backward() reaches the C++ parameters.
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    before = r.objective
    for _ in range(30):
        opt.zero_grad()
        loss = factorch.beta_divergence(V, model(), 2.0)
        loss.backward()
        opt.step()
        model.project()
    assert model.W.grad is not None
    assert loss.item() < before


def test_gradcheck_through_the_bound_module():
    V = nmf_data(5, 4, 2, seed=2)
    model = factorch.NMF(5, 4, 2, beta=0.5, init="random", seed=1).initialize(V)
    W, H = model.W, model.H  # the C++ parameters

    def loss_at(w, h):
        # The module's own loss (C++ graph) evaluated at (w, h): the parameters are set to
        # the inputs with a differentiable identity, so gradcheck sees d loss / d (w, h).
        with torch.no_grad():
            W.copy_(w)
            H.copy_(h)
        loss = model.loss(V)
        gw, gh = torch.autograd.grad(loss, [W, H], create_graph=True)
        return loss.detach() + (gw * (w - w.detach())).sum() + (gh * (h - h.detach())).sum()

    w0 = W.detach().clone().requires_grad_()
    h0 = H.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(loss_at, (w0, h0))
    # and the module's gradient equals the library divergence's through a Python graph
    loss = model.loss(V)
    gw, gh = torch.autograd.grad(loss, [W, H])
    w1, h1 = W.detach().clone().requires_grad_(), H.detach().clone().requires_grad_()
    rw, rh = torch.autograd.grad(factorch.beta_divergence(V, w1 @ h1, 0.5), [w1, h1])
    assert torch.allclose(gw, rw, rtol=1e-12) and torch.allclose(gh, rh, rtol=1e-12)


def test_beta_divergence_closed_forms():
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    v = torch.tensor([[2.0, 1.0]], dtype=torch.float64)
    assert factorch.beta_divergence(x, v, 2).item() == pytest.approx(1.0)
    kl = (x * torch.log(x / v) - x + v).sum().item()
    assert factorch.beta_divergence(x, v, 1).item() == pytest.approx(kl, rel=1e-14)
    is_ = (x / v - torch.log(x / v) - 1).sum().item()
    assert factorch.beta_divergence(x.numpy(), v.numpy(), 0).item() == pytest.approx(is_, rel=1e-14)


def test_numpy_input_and_dtype_conversion():
    V = nmf_data(8, 9, 2).numpy()
    V.setflags(write=False)  # read-only arrays are accepted (copied)
    model = factorch.NMF(8, 9, 2, init="nndsvda")
    r = model.fit(V, max_iter=5)
    assert r.iterations == 5
    m32 = factorch.NMF(8, 9, 2, dtype=torch.float32)
    assert m32.W.dtype == torch.float32
    assert m32.fit(V.astype(np.float32), max_iter=3).ok


def test_to_dtype_keeps_sharing():
    model = factorch.NMF(4, 5, 2).float()
    assert model.W.dtype == torch.float32
    assert dict(model.named_parameters())["W"].data_ptr() == model.W.data_ptr()


@pytest.mark.parametrize("call, error, message", [
    (lambda: factorch.NMF(4, 5, 2, betta=1.0), TypeError, "unknown option 'betta'"),
    (lambda: factorch.NMF(4, 5, 2, beta="x"), TypeError, "beta must be a number"),
    (lambda: factorch.NMF(4, 5, 2, normalise="l3"), ValueError, "normalise"),
    (lambda: factorch.NMF(4, 5, 2).fit(torch.ones(3, 5, dtype=torch.float64)), ValueError, "data is 3x5"),
    (lambda: factorch.NMF(2, 2, 1).fit(torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=torch.float64)), ValueError,
     "negative"),
    (lambda: factorch.NMF(2, 2, 1).fit(torch.tensor([[1.0, float("nan")], [1.0, 1.0]], dtype=torch.float64)),
     ValueError, "NaN"),
    (lambda: factorch.NMF(2, 2, 1).fit(torch.ones(2, 2, dtype=torch.float32)), TypeError, "float32 but the model"),
    (lambda: factorch.NMF(2, 2, 1).fit(torch.ones(2, 2, dtype=torch.float64), kind="newton"), ValueError,
     "kind must be"),
    (lambda: factorch.NMF(2, 2, 1).fit(torch.ones(2, 2, dtype=torch.float64), lrate=1), TypeError,
     "unknown option 'lrate'"),
    (lambda: factorch.NMF(2, 2, 1).fit("abc"), TypeError, "V must be"),
    (lambda: factorch.NMF(2, 2, 1).set_factor("Q", torch.ones(2, 1)), ValueError, "no factor 'Q'"),
    (lambda: factorch.beta_divergence(torch.ones(2, 3), torch.ones(3, 2)), RuntimeError, "size"),
])
def test_bad_input_raises_one_line(call, error, message):
    with pytest.raises(error) as e:
        call()
    assert message.lower() in str(e.value).lower()
    assert "\n" not in str(e.value)


def test_non_contiguous_input():
    V = nmf_data(10, 8, 2)
    a = factorch.NMF(8, 10, 2, init="random", seed=1)
    b = factorch.NMF(8, 10, 2, init="random", seed=1)
    a.fit(V.t(), max_iter=10, tol=0)  # a transposed view
    b.fit(V.t().contiguous(), max_iter=10, tol=0)
    assert torch.allclose(a.W, b.W, rtol=1e-12)


@cuda
def test_cuda_module_moves_and_fits():
    V = nmf_data(10, 12, 2).cuda()
    model = factorch.NMF(10, 12, 2, device="cuda")
    assert model.W.is_cuda
    assert model.fit(V, max_iter=10).ok


def test_ctrl_c_stops_fit_cleanly():
    import os
    import signal
    import threading

    V = nmf_data(60, 80, 5, seed=4)
    model = factorch.NMF(60, 80, 5, init="random", seed=0)
    # Python's own Ctrl-C handler, whatever this process inherited: a job started in the
    # background by a non-interactive shell (`cmd &`) starts with SIGINT ignored, and Python
    # then leaves it ignored, so the signal below would never arrive.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            model.fit(V, max_iter=10_000_000, tol=0)  # would run for hours
        timer.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    # stopped at an evaluation: the parameters are a finite MU iterate, and training goes on
    assert torch.isfinite(model.W).all() and torch.isfinite(model.H).all()
    assert model.fit(V, max_iter=2, tol=0).iterations == 2
