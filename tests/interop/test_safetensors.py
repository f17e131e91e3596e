"""`scextract convert-model` writes safetensors files the reference `safetensors` library
reads back exactly, and `scextract inspect` describes them as that library does.

Inputs are written here with the safetensors package (and, when PyTorch is importable,
with torch.save); tensors are compared as raw bytes through safetensors.deserialize, so
BF16 (which numpy lacks) is compared too. Skips itself when safetensors is not importable.
"""

from __future__ import annotations

import json
import struct

import pytest

safetensors = pytest.importorskip(
    "safetensors", reason="safetensors is not importable (pip install -r python/requirements.txt)", exc_type=ImportError
)
np = pytest.importorskip("numpy")

from safetensors.numpy import save_file  # noqa: E402
from scx_interop import REPO, inspect_json, run_cli  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "safetensors" / "all_dtypes.safetensors"


def tensors_of(path) -> dict[str, dict]:
    """name -> {dtype, shape, data (bytes)} as the reference library reads the file."""
    return {name: {"dtype": t["dtype"], "shape": list(t["shape"]), "data": bytes(t["data"])}
            for name, t in safetensors.deserialize(path.read_bytes())}


def metadata_of(path) -> dict[str, str]:
    with safetensors.safe_open(str(path), framework="np") as f:
        return dict(f.metadata() or {})


def numpy_tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "module.encoder.embedding.weight": rng.standard_normal((5, 3)).astype(np.float32),
        "module.f64": rng.standard_normal((2, 2)),
        "module.f16": rng.standard_normal(7).astype(np.float16),
        "module.i64": np.array([-(1 << 40), 0, 3], dtype=np.int64),
        "module.i32": np.arange(-3, 3, dtype=np.int32).reshape(2, 3),
        "module.i16": np.array([-2, 9], dtype=np.int16),
        "module.i8": np.array([-128, 127, 0], dtype=np.int8),
        "module.u8": np.array([255, 1], dtype=np.uint8),
        "module.bool": np.array([True, False, False]),
        "module.scalar": np.array(2.5, dtype=np.float32),
        "module.empty": np.zeros((0, 3), dtype=np.float32),
    }


def test_convert_model_output_reads_back_exactly(tmp_path):
    src, out = tmp_path / "in.safetensors", tmp_path / "out.safetensors"
    arrays = numpy_tensors()
    save_file(arrays, str(src), metadata={"note": "from numpy"})
    r = run_cli("convert-model", src, out)
    assert r.returncode == 0, r.stderr
    assert "module." in r.stderr  # says it stripped the prefix

    got = tensors_of(out)
    assert set(got) == {k.removeprefix("module.") for k in arrays}
    expect = tensors_of(src)
    for name, t in expect.items():
        assert got[name.removeprefix("module.")] == t, name
    # scextract keeps the input's metadata and adds the format tag safetensors.torch expects
    assert metadata_of(out) == {"note": "from numpy", "format": "pt"}

    # the numpy loader of the reference library agrees value by value
    loaded = safetensors.numpy.load_file(str(out))
    for name, a in arrays.items():
        b = loaded[name.removeprefix("module.")]
        assert b.dtype == a.dtype and b.shape == a.shape, name
        np.testing.assert_array_equal(b, a)


def test_output_header_is_padded_and_aligned(tmp_path):
    out = tmp_path / "out.safetensors"
    assert run_cli("convert-model", FIXTURE, out).returncode == 0
    raw = out.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0
    header = json.loads(raw[8:8 + n])
    size = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
    for name, entry in header.items():
        if name != "__metadata__":
            assert entry["data_offsets"][0] % size[entry["dtype"]] == 0, name


def test_fixture_rewritten_unchanged(tmp_path):
    out = tmp_path / "copy.safetensors"
    r = run_cli("convert-model", FIXTURE, out)
    assert r.returncode == 0, r.stderr
    assert tensors_of(out) == tensors_of(FIXTURE)  # every dtype, BF16 included, bytes identical
    assert metadata_of(out) == metadata_of(FIXTURE)


def test_inspect_describes_tensors_like_the_reference(tmp_path):
    summary = inspect_json(FIXTURE)
    assert summary["kind"] == "tensor_file"
    assert summary["format"] == "safetensors"
    assert summary["metadata"] == metadata_of(FIXTURE)
    names = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
             "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}
    ref = tensors_of(FIXTURE)
    mine = {t["name"]: t for t in summary["tensors"]}
    assert set(mine) == set(ref)
    for name, t in ref.items():
        assert mine[name]["dtype"] == names[t["dtype"]], name
        assert mine[name]["shape"] == t["shape"], name
    assert summary["n_tensors"] == len(ref)
    assert summary["n_elements"] == sum(int(np.prod(t["shape"])) for t in ref.values())


def test_pytorch_output_is_refused(tmp_path):
    r = run_cli("convert-model", FIXTURE, tmp_path / "out.pt")
    assert r.returncode == 2
    assert "safetensors is the safe format" in r.stderr
    assert not (tmp_path / "out.pt").exists()


def test_malformed_input_is_refused_naming_the_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    good = FIXTURE.read_bytes()
    bad.write_bytes(good[:-3])  # truncated: the last tensor reaches past the end
    r = run_cli("convert-model", bad, tmp_path / "out.safetensors")
    assert r.returncode == 1
    assert str(bad) in r.stderr
    assert not (tmp_path / "out.safetensors").exists()


def test_pytorch_state_dict_converts_exactly(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not importable", exc_type=ImportError)
    g = torch.Generator().manual_seed(3)
    base = torch.randn(10, generator=g)
    sd = {
        "module.w": torch.randn(3, 4, generator=g),
        "module.t": torch.randn(4, 3, generator=g).t(),  # non-contiguous view
        "module.h": torch.randn(5, generator=g).half(),
        "module.b": torch.randn(2, 2, generator=g).to(torch.bfloat16),
        "module.i": torch.arange(6, dtype=torch.int64),
        "module.slice": base[2:5],  # views sharing one storage
        "module.every_other": base[::2],
    }
    src, out = tmp_path / "best_model.pt", tmp_path / "best_model.safetensors"
    torch.save({"model_state_dict": sd, "epoch": 3}, src)
    r = run_cli("convert-model", src, out)
    assert r.returncode == 0, r.stderr
    got = tensors_of(out)
    dtype = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    assert set(got) == {k.removeprefix("module.") for k in sd}
    for name, t in sd.items():
        entry = got[name.removeprefix("module.")]
        c = t.contiguous()
        raw = (c.view(torch.int16) if c.dtype == torch.bfloat16 else c).numpy().tobytes()
        assert entry == {"dtype": dtype[t.dtype], "shape": list(t.shape), "data": raw}, name
