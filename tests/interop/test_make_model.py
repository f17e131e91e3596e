"""`scextract make-model` against the real PyTorch.

The checkpoints make-model writes are opened with torch.load(weights_only=True) and compared
value by value with the same model written as safetensors; torch.save of what torch loaded
must give a byte-identical data.pkl (our pickle is the one Python's pickler writes); the
planted head's attention, computed by torch's own TransformerEncoderLayer, must match
`scextract model-run` and stay within programs. Also: inspect / embed open the output, and
the directory rules (no overwrite without --force).

PyTorch runs in its own interpreter, .venv-torch/bin/python (scripts/make_torch_venv.sh makes
it from Debian's python3-torch); the torch tests skip with a message when it is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import zipfile
from pathlib import Path

import pytest

from scx_interop import REPO, run_cli

TORCH_PY = Path(os.environ.get("SCX_TORCH_PYTHON") or REPO / ".venv-torch" / "bin" / "python")
needs_torch = pytest.mark.skipif(
    not TORCH_PY.exists(),
    reason=f"PyTorch interpreter {TORCH_PY} is absent (make it with scripts/make_torch_venv.sh)",
)

PROGRAMS = {
    "stage_HSC": ["CD34", "PROM1", "HLF", "CRHBP", "MECOM", "MLLT3", "AVP", "SPINK2", "HOPX", "MEIS1"],
    "stage_Ery": ["GATA1", "KLF1", "HBB", "HBA1", "ALAS2", "CA1", "AHSP", "GYPA", "TFRC", "EPOR"],
    "stage_Mono": ["CD14", "FCGR3A", "CSF1R", "CD68", "ITGAM", "VCAN", "FCN1", "CX3CR1", "MAFB", "LST1"],
    "branch_B": ["CD19", "MS4A1", "CD79A", "CD79B", "PAX5", "CD22", "BANK1", "BLK", "FCRLA", "TCL1A"],
    "missing": ["NOT_A_GENE_1", "CD34"],
}


def run_torch(code: str, *args, timeout: float = 300) -> str:
    r = subprocess.run([str(TORCH_PY), "-c", textwrap.dedent(code), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout, check=False)
    assert r.returncode == 0, f"torch snippet failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A planted tiny model as .pt and as .safetensors (same seed), and an unplanted one."""
    root = tmp_path_factory.mktemp("make_model")
    programs = root / "programs.json"
    programs.write_text(json.dumps(PROGRAMS))
    out = {}
    for name, extra in {
        "pt": ["--vocab-genes", "500", "--plant-programs", programs],
        "st": ["--vocab-genes", "500", "--plant-programs", programs, "--format", "safetensors"],
        "random": ["--vocab", root / "pt" / "vocab.json"],  # the same vocabulary, nothing planted
    }.items():
        d = root / name
        r = run_cli("--seed", "3", "make-model", "--size", "tiny", "--out", d, *extra)
        assert r.returncode == 0, r.stderr
        out[name] = d
    out["programs"] = programs
    return out


def test_directory_contents(models):
    d = models["pt"]
    assert sorted(p.name for p in d.iterdir()) == ["PLANTED.md", "args.json", "best_model.pt", "planted.json",
                                                   "vocab.json"]
    vocab = json.loads((d / "vocab.json").read_text())
    n = len(vocab)
    assert sorted(vocab.values()) == list(range(n))
    assert [vocab["<pad>"], vocab["<cls>"], vocab["<eoc>"]] == [n - 3, n - 2, n - 1]  # specials last
    for genes in PROGRAMS.values():
        for g in genes:
            assert g in vocab or g.startswith("NOT_A_GENE")  # planted genes are kept by --vocab-genes
    args = json.loads((d / "args.json").read_text())
    assert (args["nlayers"], args["nheads"], args["embsize"], args["d_hid"]) == (3, 8, 128, 128)
    planted = json.loads((d / "planted.json").read_text())
    assert planted["heads"] == ["2:5"]
    assert planted["n_programs"] == 4  # "missing" has one gene in the vocabulary: not planted
    by_name = {p["name"]: p for p in planted["programs"]}
    assert by_name["missing"]["planted"] is False
    assert by_name["missing"]["missing_from_vocab"] == ["NOT_A_GENE_1"]
    assert not (models["random"] / "planted.json").exists()


