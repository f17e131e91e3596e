"""The whole extraction on the simulated test bed, end to end through the CLI:
simulate -> make-model (planted) -> export (atlas) -> fit on training donors ->
apply to held-out donors with the model deleted. The developmental structure must be
recovered on held-out donors, and the null simulation must not give it."""

import json
import sys
from pathlib import Path

import anndata
import numpy as np
import scipy.sparse as sp
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


def test_apply_flags_out_of_distribution_cells(real, tmp_path):
    """issue 19: obs['scx_ood'] (numpy bool) and uns['scx']['ood'] as anndata reads them; few
    held-out cells of the same simulation are flagged, most cells of the same file with its
    gene names shuffled are, with a warning."""
    out, _, run_dir = real
    assert out.obs["scx_ood"].dtype == bool
    ood = out.uns["scx"]["ood"]
    assert bool(ood["available"]) and not bool(ood["warned"])
    assert int(ood["out_of_distribution"]) == int(out.obs["scx_ood"].sum())
    assert float(ood["fraction"]) == pytest.approx(out.obs["scx_ood"].mean())
    flagged = (out.obs["scx_recon_error"] > float(ood["reconstruction_error_p99"])) | (
        out.obs["scx_detected_fraction"] < float(ood["detected_fraction_p1"]))
    assert (flagged.values == out.obs["scx_ood"].values).all()
    print(f"held-out donors: OOD fraction {float(ood['fraction']):.3f}")
    assert float(ood["fraction"]) < 0.10

    shuffled = anndata.read_h5ad(run_dir / "test.h5ad")
    shuffled.var_names = np.random.default_rng(0).permutation(shuffled.var_names.values)
    shuffled.write_h5ad(tmp_path / "shuffled.h5ad")
    r = ok("apply", "--algorithm", str(run_dir / "algo.scx"), "--input", str(tmp_path / "shuffled.h5ad"),
           "--out", str(tmp_path / "shuffled_out.h5ad"))
    assert "out of distribution" in r.stderr and "warning" in r.stderr.lower(), r.stderr
    bad = anndata.read_h5ad(tmp_path / "shuffled_out.h5ad")
    print(f"shuffled genes: OOD fraction {bad.obs['scx_ood'].mean():.3f}")
    assert bad.obs["scx_ood"].mean() > 0.5 and bool(bad.uns["scx"]["ood"]["warned"])

    info = run_cli("inspect", str(run_dir / "algo.scx"))
    assert info.returncode == 0 and "out-of-distribution bounds: reconstruction error >" in info.stdout, info.stdout


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


def numpy_apply(algo: Path, cells: Path):
    """apply's latent and depth from the algorithm file as docs/formats.md describes it: read
    with the documented numpy reader; features (dense, low-rank or sparse-factor blocks) ->
    standardiser -> adaptor -> depth readout, all in numpy."""
    import re

    import scanpy as sc

    text = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if b.startswith("# scx-reader"))
    namespace = {}
    exec(compile(block, "docs/formats.md#scx-reader", "exec"), namespace)
    header, arrays = namespace["read_scx"](str(algo))
    meta = header["metadata"]
    test = anndata.read_h5ad(cells)
    sc.pp.normalize_total(test, target_sum=meta["target_sum"])
    sc.pp.log1p(test)
    x = np.zeros((test.n_obs, len(meta["panel"])), dtype=np.float64)
    pos = {g: i for i, g in enumerate(test.var_names)}
    dense = test.X.toarray()
    for j, g in enumerate(meta["panel"]):
        if g in pos:
            x[:, j] = dense[:, pos[g]]
    blocks, forms = [], []
    for i, b in enumerate(meta["blocks"]):
        forms.append(b["form"])
        a = lambda name: np.asarray(arrays[f"block{i}.{name}"], dtype=np.float64)  # noqa: E731
        if b["form"] == "dense":
            blocks.append(x @ a("dense"))
        elif b["form"] == "low_rank":
            blocks.append((x @ a("left")) @ a("right"))
        else:
            assert b["form"] == "sparse_factors"
            layout, scales = arrays[f"block{i}.layout"], a("scales")
            genes, weights = arrays[f"block{i}.genes"], a("weights")
            f = np.zeros_like(x)
            at = 0
            for (n_read, n_write), scale in zip(layout, scales):
                read_genes, read_weights = genes[at : at + n_read], weights[at : at + n_read]
                write_genes = genes[at + n_read : at + n_read + n_write]
                write_weights = weights[at + n_read : at + n_read + n_write]
                at += n_read + n_write
                s = scale * (x[:, read_genes] @ read_weights)
                f[:, write_genes] += s[:, None] * write_weights[None, :]
            blocks.append(f)
    f = np.hstack(blocks)
    f = (f - arrays["feature_mean"]) / arrays["feature_sd"]
    z = (f - arrays["adaptor_b"]) @ np.asarray(arrays["adaptor_W"], dtype=np.float64).T
    depth = next(i for i, r in enumerate(meta["readouts"]) if r["task"] == "depth")
    pred = z @ np.asarray(arrays[f"readout{depth}.W"], dtype=np.float64).T + arrays[f"readout{depth}.b"]
    return z, pred[:, 0], forms


