"""Tests of the Python package (label python): every function against the CLI on the same
inputs. Needs `pip install .` into the project venv (tests/python/run.sh does it) and the
CLI built (SCX_BIN, default build/scextract)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import anndata
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCX_BIN = Path(os.environ.get("SCX_BIN", ROOT / "build" / "scextract"))


def run_cli(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCX_BIN), *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False)


def ok(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    r = run_cli(*args, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return r


def cli_error(r: subprocess.CompletedProcess) -> str:
    """The one-line message of a failed CLI run (its last stderr line, prefix removed)."""
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    for prefix in ("scextract: error: ", "scextract: usage error: "):
        if last.startswith(prefix):
            return last[len(prefix):]
    raise AssertionError(f"not a scextract error line: {last}")


@pytest.fixture(scope="session")
def bed(tmp_path_factory) -> dict:
    """A small planted bed, its operators and an algorithm fitted on six donors through the
    CLI; the two other donors are the query."""
    if not SCX_BIN.is_file():
        pytest.fail(f"scextract executable not found at {SCX_BIN}: build it or set SCX_BIN", pytrace=False)
    tmp = tmp_path_factory.mktemp("bed")
    sim = tmp / "sim.h5ad"
    ok("simulate", "--cells", "1800", "--donors", "8", "--genes", "600", "--out", sim)
    ok("make-model", "--out", tmp / "model", "--size", "tiny", "--plant", sim)
    a = anndata.read_h5ad(sim)
    test = a.obs["donor"].isin({"D07", "D08"}).values
    a[~test].copy().write_h5ad(tmp / "train.h5ad")
    a[test].copy().write_h5ad(tmp / "query.h5ad")
    ok("export", "--model", tmp / "model", "--reference", tmp / "train.h5ad", "--panel", "200", "--mode", "atlas",
       "--cells", "100", "--out", tmp / "ops.scxop")
    ok("fit", "--operator", tmp / "ops.scxop", "--train", tmp / "train.h5ad", "--tissue-key", "tissue", "--epochs", "150",
       "--out", tmp / "algo.scx")
    return {"dir": tmp, "model": tmp / "model", "train": tmp / "train.h5ad", "query": tmp / "query.h5ad",
            "operators": tmp / "ops.scxop", "algorithm": tmp / "algo.scx"}
