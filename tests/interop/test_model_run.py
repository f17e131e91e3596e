"""`scextract model-run` reproduces PyTorch's scGPT encoder outputs cell by cell.

A checkpoint directory (model.safetensors, args.json, vocab.json) is built from the
committed fixture tests/fixtures/forward/d16_h4/ (see make_forward_fixtures.py), the
fixture's cells are written as tokens.json, and every .npy that model-run writes is
compared with the fixture's PyTorch outputs. Skips itself when safetensors is not importable.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip(
    "safetensors", reason="safetensors is not importable (pip install -r python/requirements.txt)", exc_type=ImportError
)
np = pytest.importorskip("numpy")

pytest.importorskip("safetensors")
from scx_interop import REPO, make_forward_checkpoint, run_cli  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "forward" / "d16_h4"
TOL = 1e-4


def fixture_cells() -> list[dict]:
    ids, values, lengths = (np.load(FIXTURE / f"{n}.npy") for n in ("gene_ids", "values", "lengths"))
    return [{"gene_ids": ids[b, :n].tolist(), "values": values[b, :n].tolist()} for b, n in enumerate(lengths)]


@pytest.fixture
def checkpoint(tmp_path):
    return make_forward_checkpoint(tmp_path / "ckpt", FIXTURE)


def write_tokens(path, cells) -> None:
    path.write_text(json.dumps({"cells": cells}))


@pytest.mark.parametrize("batch_size", [1, 2, 8])
def test_outputs_match_pytorch(tmp_path, checkpoint, batch_size):
    tokens, out = tmp_path / "tokens.json", tmp_path / "out"
    write_tokens(tokens, fixture_cells())
    r = run_cli("model-run", "--model", checkpoint, "--tokens", tokens, "--out", out, "--batch-size", batch_size)
    assert r.returncode == 0, r.stderr

    lengths = np.load(FIXTURE / "lengths.npy")
    hidden, attention = np.load(FIXTURE / "hidden.npy"), np.load(FIXTURE / "attention.npy")
    mean, first = np.load(FIXTURE / "mean.npy"), np.load(FIXTURE / "first.npy")
    meta = json.loads((FIXTURE / "meta.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{k}_{i}.npy" for i in range(len(lengths)) for k in ("hidden", "attn", "mean", "first"))
    for i, n in enumerate(lengths):
        got = {k: np.load(out / f"{k}_{i}.npy") for k in ("hidden", "attn", "mean", "first")}
        for k, a in got.items():
            assert a.dtype == np.float32, (k, i)
        assert got["hidden"].shape == (n, meta["d_model"])
        assert got["attn"].shape == (meta["n_layers"], meta["n_heads"], n, n)
        np.testing.assert_allclose(got["hidden"], hidden[i, :n], atol=TOL, rtol=0, err_msg=f"hidden {i}")
        np.testing.assert_allclose(got["attn"], attention[i, :, :, :n, :n], atol=TOL, rtol=0, err_msg=f"attn {i}")
        np.testing.assert_allclose(got["mean"], mean[i], atol=TOL, rtol=0, err_msg=f"mean {i}")
        np.testing.assert_allclose(got["first"], first[i], atol=TOL, rtol=0, err_msg=f"first {i}")


def test_refuses_non_empty_out_without_force(tmp_path, checkpoint):
    tokens, out = tmp_path / "tokens.json", tmp_path / "out"
    write_tokens(tokens, fixture_cells()[:1])
    out.mkdir()
    (out / "other.txt").write_text("x")
    r = run_cli("model-run", "--model", checkpoint, "--tokens", tokens, "--out", out)
    assert r.returncode == 1 and "--force" in r.stderr, r.stderr
    r = run_cli("model-run", "--model", checkpoint, "--tokens", tokens, "--out", out, "--force")
    assert r.returncode == 0, r.stderr
    assert (out / "hidden_0.npy").is_file()


@pytest.mark.parametrize(
    "text, needle",
    [
        ("{not json", "not valid JSON"),
        ('{"cells": 3}', '"cells"'),
        ('{"cells": [{"gene_ids": [1, 2], "values": [0.5]}]}', "cell 0"),
        ('{"cells": [{"gene_ids": [1], "values": [1.0]}, {"gene_ids": [1, 50], "values": [1.0, 2.0]}]}',
         "cell 1 token 1: gene id 50 is outside the vocabulary"),
        ('{"cells": [{"gene_ids": [-1], "values": [1.0]}]}', "outside the vocabulary"),
        ('{"cells": [{"gene_ids": [1], "values": ["a"]}]}', "not a number"),
        # hostile input (issue 23): 100,000-deep JSON, and a value that is 60 levels deep and
        # 100 KB long, shown in the message as a short excerpt
        ("[" * 100000 + "]" * 100000, "JSON nested more than 64 levels deep"),
        ('{"a":' * 100000 + "1" + "}" * 100000, "JSON nested more than 64 levels deep"),
        ('{"cells": [{"gene_ids": [' + "[" * 60 + "]" * 60 + "], \"values\": [1.0]}]}", "is not an integer"),
        ('{"cells": [{"gene_ids": [1], "values": ["' + "v" * 100000 + '"]}]}', "not a number"),
    ],
    ids=["malformed", "cells-not-array", "length-mismatch", "id-too-large", "id-negative", "value-not-number",
         "deep-array", "deep-object", "deep-value", "long-value"],
)
def test_bad_tokens_exit_1_naming_the_file(tmp_path, checkpoint, text, needle):
    tokens, out = tmp_path / "tokens.json", tmp_path / "out"
    tokens.write_text(text)
    r = run_cli("model-run", "--model", checkpoint, "--tokens", tokens, "--out", out)
    assert r.returncode == 1, r.stderr
    assert str(tokens) in r.stderr and needle in r.stderr, r.stderr
    assert len(r.stderr) < 1000 and r.stderr.count("\n") == 1, r.stderr[:1000]  # one short line
    assert not out.exists()  # nothing is created before the input is known to be good
