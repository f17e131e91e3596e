"""scx.apply and scx.apply_file against `scextract apply`: the same bits, whatever the
matrix type, chunk size or thread count; bad arrays refused with a TypeError."""

from __future__ import annotations

import threading
import time

import anndata
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import scextract as scx
from conftest import cli_error, ok, run_cli


def scx_columns(adata) -> list[str]:
    return [c for c in adata.obs.columns if c.startswith("scx_")]


def assert_same_outputs(a, b):
    assert a.obsm["X_scx"].dtype == b.obsm["X_scx"].dtype == np.float32
    np.testing.assert_array_equal(a.obsm["X_scx"], b.obsm["X_scx"])
    assert scx_columns(a) == scx_columns(b)
    for c in scx_columns(a):
        x, y = a.obs[c], b.obs[c]
        assert x.dtype == y.dtype, c
        if isinstance(x.dtype, pd.CategoricalDtype):
            assert list(x.cat.categories) == list(y.cat.categories), c
            np.testing.assert_array_equal(x.cat.codes.values, y.cat.codes.values)
        else:
            np.testing.assert_array_equal(x.values, y.values)


@pytest.fixture(scope="module")
def cli_out(bed):
    out = bed["dir"] / "cli_out.h5ad"
    ok("apply", "--algorithm", bed["algorithm"], "--input", bed["query"], "--out", out)
    return anndata.read_h5ad(out)


def test_apply_in_memory_is_bit_identical_to_the_cli(bed, cli_out):
    adata = anndata.read_h5ad(bed["query"])
    assert sp.isspmatrix_csr(adata.X) or isinstance(adata.X, sp.csr_array)
    before = adata.X.data.copy()
    assert scx.apply(adata, str(bed["algorithm"])) is None
    assert_same_outputs(adata, cli_out)
    # uns['scx'] is the CLI's, key for key
    for k, v in cli_out.uns["scx"].items():
        assert adata.uns["scx"][k] == v, k
    np.testing.assert_array_equal(adata.X.data, before)  # the input is read, never written


@pytest.mark.parametrize("chunk_size,threads", [(1, 1), (300, 2), (100000, 1)])
def test_chunk_size_and_threads_do_not_change_a_bit(bed, cli_out, chunk_size, threads):
    adata = anndata.read_h5ad(bed["query"])
    scx.apply(adata, bed["algorithm"], chunk_size=chunk_size, threads=threads)
    assert_same_outputs(adata, cli_out)


@pytest.mark.parametrize("kind", ["dense-C", "dense-F", "dense-int64", "csr-int64-indices", "csr-float64", "csr-int32-data"])
def test_matrix_types_are_read_in_place_with_the_same_result(bed, cli_out, kind):
    adata = anndata.read_h5ad(bed["query"])
    X = adata.X
    if kind == "dense-C":
        adata.X = np.ascontiguousarray(X.toarray())
    elif kind == "dense-F":
        adata.X = np.asfortranarray(X.toarray())
    elif kind == "dense-int64":
        adata.X = X.toarray().astype(np.int64)
    elif kind == "csr-int64-indices":
        X = X.copy()
        X.indices = X.indices.astype(np.int64)
        X.indptr = X.indptr.astype(np.int64)
        adata.X = X
    elif kind == "csr-float64":
        adata.X = X.astype(np.float64)
    else:
        adata.X = X.astype(np.int32)
    scx.apply(adata, bed["algorithm"])
    assert_same_outputs(adata, cli_out)


def test_a_layer_and_a_copy(bed, cli_out):
    adata = anndata.read_h5ad(bed["query"])
    adata.layers["counts"] = adata.X.copy()
    adata.X = sp.csr_matrix(np.log1p(adata.X.toarray()))
    out = scx.apply(adata, bed["algorithm"], layer="counts", copy=True)
    assert "X_scx" not in adata.obsm  # copy=True leaves the input alone
    assert_same_outputs(out, cli_out)
    assert out.uns["scx"]["matrix"] == "layers/counts"


def test_bad_arrays_are_refused_with_what_to_pass(bed):
    algo = scx.read_algorithm(bed["algorithm"])
    adata = anndata.read_h5ad(bed["query"])
    csc = adata.copy()
    csc.X = adata.X.tocsc()
    with pytest.raises(TypeError, match=r"CSC.*tocsr"):
        scx.apply(csc, algo)
    f16 = adata.copy()
    f16.X = adata.X.toarray().astype(np.float16)
    with pytest.raises(TypeError, match=r"float16.*astype\(numpy.float32\)"):
        scx.apply(f16, algo)
    with pytest.raises(TypeError, match="scipy.sparse CSR matrix or a numpy array"):
        scx._apply_arrays(algo, adata.X.toarray().tolist(), list(adata.var_names), source="X", algorithm_path="", max_missing=0.5,
                          chunk_size=100, exact_features=False, threads=1)
    broken = adata.X.copy()
    broken.indices[0] = adata.n_vars + 5  # out of range: refused, not read out of bounds
    with pytest.raises(scx.Error, match="column index"):
        scx._apply_arrays(algo, broken, list(adata.var_names), source="X", algorithm_path="", max_missing=0.5,
                          chunk_size=100, exact_features=False, threads=1)