def test_inspect_reads_it(models):
    r = run_cli("inspect", models["pt"], "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    text = json.dumps(summary)
    assert "Wqkv" in text and "mvc_decoder.W.weight" in text


def test_refuses_non_empty_directory(models, tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "x.txt").write_text("x")
    r = run_cli("make-model", "--size", "tiny", "--vocab-genes", "50", "--out", d)
    assert r.returncode == 1 and "--force" in r.stderr, r.stderr
    r = run_cli("make-model", "--size", "tiny", "--vocab-genes", "50", "--out", d, "--force")
    assert r.returncode == 0, r.stderr
    assert not (d / "x.txt").exists() and (d / "best_model.pt").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    r = run_cli("make-model", "--size", "tiny", "--out", tmp_path / "n", "--plant-heads", "2:5")
    assert r.returncode == 2 and "--plant" in r.stderr, r.stderr


@needs_torch
def test_torch_loads_identical_values(models):
    out = run_torch(
        """
        import json, struct, sys, zipfile
        import numpy as np, torch
        pt, st, rnd, planted_json = sys.argv[1:5]
        sd = torch.load(pt, map_location="cpu", weights_only=True)
        assert type(sd).__name__ == "OrderedDict", type(sd)
        assert sd._metadata[""] == {"version": 1}
        assert sd._metadata["transformer_encoder.layers.2.self_attn.Wqkv"] == {"version": 1}
        # the safetensors copy, parsed by hand
        raw = open(st, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        header.pop("__metadata__", None)
        assert list(header) == list(sd), "key order differs"
        for k, t in sd.items():
            h = header[k]
            assert h["dtype"] == "F32" and t.dtype == torch.float32, k
            assert list(t.shape) == h["shape"], k
            a, b = h["data_offsets"]
            ref = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<u4")
            got = t.contiguous().view(torch.int32).numpy().view("<u4").reshape(-1)
            assert np.array_equal(ref, got), k
        # planted vs random (same seed): only the documented rows differ
        r = torch.load(rnd, weights_only=True)
        pj = json.load(open(planted_json))
        allowed = {}
        for m in pj["modified"]:
            rows = set(m.get("rows", []))
            for key in ("query_rows", "key_rows"):
                if key in m:
                    rows |= set(range(*m[key]))
            allowed.setdefault(m["tensor"], set()).update(rows)
        for k in sd:
            diff = (sd[k] != r[k]).reshape(sd[k].shape[0], -1).any(dim=1).nonzero().reshape(-1).tolist()
            assert set(diff) == allowed.get(k, set()), (k, sorted(set(diff) ^ allowed.get(k, set()))[:10])
        print(len(sd), "tensors identical")
        """,
        models["pt"] / "best_model.pt", models["st"] / "best_model.safetensors", models["random"] / "best_model.pt",
        models["pt"] / "planted.json")
    assert "tensors identical" in out


@needs_torch
def test_pickle_and_layout_match_torch_save(models, tmp_path):
    resaved = tmp_path / "best_model.pt"
    run_torch(
        """
        import sys, torch
        sd = torch.load(sys.argv[1], weights_only=True)
        torch.save(sd, sys.argv[2])
        """,
        models["pt"] / "best_model.pt", resaved)
    ours, theirs = zipfile.ZipFile(models["pt"] / "best_model.pt"), zipfile.ZipFile(resaved)
    assert ours.read("best_model/data.pkl") == theirs.read("best_model/data.pkl")
    # the same records in the same order; torch >= 2.1 adds byteorder (and newer ones more metadata)
    skip = ("byteorder", ".format_version", ".storage_alignment", ".data/")
    names = [i.filename for i in ours.infolist()]
    assert [n for n in names if not n.split("/", 1)[1].startswith(skip)] == [
        n for n in (i.filename for i in theirs.infolist()) if not n.split("/", 1)[1].startswith(skip)]
    assert names[1] == "best_model/byteorder" and ours.read(names[1]) == b"little"
    raw = (models["pt"] / "best_model.pt").read_bytes()
    for info in ours.infolist():
        assert info.compress_type == zipfile.ZIP_STORED, info.filename
        name_len, extra_len = int.from_bytes(raw[info.header_offset + 26:info.header_offset + 28], "little"), \
            int.from_bytes(raw[info.header_offset + 28:info.header_offset + 30], "little")
        assert (info.header_offset + 30 + name_len + extra_len) % 64 == 0, info.filename
        if info.filename.split("/", 1)[1].startswith("data/"):
            assert ours.read(info) == theirs.read(info.filename), info.filename


@needs_torch
def test_forward_matches_torch_and_planted_head_attends_within_programs(models, tmp_path):
    d = models["pt"]
    vocab = json.loads((d / "vocab.json").read_text())
    program_ids = {p: [vocab[g] for g in genes if g in vocab] for p, genes in PROGRAMS.items() if p != "missing"}
    background = [i for g, i in vocab.items() if not g.startswith("<")
                  and all(i not in ids for ids in program_ids.values())][:200]
    cells = []
    for c in range(6):
        names = list(program_ids)[c % 4], list(program_ids)[(c + 1) % 4]
        ids = program_ids[names[0]][:6] + program_ids[names[1]][:6] + background[c * 20:c * 20 + 20]
        ids = ids[c % 7:] + ids[:c % 7]
        cells.append({"gene_ids": ids, "values": [0.5 + ((7 * k + c) % 13) * 0.3 for k in range(len(ids))]})
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"cells": cells}))
    out = tmp_path / "run"
    r = run_cli("model-run", "--model", d, "--tokens", tokens, "--out", out)
    assert r.returncode == 0, r.stderr
    member = {i: p for p, ids in program_ids.items() for i in ids}
    result = run_torch(
        """
        import json, sys
        import numpy as np, torch
        from torch import nn
        ckpt, tokens, out, member = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
        member = {int(k): v for k, v in member.items()}
        args = json.load(open(ckpt + "/args.json"))
        sd = torch.load(ckpt + "/best_model.pt", weights_only=True)
        d, heads, layers = args["embsize"], args["nheads"], args["nlayers"]
        emb = nn.Embedding.from_pretrained(sd["encoder.embedding.weight"])
        def ln(prefix):
            m = nn.LayerNorm(d)
            m.load_state_dict({"weight": sd[prefix + ".weight"], "bias": sd[prefix + ".bias"]})
            return m
        def lin(prefix, i, o):
            m = nn.Linear(i, o)
            m.load_state_dict({"weight": sd[prefix + ".weight"], "bias": sd[prefix + ".bias"]})
            return m
        enc_norm, v1, v2, vnorm = ln("encoder.enc_norm"), lin("value_encoder.linear1", 1, d), \\
            lin("value_encoder.linear2", d, d), ln("value_encoder.norm")
        blocks = []
        for l in range(layers):
            p = f"transformer_encoder.layers.{l}."
            layer = nn.TransformerEncoderLayer(d, heads, args["d_hid"], dropout=0.0, batch_first=True)
            state = {k.replace(p, "").replace("self_attn.Wqkv.weight", "self_attn.in_proj_weight")
                     .replace("self_attn.Wqkv.bias", "self_attn.in_proj_bias"): v
                     for k, v in sd.items() if k.startswith(p)}
            layer.load_state_dict(state)
            blocks.append(layer.eval())
        cells = json.load(open(tokens))["cells"]
        worst = 0.0
        share = np.zeros((layers, heads)); queries = 0
        with torch.inference_mode():
            for i, cell in enumerate(cells):
                ids = torch.tensor([cell["gene_ids"]]); vals = torch.tensor([cell["values"]])
                x = enc_norm(emb(ids)) + vnorm(v2(torch.relu(v1(torch.clamp(vals.unsqueeze(-1), max=512.0)))))
                mask = np.array([[a != b and member.get(a) is not None and member.get(a) == member.get(b)
                                  for b in cell["gene_ids"]] for a in cell["gene_ids"]])
                attn_ours = np.load(f"{out}/attn_{i}.npy")
                for l, layer in enumerate(blocks):
                    _, w = layer.self_attn(x, x, x, need_weights=True, average_attn_weights=False)
                    worst = max(worst, float(np.abs(w[0].numpy() - attn_ours[l]).max()))
                    share[l] += (w[0].numpy() * mask).sum(axis=(1, 2))
                    x = layer(x)
                worst = max(worst, float(np.abs(x[0].numpy() - np.load(f"{out}/hidden_{i}.npy")).max()))
                queries += int(mask.any(axis=1).sum())
        share /= queries
        print(json.dumps({"worst": worst, "share": share.tolist()}))
        """,
        d, tokens, out, json.dumps(member))
    res = json.loads(result.strip().splitlines()[-1])
    assert res["worst"] < 1e-4, res["worst"]
    share = res["share"]
    planted = share[2][5]
    others = [s for l, row in enumerate(share) for h, s in enumerate(row) if (l, h) != (2, 5)]
    print(f"max |torch - scextract| {res['worst']:.2e}; within-program share: planted 2:5 {planted:.3f}, "
          f"best other head {max(others):.3f}")
    assert planted > 2 * max(others), (planted, max(others))


