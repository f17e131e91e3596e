#!/usr/bin/env python
"""Regenerates the libFuzzer seed corpora in tests/fuzz/corpus/<target>/ (issue 23, item 5).

Seeds come from the committed fixtures (tests/fixtures/...), from small files written by
scextract itself (simulate, make-model, export, fit on tiny data) and from a few inputs
written here. Keep the whole corpus small (< 2 MB): fuzzing grows it, the seeds only show
the shape of a valid input. Run with the project venv (h5py writes the 10x HDF5 seeds):

    .venv/bin/python tests/fuzz/make_seed_corpus.py [--scextract build/scextract]
"""
import argparse
import gzip
import hashlib
import io
import json
import pickle
import shutil
import struct
import subprocess
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
CUT = b"\n--8<--\n"  # tests/fuzz/fuzz_support.hpp: split_parts()


def put(corpus: Path, target: str, data: bytes, name: str | None = None):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / (name or hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


def run(scx, *args, cwd):
    subprocess.run([str(scx), "--threads", "1", "--quiet", *map(str, args)], check=True, cwd=cwd)


def tenx_h5_v3(path: Path, n_genes=6, n_cells=5, probes=False):
    rng = np.random.default_rng(1)
    dense = rng.poisson(1.0, size=(n_cells, n_genes)).astype(np.int32)  # cells x genes = CSC of genes x cells
    indptr, indices, data = [0], [], []
    for c in range(n_cells):
        nz = np.nonzero(dense[c])[0]
        indices += nz.tolist()
        data += dense[c, nz].tolist()
        indptr.append(len(indices))
    with h5py.File(path, "w") as f:
        m = f.create_group("matrix")
        m["barcodes"] = np.array([f"AAAC-{i}".encode() for i in range(n_cells)])
        m["data"] = np.array(data, dtype=np.int32)
        m["indices"] = np.array(indices, dtype=np.int64)
        m["indptr"] = np.array(indptr, dtype=np.int64)
        m["shape"] = np.array([n_genes, n_cells], dtype=np.int32)
        ft = m.create_group("features")
        ft["id"] = np.array([f"ENSG{i:05d}".encode() for i in range(n_genes)])
        ft["name"] = np.array([(b"G%d" % (i % 4)) for i in range(n_genes)])
        ft["feature_type"] = np.array([b"Gene Expression"] * (n_genes - 1) + [b"Antibody Capture"])
        ft["genome"] = np.array([b"GRCh38"] * n_genes)
        if probes:
            ft["gene_id"] = np.array([f"ENSG{i:05d}".encode() for i in range(n_genes)])


def tenx_h5_v2(path: Path):
    with h5py.File(path, "w") as f:
        g = f.create_group("hg19")
        g["barcodes"] = np.array([b"AAAC-1", b"AAAG-1", b"AACC-1"])
        g["data"] = np.array([1, 2, 3, 1], dtype=np.int32)
        g["indices"] = np.array([0, 2, 1, 3], dtype=np.int64)
        g["indptr"] = np.array([0, 2, 3, 4], dtype=np.int64)
        g["shape"] = np.array([4, 3], dtype=np.int32)
        g["genes"] = np.array([b"ENSG1", b"ENSG2", b"ENSG3", b"ENSG4"])
        g["gene_names"] = np.array([b"A", b"B", b"B", b"C"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scextract", default=str(ROOT / "build" / "scextract"))
    ap.add_argument("--out", default=str(ROOT / "tests" / "fuzz" / "corpus"))
    a = ap.parse_args()
    corpus = Path(a.out)
    shutil.rmtree(corpus, ignore_errors=True)
    scx = Path(a.scextract).resolve()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # Small files made by scextract: a simulation, a planted tiny model, an operator file, an algorithm.
        run(scx, "simulate", "--cells", "300", "--genes", "500", "--donors", "4", "--out", "sim.h5ad", cwd=tmp)
        run(scx, "simulate", "--cells", "24", "--genes", "500", "--donors", "2", "--out", "small.h5ad", cwd=tmp)
        run(scx, "make-model", "--out", "model", "--size", "tiny", "--vocab-genes", "0", "--plant", "sim.h5ad", cwd=tmp)
        run(scx, "export", "--model", "model", "--reference", "sim.h5ad", "--panel", "16", "--cells", "60",
            "--out", "ops.scxop", cwd=tmp)
        run(scx, "fit", "--operator", "ops.scxop", "--train", "sim.h5ad", "--tissue-key", "tissue", "--epochs", "20",
            "--out", "algo.scx", cwd=tmp)
        for t in ("algorithm_file", "scx_container"):
            put(corpus, t, (tmp / "algo.scx").read_bytes(), "fit.scx")
        for t in ("operator_file", "scx_container"):
            put(corpus, t, (tmp / "ops.scxop").read_bytes(), "export.scxop")
        put(corpus, "h5ad", (tmp / "small.h5ad").read_bytes(), "simulate_24_cells.h5ad")
        put(corpus, "scgpt_args", (tmp / "model" / "args.json").read_bytes(), "make_model_args.json")
        put(corpus, "vocab_json", (tmp / "model" / "vocab.json").read_bytes(), "make_model_vocab.json")
        # A 10x MTX folder and a CSV written here, converted by scextract to a tiny h5ad too.
        mtx = b"%%MatrixMarket matrix coordinate integer general\n%\n4 3 5\n1 1 3\n2 1 1\n4 2 7\n3 3 2\n1 3 1\n"
        feats = b"ENSG1\tA\tGene Expression\nENSG2\tB\tGene Expression\nENSG3\tB\tGene Expression\nAB1\tCD3\tAntibody Capture\n"
        genes_v2 = b"ENSG1\tA\nENSG2\tB\nENSG3\tB\nENSG4\tC\n"
        bcs = b"AAAC-1\nAAAG-1\nAACC-1\n"
        put(corpus, "tenx_mtx", b"\x00" + mtx + CUT + feats + CUT + bcs, "v3_plain")
        put(corpus, "tenx_mtx", b"\x01" + mtx + CUT + feats + CUT + bcs, "v3_gzipped")
        put(corpus, "tenx_mtx", b"\x02" + gzip.compress(mtx, mtime=0) + CUT + feats + CUT + bcs, "v3_raw_gzip")
        put(corpus, "tenx_mtx", b"\x04" + mtx.replace(b"integer", b"real") + CUT + genes_v2 + CUT + bcs, "v2_real")
        put(corpus, "tenx_mtx", b"\x04" + mtx.replace(b"integer", b"pattern").replace(b" 3\n", b"\n")
            + CUT + genes_v2 + CUT + bcs, "v2_pattern")
        csv = b",A,B,C,D\ncell1,0,1,2,0\ncell2,3,0,0,1\ncell3,0,0,5,0\n"
        put(corpus, "csv_counts", b"\x00" + csv, "plain.csv")
        put(corpus, "csv_counts", b"\x01" + csv.replace(b",", b"\t"), "plain.tsv")
        put(corpus, "csv_counts", b"\x02" + b'"",A,"B,1",C\n"c1",1,2.5,0\n"c2",0,0,1e2\n', "quoted.csv.gz")
        (tmp / "c.csv").write_bytes(csv)
        run(scx, "convert", "c.csv", "from_csv.h5ad", cwd=tmp)
        put(corpus, "h5ad", (tmp / "from_csv.h5ad").read_bytes(), "convert_csv.h5ad")

    # Fixtures: h5ad files of every anndata layout, torch checkpoints, safetensors, JSON inputs.
    for name in ("x_dense_i32", "legacy_v06", "lzf", "x_csr_i64_f64", "x_csc_f32", "no_x", "obs_mismatch"):
        put(corpus, "h5ad", (FIX / "h5ad" / f"{name}.h5ad").read_bytes(), f"{name}.h5ad")
    for name in ("plain", "protocol4", "module_prefix", "wrapped_state_dict", "legacy", "big_endian",
                 "renamed_folder", "missing_storage", "evil_os_system"):
        data = (FIX / "torch" / f"{name}.pt").read_bytes()
        put(corpus, "torch_checkpoint", data, f"{name}.pt")
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
                put(corpus, "restricted_pickle", b"\x00" + z.read(pkl), f"{name}.data.pkl")
    put(corpus, "torch_checkpoint", (FIX / "forward" / "checkpoints" / "views" / "best_model.pt").read_bytes(), "views.pt")
    plain_data = [None, True, False, 0, -1, 2**31, 2**63 - 1, 1.5, "text", b"bytes", (1, 2), [3, [4]],
                  {"a": 1, "b": (2, 3)}, {1, 2}, frozenset({3})]
    shared = [1, 2]
    for proto in (2, 3, 4, 5):
        put(corpus, "restricted_pickle", b"\x01" + pickle.dumps(plain_data, protocol=proto), f"plain_p{proto}.pkl")
        put(corpus, "restricted_pickle", b"\x01" + pickle.dumps({"x": shared, "y": shared}, protocol=proto),
            f"memo_p{proto}.pkl")
    put(corpus, "safetensors", (FIX / "safetensors" / "all_dtypes.safetensors").read_bytes(), "all_dtypes.safetensors")
    header = json.dumps({"__metadata__": {"format": "pt"},
                         "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                         "b": {"dtype": "I64", "shape": [1], "data_offsets": [16, 24]}}).encode()
    put(corpus, "safetensors", struct.pack("<Q", len(header)) + header + struct.pack("<4fq", 1, 2, 3, 4, 7),
        "two_tensors.safetensors")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tenx_h5_v3(tmp / "v3.h5")
        tenx_h5_v3(tmp / "probes.h5", probes=True)
        tenx_h5_v2(tmp / "v2.h5")
        for n in ("v3", "probes", "v2"):
            put(corpus, "tenx_h5", (tmp / f"{n}.h5").read_bytes(), f"{n}.h5")
    put(corpus, "ruler_json", (ROOT / "data" / "rulers" / "hematopoiesis.json").read_bytes(), "hematopoiesis.json")
    for p in sorted((FIX / "forward" / "checkpoints").glob("*/args.json"))[:2]:
        put(corpus, "scgpt_args", p.read_bytes(), f"{p.parent.name}_args.json")
    put(corpus, "vocab_json", (FIX / "forward" / "checkpoints" / "plain" / "vocab.json").read_bytes(), "fixture_vocab.json")
    put(corpus, "vocab_json", b'{"<pad>": 2, "A": 0, "B": 1}', "tiny_vocab.json")
    for p in (ROOT / "examples" / "bench-sim.json", ROOT / "bench" / "ladder" / "select.json"):
        put(corpus, "bench_config", p.read_bytes(), p.name)

    total = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    print(f"seed corpus: {sum(1 for p in corpus.rglob('*') if p.is_file())} files, {total / 1e6:.2f} MB in {corpus}")
    if total > 2_000_000:
        raise SystemExit("the seed corpus is over 2 MB; use smaller seeds")


if __name__ == "__main__":
    main()
