"""`scextract pseudotime` output opens in anndata without a warning, keeps the input, and
holds scanpy's / palantir's names: obs['dpt_pseudotime'] and uns['iroot'] (dpt);
obs['palantir_pseudotime'], obs['palantir_entropy'], obsm['palantir_fate_probabilities'] and
uns['palantir_fate_probabilities_columns'] (palantir). DPT is compared with scanpy on the same
file (Spearman >= 0.99, the anchors' rule). Errors exit 1 with one line and no output.
Skips without the shared data (scanpy's pbmc68k_reduced, BSD-3-Clause).
"""

from __future__ import annotations

import warnings

import pytest

from scx_interop import SHARED_DATA, SHARED_MISSING, run_cli

anndata = pytest.importorskip(
    "anndata", reason="anndata is not importable: the interop tests need the project venv", exc_type=ImportError
)
sc = pytest.importorskip("scanpy", reason="scanpy is not importable", exc_type=ImportError)
np = pytest.importorskip("numpy")
stats = pytest.importorskip("scipy.stats")

DATA = SHARED_DATA / "scanpy_pbmc68k_reduced" / "scanpy_pbmc68k_reduced.h5ad"
pytestmark = pytest.mark.skipif(not DATA.is_file(), reason=SHARED_MISSING)


def read_clean(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return anndata.read_h5ad(path)


def test_dpt_opens_in_anndata_and_matches_scanpy(tmp_path):
    out = tmp_path / "dpt.h5ad"
    r = run_cli("--threads", "2", "pseudotime", "--method", "dpt", "--input", DATA, "--use-rep", "X_pca",
                "--root-label", "CD34+", "--label-key", "cell_type", "--out", out)
    assert r.returncode == 0, r.stderr
    ours, base = read_clean(out), anndata.read_h5ad(DATA)
    assert list(ours.obs_names) == list(base.obs_names)
    assert list(ours.obs.columns) == list(base.obs.columns) + ["dpt_pseudotime"]
    assert set(ours.obsm) == set(base.obsm)
    assert (ours.X != base.X).nnz == 0
    root = int(ours.uns["iroot"])
    assert ours.obs["cell_type"].iloc[root] == "CD34+"
    assert ours.uns["scx_pseudotime"]["method"] == "dpt"
    sc.pp.neighbors(base, n_neighbors=15, use_rep="X_pca")
    sc.tl.diffmap(base)
    base.uns["iroot"] = root
    sc.tl.dpt(base, n_dcs=10)
    a, b = ours.obs["dpt_pseudotime"].to_numpy(), base.obs["dpt_pseudotime"].to_numpy()
    assert np.array_equal(np.isfinite(a), np.isfinite(b))
    fin = np.isfinite(a)
    assert stats.spearmanr(a[fin], b[fin])[0] >= 0.99


def test_palantir_opens_in_anndata_with_palantir_names(tmp_path):
    out = tmp_path / "palantir.h5ad"
    r = run_cli("--threads", "2", "pseudotime", "--method", "palantir", "--input", DATA, "--use-rep", "X_pca",
                "--root-label", "CD34+", "--label-key", "cell_type", "--out", out)
    assert r.returncode == 0, r.stderr
    ours = read_clean(out)
    pt = ours.obs["palantir_pseudotime"].to_numpy()
    assert pt.dtype == np.float64 and np.isfinite(pt).all() and pt.min() == 0.0 and pt.max() == 1.0
    ent = ours.obs["palantir_entropy"].to_numpy()
    fates = np.asarray(ours.obsm["palantir_fate_probabilities"])
    names = list(ours.uns["palantir_fate_probabilities_columns"])
    assert fates.shape == (ours.n_obs, len(names)) and len(names) >= 1
    assert names == sorted(names) and set(names) <= set(ours.obs_names)
    # palantir zeroes probabilities below 0.01 after the entropy: rows sum to at most 1
    assert (fates >= 0).all() and (fates.sum(1) <= 1 + 1e-5).all() and (fates.sum(1) >= 1 - 0.01 * len(names)).all()
    assert len(ours.uns["palantir_waypoints"]) >= len(names)
    assert np.isfinite(ent).all() and (ent >= -1e-12).all()


def test_errors_exit_1_with_one_line_and_no_output(tmp_path):
    out = tmp_path / "never.h5ad"
    for extra, needle in [
        (["--root", "no-such-cell"], "no-such-cell"),
        (["--root-label", "Megakaryocyte", "--label-key", "cell_type"], "Megakaryocyte"),
        (["--root-label", "CD34+", "--label-key", "cell_type", "--use-rep", "X_scvi"], "X_scvi"),
    ]:
        r = run_cli("pseudotime", "--method", "dpt", "--input", DATA, "--out", out, *extra)
        assert r.returncode == 1, (extra, r.stderr)
        assert r.stderr.count("\n") == 1 and str(DATA) in r.stderr and needle in r.stderr, r.stderr
        assert not out.exists() and not any(tmp_path.iterdir())
    r = run_cli("pseudotime", "--input", DATA, "--out", DATA, "--root", "x")
    assert r.returncode != 0 and DATA.is_file()
