"""Runs as functions: the same C++ functions (and files) as `factorch train` / `factorch separate`."""
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch

from . import _C


@dataclass
class RunResult:
    out_dir: str
    ok: bool
    stop_reason: str
    iterations: int
    objective: float
    model_type: str
    factors: Dict[str, torch.Tensor] = field(default_factory=dict)
    report: str = ""
    metrics: Optional[dict] = None  # metrics.json of the run directory, when written


@dataclass
class SeparationResult:
    out_dir: str
    names: List[str]
    estimates: Optional[torch.Tensor]  # S × T float64 (None when separated block by block)
    metrics: Optional[dict]            # sdr, sir, sar, permutation, references (when references are known)
    report: str = ""
    streamed: bool = False


def _yaml_text(config):
    """A dict as YAML text (block style when PyYAML is present; JSON is YAML otherwise)."""
    try:
        import yaml
        return yaml.safe_dump(config, default_flow_style=False, sort_keys=False)
    except ImportError:
        return json.dumps(config)


def _source(config, overrides, out, device=None, dtype=None):
    if isinstance(config, (str, os.PathLike)):
        source, is_path = os.fspath(config), True
    elif isinstance(config, dict):
        source, is_path = _yaml_text(config), False
    else:
        raise TypeError(f"config must be a YAML path or a dict, got {type(config).__name__}")
    if isinstance(overrides, dict):
        items = []
        for k, v in overrides.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, (list, tuple, dict)):
                v = json.dumps(v)
            items.append(f"{k}={v}")
        overrides = items
    overrides = list(overrides or [])
    # The CLI's --out, --device, --dtype are these overrides too (cli_support.h).
    if out is not None:
        overrides.append(f"output.dir={os.fspath(out)}")
    if device is not None:
        overrides.append(f"trainer.device={device}")
    if dtype is not None:
        overrides.append(f"trainer.dtype={dtype}")
    return source, is_path, overrides


def _require_runs():
    if not hasattr(_C, "_train"):
        raise RuntimeError("this factorch was built without runs (cmake -DFACTORCH_PYTHON_RUNS=ON)")


def _metrics(out_dir):
    path = os.path.join(out_dir, "metrics.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return None


def train(config, overrides=None, out=None, device=None, dtype=None, quiet=True):
    """`factorch train CONFIG [--set k=v]... [--out DIR]` as a function.

    config: a YAML path or a dict with the CLI's schema; overrides: {"model.rank": 8} or
    ["model.rank=8"]. Writes the same run directory (config.resolved.yaml, history.csv,
    checkpoint.pt, factors, report.html) and returns a RunResult (factors as tensors).
    """
    _require_runs()
    r = _C._train(*_source(config, overrides, out, device, dtype), bool(quiet))
    return RunResult(metrics=_metrics(r["out_dir"]), **r)


def separate(config, overrides=None, out=None, device=None, dtype=None, quiet=True):
    """`factorch separate CONFIG ...` as a function: sources/*.wav, metrics.json, report.html."""
    _require_runs()
    r = _C._separate(*_source(config, overrides, out, device, dtype), bool(quiet))
    return SeparationResult(**r)


def export_on_grid(checkpoint, frequencies=None, n_fft=None, sample_rate=None):
    """`factorch export CHECKPOINT --frequencies ... | --n-fft N [--sample-rate R]` in memory:
    the checkpoint's dictionary (iN-NMF) sampled on another frequency grid. Returns
    {"W": F × K, "frequencies": F (Hz)}. With n_fft, the grid is the N/2+1 DFT bins at
    sample_rate (default the model's) and W is as that window size sees it."""
    _require_runs()
    from ._tensors import as_tensor
    if (frequencies is None) == (n_fft is None):
        raise ValueError("export_on_grid: give frequencies or n_fft (one of them)")
    if sample_rate is not None and n_fft is None:
        raise ValueError("export_on_grid: sample_rate goes with n_fft")
    if n_fft is not None:
        n_fft = int(n_fft)
        if n_fft < 2:
            raise ValueError(f"export_on_grid: n_fft must be an integer >= 2, got {n_fft}")
        if sample_rate is None:
            coords = _C.load_checkpoint(str(checkpoint))["factors"].get("coordinates")
            if coords is None:
                raise ValueError(f"export_on_grid: {checkpoint} has no dictionary on a continuous frequency axis "
                                 "(innmf has)")
            sample_rate = float(coords[0])
        f = _C.stft_frequencies(n_fft, float(sample_rate)).to(torch.float64)
    else:
        f = as_tensor(frequencies, "frequencies").to(torch.float64).reshape(-1).contiguous()
    W = _C._export_on_grid(str(checkpoint), f, n_fft or 0)
    return {"W": W, "frequencies": f}
