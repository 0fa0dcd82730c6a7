"""ImplicitNMF and OnlineNMF as torch modules (python/src/models_grid.cpp)."""
import pytest
import torch

import factorch
from conftest import nmf_data

RATE = 1000.0
FREQS = torch.linspace(0.0, 500.0, 17, dtype=torch.float64)
TIMES = torch.arange(12, dtype=torch.float64) * 0.01


def small_innmf(**options):
    return factorch.ImplicitNMF(3, RATE, FREQS, TIMES, seed=1, w_net={"width": 16, "depth": 2}, **options)


def test_implicit_nmf_shares_parameters_and_reconstructs_on_the_grid():
    model = small_innmf()
    assert isinstance(model, torch.nn.Module)
    params = dict(model.named_parameters())
    assert "H" in params and any(name.startswith("W_net.") for name in params)
    # Zero copies: the Python parameters are the C++ ones (factors() gives the network
    # weights as views; "H_raw" is a copy, H = softplus(raw) is checked by value below).
    factors = model.factors()
    for name, p in params.items():
        if name.startswith("W_net."):
            assert p.data_ptr() == factors[name].data_ptr()
    with torch.no_grad():
        params["H"].fill_(0.0)
    assert torch.allclose(model.factors()["H"], torch.nn.functional.softplus(torch.zeros(1, dtype=torch.float64)))
    V = nmf_data(17, 12, 3)
    model.initialize(V)
    assert model().shape == (17, 12)
    # V̂ = W(f) · H on the grid, W sampled by the networks at the training frequencies.
    assert torch.allclose(model(), model.dictionary(FREQS) @ model.factors()["H"], rtol=1e-10)
    assert model.dictionary(torch.tensor([10.0, 250.0])).shape == (2, 3)  # any grid


def test_implicit_nmf_fit_lowers_the_objective():
    V = nmf_data(17, 12, 3, seed=2)
    model = small_innmf().initialize(V)
    start = model.loss(V).item()
    r = model.fit(V, kind="autograd", max_iter=30, tol=0, lr=0.01)
    assert r.ok and r.iterations == 30
    assert r.objective < 0.9 * start
    assert model.loss(V).item() == pytest.approx(r.objective, rel=1e-6)
    # and the same module trains from a Python loop (backward reaches the C++ networks)
    opt = torch.optim.Adam(model.parameters(), lr=0.005)
    for _ in range(10):
        opt.zero_grad()
        loss = model.loss(V)
        loss.backward()
        opt.step()
        model.project()
    assert loss.item() < r.objective


def test_online_nmf_shares_w_and_fit_lowers_the_held_back_objective():
    V = nmf_data(20, 400, 4, seed=3)
    model = factorch.OnlineNMF(20, 4, batch_size=50, holdout_every=4, seed=0)
    params = dict(model.named_parameters())
    assert set(params) == {"W"}
    assert params["W"].data_ptr() == model.W.data_ptr() == model.factors()["W"].data_ptr()
    r = model.fit(V, max_iter=15, tol=0)
    assert r.ok and r.iterations == 15
    objectives = [h[1] for h in r.history]
    assert objectives[-1] < 0.5 * objectives[0]
    assert model().shape == (20, 100)  # the held-back columns (2 of 8 batches)
    assert model(V).shape == (20, 400)
    assert params["W"].data_ptr() == model.W.data_ptr()


@pytest.mark.parametrize("call, message", [
    (lambda: small_innmf(activations="spline"), "activations"),
    (lambda: factorch.ImplicitNMF(3, RATE, torch.tensor([100.0, 900.0]), TIMES), "900"),
    (lambda: factorch.OnlineNMF(20, 4, forget=2.0), "forget"),
    (lambda: factorch.OnlineNMF(20, 4, holdout_every=1), "holdout_every"),
    (lambda: factorch.OnlineNMF(2, 1, batch_size=1).fit(torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=torch.float64)),
     "negative"),
])
def test_bad_options_raise_value_error(call, message):
    with pytest.raises(ValueError) as e:
        call()
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="unknown option 'widht'"):
        factorch.ImplicitNMF(3, RATE, FREQS, TIMES, w_net={"widht": 8})
    with pytest.raises(TypeError, match="unknown option 'forgett'"):
        factorch.OnlineNMF(20, 4, forgett=0.5)


needs_runs = pytest.mark.skipif(not hasattr(factorch._C, "_train"), reason="built without FACTORCH_PYTHON_RUNS")
# The checkpoint's config rebuilds the networks (factorch export reads only the checkpoint):
# the options of the Python model, whose defaults are ImplicitMLPOptions' and not the CLI's.
INNMF_CONFIG = "model:\n  type: innmf\n  rank: 3\n  omega_0: 30\n  n_frequencies: 10\n"


@needs_runs
def test_export_on_grid_samples_the_checkpoint_dictionary(tmp_path):
    model = factorch.ImplicitNMF(3, RATE, FREQS, TIMES, seed=1)
    factorch.save_checkpoint(tmp_path / "innmf.pt", model, config=INNMF_CONFIG)
    # --frequencies: any grid, the same W as the module samples there
    f = torch.tensor([5.0, 123.0, 400.0, 499.0], dtype=torch.float64)
    r = factorch.export_on_grid(tmp_path / "innmf.pt", frequencies=f)
    assert torch.equal(r["frequencies"], f)
    assert torch.equal(r["W"], model.dictionary(f).detach())
    # --n-fft: the N/2+1 bins k·fs/N at the model's sample rate
    r = factorch.export_on_grid(tmp_path / "innmf.pt", n_fft=32)
    assert torch.allclose(r["frequencies"], torch.arange(17, dtype=torch.float64) * RATE / 32)
    assert torch.equal(r["W"], model.dictionary(r["frequencies"]).detach())
    with pytest.raises(ValueError, match="600"):
        factorch.export_on_grid(tmp_path / "innmf.pt", frequencies=[600.0])
    with pytest.raises(ValueError, match="one of them"):
        factorch.export_on_grid(tmp_path / "innmf.pt")
    nmf = factorch.NMF(4, 5, 2)
    factorch.save_checkpoint(tmp_path / "nmf.pt", nmf, config="model:\n  type: nmf\n")
    with pytest.raises(ValueError, match="no dictionary on a continuous frequency axis"):
        factorch.export_on_grid(tmp_path / "nmf.pt", n_fft=32)
