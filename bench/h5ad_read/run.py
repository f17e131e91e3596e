#!/usr/bin/env python3
"""h5ad read benchmark: scextract vs h5py's raw read (the floor) vs anndata.read_h5ad.

Generates (once, cached in bench/out/) a CSR .h5ad of N cells x G genes with a
fixed density, written the way anndata writes X (float32 data, int32 indices,
gzip level 4, 1-D chunks of 2^18 elements), then in the same run times, each in a
fresh process and repeated --reps times:
  ours-full      scextract read_h5ad_matrix (whole X -> float32 CSR)
  h5py-floor     h5py reading X/data, X/indices, X/indptr into numpy
  anndata        anndata.read_h5ad(path) (whole object)
  ours-chunked   scextract H5adRowReader over all rows, --block rows at a time
and prints medians, ratios and peak resident memory. Targets (issue 2): ours-full
within 1.2x of h5py-floor, faster than anndata, ours-chunked under 1 GB peak.

  .venv/bin/python bench/h5ad_read/run.py [--cells 1000000] [--genes 2000] [--density 0.05]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PY_READERS = {
    "h5py-floor": """
import h5py, json, resource, sys, time
t = time.perf_counter()
with h5py.File(sys.argv[1], "r") as f:
    d = f["X/data"][:]; i = f["X/indices"][:]; p = f["X/indptr"][:]
