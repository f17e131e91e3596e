"""scextract.dask.apply on a LocalCluster of two worker processes: the same bits as the
single-process apply (and so as the CLI) for three different shardings of the cells."""

from __future__ import annotations

import anndata
import numpy as np
import pytest

import scextract as scx

distributed = pytest.importorskip("distributed")
import scextract.dask as scx_dask  # noqa: E402

from test_apply import assert_same_outputs  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def bigger_query(bed):
    """The query stacked to ~1,300 cells, so every sharding below has several blocks."""
    q = anndata.read_h5ad(bed["query"])
    big = anndata.concat([q] * 3, index_unique="-")
    path = bed["dir"] / "query_x3.h5ad"
    big.write_h5ad(path)
    whole = anndata.read_h5ad(path)
    scx.apply(whole, bed["algorithm"])
    return path, whole


@pytest.mark.parametrize("rows_per_block", [256, 333, 1000])
def test_sharding_does_not_change_a_bit(client, bed, bigger_query, rows_per_block):
    path, whole = bigger_query
    placed = scx_dask.apply(path, bed["algorithm"], client=client, rows_per_block=rows_per_block)
    assert list(placed.obs_names) == list(whole.obs_names)
    assert_same_outputs(placed, whole)
    nblocks = -(-whole.n_obs // scx_dask._aligned_chunks(whole.n_obs, rows_per_block)[0])
    assert nblocks >= 2


def test_a_lazy_anndata_from_read_lazy(client, bed, bigger_query):
    import h5py

    path, whole = bigger_query
    with h5py.File(path, "r") as f:
        lazy = anndata.AnnData(X=anndata.experimental.read_elem_lazy(f["X"], chunks=(500, whole.n_vars)),
                               obs=anndata.io.read_elem(f["obs"]), var=anndata.io.read_elem(f["var"]))
        placed = scx_dask.apply(lazy, bed["algorithm"], client=client, rows_per_block=500)
    assert_same_outputs(placed, whole)


def test_in_memory_data_is_pointed_to_scx_apply(bed):
    adata = anndata.read_h5ad(bed["query"])
    with pytest.raises(TypeError, match="scextract.apply"):
        scx_dask.apply(adata, bed["algorithm"])


def test_a_missing_algorithm_fails_before_any_task(client, bed, tmp_path):
    with pytest.raises(scx.Error, match="nope.scx"):
        scx_dask.apply(bed["query"], tmp_path / "nope.scx", client=client)
