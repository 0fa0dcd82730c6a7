"""The C++ models as torch.nn.Module subclasses of the same name.

Each wraps a module of factorch._C.cpp (torch::python::bind_module): its parameters ARE the
C++ parameters (same storage, no copies), so a Python optimiser, ``.to()``, ``state_dict()``
and the C++ trainer all act on the same tensors.
"""
from dataclasses import dataclass, field
from typing import List, Tuple

import torch
from torch.nn.cpp import ModuleWrapper, OrderedDictWrapper

from . import _C
from ._tensors import as_tensor, matching


@dataclass
class FitResult:
    """What ``model.fit`` returns (the C++ TrainResult and the trainer's history)."""
    ok: bool
    stop_reason: str
    iterations: int
    objective: float
    history: List[Tuple[int, float, float, float]] = field(default_factory=list)  # (iter, objective, rel_change, seconds)


class FactorModule(ModuleWrapper):
    """Base of the bound models: a torch.nn.Module delegating to ``self.cpp_module``."""

    def __init__(self, cpp_module):
        # Not ModuleWrapper.__init__: it copies every attribute of the C++ module once, which
        # would freeze properties (W, H) at construction time; attributes are looked up live.
        self.cpp_module = cpp_module
        torch.nn.Module.__init__(self)
        self._parameters = OrderedDictWrapper(cpp_module, "_parameters")
        self._buffers = OrderedDictWrapper(cpp_module, "_buffers")
        self._modules = OrderedDictWrapper(cpp_module, "_modules")

    def forward(self):
        """The model's approximation of the data (V̂)."""
        return self.cpp_module.reconstruct()

    def factors(self):
        """Learnt quantities by name (as users see them, e.g. nonnegative W), detached."""
        return self.cpp_module.factors()

    def set_factor(self, name, value):
        like = next(iter(self.parameters()), None)
        value = as_tensor(value, name)
        if like is not None:
            value = value.to(dtype=like.dtype, device=like.device)
        self.cpp_module.set_factor(name, value)

    def loss(self, X, mask=None):
        """The differentiable objective on X (divergence + penalties)."""
        return self.cpp_module.loss(self._data(X), self._mask(mask))

    def _like(self):
        for p in self.parameters():
            return p
        return torch.empty(0, dtype=torch.float64)

    def _data(self, X, name="V"):
        return matching(X, self._like(), name)

    def _mask(self, mask):
        return None if mask is None else matching(mask, self._like(), "mask")

    def _prepare(self, X):
        """Hook for models initialised from their first data (NMF's init)."""

    def fit(self, X, kind="mu", max_iter=200, tol=1e-6, mask=None, **trainer):
        """Trains with the C++ trainer (GIL released): kind "mu" | "autograd", max_iter, tol,
        eval_every, seed, optimizer ("adam", "sgd", "lbfgs", "rprop"), lr, momentum,
        batch_size, progress. Ctrl-C stops at the next evaluation (KeyboardInterrupt; the
        parameters keep that iterate)."""
        X = self._data(X)
        self._prepare(X)
        r = self.cpp_module.fit(X, self._mask(mask), kind=kind, max_iter=int(max_iter), tol=float(tol), **trainer)
        return FitResult(**r)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            pass
        cpp = self.__dict__.get("cpp_module")
        if cpp is not None and not name.startswith("_"):
            if hasattr(cpp, name):
                return getattr(cpp, name)
            factors = cpp.factors()
            if name in factors:
                return factors[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.cpp_module.factors().keys()))

    def extra_repr(self):
        return self.cpp_module.pretty()

    def __repr__(self):
        return torch.nn.Module.__repr__(self)


