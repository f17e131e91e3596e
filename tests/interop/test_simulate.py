"""`scextract simulate` output as scanpy users meet it: anndata opens it, scanpy's
normalisation and PCA run on it, the truth columns are there, and the seed fixes it."""

import sys
from pathlib import Path

import anndata
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from scx_interop import run_cli  # noqa: E402


def simulate(tmp_path, name, *extra):
    out = tmp_path / name
    r = run_cli("simulate", "--cells", "600", "--donors", "3", "--genes", "800", "--out", str(out), *extra)
    assert r.returncode == 0, r.stderr
    return out, r


def test_scanpy_opens_and_uses_it(tmp_path):
    import scanpy as sc

    path, r = simulate(tmp_path, "sim.h5ad")
    assert "wrote" in r.stderr
    a = anndata.read_h5ad(path)
    assert a.shape == (600, 800)
    for col in ("cell_type", "stage", "branch", "donor", "tissue", "edge_parent", "edge_child"):
        assert a.obs[col].dtype == "category", col
    assert a.obs["depth"].dtype.kind == "i" and a.obs["progress"].dtype.kind == "f"
    assert set(a.obs["donor"].cat.categories) == {"D01", "D02", "D03"}
    assert set(a.obs["tissue"].cat.categories) == {"bone_marrow", "blood"}
    # the truth is consistent: depth is the stage's, progress within one step of the edge's parent
    assert (a.obs["progress"] >= 0).all() and (a.obs["progress"] < a.obs["depth"].max() + 1).all()
    x = a.X
    assert np.allclose(x.data, np.round(x.data)) and x.data.min() >= 1  # raw counts
    programs = a.uns["scx_sim"]["programs"]
    assert "CD34" in list(programs["stage:HSC"])
    assert set(a.var["gene_role"].cat.categories) >= {"marker", "housekeeping", "uninformative"}
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    sc.pp.pca(a, n_comps=10)
    assert a.obsm["X_pca"].shape == (600, 10)


def test_seed_fixes_everything(tmp_path):
    a1 = anndata.read_h5ad(simulate(tmp_path, "a.h5ad")[0])
    a2 = anndata.read_h5ad(simulate(tmp_path, "b.h5ad", "--threads", "1", "--block-size", "97")[0])
    a3 = anndata.read_h5ad(simulate(tmp_path, "c.h5ad", "--seed", "9")[0])
    assert (a1.X != a2.X).nnz == 0
    assert a1.obs.equals(a2.obs) and list(a1.var_names) == list(a2.var_names)
    assert list(a1.var_names) != list(a3.var_names) or (a1.X != a3.X).nnz > 0


def test_null_keeps_labels_and_donors(tmp_path):
    a = anndata.read_h5ad(simulate(tmp_path, "null.h5ad", "--null")[0])
    b = anndata.read_h5ad(simulate(tmp_path, "real.h5ad")[0])
    assert bool(a.uns["scx_sim"]["null_model"]) and not bool(b.uns["scx_sim"]["null_model"])
    # placement (labels, donors, tissues) is the same draw; only expression differs
    assert a.obs["stage"].equals(b.obs["stage"]) and a.obs["donor"].equals(b.obs["donor"])
    assert (a.X != b.X).nnz > 0


@pytest.mark.parametrize("args, message", [
    (["--ruler", "/nonexistent/ruler.json"], "ruler.json"),
    (["--vocab", "/nonexistent/vocab.json"], "vocab.json"),
    (["--genes", "50"], "need at least"),
])
def test_bad_requests_fail_cleanly(tmp_path, args, message):
    out = tmp_path / "x.h5ad"
    r = run_cli("simulate", "--cells", "10", "--out", str(out), *args)
    assert r.returncode == 1, r.stderr
    assert message in r.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
