"""`scextract embed` end to end on a small checkpoint made from the PyTorch forward
fixture (tests/fixtures/forward/d16_h4): the atlas tokenizer's embeddings must equal
what `model-run` gives on tokens built here in Python by METHOD.md's rule
(log1p(normalize_total(counts, 1e4)) over all genes, expressed vocabulary genes sorted
by value descending, ties by column, no <cls>), and model-run itself is checked against
PyTorch in test_model_run.py. The official tokenizer is checked for shape, seeding,
L2 normalisation and the <cls>/atlas usage error."""

from __future__ import annotations

import json

import pytest

anndata = pytest.importorskip("anndata", exc_type=ImportError)
np = pytest.importorskip("numpy")
sp = pytest.importorskip("scipy.sparse")
pytest.importorskip("safetensors")

from scx_interop import REPO, make_forward_checkpoint, run_cli  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "forward" / "d16_h4"


@pytest.fixture
def checkpoint(tmp_path):
    return make_forward_checkpoint(tmp_path / "ckpt", FIXTURE, with_cls=True)


@pytest.fixture
def counts_h5ad(tmp_path):
    rng = np.random.default_rng(7)
    n_cells, genes = 12, [f"g{i}" for i in range(40)] + ["NOT_IN_VOCAB1", "NOT_IN_VOCAB2"]
    x = rng.poisson(0.6, size=(n_cells, len(genes))).astype(np.float32)
    x[3] = 0  # a cell with no counts at all
    x[3, -1] = 5  # ... except in a gene outside the vocabulary
    a = anndata.AnnData(sp.csr_matrix(x))
    a.obs_names = [f"c{i}" for i in range(n_cells)]
    a.var_names = genes
    path = tmp_path / "counts.h5ad"
    a.write_h5ad(path)
    return path, x, genes


def atlas_tokens(x, genes, vocab):
    cells = []
    totals = x.sum(axis=1, dtype=np.float64).astype(np.float32)
    for i in range(x.shape[0]):
        scale = np.float32(totals[i]) / np.float32(1e4) if totals[i] > 0 else np.float32(1)
        row = np.log1p(x[i] / scale).astype(np.float32)
        keep = [j for j, g in enumerate(genes) if g in vocab and row[j] > 0]
        keep.sort(key=lambda j: (-row[j], j))
        cells.append({"gene_ids": [vocab[genes[j]] for j in keep], "values": [float(row[j]) for j in keep]})
    return cells


def test_atlas_embedding_equals_model_run(tmp_path, checkpoint, counts_h5ad):
    path, x, genes = counts_h5ad
    out = tmp_path / "emb.h5ad"
    r = run_cli("embed", "--model", str(checkpoint), "--input", str(path), "--out", str(out), "--tokenizer", "atlas")
    assert r.returncode == 0, r.stderr
    emb = anndata.read_h5ad(out).obsm["X_scgpt"]
    assert emb.shape == (12, 16)
    assert np.isnan(emb[3]).all() and "1 cells express no vocabulary gene" in r.stderr
    vocab = json.loads((checkpoint / "vocab.json").read_text())
    cells = atlas_tokens(x, genes, vocab)
    runnable = [i for i, c in enumerate(cells) if c["gene_ids"]]
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"cells": [cells[i] for i in runnable]}))
    run = run_cli("model-run", "--model", str(checkpoint), "--tokens", str(tokens), "--out", str(tmp_path / "run"))
    assert run.returncode == 0, run.stderr
    for k, i in enumerate(runnable):
        ref = np.load(tmp_path / "run" / f"mean_{k}.npy")
        np.testing.assert_allclose(emb[i], ref, rtol=0, atol=1e-5)


def test_official_cls_is_seeded_and_normalised(tmp_path, checkpoint, counts_h5ad):
    path, _, _ = counts_h5ad
    outs = []
    for name, seed in (("a", "42"), ("b", "42"), ("c", "7")):
        out = tmp_path / f"{name}.h5ad"
        r = run_cli("--seed", seed, "embed", "--model", str(checkpoint), "--input", str(path), "--out", str(out),
                    "--pool", "cls", "--l2-normalize")
        assert r.returncode == 0, r.stderr
        outs.append(anndata.read_h5ad(out))
    a, b = outs[0].obsm["X_scgpt"], outs[1].obsm["X_scgpt"]
    np.testing.assert_array_equal(a, b)  # same seed, same bits
    ok = ~np.isnan(a).any(axis=1)
    np.testing.assert_allclose(np.linalg.norm(a[ok], axis=1), 1.0, atol=1e-5)
    assert outs[0].uns["scx_embed"]["tokenizer"] == "official"


def test_scgpt_avg_pool_depends_on_batching(tmp_path, checkpoint, counts_h5ad):
    path, _, _ = counts_h5ad
    embs = {}
    for name, extra in (("mean", ["--pool", "mean"]),
                        ("avg64", ["--pool", "scgpt-avg"]),
                        ("avg1", ["--pool", "scgpt-avg", "--pool-batch-size", "1"]),
                        ("avg64c", ["--pool", "scgpt-avg", "--padded-states", "computed"])):
        out = tmp_path / f"{name}.h5ad"
        r = run_cli("embed", "--model", str(checkpoint), "--input", str(path), "--out", str(out), *extra)
        assert r.returncode == 0, r.stderr
        embs[name] = anndata.read_h5ad(out)
    # batches of one cell have no padding: avg-pool is the plain mean over the cell's tokens
    np.testing.assert_allclose(embs["avg1"].obsm["X_scgpt"], embs["mean"].obsm["X_scgpt"], atol=1e-6)
    # one batch of 12 cells of different lengths: padding enters, and the two conventions differ
    assert np.abs(embs["avg64"].obsm["X_scgpt"] - embs["mean"].obsm["X_scgpt"]).max() > 1e-3
    assert np.abs(embs["avg64"].obsm["X_scgpt"] - embs["avg64c"].obsm["X_scgpt"]).max() > 1e-3
    uns = embs["avg64c"].uns["scx_embed"]
    assert uns["pool"] == "scgpt-avg" and uns["padded_states"] == "computed" and int(uns["pool_batch_size"]) == 64


def test_cls_with_atlas_is_a_usage_error(tmp_path, checkpoint, counts_h5ad):
    path, _, _ = counts_h5ad
    out = tmp_path / "x.h5ad"
    r = run_cli("embed", "--model", str(checkpoint), "--input", str(path), "--out", str(out), "--tokenizer", "atlas",
                "--pool", "cls")
    assert r.returncode == 2
    assert "<cls>" in r.stderr
    assert not out.exists()


def test_log_values_that_are_not_log_normalised_are_refused(tmp_path, checkpoint, counts_h5ad):
    # log1p of counts without normalize_total: the per-cell expm1 sums differ, so this is not
    # log1p(normalize_total) and the method's values cannot be recovered
    path, x, genes = counts_h5ad
    a = anndata.read_h5ad(path)
    a.X = sp.csr_matrix(np.log1p(x))
    bad = tmp_path / "lognorm.h5ad"
    a.write_h5ad(bad)
    out = tmp_path / "y.h5ad"
    r = run_cli("embed", "--model", str(checkpoint), "--input", str(bad), "--out", str(out))
    assert r.returncode == 1
    assert "lognorm.h5ad" in r.stderr and "cannot be recovered exactly" in r.stderr
    assert not out.exists()
