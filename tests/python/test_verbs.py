"""inspect, load_model + embed, export and fit from Python against the CLI on the same
inputs: the same files (byte for byte where the CLI's are deterministic), the same arrays,
the same one-line errors."""

from __future__ import annotations

import json

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