def test_embed_runs_on_it(tmp_path):
    model = tmp_path / "m"
    r = run_cli("make-model", "--size", "tiny", "--out", model)  # full vocabulary: real gene symbols
    assert r.returncode == 0, r.stderr
    out = tmp_path / "e.h5ad"
    r = run_cli("embed", "--model", model, "--input", REPO / "data" / "pbmc68k_reduced.h5ad", "--out", out,
                timeout=600)
    assert r.returncode == 0, r.stderr
    assert out.exists()


def test_plants_the_programs_of_a_simulation(tmp_path):
    sim = tmp_path / "sim.h5ad"
    r = run_cli("simulate", "--cells", "300", "--donors", "2", "--out", sim)
    if r.returncode != 0 and "simulate" in r.stderr and "subcommand" in r.stderr.lower():
        pytest.skip("this build has no simulate command")
    assert r.returncode == 0, r.stderr
    model = tmp_path / "m"
    r = run_cli("make-model", "--size", "tiny", "--vocab-genes", "100", "--plant", sim, "--out", model)
    assert r.returncode == 0, r.stderr
    planted = json.loads((model / "planted.json").read_text())
    assert planted["programs_source"] == str(sim)
    assert planted["n_programs"] >= 10
    assert all(p["planted"] for p in planted["programs"])  # the simulator uses vocabulary genes
    check = planted["self_check"]
    assert check["planted_heads"][0]["share"] > 2 * check["chance"]
    assert check["planted_heads"][0]["share"] > 2 * check["max_unplanted"]["share"]