class NMF(FactorModule):
    """β-NMF V ≈ W H, W (F×K) ≥ 0, H (K×N) ≥ 0 (factorch::NMF).

    ``NMF(F, N, K, beta=1.0, l1_h=0.1, init="nndsvda", seed=0)``; the other keyword arguments
    mirror NMFOptions (eps, l1_w, l1_h, l2_w, l2_h, normalise, fixed_w, fixed_h, softplus,
    floor, ard, ard_lambda, ard_b, ard_prune, smooth_h). ``init`` ("random", "nndsvd",
    "nndsvda", or None to keep the current factors) is applied at the first ``fit`` or by
    ``initialize(V)``. ``model.W``/``model.H`` are the factors (the parameters themselves
    unless softplus).
    """

    def __init__(self, n_features, n_samples, rank, init="nndsvda", seed=0, dtype=torch.float64, device=None, **options):
        super().__init__(_C.cpp.NMF(int(n_features), int(n_samples), int(rank), **options))
        if init not in (None, "custom", "random", "nndsvd", "nndsvda"):
            raise ValueError(f"NMF: init must be 'random', 'nndsvd', 'nndsvda' or None, got {init!r}")
        self._init = None if init == "custom" else init
        self._seed = int(seed)
        if dtype != torch.float64 or device is not None:
            self.to(device=device, dtype=dtype)

    @property
    def W(self):
        return self.cpp_module.W

    @property
    def H(self):
        return self.cpp_module.H

    def initialize(self, V, method=None, seed=None):
        """Initial factors from data V ("random", "nndsvd", "nndsvda"; see nmf_init.h)."""
        V = self._data(V)
        self.cpp_module.check_data(V, None)  # the library's message for wrong shapes or values
        self.cpp_module.init(V, method or self._init or "nndsvda", self._seed if seed is None else int(seed))
        self._init = None
        return self

    def _prepare(self, X):
        if self._init is not None:
            self.initialize(X)


def _model_class(name, signature, doc):
    cpp_class = getattr(_C.cpp, name)

    def __init__(self, *args, dtype=torch.float64, device=None, **options):
        FactorModule.__init__(self, cpp_class(*args, **options))
        if dtype != torch.float64 or device is not None:
            self.to(device=device, dtype=dtype)

    cls = type(name, (FactorModule,), {"__init__": __init__, "__doc__": f"{name}({signature}, **options): {doc}"})
    cls.__module__ = __name__
    return cls


# Keyword options mirror each C++ Options struct (include/factorch/models/*.h); factors are
# attributes by the names of model.factors() (e.g. model.Phi, model.W1).
LayeredNMF = _model_class(
    "LayeredNMF", "n_features, n_samples, layers",
    "multi-layer NMF X ≈ W¹…Wᴸ H (pretrain(X) initialises layer by layer); factors W1…WL, H.")
DiscriminativeLayeredNMF = _model_class(
    "DiscriminativeLayeredNMF", "n_features, n_samples, layers",
    "discriminatively trained layered NMF for separation (n_sources, h_iter, w_iter, ...).")
TLNMF = _model_class(
    "TLNMF", "frame_length, n_frames, rank",
    "transform-learning NMF |ΦY|² ≈ WH on frames Y (M×N); init(Y, phi_init='dct'); factors Phi, W, H.")
MultichannelNMF = _model_class(
    "MultichannelNMF", "channels, n_features, n_samples, sources, rank",
    "multichannel NMF (Ozerov & Févotte) of I channels, J sources of K components; init(V, seed).")