s = time.perf_counter() - t
print(json.dumps({"seconds": s, "nnz": int(d.size), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""",
    "anndata": """
import anndata, json, resource, sys, time
t = time.perf_counter()
a = anndata.read_h5ad(sys.argv[1])
s = time.perf_counter() - t
print(json.dumps({"seconds": s, "nnz": int(a.X.nnz), "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""",
}


def generate(path: Path, n_cells: int, n_genes: int, density: float, seed: int, gzip: int) -> None:
    import h5py
    import numpy as np

    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    block = 10_000
    chunk = 1 << 18
    str_dt = h5py.string_dtype()
    with h5py.File(tmp, "w") as f:
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
        x = f.create_group("X")
        x.attrs["encoding-type"] = "csr_matrix"
        x.attrs["encoding-version"] = "0.1.0"
        x.attrs["shape"] = np.array([n_cells, n_genes], dtype=np.int64)
        kw = dict(chunks=(chunk,), maxshape=(None,))
        if gzip > 0:
            kw.update(compression="gzip", compression_opts=gzip)
        data = x.create_dataset("data", shape=(0,), dtype=np.float32, **kw)
        indices = x.create_dataset("indices", shape=(0,), dtype=np.int32, **kw)
        indptr = np.zeros(n_cells + 1, dtype=np.int64)
        nnz = 0
        for b in range(0, n_cells, block):
            rows = min(block, n_cells - b)
            mask = rng.random((rows, n_genes), dtype=np.float32) < density
            r, c = np.nonzero(mask)
            vals = (1 + rng.geometric(0.3, size=r.size)).astype(np.float32)
            counts = np.bincount(r, minlength=rows)
            indptr[b + 1 : b + rows + 1] = nnz + np.cumsum(counts)
            data.resize((nnz + r.size,))
            indices.resize((nnz + r.size,))
            data[nnz:] = vals
            indices[nnz:] = c.astype(np.int32)
            nnz += r.size
        indptr_dt = np.int32 if nnz < 2**31 else np.int64
        x.create_dataset("indptr", data=indptr.astype(indptr_dt), **({"compression": "gzip"} if gzip > 0 else {}))
        for name, n, prefix in (("obs", n_cells, "cell"), ("var", n_genes, "gene")):
            g = f.create_group(name)
            g.attrs["encoding-type"] = "dataframe"
            g.attrs["encoding-version"] = "0.2.0"
            g.attrs["_index"] = "_index"
            g.attrs["column-order"] = np.array([], dtype=np.float64)
            idx = g.create_dataset("_index", data=np.array([f"{prefix}{i}" for i in range(n)], dtype=object), dtype=str_dt,
                                   compression="gzip")
            idx.attrs["encoding-type"] = "string-array"
            idx.attrs["encoding-version"] = "0.2.0"
        for name in ("obsm", "varm", "obsp", "varp", "layers", "uns"):
            g = f.create_group(name)
            g.attrs["encoding-type"] = "dict"
            g.attrs["encoding-version"] = "0.1.0"
    tmp.rename(path)


def run_json(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=1_000_000)
    ap.add_argument("--genes", type=int, default=2000)
    ap.add_argument("--density", type=float, default=0.05)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--block", type=int, default=10_000, help="rows per block for the chunked read")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--gzip", type=int, default=4, help="gzip level of the generated file (0: uncompressed)")
    ap.add_argument("--tool", default=str(ROOT / "build" / "bench" / "h5ad_read_tool"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    ap.add_argument("--generate-only", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate_only:
        generate(Path(args.generate_only), args.cells, args.genes, args.density, args.seed, args.gzip)
        return 0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"sim_{args.cells}x{args.genes}_d{args.density}_s{args.seed}_gz{args.gzip}.h5ad"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr)
        t = time.perf_counter()
        # in a child process, so this driver stays small: peak RSS is inherited across fork
        subprocess.run([sys.executable, __file__, "--generate-only", str(path), "--cells", str(args.cells), "--genes",
                        str(args.genes), "--density", str(args.density), "--seed", str(args.seed), "--gzip",
                        str(args.gzip)], check=True)
        print(f"  generated in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    if not Path(args.tool).exists():
        sys.exit(f"{args.tool} not found: build it with `cmake --build build --target h5ad_read_tool`")

    runs: dict[str, list[dict]] = {k: [] for k in ("ours-full", "h5py-floor", "anndata", "ours-chunked")}
    for rep in range(args.reps):
        # interleave the readers so drift in machine load hits all of them alike
        runs["ours-full"].append(run_json([args.tool, "full", str(path)]))
        runs["h5py-floor"].append(run_json([sys.executable, "-c", PY_READERS["h5py-floor"], str(path)]))
        runs["anndata"].append(run_json([sys.executable, "-c", PY_READERS["anndata"], str(path)]))
        runs["ours-chunked"].append(run_json([args.tool, "chunked", str(path), str(args.block)]))
        print(f"  rep {rep + 1}/{args.reps} done", file=sys.stderr)

    med = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items()}
    peak = {k: max(r["peak_mb"] for r in v) for k, v in runs.items()}
    nnz = runs["ours-full"][0]["nnz"]
    assert all(r["nnz"] == nnz for v in runs.values() for r in v), "readers disagree on nnz"
    from importlib.metadata import version

    result = {
        "file": path.name,
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "cells": args.cells,
        "genes": args.genes,
        "density": args.density,
        "nnz": nnz,
        "compression": (f"gzip level {args.gzip}" if args.gzip > 0 else "uncompressed") + ", 1-D chunks of 262144 elements",
        "reps": args.reps,
        "median_seconds": med,
        "peak_mb": peak,
        "ratio_ours_full_to_h5py_floor": med["ours-full"] / med["h5py-floor"],
        "ratio_anndata_to_ours_full": med["anndata"] / med["ours-full"],
        "versions": {"h5py": version("h5py"), "anndata": version("anndata"), "python": platform.python_version()},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
    (out / f"h5ad_read_gz{args.gzip}.json").write_text(json.dumps(result, indent=2))
    print(f"{path.name}: {args.cells} x {args.genes}, nnz {nnz}, {result['file_mb']} MB on disk ({result['compression']})")
    print(f"{'reader':<14}{'median s':>10}{'peak MB':>10}")
    for k in runs:
        print(f"{k:<14}{med[k]:>10.2f}{peak[k]:>10.0f}")
    print(f"ours-full / h5py-floor = {result['ratio_ours_full_to_h5py_floor']:.2f} (target <= 1.2)")
    print(f"anndata / ours-full    = {result['ratio_anndata_to_ours_full']:.2f} (target > 1)")
    print(f"ours-chunked peak      = {peak['ours-chunked']:.0f} MB (target < 1024)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
