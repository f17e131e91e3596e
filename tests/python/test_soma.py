"""scextract.soma.apply on a TileDB-SOMA experiment written from the query: the same bits as
scx.apply on the h5ad, for two block sizes, in-process and on a two-worker LocalCluster."""

from __future__ import annotations

import anndata
import pytest

import scextract as scx

tiledbsoma = pytest.importorskip("tiledbsoma")
import tiledbsoma.io  # noqa: E402

import scextract.soma as scx_soma  # noqa: E402
from test_apply import assert_same_outputs  # noqa: E402


@pytest.fixture(scope="module")
def experiment(bed, tmp_path_factory):
    uri = str(tmp_path_factory.mktemp("soma") / "query_soma")
    q = anndata.read_h5ad(bed["query"])
    tiledbsoma.io.from_anndata(uri, q, measurement_name="RNA")
    whole = anndata.read_h5ad(bed["query"])
    scx.apply(whole, bed["algorithm"])
    return uri, whole


@pytest.mark.parametrize("rows_per_block", [256, 100000])
def test_soma_blocks_give_the_same_bits(bed, experiment, rows_per_block):
    uri, whole = experiment
    placed = scx_soma.apply(uri, bed["algorithm"], X_name="data", gene_column=None, rows_per_block=rows_per_block)
    assert placed.n_obs == whole.n_obs
    assert_same_outputs(placed, whole)


def test_soma_on_a_cluster_with_a_filter(bed, experiment):
    distributed = pytest.importorskip("distributed")
    uri, whole = experiment
    donor = whole.obs["donor"].astype(str).iloc[0]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            placed = scx_soma.apply(uri, bed["algorithm"], X_name="data", gene_column=None, rows_per_block=256,
                                    obs_value_filter=f"donor == '{donor}'", client=client)
    q = anndata.read_h5ad(bed["query"])
    mine = q[q.obs["donor"].astype(str) == donor].copy()
    scx.apply(mine, bed["algorithm"])  # the same cells placed in one piece
    assert placed.n_obs == mine.n_obs > 0
    assert_same_outputs(placed, mine)
