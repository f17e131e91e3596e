"""Hostile HDF5 and text inputs through the CLI (issue 23, items 1 and 2): `convert` exits 1
with one line naming the input, and leaves no output (nor a hidden temp file) behind.
Every input is made here with h5py, numpy and gzip."""

from __future__ import annotations

import gzip

import h5py
import numpy as np
import pytest

from scx_interop import run_cli


def small_h5ad(path):
    with h5py.File(path, "w") as f:
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
        for name, index in (("obs", ["c0", "c1", "c2"]), ("var", ["g0", "g1"])):
            g = f.create_group(name)
            g.attrs.update({"encoding-type": "dataframe", "encoding-version": "0.2.0", "_index": "_index"})
            g.attrs["column-order"] = np.array([], dtype="float64")
            g.create_dataset("_index", data=np.array(index, dtype=object), dtype=h5py.string_dtype())
        x = f.create_dataset("X", data=np.arange(6, dtype="float32").reshape(3, 2))
        x.attrs.update({"encoding-type": "array", "encoding-version": "0.2.0"})
        uns = f.create_group("uns")
        uns.attrs.update({"encoding-type": "dict", "encoding-version": "0.1.0"})


def hard_link_cycle(path):
    small_h5ad(path)
    with h5py.File(path, "a") as f:
        f["uns/a/b"] = 1.0
        f["uns/a/loop"] = f["uns/a"]  # a hard link back to its parent
    return "hard-link cycle"


def deep_nesting(path):
    small_h5ad(path)
    with h5py.File(path, "a") as f:
        f.create_group("uns/" + "/".join(["d"] * 5000))
    return "groups nested more than 64 deep"


def huge_dense_x(path):
    small_h5ad(path)
    n = 100_000
    with h5py.File(path, "a") as f:
        for name in ("obs", "var"):
            del f[f"{name}/_index"]
            f[name].create_dataset("_index", shape=(n,), dtype="int64", data=np.arange(n))
        del f["X"]
        f.create_dataset("X", shape=(n, n), dtype="float64", chunks=(1, 4096), compression="gzip")  # nothing written
    return "/X: declares 80.0 GB but stores"


def heap_size_flip(path):
    small_h5ad(path)
    data = bytearray(path.read_bytes())
    gcol = data.find(b"GCOL")
    data[gcol + 8] ^= 0x40  # collection size: libhdf5 1.10 SIGSEGVs in H5HG_read
    path.write_bytes(bytes(data))
    return "runs past its collection"


@pytest.mark.parametrize("make", [hard_link_cycle, deep_nesting, huge_dense_x, heap_size_flip])
def test_convert_refuses_hostile_h5ad(tmp_path, make):
    src = tmp_path / "in.h5ad"
    fragment = make(src)
    before = src.read_bytes()
    out = tmp_path / "out.h5ad"
    r = run_cli("convert", src, out, timeout=60)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(src) in lines[0] and fragment in lines[0], r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.h5ad"]  # no output, no temp file
    assert src.read_bytes() == before


def test_convert_refuses_csv_with_a_huge_gzip_line(tmp_path):
    src = tmp_path / "counts.csv.gz"
    with gzip.open(src, "wb", compresslevel=9) as f:
        f.write(b"," + b"x" * (32 << 20) + b"\n")
    assert src.stat().st_size < 100_000
    out = tmp_path / "out.h5ad"
    r = run_cli("convert", src, out, timeout=60)
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip() == f"scextract: error: {src}: line 1 is longer than 16 MiB (damaged file, or not a text table?)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts.csv.gz"]
