"""inspect, load_model + embed, export, fit, interpret, perturb and pseudotime from Python against the CLI on the same
inputs: the same files (byte for byte where the CLI's are deterministic), the same arrays,
the same one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import anndata
import numpy as np
import pytest

import scextract as scx
from conftest import cli_error, ok, run_cli


@pytest.mark.parametrize("what", ["query", "algorithm", "operators", "model"])
def test_inspect_is_the_cli(bed, what):
    path = bed[what]
    assert scx.inspect(path) == json.loads(ok("inspect", path, "--json").stdout)
    assert scx.inspect(path, text=True) == ok("inspect", path).stdout


def test_embed_is_the_cli(bed, tmp_path):
    out = tmp_path / "cli_embed.h5ad"
    ok("embed", "--model", bed["model"], "--input", bed["query"], "--out", out, "--threads", "2")
    cli = anndata.read_h5ad(out)
    model = scx.load_model(bed["model"])
    assert model.n_layers >= 1 and model.vocab_size > 0
    adata = anndata.read_h5ad(bed["query"])
    scx.embed(adata, model, threads=1)
    np.testing.assert_array_equal(adata.obsm["X_scgpt"], cli.obsm["X_scgpt"])
    for k, v in cli.uns["scx_embed"].items():
        assert adata.uns["scx_embed"][k] == v, k
    dense = anndata.read_h5ad(bed["query"])
    dense.X = dense.X.toarray()
    scx.embed(dense, bed["model"], key="emb", pool="cls", l2_normalize=True)
    ok("embed", "--model", bed["model"], "--input", bed["query"], "--out", tmp_path / "cls.h5ad", "--pool", "cls",
       "--l2-normalize", "--key", "emb")
    np.testing.assert_array_equal(dense.obsm["emb"], anndata.read_h5ad(tmp_path / "cls.h5ad").obsm["emb"])
    with pytest.raises(scx.Error, match="atlas tokenizer has no <cls>"):
        scx.embed(dense, model, pool="cls", tokenizer="atlas")


def test_export_writes_the_cli_file(bed, tmp_path):
    args = dict(mode="qk", panel=120)
    info = scx.export(bed["model"], bed["train"], tmp_path / "py.scxop", **args)
    ok("export", "--model", bed["model"], "--reference", bed["train"], "--out", tmp_path / "cli.scxop", "--mode", "qk",
       "--panel", "120")
    assert info["panel"] == 120 and info["operators"] >= 1
    assert (tmp_path / "py.scxop").read_bytes() == (tmp_path / "cli.scxop").read_bytes()


def test_fit_writes_the_cli_file(bed, tmp_path):
    py = tmp_path / "py.scx"
    cli = tmp_path / "cli.scx"
    summary = scx.fit(bed["operators"], bed["train"], py, tissue_key="tissue", epochs=60, features="rank", rank=8)
    ok("fit", "--operator", bed["operators"], "--train", bed["train"], "--tissue-key", "tissue", "--epochs", "60",
       "--features", "rank", "--rank", "8", "--out", cli)
    assert py.read_bytes() == cli.read_bytes()
    assert summary["readouts"]["depth"]["parameters"] > 0 and "rank" in summary["features"]
    assert scx.read_algorithm(py).latent_dim == 10


def test_fit_errors_are_the_cli_messages(bed, tmp_path):
    r = run_cli("fit", "--operator", bed["operators"], "--train", bed["train"], "--label-key", "nope",
                "--out", tmp_path / "x.scx")
    assert r.returncode != 0
    with pytest.raises(scx.Error) as e:
        scx.fit(bed["operators"], bed["train"], tmp_path / "y.scx", label_key="nope")
    assert cli_error(r) == str(e.value)
    assert not (tmp_path / "y.scx").exists()


def test_interpret_writes_the_cli_files(bed, tmp_path):
    """scx.interpret and `scextract interpret` on the same rank-r algorithm give the same files."""
    algo = tmp_path / "rank.scx"
    ok("fit", "--operator", bed["operators"], "--train", bed["train"], "--tissue-key", "tissue", "--epochs", "40",
       "--features", "rank", "--rank", "6", "--out", algo)
    summary = scx.interpret(algo, bed["query"], tmp_path / "py", tissue_key="tissue", programs=bed["train"],
                            permutations=50, gmt=())
    ok("interpret", "--algorithm", algo, "--data", bed["query"], "--tissue-key", "tissue", "--programs", bed["train"],
       "--permutations", "50", "--gmt", "none", "--out", tmp_path / "cli")
    assert summary["n_factors"] == 6 and len(summary["ablation"]["subsets"]) == 15
    assert summary["programs"]["tested"] > 0
    for name in ("factors.tsv", "ablation.tsv", "subsets.tsv", "programs.tsv", "interpret.json", "interpret.html"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    with pytest.raises(scx.Error, match="feature blocks"):
        scx.interpret(bed["algorithm"], bed["query"], tmp_path / "drift")
    assert not (tmp_path / "drift").exists()


def test_perturb_writes_the_cli_file(bed, tmp_path):
    genes = list(scx.read_algorithm(bed["algorithm"]).panel[:3])
    r = scx.perturb(bed["algorithm"], bed["query"], tmp_path / "py.h5ad", genes=genes + ["NOT_A_GENE"], null_sets=20)
    ok("perturb", "--algorithm", bed["algorithm"], "--input", bed["query"], "--genes", ",".join(genes + ["NOT_A_GENE"]),
       "--null-sets", "20", "--out", tmp_path / "cli.h5ad")
    assert r["genes"] == genes and r["missing_genes"] == ["NOT_A_GENE"]
    assert Path(r["summary_file"]).read_bytes() == (tmp_path / "cli.perturb.tsv").read_bytes()
    py, cli = anndata.read_h5ad(tmp_path / "py.h5ad"), anndata.read_h5ad(tmp_path / "cli.h5ad")
    np.testing.assert_array_equal(py.obs["scx_perturb_depth_shift"], cli.obs["scx_perturb_depth_shift"])
    np.testing.assert_array_equal(py.obsm["scx_perturb_stage_shift"], cli.obsm["scx_perturb_stage_shift"])
    assert r["summary"][0]["output"] == "depth"


SHARED_PBMC = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "scanpy_pbmc68k_reduced" / "scanpy_pbmc68k_reduced.h5ad"


@pytest.mark.skipif(not SHARED_PBMC.is_file(), reason=f"{SHARED_PBMC} is absent (shared data)")
@pytest.mark.parametrize("method", ["dpt", "palantir"])
def test_pseudotime_is_the_cli(tmp_path, method):
    cli_out, py_out = tmp_path / "cli.h5ad", tmp_path / "py.h5ad"
    args = ("--use-rep", "X_pca", "--root-label", "CD34+", "--label-key", "cell_type")
    ok("pseudotime", "--method", method, "--input", SHARED_PBMC, "--out", cli_out, *args)
    r = scx.pseudotime(SHARED_PBMC, py_out, method=method, use_rep="X_pca", root_label="CD34+", label_key="cell_type")
    cli, py = anndata.read_h5ad(cli_out), anndata.read_h5ad(py_out)
    assert r["cells"] == cli.n_obs and cli.obs_names[r["root_index"]] == r["root"]
    for col in ("dpt_pseudotime",) if method == "dpt" else ("palantir_pseudotime", "palantir_entropy"):
        np.testing.assert_array_equal(py.obs[col].to_numpy(), cli.obs[col].to_numpy())
    if method == "palantir":
        np.testing.assert_array_equal(py.obsm["palantir_fate_probabilities"], cli.obsm["palantir_fate_probabilities"])
        assert list(py.uns["palantir_fate_probabilities_columns"]) == r["terminal_states"]
    r = run_cli("pseudotime", "--method", method, "--input", SHARED_PBMC, "--out", tmp_path / "x.h5ad", "--root", "nope")
    with pytest.raises(scx.Error) as e:
        scx.pseudotime(SHARED_PBMC, tmp_path / "x.h5ad", method=method, root="nope")
    assert str(e.value) == cli_error(r)