def test_numpy_alone_reproduces_apply(real):
    """The default (dense drift) algorithm applied in numpy alone gives apply's latent and depth."""
    out, _, run_dir = real
    z, depth, forms = numpy_apply(run_dir / "algo.scx", run_dir / "test.h5ad")
    assert set(forms) == {"dense"}  # the default drift operator
    np.testing.assert_allclose(z, out.obsm["X_scx"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(depth, out.obs["scx_depth"], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(
    "features, form",
    [
        (["--features", "rank", "--rank", "16"], "low_rank"),
        (["--features", "sparse", "--factors", "16", "--top-genes", "40"], "sparse_factors"),
    ],
    ids=["rank16", "sparse16"],
)
def test_numpy_alone_reproduces_compressed_apply(real, tmp_path, features, form):
    """The compressed operators of `scextract compress` (rank-r SVD, hard-sparse factors) of the
    planted head, fitted and applied: numpy alone reproduces apply from the file."""
    _, _, run_dir = real
    algo = tmp_path / "algo.scx"
    ok("fit", "--operator", str(run_dir / "ops.scxop"), "--train", str(run_dir / "train.h5ad"), "--tissue-key", "tissue",
       "--epochs", "150", "--head", "2:5", *features, "--out", str(algo))
    ok("apply", "--algorithm", str(algo), "--input", str(run_dir / "test.h5ad"), "--out", str(tmp_path / "out.h5ad"))
    out = anndata.read_h5ad(tmp_path / "out.h5ad")
    z, depth, forms = numpy_apply(algo, run_dir / "test.h5ad")
    assert forms == [form]
    np.testing.assert_allclose(z, out.obsm["X_scx"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(depth, out.obs["scx_depth"], rtol=1e-3, atol=1e-3)


def test_streamed_apply_equals_in_memory_apply(real, tmp_path):
    """An h5ad input streams (any --chunk-size gives the same bits); a CSV input of the same
    cells takes the in-memory path. Same outputs, and the streamed file opens in anndata with
    the input's own columns intact."""
    import pandas as pd

    out, _, run_dir = real
    algo, cells = run_dir / "algo.scx", run_dir / "test.h5ad"
    small = tmp_path / "small.h5ad"
    r = ok("apply", "--algorithm", str(algo), "--input", str(cells), "--out", str(small), "--chunk-size", "7")
    assert "(streamed)" in r.stderr
    huge = tmp_path / "huge.h5ad"
    ok("apply", "--algorithm", str(algo), "--input", str(cells), "--out", str(huge), "--chunk-size", "100000000")
    t = anndata.read_h5ad(cells)
    assert t.n_obs > 2 * 256  # several chunks at --chunk-size 7 (rounded up to 256)
    csv = tmp_path / "cells.csv"
    pd.DataFrame(t.X.toarray().astype(np.int64), index=t.obs_names, columns=t.var_names).to_csv(csv)
    mem = tmp_path / "mem.h5ad"
    r = ok("apply", "--algorithm", str(algo), "--input", str(csv), "--out", str(mem))
    assert "(streamed)" not in r.stderr
    results = {name: anndata.read_h5ad(p) for name, p in (("small", small), ("huge", huge), ("memory", mem))}
    results["default"] = out
    scx_cols = [c for c in out.obs.columns if c.startswith("scx_")]
    assert len(scx_cols) == 8  # scx_ood (issue 19) included
    for name, a in results.items():
        assert list(a.obs_names) == list(t.obs_names), name
        np.testing.assert_array_equal(a.obsm["X_scx"], out.obsm["X_scx"], err_msg=name)
        for c in scx_cols:
            assert a.obs[c].dtype == out.obs[c].dtype, (name, c)
            np.testing.assert_array_equal(np.asarray(a.obs[c]), np.asarray(out.obs[c]), err_msg=f"{name} {c}")
        assert a.uns["scx"]["panel_genes"] == out.uns["scx"]["panel_genes"]
        for k in ("out_of_distribution", "fraction", "reconstruction_error_fraction", "mean_reconstruction_error"):
            assert a.uns["scx"]["ood"][k] == out.uns["scx"]["ood"][k], (name, k)
    assert out.obs["scx_detected_fraction"].dtype == np.float32
    assert list(out.obs["scx_stage"].cat.categories) == list(results["memory"].obs["scx_stage"].cat.categories)
    # the streamed copies keep everything of the input
    for name in ("small", "huge"):
        a = results[name]
        for c in t.obs.columns:
            assert (a.obs[c].values == t.obs[c].values).all(), (name, c)
        assert (a.X != t.X).nnz == 0


def test_streamed_apply_checks_every_block(real, tmp_path):
    """What X holds is decided on the first block and checked on every later one: a
    log-normalised X streams to the counts' placements; stated as counts it stops apply with no
    output, and so does a block normalised to another total than the first."""
    import scanpy as sc

    _, _, run_dir = real
    t = anndata.read_h5ad(run_dir / "test.h5ad")
    sc.pp.normalize_total(t, target_sum=1e4)
    sc.pp.log1p(t)
    t.write_h5ad(tmp_path / "lognorm.h5ad")
    args = ["apply", "--algorithm", str(run_dir / "algo.scx"), "--chunk-size", "100"]
    r = run_cli(*args, "--input", str(tmp_path / "lognorm.h5ad"), "--out", str(tmp_path / "x.h5ad"), "--input-kind", "counts")
    assert r.returncode == 1 and "expected raw counts" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lognorm.h5ad"]
    ok = run_cli(*args, "--input", str(tmp_path / "lognorm.h5ad"), "--out", str(tmp_path / "ln.h5ad"))
    assert ok.returncode == 0, ok.stderr
    counts = run_cli(*args, "--input", str(run_dir / "test.h5ad"), "--out", str(tmp_path / "c.h5ad"))
    assert counts.returncode == 0, counts.stderr
    np.testing.assert_allclose(anndata.read_h5ad(tmp_path / "ln.h5ad").obsm["X_scx"],
                               anndata.read_h5ad(tmp_path / "c.h5ad").obsm["X_scx"], rtol=1e-3, atol=1e-3)
    mixed = anndata.read_h5ad(run_dir / "test.h5ad")
    x = mixed.X.tocsr().astype(np.float64)
    rows = np.asarray(x.sum(axis=1)).ravel()
    target = np.where(np.arange(mixed.n_obs) < 256, 1e4, 1e6)
    mixed.X = sp.csr_matrix(np.log1p(sp.diags(target / np.maximum(rows, 1)) @ x)).astype(np.float32)
    mixed.write_h5ad(tmp_path / "mixed.h5ad")
    r = run_cli(*args, "--input", str(tmp_path / "mixed.h5ad"), "--out", str(tmp_path / "m.h5ad"))
    assert r.returncode == 1 and "not one normalisation" in r.stderr, r.stderr
    assert not (tmp_path / "m.h5ad").exists()


def test_inspect_describes_operator_and_algorithm_files(real, tmp_path):
    """`inspect` on scextract's own files: panel, operators / readouts, provenance, and a
    damaged copy refused with the file named."""
    _, _, tmp = real
    ops = json.loads(ok("inspect", "--json", str(tmp / "ops.scxop")).stdout)
    assert ops["kind"] == "operator" and ops["panel_genes"] == 300 and ops["checksums"] == "ok"
    assert ops["layers"] >= 1 and ops["heads"] >= 1 and ops["provenance"]["mode"] == "atlas"
    algo = json.loads(ok("inspect", "--json", str(tmp / "algo.scx")).stdout)
    assert algo["kind"] == "algorithm" and algo["latent_dim"] == 10 and algo["ruler"] == "human-hematopoiesis"
    assert {r["task"] for r in algo["readouts"]} >= {"depth", "branch", "stage", "cd4_cd8"}
    assert algo["provenance"]["variant"] == "cell" and algo["provenance"]["train"].endswith("train.h5ad")
    text = ok("inspect", str(tmp / "algo.scx")).stdout
    assert "readout stage" in text and "scextract algorithm file" in text
    damaged = tmp_path / "damaged.scx"
    data = bytearray((tmp / "algo.scx").read_bytes())
    first = next(a for a in json.loads(ok("inspect", "--json", str(tmp / "algo.scx")).stdout)["arrays"])
    header_len = int.from_bytes(data[16:24], "little")
    offset = json.loads(data[24:24 + header_len])["arrays"][0]["offset"]  # inside the first array: its CRC fails
    assert first["name"] == json.loads(data[24:24 + header_len])["arrays"][0]["name"]
    data[offset] ^= 0xFF
    damaged.write_bytes(bytes(data))
    r = run_cli("inspect", str(damaged))
    assert r.returncode != 0 and "damaged.scx" in r.stderr