def test_values_that_are_not_counts_are_refused_like_the_cli(bed, tmp_path):
    adata = anndata.read_h5ad(bed["query"])
    adata.X = sp.csr_matrix(np.log1p(adata.X.toarray()).astype(np.float32))
    with pytest.raises(scx.Error, match="raw counts|not counts|non-integer"):
        scx.apply(adata, bed["algorithm"])
    adata.write_h5ad(tmp_path / "log.h5ad")
    r = run_cli("apply", "--algorithm", bed["algorithm"], "--input", tmp_path / "log.h5ad", "--out", tmp_path / "o.h5ad")
    assert r.returncode == 1
    with pytest.raises(scx.Error) as e:
        scx.apply_file(bed["algorithm"], tmp_path / "log.h5ad", tmp_path / "o2.h5ad")
    assert cli_error(r) == str(e.value)  # the same one-line message
    assert not (tmp_path / "o2.h5ad").exists()


def test_a_damaged_algorithm_file_gives_the_cli_message(bed, tmp_path):
    bad = tmp_path / "bad.scx"
    data = bytearray(bed["algorithm"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    r = run_cli("inspect", bad)
    with pytest.raises(scx.Error) as e:
        scx.read_algorithm(bad)
    assert str(e.value) in r.stderr
    assert str(bad) in str(e.value)


def test_apply_file_is_the_cli(bed, cli_out, tmp_path):
    info = scx.apply_file(bed["algorithm"], bed["query"], tmp_path / "py.h5ad", threads=1)
    assert info["streamed"] and info["cells"] == cli_out.n_obs
    assert info["ood"].startswith("out of distribution") and info["ood_fraction"] == pytest.approx(
        float(cli_out.uns["scx"]["ood"]["fraction"]))
    assert_same_outputs(anndata.read_h5ad(tmp_path / "py.h5ad"), cli_out)
    with pytest.raises(scx.Error, match="overwrite|same file|input"):
        scx.apply_file(bed["algorithm"], bed["query"], bed["query"])


def test_the_gil_is_released_while_computing(bed):
    adata = anndata.read_h5ad(bed["query"])
    big = anndata.AnnData(X=sp.vstack([adata.X] * 20).tocsr(), var=adata.var)
    algo = scx.read_algorithm(bed["algorithm"])
    done = threading.Event()
    ticks = 0

    def work():
        scx.apply(big, algo, threads=1, exact_features=True)
        done.set()

    t = threading.Thread(target=work)
    start = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    seconds = time.perf_counter() - start
    # with the GIL held for the whole call this loop would be starved for all of it
    assert seconds < 0.05 or ticks > 0.3 * seconds / 0.0011, (ticks, seconds)


def test_the_extension_refuses_what_it_cannot_view(bed):
    """The C++ entry points check every array before reading it: wrong dtypes, strides,
    lengths and symbol counts are exceptions, never a crash."""
    from scextract import _scextract

    algo = scx.read_algorithm(bed["algorithm"])
    X = anndata.read_h5ad(bed["query"]).X
    n, m = X.shape
    symbols = scx.gene_symbols(anndata.read_h5ad(bed["query"]))
    doubled = np.repeat(X.data, 2)[::2]  # a strided view: not contiguous
    with pytest.raises(TypeError, match="contiguous"):
        _scextract.apply_csr(algo, doubled, X.indices, X.indptr, n, m, symbols)
    with pytest.raises(TypeError, match="int32 or int64"):
        _scextract.apply_csr(algo, X.data, X.indices.astype(np.int16), X.indptr, n, m, symbols)
    with pytest.raises(TypeError, match="int8"):
        _scextract.apply_csr(algo, X.data.astype(np.int8), X.indices, X.indptr, n, m, symbols)
    with pytest.raises(scx.Error, match="indptr has"):
        _scextract.apply_csr(algo, X.data, X.indices, X.indptr[:-1], n, m, symbols)
    with pytest.raises(scx.Error, match="indptr ends at"):
        _scextract.apply_csr(algo, X.data[:-1], X.indices[:-1], X.indptr, n, m, symbols)
    with pytest.raises(scx.Error, match="gene symbols"):
        _scextract.apply_csr(algo, X.data, X.indices, X.indptr, n, m, symbols[:-1])
    bad_indptr = X.indptr.copy()
    bad_indptr[5] = bad_indptr[6] + 3  # not monotone
    with pytest.raises(scx.Error, match="monotone"):
        _scextract.apply_csr(algo, X.data, X.indices, bad_indptr, n, m, symbols)
    with pytest.raises(TypeError, match="2-D"):
        _scextract.apply_dense(algo, X.toarray().ravel(), symbols)
