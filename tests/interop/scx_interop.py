"""Shared helpers for the interop tests: where things are, running the CLI, and
describing an AnnData object the way `scextract inspect --json` does.

Environment:
  SCX_BIN         the scextract executable (default: <repo>/build/scextract)
  SCX_SOURCE_DIR  the repository root (default: two folders above this file);
                  the real data is looked for in SCX_SOURCE_DIR/../shared/data
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import warnings
from pathlib import Path

REPO = Path(os.environ.get("SCX_SOURCE_DIR") or Path(__file__).resolve().parents[2]).resolve()
SCX_BIN = Path(os.environ.get("SCX_BIN") or REPO / "build" / "scextract")
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
FIXTURES = REPO / "tests" / "fixtures" / "h5ad"
TENX_FOLDER = SHARED_DATA / "soupx_pbmc4k" / "filtered_feature_bc_matrix"

SHARED_MISSING = f"real data folder {SHARED_DATA} is absent (expected at SCX_SOURCE_DIR/../shared/data)"

# Fixtures that every reader must accept, and those it must refuse (see make_h5ad_fixtures.py).
GOOD_FIXTURES = [
    "all_types",
    "x_csr_i64_f64",
    "x_csc_f32",
    "x_dense_i32",
    "x_dense_u16",
    "x_csr_u32_u64",
    "legacy_v06",
    "legacy_v06_full",
    "lzf",
    "no_x",
]
BAD_FIXTURES = ["truncated", "not_hdf5", "obs_mismatch", "zstd_unsupported"]


def shared_h5ads() -> list[Path]:
    if not SHARED_DATA.is_dir():
        return []
    return sorted(SHARED_DATA.glob("*/*.h5ad"))


def h5ad_params():
    """pytest params for every real .h5ad and every good fixture (one skipping param if the data is absent)."""
    import pytest

    params = [pytest.param(p, id=f"shared/{p.parent.name}/{p.name}") for p in shared_h5ads()]
    if not params:
        params.append(pytest.param(None, id="shared-data-absent", marks=pytest.mark.skip(reason=SHARED_MISSING)))
    params += [pytest.param(FIXTURES / f"{n}.h5ad", id=f"fixture/{n}") for n in GOOD_FIXTURES]
    return params


def run_cli(*args: str | os.PathLike, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCX_BIN), *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False
    )


@functools.lru_cache(maxsize=None)
def inspect_json(path: Path) -> dict:
    r = run_cli("inspect", path, "--json")
    assert r.returncode == 0, f"scextract inspect {path} failed ({r.returncode}): {r.stderr.strip()}"
    return json.loads(r.stdout)


def import_hdf5plugin() -> bool:
    try:
        import hdf5plugin  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=None)
def read_reference(path: Path):
    """The input as current anndata reads it (old-format warnings of legacy files are expected)."""
    import anndata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return anndata.read_h5ad(path)


def pandas_kind(dtype) -> str:
    """pandas dtype -> the column kind names scextract uses."""
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if isinstance(dtype, pd.BooleanDtype):
        return "nullable-boolean"
    if isinstance(dtype, pd.StringDtype):
        return "nullable-string"
    if pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_integer_dtype(dtype):
        return "nullable-integer"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    return "string"


def matrix_kind(m) -> tuple[str, str]:
    """(encoding, dtype) of an in-memory matrix as scextract names them."""
    import numpy as np
    import scipy.sparse as sp

    if sp.issparse(m):
        return ("csr_matrix" if m.format == "csr" else "csc_matrix", m.dtype.name)
    return ("array", np.asarray(m).dtype.name)


def make_forward_checkpoint(dest, fixture, with_cls: bool = False):
    """An scGPT checkpoint folder (model.safetensors, args.json, vocab.json) made from the
    PyTorch forward fixture in @p fixture (tests/fixtures/forward/<config>/). Gene ids
    0..n-2 are named g0, g1, ...; id n-1 is <pad>; with @p with_cls, id n-2 is <cls>."""
    import json

    import numpy as np
    from safetensors.numpy import save_file

    meta = json.loads((fixture / "meta.json").read_text())
    dest.mkdir()
    weights = {p.name.removesuffix(".npy"): np.load(p).astype(np.float32) for p in (fixture / "weights").glob("*.npy")}
    save_file(weights, str(dest / "model.safetensors"))
    (dest / "args.json").write_text(json.dumps(
        {"nlayers": meta["n_layers"], "nheads": meta["n_heads"], "embsize": meta["d_model"], "d_hid": meta["d_hid"]}))
    n = weights["encoder.embedding.weight"].shape[0]
    assert meta["pad_id"] == n - 1
    vocab = {f"g{i}": i for i in range(n - 1)}
    if with_cls:
        del vocab[f"g{n - 2}"]
        vocab["<cls>"] = n - 2
    vocab["<pad>"] = n - 1
    (dest / "vocab.json").write_text(json.dumps(vocab))
    return dest
