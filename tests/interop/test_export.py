"""`scextract export` end to end: a tiny synthetic checkpoint (`scextract make-model --size
tiny`), simulated reference data (`scextract simulate`), the operator file read with numpy
alone (docs/formats.md's reader).

The attention atlas is recomputed here independently: the reference read with anndata,
log1p(normalize_total(counts, 1e4)) over all genes in numpy, the file's panel and sampled
cells, METHOD.md's tokens built in Python, every attention map from `scextract model-run`
(itself checked against PyTorch in test_model_run.py), summed and divided by the
co-occurrence counts in numpy. Also: the panel equals `scextract prepare`'s, the file is
byte-identical across --threads and --batch-size, the seed picks the cells, the checkpoint
hash is the weights file's SHA-256, and bad calls fail cleanly.
"""

from __future__ import annotations

import hashlib
import json

import pytest

anndata = pytest.importorskip("anndata", exc_type=ImportError)
np = pytest.importorskip("numpy")

from scx_interop import run_cli  # noqa: E402
from test_operator_file import docs_reader  # noqa: E402

PANEL = "100"


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    r = run_cli("make-model", "--out", root / "tiny", "--size", "tiny")
    assert r.returncode == 0, r.stderr
    r = run_cli("simulate", "--cells", "300", "--genes", "600", "--out", root / "ref.h5ad")
    assert r.returncode == 0, r.stderr
    return root


def export(bed, out, *extra, check=True):
    r = run_cli("export", "--model", bed / "tiny", "--reference", bed / "ref.h5ad", "--panel", PANEL, "--out", out,
                *map(str, extra), timeout=600)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def log_normalized(x):
    """scanpy's normalize_total(target_sum=1e4) + log1p on float32 counts, as scextract computes it."""
    totals = x.sum(axis=1, dtype=np.float64).astype(np.float32)
    out = np.zeros_like(x)
    for i in range(x.shape[0]):
        if totals[i] > 0:
            out[i] = np.log1p(x[i] / (np.float32(totals[i]) / np.float32(1e4))).astype(np.float32)
    return out


def test_atlas_equals_an_independent_computation(tmp_path, bed):
    out = tmp_path / "atlas.scxop"
    r = export(bed, out, "--cells", "12")
    assert "MB)" in r.stderr and "cells/s" in r.stderr
    header, arrays = docs_reader()(out)
    meta = header["metadata"]
    prov = meta["provenance"]
    g = int(PANEL)
    assert arrays["operators"].shape == (3, 8, g, g)
    assert prov["mode"] == "atlas" and prov["seed"] == 42 and prov["max_tokens"] == 1200
    assert prov["cells_used"] == 12 and prov["cells_total"] == 300
    cells = prov["cell_indices"]
    assert len(cells) == 12 and cells == sorted(set(cells))
    weights = bed / "tiny" / "best_model.pt"
    assert prov["checkpoint"]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert prov["checkpoint"]["path"].endswith("best_model.pt")
    assert prov["reference"]["path"].endswith("ref.h5ad") and prov["reference"]["matrix"] == "X"
    assert prov["panel"] == {"hvg_flavor": "seurat_v3", "vocab_filter": "before_hvg", "panel_order": "hvg_rank",
                             "requested": g}
    vocab = json.loads((bed / "tiny" / "vocab.json").read_text())
    genes = meta["genes"]
    assert [vocab[s] for s in genes] == arrays["vocab_ids"].tolist()

    adata = anndata.read_h5ad(bed / "ref.h5ad")
    x = adata.X.toarray().astype(np.float32) if hasattr(adata.X, "toarray") else np.asarray(adata.X, np.float32)
    lognorm = log_normalized(x)
    column = {s: j for j, s in enumerate(adata.var_names)}
    panel_cols = [column[s] for s in genes]
    tokens, positions = [], []
    for c in cells:
        v = lognorm[c, panel_cols]
        keep = sorted((k for k in range(g) if v[k] > 0), key=lambda k: (-v[k], k))
        positions.append(keep)
        tokens.append({"gene_ids": [vocab[genes[k]] for k in keep], "values": [float(v[k]) for k in keep]})
    (tmp_path / "tokens.json").write_text(json.dumps({"cells": tokens}))
    run = run_cli("model-run", "--model", bed / "tiny", "--tokens", tmp_path / "tokens.json", "--out", tmp_path / "run")
    assert run.returncode == 0, run.stderr
    total = np.zeros((3, 8, g, g))
    count = np.zeros((g, g), np.int64)
    for k, pos in enumerate(positions):
        attn = np.load(tmp_path / "run" / f"attn_{k}.npy")  # [layers, heads, L, L], tokens in cell order
        p = np.array(pos)
        count[np.ix_(p, p)] += 1
        total[:, :, p[:, None], p[None, :]] += attn
    np.testing.assert_array_equal(arrays["cooccurrence"], count)
    np.testing.assert_allclose(arrays["operators"], total / np.maximum(count, 1), rtol=0, atol=2e-6)
    never = count == 0
    assert never.any() and not arrays["operators"][:, :, never].any()


