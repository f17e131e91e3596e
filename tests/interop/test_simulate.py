"""`scextract simulate` output as scanpy users meet it: anndata opens it, scanpy's
normalisation and PCA run on it, the truth columns are there, and the seed fixes it."""

import json
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


REF = Path(__file__).resolve().parents[2] / "data" / "pbmc68k_reduced.h5ad"
TRIANA = Path(__file__).resolve().parents[2] / "data" / "triana2021_hspc.h5ad"  # 250 cells


def test_calibrated_bed_scanpy_opens_and_rebuilds_from_its_file(tmp_path):
    """--calibrate on the bundled PBMC file: the bed holds the reference's genes that the
    vocabulary knows, its library sizes, and is rebuilt bit for bit from the calibration
    file alone; a new --seed over a fixed --design-seed keeps every gene."""
    import scanpy as sc

    out = tmp_path / "cal.h5ad"
    r = run_cli("simulate", "--calibrate", REF, "--min-cells", "500", "--cells", "800", "--donors", "4",
                "--design-seed", "3", "--out", out)
    assert r.returncode == 0, r.stderr
    cal_file = tmp_path / "cal.calibration.json"
    cal = json.loads(cal_file.read_text())
    assert cal["format"] == "scextract-calibration" and cal["n_cells"] == 700
    a = anndata.read_h5ad(out)
    ref = anndata.read_h5ad(REF)
    assert set(a.var_names) <= set(ref.var_names) and a.n_vars > 0.8 * ref.n_vars
    assert a.uns["scx_sim"]["calibration"]["source"] == "pbmc68k_reduced.h5ad"
    ref_median = np.median(np.asarray(ref.X.sum(axis=1)).ravel())
    sim_median = np.median(np.asarray(a.X.sum(axis=1)).ravel())
    assert 0.6 < sim_median / ref_median < 1.2, (sim_median, ref_median)
    again = tmp_path / "again.h5ad"
    r = run_cli("simulate", "--calibration", cal_file, "--cells", "800", "--donors", "4", "--design-seed", "3",
                "--out", again)
    assert r.returncode == 0, r.stderr
    b = anndata.read_h5ad(again)
    assert (a.X != b.X).nnz == 0 and list(a.obs["cell_type"]) == list(b.obs["cell_type"])
    other = tmp_path / "other.h5ad"
    r = run_cli("simulate", "--calibration", cal_file, "--cells", "300", "--donors", "2", "--design-seed", "3",
                "--seed", "11", "--out", other)
    assert r.returncode == 0, r.stderr
    c = anndata.read_h5ad(other)
    assert list(c.var_names) == list(a.var_names)
    assert set(c.obs["donor"].cat.categories).isdisjoint(set(a.obs["donor"].cat.categories))
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    sc.pp.pca(a, n_comps=5)


def test_calibrate_refuses_what_it_cannot_use(tmp_path):
    ref = anndata.read_h5ad(REF)
    lognorm = ref.copy()
    lognorm.X = lognorm.X.copy()
    lognorm.X.data = np.log1p(lognorm.X.data / 3.0)
    bad = tmp_path / "lognorm.h5ad"
    lognorm.write_h5ad(bad)
    for args, needle in [
        (("--calibrate", bad, "--min-cells", "500"), "raw counts"),
        (("--calibrate", TRIANA), "--min-cells"),
        (("--calibrate", REF, "--min-cells", "500", "--label-key", "nope"), "obs has no column 'nope'"),
    ]:
        out = tmp_path / "x.h5ad"
        r = run_cli("simulate", *args, "--out", out)
        assert r.returncode != 0, args
        assert needle in r.stderr, r.stderr
        assert not out.exists() and not (tmp_path / "x.calibration.json").exists()


def test_compare_writes_table_json_and_figure(tmp_path):
    sim, _ = simulate(tmp_path, "sim.h5ad")
    out = tmp_path / "realism"
    r = run_cli("simulate", "--compare", sim, REF, "--donor-key", "donor", "--out", out)
    assert r.returncode == 0, r.stderr
    rows = (out / "realism.tsv").read_text().splitlines()
    assert rows[0].startswith("statistic\tdistance\tvalue")
    names = [row.split("\t")[0] for row in rows[1:]]
    assert names == ["library_size", "detected_genes", "zero_fraction_vs_mean", "mean_variance", "donor_effect",
                     "marker_detection"]
    j = json.loads((out / "realism.json").read_text())
    assert 0 <= j["statistics"]["library_size"]["value"] <= 1
    assert (out / "realism.svg").read_text().count("<svg") == 1
