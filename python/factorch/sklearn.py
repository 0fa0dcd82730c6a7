"""A scikit-learn estimator: ``from factorch.sklearn import NMF``.

It IS scikit-learn's NMF (a subclass: same parameters, attributes, validation, init and
messages) whose multiplicative-update solver runs in factorch's C++ (LibTorch) instead of
numpy, step for step as scikit-learn's ``_fit_multiplicative_update`` (so iterates agree to
rounding). Differences: ``solver`` defaults to "mu" (the solver factorch provides; "cd"
and sparse input go to scikit-learn's own code).
"""
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.decomposition import NMF as _SklearnNMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_non_negative

from . import _C
from ._tensors import as_tensor

__all__ = ["NMF"]


class NMF(_SklearnNMF):
    """Non-negative matrix factorisation X ≈ W H with scikit-learn's interface.

    Parameters and attributes are scikit-learn's (n_components, init, solver, beta_loss,
    tol, max_iter, random_state, alpha_W, alpha_H, l1_ratio, verbose, shuffle;
    components_, n_components_, reconstruction_err_, n_iter_, n_features_in_).
    """

    def __init__(
        self,
        n_components=None,
        *,
        init=None,
        solver="mu",
        beta_loss="frobenius",
        tol=1e-4,
        max_iter=200,
        random_state=None,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        verbose=0,
        shuffle=False,
    ):
        super().__init__(
            n_components=n_components,
            init=init,
            solver=solver,
            beta_loss=beta_loss,
            tol=tol,
            max_iter=max_iter,
            random_state=random_state,
            alpha_W=alpha_W,
            alpha_H=alpha_H,
            l1_ratio=l1_ratio,
            verbose=verbose,
            shuffle=shuffle,
        )

    def _fit_transform(self, X, y=None, W=None, H=None, update_H=True):
        if self.solver != "mu" or sp.issparse(X):
            return super()._fit_transform(X, y=y, W=W, H=H, update_H=update_H)
        # What scikit-learn checks and prepares, in its order (same errors and warnings).
        check_non_negative(X, "NMF (input X)")
        self._check_params(X)
        if X.min() == 0 and self._beta_loss <= 0:
            raise ValueError(
                "When beta_loss <= 0 and X contains zeros, "
                "the solver may diverge. Please add small values "
                "to X, or use a positive beta_loss."
            )
        W, H = self._check_w_h(X, W, H, update_H)
        l1_reg_W, l1_reg_H, l2_reg_W, l2_reg_H = self._compute_regularization(X)
        # The solver updates W and H in place: own C-ordered copies (the caller's arrays, which
        # may be read-only or strided, are left alone).
        W = np.array(W, dtype=X.dtype, order="C", copy=True)
        H = np.array(H, dtype=X.dtype, order="C", copy=True)
        n_iter = _C._sklearn_mu(
            as_tensor(X, "X"), torch.from_numpy(W), torch.from_numpy(H), float(self._beta_loss),
            int(self.max_iter), float(self.tol), float(l1_reg_W), float(l1_reg_H), float(l2_reg_W),
            float(l2_reg_H), bool(update_H))
        if n_iter == self.max_iter and self.tol > 0:
            warnings.warn(
                "Maximum number of iterations %d reached. Increase "
                "it to improve convergence." % self.max_iter,
                ConvergenceWarning,
            )
        return W, H, n_iter
