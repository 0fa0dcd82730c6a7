"""factorch: NMF-family models of audio on LibTorch, from Python.

Three ways in:
  * ``factorch.sklearn.NMF``: a drop-in for ``sklearn.decomposition.NMF`` (solver "mu").
  * torch modules (``factorch.NMF``, ...) whose parameters are the C++ model's, trained by the
    C++ trainer (``model.fit``) or by any Python loop through ``factorch.beta_divergence``.
  * runs (``factorch.train``), as the ``factorch`` command line does them.
"""
import torch  # noqa: F401  (registers torch::nn::Module's Python type before _C loads)

from . import _C
from ._tensors import as_tensor
from .models import (NMF, FitResult, LayeredNMF, DiscriminativeLayeredNMF, TLNMF, MultichannelNMF, ImplicitNMF,
                     OnlineNMF)
from .functional import beta_divergence
from .runs import train, separate, export_on_grid, RunResult, SeparationResult
from .audio import (stft, istft, stft_frequencies, window, dct2_matrix, dct4_matrix, constant_q, wiener_masks,
                    apply_masks, bss_eval_sources, bss_eval_images, read_wav, write_wav, load_checkpoint,
                    save_checkpoint)

__version__ = _C.__version__

__all__ = ["train", "separate", "export_on_grid", "RunResult", "SeparationResult", "NMF", "LayeredNMF", "DiscriminativeLayeredNMF", "TLNMF", "MultichannelNMF", "ImplicitNMF", "OnlineNMF",
           "FitResult", "beta_divergence", "as_tensor", "__version__", "stft", "istft", "stft_frequencies",
           "window", "dct2_matrix", "dct4_matrix", "constant_q", "wiener_masks", "apply_masks", "bss_eval_sources",
           "bss_eval_images", "read_wav", "write_wav", "load_checkpoint", "save_checkpoint"]
