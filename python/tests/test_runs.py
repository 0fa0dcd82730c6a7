import filecmp
import os
import subprocess

import numpy as np
import pytest
import torch

import factorch
from conftest import REPO

BUILD = os.path.abspath(os.path.join(os.path.dirname(factorch.__file__), "..", ".."))
CLI = os.path.join(BUILD, "factorch")
needs_cli = pytest.mark.skipif(not os.path.exists(CLI), reason="the factorch CLI is not built next to the package")
pytestmark = pytest.mark.skipif(not hasattr(factorch._C, "_train"), reason="built with FACTORCH_PYTHON_RUNS=OFF")

CONFIG = """model:
  type: nmf
  rank: 3
  beta: 1
  init: nndsvda
  normalise: l1
  seed: 0
data:
  input: {input}
trainer:
  kind: mu
  max_iter: 40
  tol: 0
  eval_every: 5
  threads: 1
output:
  dir: {out}
"""

# Files that hold wall-clock times (history.csv's seconds column, the train state in the
# checkpoint, the report's timing line) are compared without them.
TIMED = {"history.csv", "checkpoint.pt", "report.html"}


def run_dirs_equal(a, b):
    names_a = sorted(os.path.relpath(os.path.join(d, f), a) for d, _, fs in os.walk(a) for f in fs)
    names_b = sorted(os.path.relpath(os.path.join(d, f), b) for d, _, fs in os.walk(b) for f in fs)
    assert names_a == names_b
    for name in names_a:
        if os.path.basename(name) in TIMED:
            continue
        assert filecmp.cmp(os.path.join(a, name), os.path.join(b, name), shallow=False), name
    return names_a


@needs_cli
def test_train_writes_the_cli_files(tmp_path):
    V = (torch.rand(12, 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64) + 0.1).numpy()
    np.save(tmp_path / "V.npy", V)
    cfg = tmp_path / "nmf.yaml"
    cfg.write_text(CONFIG.format(input=tmp_path / "V.npy", out=tmp_path / "unused"))
    # Both write to the same directory (config.resolved.yaml names it), the CLI's run moved aside.
    subprocess.run([CLI, "train", str(cfg), "--out", str(tmp_path / "py"), "--quiet", "--set", "model.rank=4"],
                   check=True, capture_output=True)
    os.rename(tmp_path / "py", tmp_path / "cli")
    r = factorch.train(str(cfg), overrides={"model.rank": 4}, out=tmp_path / "py")
    names = run_dirs_equal(tmp_path / "cli", tmp_path / "py")
    assert "config.resolved.yaml" in names and any(n.startswith("factors") for n in names)
    # history.csv: the same iterations and objectives (only the seconds differ)
    h_cli = [line.split(",")[:3] for line in open(tmp_path / "cli" / "history.csv")]
    h_py = [line.split(",")[:3] for line in open(tmp_path / "py" / "history.csv")]
    assert h_cli == h_py
    assert r.ok and r.iterations == 40 and r.model_type == "nmf"
    assert r.factors["W"].shape == (12, 4)
    assert torch.equal(r.factors["H"], torch.from_numpy(np.load(tmp_path / "py" / "factors" / "H.npy")))


@needs_cli
def test_train_from_a_dict_equals_the_yaml_file(tmp_path):
    V = (torch.rand(10, 15, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 0.1).numpy()
    np.save(tmp_path / "V.npy", V)
    cfg = tmp_path / "nmf.yaml"
    cfg.write_text(CONFIG.format(input=tmp_path / "V.npy", out=tmp_path / "a"))
    a = factorch.train(str(cfg))
    d = {"model": {"type": "nmf", "rank": 3, "beta": 1, "init": "nndsvda", "normalise": "l1", "seed": 0},
         "data": {"input": str(tmp_path / "V.npy")},
         "trainer": {"kind": "mu", "max_iter": 40, "tol": 0, "eval_every": 5, "threads": 1},
         "output": {"dir": str(tmp_path / "b")}}
    b = factorch.train(d)
    assert torch.equal(a.factors["W"], b.factors["W"])
    for name in ("W.npy", "H.npy"):
        assert filecmp.cmp(tmp_path / "a" / "factors" / name, tmp_path / "b" / "factors" / name, shallow=False)


@needs_cli
def test_separate_writes_the_cli_files(tmp_path):
    cfg = os.path.join(REPO, "configs", "nmf_separate_toy.yaml")
    over = ["trainer.max_iter=30"]
    subprocess.run([CLI, "separate", cfg, "--out", str(tmp_path / "py"), "--quiet", "--set", over[0]],
                   check=True, capture_output=True)
    os.rename(tmp_path / "py", tmp_path / "cli")
    r = factorch.separate(cfg, overrides=over, out=tmp_path / "py")
    run_dirs_equal(tmp_path / "cli", tmp_path / "py")
    assert r.names and r.estimates.shape[0] == len(r.names)
    assert r.metrics is not None and r.metrics["sdr"].shape == (2,)


def test_bad_config_raises_the_cli_message(tmp_path):
    with pytest.raises(ValueError, match="model.rank"):
        factorch.train({"model": {"type": "nmf", "rank": -2}, "data": {"input": "x.npy"}})
    with pytest.raises(ValueError, match="no_such.yaml"):
        factorch.train(str(tmp_path / "no_such.yaml"))
    with pytest.raises(TypeError):
        factorch.train(42)
