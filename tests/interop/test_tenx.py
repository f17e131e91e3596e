"""scanpy's view of a 10x MatrixMarket folder, to check scextract's reader against.

`reference_10x_summary(path)` gives what scanpy.read_10x_mtx (defaults:
gene symbols as var_names, made unique, Gene Expression features only) makes of
a folder. A test comparing it with the scextract CLI's summary of the same folder
belongs next to it once the CLI prints one.

The soupx_pbmc4k folder is GPL-2 data: it is read in place from the shared data
folder and never copied into the repository.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("SCX_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SHARED_DATA = Path(os.environ.get("SCX_SHARED_DATA_DIR", SOURCE_DIR.parent / "shared" / "data"))
SOUPX_10X = SHARED_DATA / "soupx_pbmc4k" / "filtered_feature_bc_matrix"


def reference_10x_summary(path: str | os.PathLike) -> dict:
    """Summarise scanpy.read_10x_mtx(path) in plain Python values.

    Keys: n_obs, n_vars, nnz, total (sum of X in float64), first_obs, last_obs,
    first_var, last_var, n_made_unique (var names that make_unique changed) and
    made_unique_examples (up to 5 of them, in order).
    """
    import numpy as np
    import scanpy as sc

    adata = sc.read_10x_mtx(path)
    # Read a second time without make_unique to see which names it changed.
    plain = sc.read_10x_mtx(path, make_unique=False)
    renamed = np.asarray(adata.var_names) != np.asarray(plain.var_names)
    return {
        "n_obs": int(adata.n_obs),
        "n_vars": int(adata.n_vars),
        "nnz": int(adata.X.nnz),
        "total": float(adata.X.sum(dtype=np.float64)),
        "first_obs": str(adata.obs_names[0]),
        "last_obs": str(adata.obs_names[-1]),
        "first_var": str(adata.var_names[0]),
        "last_var": str(adata.var_names[-1]),
        "n_made_unique": int(renamed.sum()),
        "made_unique_examples": [str(v) for v in np.asarray(adata.var_names)[renamed][:5]],
    }


def _declared_nnz(matrix_mtx_gz: Path) -> int:
    """Third number of the MatrixMarket size line."""
    with gzip.open(matrix_mtx_gz, "rt") as f:
        for line in f:
            if not line.startswith("%"):
                return int(line.split()[2])
    raise ValueError(f"{matrix_mtx_gz}: no size line")


def test_reference_summary_of_soupx_pbmc4k():
    pytest.importorskip("scanpy")
    if not (SOUPX_10X / "matrix.mtx.gz").exists():
        pytest.skip(f"shared data not found: {SOUPX_10X}")
    s = reference_10x_summary(SOUPX_10X)
    assert (s["n_obs"], s["n_vars"]) == (2170, 33694)
    assert s["nnz"] == _declared_nnz(SOUPX_10X / "matrix.mtx.gz")
    assert s["first_var"] == "RP11-34P13.3"
    # The source already made its symbols unique (R's make.unique), so nothing is renamed.
    assert s["n_made_unique"] == 0
    assert s["total"] > 0