class ImplicitNMF(FactorModule):
    """Implicit neural NMF V(t, f) ≈ Σ_k W_k(f) H_k(t) (factorch::ImplicitNMF).

    ``ImplicitNMF(rank, sample_rate, frequencies, times, seed=0, **options)``: ``frequencies``
    (F, Hz) and ``times`` (N, s) are the training grid (matrix activations: regular frame
    times); the other keyword arguments mirror ImplicitNMFOptions (beta, eps, w_net={...},
    h_net={...} with ImplicitMLPOptions' keys, separate_networks, activations, fixed_dictionary,
    fixed_activations, h_floor, spectral_kernel, kernel_window, kernel_n_fft,
    kernel_oversampling, compression, kernel_glide). ``seed`` draws the networks' weights and
    the initial activations. ``forward()`` is V̂ on the grid (F × N); ``fit(V)`` takes V on the
    grid (F × N) or S×3 rows (time s, frequency Hz, value), autograd only.
    """

    def __init__(self, rank, sample_rate, frequencies, times, seed=0, dtype=torch.float64, device=None, **options):
        f = as_tensor(frequencies, "frequencies").to(torch.float64).contiguous()
        t = as_tensor(times, "times").to(torch.float64).contiguous()
        # The networks draw from torch's global generator (shared with C++): seeded here without
        # disturbing the caller's stream.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            cpp = _C.cpp.ImplicitNMF(int(rank), float(sample_rate), f, t, **options)
        super().__init__(cpp)
        self._seed = int(seed)
        self._initialized = False
        if dtype != torch.float64 or device is not None:
            self.to(device=device, dtype=dtype)

    def samples(self, V):
        """V on the training grid (F × N) as S×3 rows (time, frequency, value), bin-major."""
        f, t = self.cpp_module.frequencies, self.cpp_module.times
        V = FactorModule._data(self, V)
        if tuple(V.shape) != (f.numel(), t.numel()):
            raise ValueError(f"ImplicitNMF: V is {'x'.join(map(str, V.shape))}, the grid is {f.numel()}x{t.numel()}")
        ff = f.to(V).reshape(-1, 1).expand_as(V)
        tt = t.to(V).reshape(1, -1).expand_as(V)
        return torch.stack([tt.reshape(-1), ff.reshape(-1), V.reshape(-1)], 1)

    def _data(self, X, name="V"):
        X = FactorModule._data(self, X, name)
        f, t = self.cpp_module.frequencies, self.cpp_module.times
        if X.dim() == 2 and tuple(X.shape) == (f.numel(), t.numel()):
            return self.samples(X)  # V on the grid; anything else is taken as sample rows
        return X

    def initialize(self, X):
        """Activations scaled to the data (S×3 rows or V on the grid)."""
        self.cpp_module.init_activations(self._data(X), self._seed)
        self._initialized = True
        return self

    def _prepare(self, X):
        if not self._initialized:
            self.initialize(X)

    def fit(self, X, kind="autograd", max_iter=200, tol=1e-6, mask=None, **trainer):
        return super().fit(X, kind=kind, max_iter=max_iter, tol=tol, mask=mask, **trainer)

    def dictionary(self, frequencies, n_fft=0):
        """W sampled at any frequencies (Hz) → F' × K (n_fft: analysis size, spectral kernel)."""
        f = as_tensor(frequencies, "frequencies").to(torch.float64)
        return self.cpp_module.dictionary(f, int(n_fft))


class OnlineNMF(FactorModule):
    """Mini-batch β-NMF (factorch::OnlineNMF): W learnt from batches of V's columns.

    ``OnlineNMF(n_features, rank, seed=0, **options)``; keyword arguments mirror
    OnlineNMFOptions (beta, eps, batch_size, forget, inner_iter, holdout_every,
    holdout_max_columns, batches_per_step, train_columns). ``fit(V)`` streams V's columns
    (every holdout_every-th batch held back: the objective is measured there); ``model.W`` is
    the dictionary; ``forward(V)`` is W·H with H fitted to V for W fixed (without V: on the
    held-back columns of the last objective evaluation).
    """

    def __init__(self, n_features, rank, seed=0, **options):
        super().__init__(_C.cpp.OnlineNMF(int(n_features), int(rank), **options))
        self._seed = int(seed)
        self._initialized = False

    @property
    def W(self):
        return self.cpp_module.W

    def forward(self, V=None):
        if V is None:
            return self.cpp_module.reconstruct()
        V = self._data(V)
        return self.W @ self.cpp_module.transform(V, 2)

    def transform(self, V, passes=2):
        """H fitted to V (F × N) with W fixed."""
        return self.cpp_module.transform(self._data(V), int(passes))

    def fit(self, X, kind="mu", max_iter=200, tol=1e-6, mask=None, **trainer):
        if mask is not None:
            raise ValueError("OnlineNMF: fit takes no mask")
        X = self._data(X)
        scale = self.cpp_module.set_data(X)
        if not self._initialized:
            self.cpp_module.init(scale, self._seed)
            self._initialized = True
        # No columns: the objective is streamed from the held-back batches (online_nmf.h).
        empty = X.new_zeros((X.shape[0], 0))
        r = self.cpp_module.fit(empty, None, kind=kind, max_iter=int(max_iter), tol=float(tol), **trainer)
        return FitResult(**r)
