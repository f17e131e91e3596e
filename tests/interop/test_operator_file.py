"""The operator file read with numpy alone, by the reader printed in docs/formats.md (the
code block starting `# scx-reader` is extracted from the page and executed here, so the
documentation cannot drift from the format).

Files come from `scextract export` on a checkpoint made from the PyTorch forward fixture
(tests/fixtures/forward/d16_h4); the weights-only circuits in the file are recomputed here
in numpy from the same weights, which checks the layout, the orientation (row = query gene)
and the panel's vocabulary ids end to end. Also: the container's bytes (magic, version,
alignment, CRCs) and the reader's checksum errors on a corrupted copy.
"""

from __future__ import annotations

import json
import re
import struct
import zlib

import pytest

anndata = pytest.importorskip("anndata", exc_type=ImportError)
np = pytest.importorskip("numpy")
sp = pytest.importorskip("scipy.sparse")
pytest.importorskip("safetensors")

from scx_interop import REPO, make_forward_checkpoint, run_cli  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "forward" / "d16_h4"


def docs_reader():
    """read_scx() as docs/formats.md prints it."""
    text = (REPO / "docs" / "formats.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if b.startswith("# scx-reader")]
    assert len(blocks) == 1, "docs/formats.md must hold exactly one ```python block starting '# scx-reader'"
    namespace: dict = {}
    exec(compile(blocks[0], "docs/formats.md#scx-reader", "exec"), namespace)
    return namespace["read_scx"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_forward_checkpoint(tmp_path_factory.mktemp("op") / "ckpt", FIXTURE)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    rng = np.random.default_rng(11)
    genes = [f"g{i}" for i in range(48)] + ["NOT_IN_VOCAB1", "NOT_IN_VOCAB2"]
    x = rng.poisson(rng.gamma(0.8, 1.5, size=len(genes)), size=(80, len(genes))).astype(np.float32)
    a = anndata.AnnData(sp.csr_matrix(x))
    a.obs_names = [f"c{i}" for i in range(x.shape[0])]
    a.var_names = genes
    path = tmp_path_factory.mktemp("op_ref") / "ref.h5ad"
    a.write_h5ad(path)
    return path


def export(checkpoint, reference, out, *extra):
    r = run_cli("export", "--model", checkpoint, "--reference", reference, "--out", out, "--panel", "20", *extra)
    assert r.returncode == 0, r.stderr
    return r


def numpy_circuits(weights_dir, meta, ids, kind):
    """METHOD.md's QK / OV circuits in float64 numpy from the fixture's .npy weights."""
    w = lambda k: np.load(weights_dir / f"{k}.npy").astype(np.float64)  # noqa: E731
    d, heads, layers = meta["d_model"], meta["n_heads"], meta["n_layers"]
    dh = d // heads
    x = w("encoder.embedding.weight")[ids]
    x = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)
    e = x * w("encoder.enc_norm.weight") + w("encoder.enc_norm.bias")
    out = np.empty((layers, heads, len(ids), len(ids)))
    for layer in range(layers):
        p = f"transformer_encoder.layers.{layer}.self_attn."
        wqkv, b, wo = w(p + "Wqkv.weight"), w(p + "Wqkv.bias"), w(p + "out_proj.weight")
        for h in range(heads):
            rows = slice(h * dh, (h + 1) * dh)
            if kind == "qk":
                q = e @ wqkv[rows].T + b[rows]
                k = e @ wqkv[d:][rows].T + b[d:][rows]
                s = q @ k.T / np.sqrt(dh)
                s = np.exp(s - s.max(1, keepdims=True))
                out[layer, h] = s / s.sum(1, keepdims=True)
            else:
                out[layer, h] = e @ wqkv[2 * d:][rows].T @ wo[:, rows].T @ e.T
    return out


@pytest.mark.parametrize("kind", ["qk", "ov"])
def test_docs_reader_gives_the_circuits(tmp_path, checkpoint, reference, kind):
    out = tmp_path / f"{kind}.scxop"
    export(checkpoint, reference, out, "--mode", kind)
    header, arrays = docs_reader()(out)
    assert header["kind"] == "operator"
    meta = header["metadata"]
    assert meta["format"] == "scextract-operator" and meta["format_version"] == 1
    assert (meta["n_layers"], meta["n_heads"], meta["n_genes"]) == (3, 4, 20)
    ops = arrays["operators"]
    assert ops.dtype == np.float32 and ops.shape == (3, 4, 20, 20)
    assert isinstance(ops, np.memmap)
    ids = arrays["vocab_ids"]
    assert ids.dtype == np.int64
    vocab = json.loads((checkpoint / "vocab.json").read_text())
    assert [vocab[g] for g in meta["genes"]] == ids.tolist()
    assert "cooccurrence" not in arrays
    fixture_meta = json.loads((FIXTURE / "meta.json").read_text())
    want = numpy_circuits(FIXTURE / "weights", fixture_meta, ids, kind)
    np.testing.assert_allclose(ops, want, rtol=1e-6, atol=1e-6)
    prov = meta["provenance"]
    assert prov["mode"] == kind
    assert "exact only for layer 0" in prov["exactness"]
    assert "cells_used" not in prov


def test_container_bytes(tmp_path, checkpoint, reference):
    out = tmp_path / "atlas.scxop"
    export(checkpoint, reference, out, "--cells", "10")
    raw = out.read_bytes()
    magic, version, reserved, hlen = struct.unpack_from("<8sIIQ", raw)
    assert (magic, version, reserved) == (b"SCXFILE\0", 1, 0)
    assert hlen % 64 == 0
    head = raw[24:24 + hlen]
    assert head.rstrip(b" ") == head.rstrip()  # padding is spaces
    (crc,) = struct.unpack_from("<I", raw, 24 + hlen)
    assert crc == zlib.crc32(raw[:24 + hlen])
    header = json.loads(head)
    end = 0
    for a in header["arrays"]:
        assert a["offset"] % 64 == 0 and a["offset"] >= 24 + hlen + 4
        assert a["nbytes"] == np.dtype(a["dtype"]).itemsize * int(np.prod(a["shape"]))
        assert zlib.crc32(raw[a["offset"]:a["offset"] + a["nbytes"]]) == a["crc32"]
        assert a["offset"] >= end
        end = a["offset"] + a["nbytes"]
    assert end == len(raw)
    assert [a["name"] for a in header["arrays"]] == ["vocab_ids", "operators", "cooccurrence"]
    assert {a["name"]: a["dtype"] for a in header["arrays"]} == {"vocab_ids": "<i8", "operators": "<f4", "cooccurrence": "<i4"}


def test_docs_reader_catches_corruption(tmp_path, checkpoint, reference):
    read_scx = docs_reader()
    out = tmp_path / "qk.scxop"
    export(checkpoint, reference, out, "--mode", "qk")
    header, _ = read_scx(out)
    ops = next(a for a in header["arrays"] if a["name"] == "operators")
    raw = bytearray(out.read_bytes())
    raw[ops["offset"] + 17] ^= 0x20
    bad = tmp_path / "bad.scxop"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum mismatch in array 'operators'"):
        read_scx(bad)
    _, arrays = read_scx(bad, verify=False)  # lazy reading still works
    assert arrays["operators"].shape == (3, 4, 20, 20)
    raw = bytearray(out.read_bytes())
    raw[30] ^= 0x01
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="header checksum mismatch"):
        read_scx(bad)
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(raw[8:]))
    with pytest.raises(ValueError, match="not an scx container"):
        read_scx(bad)
