"""The audio pipeline and metrics of the library, on torch tensors (numpy accepted).

stft/istft, window, dct2_matrix/dct4_matrix, constant_q, wiener_masks/apply_masks,
bss_eval_sources/bss_eval_images (numbers equal to mir_eval's), read_wav/write_wav.
"""
from typing import NamedTuple

import torch

from . import _C
from ._tensors import as_tensor


def stft(x, n_fft=1024, hop=256, win_length=0, window="hann", tukey_alpha=0.5, padding="zero"):
    """x (T), real → complex (n_fft/2 + 1) × N."""
    return _C.stft(as_tensor(x, "x"), n_fft, hop, win_length, window, tukey_alpha, padding)


def istft(spectrum, length, n_fft=1024, hop=256, win_length=0, window="hann", tukey_alpha=0.5, padding="zero"):
    """Inverse of stft (same options): complex (n_fft/2 + 1) × N → `length` samples."""
    return _C.istft(as_tensor(spectrum, "spectrum"), int(length), n_fft, hop, win_length, window, tukey_alpha, padding)


def stft_frequencies(n_fft, sample_rate):
    return _C.stft_frequencies(int(n_fft), float(sample_rate))


def window(name, M, alpha=0.5, dtype=torch.float64):
    """"hann" | "sine" | "tukey" (alpha) | "rectangular", length M."""
    return _C.window(name, int(M), float(alpha), dtype)


def dct2_matrix(M):
    return _C.dct2_matrix(int(M))


def dct4_matrix(M):
    return _C.dct4_matrix(int(M))


class ConstantQ(NamedTuple):
    coefficients: torch.Tensor  # complex B × N
    frequencies: torch.Tensor   # B centre frequencies (Hz)
    times: torch.Tensor         # N frame centres (s)


def constant_q(x, sample_rate, f_min=55.0, f_max=0.0, bins_per_octave=12, hop=256, q_scale=1.0, window="hann"):
    """Constant-Q transform of x (T)."""
    return ConstantQ(*_C.constant_q(as_tensor(x, "x"), float(sample_rate), float(f_min), float(f_max),
                                    int(bins_per_octave), int(hop), float(q_scale), window))


def wiener_masks(source_powers, eps=1e-12):
    """mask_s = P_s / Σ_j P_j for a list of nonnegative source powers (same shape)."""
    return _C.wiener_masks([as_tensor(p, "source_powers") for p in source_powers], float(eps))


def apply_masks(coefficients, masks):
    return _C.apply_masks(as_tensor(coefficients, "coefficients"), [as_tensor(m, "masks") for m in masks])


class BssEval(NamedTuple):
    sdr: torch.Tensor
    sir: torch.Tensor
    sar: torch.Tensor
    permutation: torch.Tensor  # permutation[j] = estimate matched to reference j


class BssEvalImages(NamedTuple):
    sdr: torch.Tensor
    isr: torch.Tensor
    sir: torch.Tensor
    sar: torch.Tensor
    permutation: torch.Tensor


def bss_eval_sources(reference, estimate, filter_length=512, compute_permutation=True):
    """BSS Eval v3 of S × T (or T) estimates, as mir_eval.separation.bss_eval_sources."""
    r = _C.bss_eval_sources(as_tensor(reference, "reference"), as_tensor(estimate, "estimate"),
                            int(filter_length), bool(compute_permutation))
    return BssEval(r["sdr"], r["sir"], r["sar"], r["permutation"])


def bss_eval_images(reference, estimate, filter_length=512, compute_permutation=True):
    """Image metrics of S × C × T source images (mir_eval's arrays are S × T × C: transpose)."""
    r = _C.bss_eval_images(as_tensor(reference, "reference"), as_tensor(estimate, "estimate"),
                           int(filter_length), bool(compute_permutation))
    return BssEvalImages(r["sdr"], r["isr"], r["sir"], r["sar"], r["permutation"])


def read_wav(path, channel=None, downmix=False):
    """(samples: channels × frames float64, sample_rate)."""
    return _C.read_wav(str(path), channel, bool(downmix))


def write_wav(path, samples, sample_rate, format="float32"):
    """Writes frames (mono) or channels × frames atomically; format float32 | pcm16 | pcm24."""
    _C.write_wav(str(path), as_tensor(samples, "samples"), int(sample_rate), format)


def load_checkpoint(path):
    """A checkpoint.pt of a run as a dict (model_type, config, parameters, factors, iteration, history)."""
    return _C.load_checkpoint(str(path))


def save_checkpoint(path, model, config=""):
    """Saves a factorch module (its parameters and factors) as a checkpoint the CLI reads."""
    cpp = model.cpp_module
    _C.save_checkpoint(str(path), cpp.type(), dict(model.named_parameters()), cpp.factors(), config, 0)