def test_panel_is_prepares_panel(tmp_path, bed):
    out = tmp_path / "qk.scxop"
    export(bed, out, "--mode", "qk")
    r = run_cli("prepare", bed / "ref.h5ad", "--vocab", bed / "tiny" / "vocab.json", "--n-top-genes", PANEL, "--json", "-")
    assert r.returncode == 0, r.stderr
    header, arrays = docs_reader()(out)
    assert header["metadata"]["genes"] == json.loads(r.stdout)["panel"]
    assert arrays["vocab_ids"].tolist() == json.loads(r.stdout)["panel_vocab_ids"]
    # other panel options reach the panel and the provenance
    out2 = tmp_path / "qk_input_order.scxop"
    export(bed, out2, "--mode", "qk", "--panel-order", "input", "--hvg-flavor", "seurat", "--vocab-filter", "after_hvg")
    meta2 = docs_reader()(out2)[0]["metadata"]
    assert meta2["provenance"]["panel"] == {"hvg_flavor": "seurat", "vocab_filter": "after_hvg", "panel_order": "input",
                                            "requested": int(PANEL)}
    r = run_cli("prepare", bed / "ref.h5ad", "--vocab", bed / "tiny" / "vocab.json", "--n-top-genes", PANEL, "--json", "-",
                "--panel-order", "input", "--flavor", "seurat", "--vocab-filter", "after_hvg")
    assert meta2["genes"] == json.loads(r.stdout)["panel"]


def test_identical_bytes_for_any_threads_and_batch_size(tmp_path, bed):
    files = []
    for i, (threads, batch) in enumerate([(1, 1), (2, 5), (2, 64)]):
        out = tmp_path / f"a{i}.scxop"
        export(bed, out, "--threads", threads, "--batch-size", batch)
        files.append(out.read_bytes())
    assert files[0] == files[1] == files[2]
    header, arrays = docs_reader()(tmp_path / "a0.scxop")
    prov = header["metadata"]["provenance"]
    assert prov["cells_used"] == 300 and prov["cell_indices"] == list(range(300))  # fewer cells than --cells: all
    ops = np.asarray(arrays["operators"], np.float64)
    count = arrays["cooccurrence"]
    # attention rows sum to 1: sum_j A[i, j] C[i, j] = C[i, i]
    np.testing.assert_allclose((ops * count).sum(-1), np.broadcast_to(np.diag(count), ops.shape[:3]), rtol=1e-5)


def test_seed_picks_the_cells(tmp_path, bed):
    provs = []
    for seed in ("42", "42", "7"):
        out = tmp_path / f"s{len(provs)}.scxop"
        export(bed, out, "--cells", "20", "--seed", seed, "--mode", "atlas")
        provs.append(docs_reader()(out, verify=False)[0]["metadata"]["provenance"])
    assert provs[0]["cell_indices"] == provs[1]["cell_indices"] != provs[2]["cell_indices"]
    assert provs[2]["seed"] == 7 and len(provs[2]["cell_indices"]) == 20


def test_circuits_record_their_limits(tmp_path, bed):
    for mode in ("qk", "ov"):
        out = tmp_path / f"{mode}.scxop"
        r = export(bed, out, "--mode", mode)
        assert "exact for layer 0 only" in r.stderr
        header, arrays = docs_reader()(out)
        prov = header["metadata"]["provenance"]
        assert prov["mode"] == mode and "exact only for layer 0" in prov["exactness"]
        assert "biases" in prov["bias_handling"]
        assert "cooccurrence" not in arrays
        if mode == "qk":
            np.testing.assert_allclose(arrays["operators"].sum(-1), 1, atol=1e-5)


def test_bad_calls(tmp_path, bed):
    r = export(bed, tmp_path / "x.scxop", "--mode", "nope", check=False)
    assert r.returncode == 2
    r = run_cli("export", "--model", bed / "tiny", "--reference", tmp_path / "absent.h5ad", "--out", tmp_path / "x.scxop")
    assert r.returncode == 1 and "absent.h5ad" in r.stderr
    assert not (tmp_path / "x.scxop").exists()
    r = run_cli("export", "--model", bed / "tiny", "--reference", bed / "ref.h5ad", "--out", bed / "ref.h5ad")
    assert r.returncode == 1 and "refusing to overwrite the input" in r.stderr
    r = export(bed, tmp_path / "no_dir" / "x.scxop", "--mode", "qk", check=False)
    assert r.returncode == 1 and "does not exist" in r.stderr
