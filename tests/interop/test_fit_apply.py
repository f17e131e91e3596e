"""The whole extraction on the simulated test bed, end to end through the CLI:
simulate -> make-model (planted) -> export (atlas) -> fit on training donors ->
apply to held-out donors with the model deleted. The developmental structure must be
recovered on held-out donors, and the null simulation must not give it."""

import sys
from pathlib import Path

import anndata
import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from scx_interop import run_cli  # noqa: E402

TEST_DONORS = {"D07", "D08"}


def ok(*args):
    r = run_cli(*args, timeout=600)
    assert r.returncode == 0, r.stderr
    return r


def pipeline(tmp: Path, null: bool):
    tmp.mkdir()
    sim = tmp / "sim.h5ad"
    ok("simulate", "--cells", "2400", "--donors", "8", "--genes", "800", "--out", str(sim), *(["--null"] if null else []))
    ok("make-model", "--out", str(tmp / "model"), "--size", "tiny", "--plant", str(sim))
    a = anndata.read_h5ad(sim)
    test_mask = a.obs["donor"].isin(TEST_DONORS).values
    a[~test_mask].copy().write_h5ad(tmp / "train.h5ad")
    a[test_mask].copy().write_h5ad(tmp / "test.h5ad")
    ok("export", "--model", str(tmp / "model"), "--reference", str(tmp / "train.h5ad"), "--panel", "300",
       "--mode", "atlas", "--cells", "150", "--out", str(tmp / "ops.scxop"))
    fit = ok("fit", "--operator", str(tmp / "ops.scxop"), "--train", str(tmp / "train.h5ad"), "--tissue-key", "tissue",
             "--epochs", "600", "--out", str(tmp / "algo.scx"))
    for p in (tmp / "model").iterdir():  # apply must not need the model
        p.unlink()
    (tmp / "model").rmdir()
    ok("apply", "--algorithm", str(tmp / "algo.scx"), "--input", str(tmp / "test.h5ad"), "--out", str(tmp / "out.h5ad"))
    return anndata.read_h5ad(tmp / "out.h5ad"), fit, tmp


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    return pipeline(tmp_path_factory.mktemp("real") / "run", null=False)


def test_apply_writes_what_it_promises(real):
    out, fit, _ = real
    assert "readout depth" in fit.stderr and "parameters" in fit.stderr
    assert out.obsm["X_scx"].shape == (out.n_obs, 10)
    for col in ("scx_depth", "scx_recon_error", "scx_detected_fraction", "scx_p_cd4_cd8", "scx_p_mono_macro"):
        assert col in out.obs and np.isfinite(out.obs[col]).all(), col
    assert out.obs["scx_branch"].dtype == "category" and out.obs["scx_stage"].dtype == "category"
    assert ((out.obs["scx_p_cd4_cd8"] >= 0) & (out.obs["scx_p_cd4_cd8"] <= 1)).all()
    assert "scx" in out.uns and "pooled drift" in str(out.uns["scx"]["features"])
    # the input's own columns survive
    assert {"cell_type", "donor", "progress"} <= set(out.obs.columns)


def test_held_out_donors_are_placed(real):
    out, _, _ = real
    rho = abs(stats.spearmanr(out.obs["scx_depth"], out.obs["depth"])[0])
    branch = (out.obs["scx_branch"].astype(str) == out.obs["branch"].astype(str)).mean()
    print(f"held-out donors: |Spearman(depth)| {rho:.3f}, branch accuracy {branch:.3f}")
    assert rho > 0.5
    assert branch > 0.5  # 7 branches


def test_null_simulation_is_not_placed(tmp_path):
    out, _, _ = pipeline(tmp_path / "null", null=True)
    rho = abs(stats.spearmanr(out.obs["scx_depth"], out.obs["depth"])[0])
    print(f"null, held-out donors: |Spearman(depth)| {rho:.3f}")
    assert rho < 0.2


def test_apply_refuses_foreign_genes(real, tmp_path):
    out, _, run_dir = real
    foreign = out.copy()
    foreign.var_names = [f"NOT_A_GENE_{i}" for i in range(foreign.n_vars)]
    for k in list(foreign.obs.columns):
        if k.startswith("scx_"):
            del foreign.obs[k]
    foreign.write_h5ad(tmp_path / "foreign.h5ad")
    algo = run_dir / "algo.scx"
    r = run_cli("apply", "--algorithm", str(algo), "--input", str(tmp_path / "foreign.h5ad"),
                "--out", str(tmp_path / "x.h5ad"))
    assert r.returncode == 1 and "panel genes are missing" in r.stderr
    assert not (tmp_path / "x.h5ad").exists()


def test_head_scan_finds_the_planted_head(real):
    _, _, run_dir = real
    table = run_dir / "heads.tsv"
    ok("scan-heads", "--operator", str(run_dir / "ops.scxop"), "--train", str(run_dir / "train.h5ad"),
       "--tissue-key", "tissue", "--epochs", "150", "--out", str(table))
    rows = [line.split("\t") for line in table.read_text().splitlines()]
    assert rows[0][:4] == ["rank", "layer", "head", "score"]
    assert len(rows) == 1 + 3 * 8  # every head of the tiny model
    best = rows[1]
    print("head scan, best:", best)
    assert (best[1], best[2]) == ("2", "5"), "make-model planted head 2:5"


def test_numpy_alone_reproduces_apply(real):
    """The algorithm file as docs/formats.md describes it: read with the documented numpy
    reader, features -> standardiser -> adaptor in numpy give apply's latent."""
    import re

    import scanpy as sc

    out, _, run_dir = real
    text = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if b.startswith("# scx-reader"))
    namespace = {}
    exec(compile(block, "docs/formats.md#scx-reader", "exec"), namespace)
    header, arrays = namespace["read_scx"](str(run_dir / "algo.scx"))
    meta = header["metadata"]
    test = anndata.read_h5ad(run_dir / "test.h5ad")
    sc.pp.normalize_total(test, target_sum=meta["target_sum"])
    sc.pp.log1p(test)
    x = np.zeros((test.n_obs, len(meta["panel"])), dtype=np.float64)
    pos = {g: i for i, g in enumerate(test.var_names)}
    dense = test.X.toarray()
    for j, g in enumerate(meta["panel"]):
        if g in pos:
            x[:, j] = dense[:, pos[g]]
    blocks = []
    for i, b in enumerate(meta["blocks"]):
        assert b["form"] == "dense"  # the default drift operator
        blocks.append(x @ np.asarray(arrays[f"block{i}.dense"], dtype=np.float64))
    f = np.hstack(blocks)
    f = (f - arrays["feature_mean"]) / arrays["feature_sd"]
    z = (f - arrays["adaptor_b"]) @ np.asarray(arrays["adaptor_W"], dtype=np.float64).T
    np.testing.assert_allclose(z, out.obsm["X_scx"], rtol=1e-3, atol=1e-3)
    depth = next(i for i, r in enumerate(meta["readouts"]) if r["task"] == "depth")
    pred = z @ np.asarray(arrays[f"readout{depth}.W"], dtype=np.float64).T + arrays[f"readout{depth}.b"]
    np.testing.assert_allclose(pred[:, 0], out.obs["scx_depth"], rtol=1e-3, atol=1e-3)
