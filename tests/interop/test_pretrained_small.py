"""The small scGPT pretrained with scGPT's own code (data/scgpt_pretrained_small, made by
bench/pretrain/pretrain.py) loads in scextract, and scextract's encoder reproduces scGPT's
embeddings of it: tests/fixtures/pretrained/ holds 20 cells' tokens and the <cls> and mean
embeddings that scgpt.model.model.TransformerModel (scgpt 0.2.4, eval mode) gave for them
(bench/pretrain/make_embedding_fixture.py); `scextract model-run` on the same tokens must
agree to 1e-4. No torch at test time: the fixture is committed.
"""

from __future__ import annotations

import hashlib
import json

import pytest

np = pytest.importorskip("numpy")

from scx_interop import REPO, inspect_json, run_cli  # noqa: E402

MODEL = REPO / "data" / "scgpt_pretrained_small"
FIXTURE = REPO / "tests" / "fixtures" / "pretrained"
TOL = 1e-4

pytestmark = pytest.mark.skipif(
    not (MODEL / "best_model.pt").is_file(), reason=f"{MODEL} is absent (bench/pretrain/README.md makes it)"
)


def test_fixture_was_made_from_this_checkpoint():
    meta = json.loads((FIXTURE / "meta.json").read_text())
    got = hashlib.sha256((MODEL / "best_model.pt").read_bytes()).hexdigest()
    assert got == meta["best_model_sha256"], (
        "best_model.pt changed since the fixture was made: rerun bench/pretrain/make_embedding_fixture.py"
    )


def test_inspect_reads_the_folder():
    j = inspect_json(MODEL)
    args = json.loads((MODEL / "args.json").read_text())
    assert j["kind"] == "scgpt_checkpoint"
    assert j["format"] == "pytorch"
    assert j["vocab_size"] == 60697  # the whole-human vocabulary, ids kept
    c = j["config"]
    assert (c["nlayers"], c["nheads"], c["embsize"], c["d_hid"]) == (
        args["nlayers"], args["nheads"], args["embsize"], args["d_hid"])
    assert c["fast_transformer"] is False and c["input_emb_style"] == "continuous"
    assert j["attention_naming"] == "in_proj"  # torch.nn.MultiheadAttention (use_fast_transformer=False)
    shapes = {t["name"]: t["shape"] for t in j["tensors"]}
    assert shapes["encoder.embedding.weight"] == [60697, args["embsize"]]
    # the heads scextract does not run are reported, not silently dropped
    assert any(k.startswith("decoder.") for k in j["unused_keys"])
    assert any(k.startswith("mvc_decoder.") for k in j["unused_keys"])


def test_model_run_matches_scgpt_embeddings(tmp_path):
    out = tmp_path / "run"
    r = run_cli("model-run", "--model", MODEL, "--tokens", FIXTURE / "tokens.json", "--out", out, "--threads", "1")
    assert r.returncode == 0, r.stderr
    cls, mean = np.load(FIXTURE / "cls.npy"), np.load(FIXTURE / "mean.npy")
    assert cls.shape == mean.shape == (20, 64)
    worst = 0.0
    for i in range(cls.shape[0]):
        first_i, mean_i = np.load(out / f"first_{i}.npy"), np.load(out / f"mean_{i}.npy")
        np.testing.assert_allclose(first_i, cls[i], rtol=0, atol=TOL, err_msg=f"<cls> embedding of cell {i}")
        np.testing.assert_allclose(mean_i, mean[i], rtol=0, atol=TOL, err_msg=f"mean embedding of cell {i}")
        worst = max(worst, float(np.abs(first_i - cls[i]).max()), float(np.abs(mean_i - mean[i]).max()))
    print(f"max |scextract - scGPT| = {worst:.3g}")


def test_embed_runs_on_the_bundled_cells(tmp_path):
    anndata = pytest.importorskip("anndata", exc_type=ImportError)
    out = tmp_path / "emb.h5ad"
    r = run_cli("embed", "--model", MODEL, "--input", REPO / "data" / "pbmc68k_reduced.h5ad", "--out", out,
                "--pool", "cls", "--max-tokens", "256", "--threads", "1")
    assert r.returncode == 0, r.stderr
    emb = anndata.read_h5ad(out).obsm["X_scgpt"]
    assert emb.shape == (700, 64)
    assert np.isfinite(emb).all()


PRETRAIN_PY = REPO / ".venv-pretrain" / "bin" / "python"
SHARED_TRIANA = REPO / ".." / "shared" / "data" / "triana2021_hspc_citeseq" / "triana2021_hspc_citeseq.h5ad"


@pytest.mark.skipif(not PRETRAIN_PY.is_file(), reason=".venv-pretrain is absent (bash bench/pretrain/make_venv.sh)")
@pytest.mark.skipif(not SHARED_TRIANA.is_file(), reason=f"{SHARED_TRIANA} is absent")
def test_pretrain_refuses_data_without_a_licence(tmp_path):
    import shutil
    import subprocess

    h5py = pytest.importorskip("h5py")
    data = tmp_path / "data" / "triana2021_hspc_citeseq"
    data.mkdir(parents=True)
    copy = data / "triana2021_hspc_citeseq.h5ad"
    shutil.copyfile(SHARED_TRIANA, copy)
    with h5py.File(copy, "a") as f:
        del f["uns/license"]
    out = tmp_path / "out"
    r = subprocess.run([str(PRETRAIN_PY), str(REPO / "bench" / "pretrain" / "pretrain.py"), "--out", str(out),
                        "--data-dir", str(tmp_path / "data"), "--datasets", "triana2021_hspc_citeseq", "--steps", "1"],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 1
    assert f"{copy}: uns['license'] is absent" in r.stderr
    assert not out.exists()
