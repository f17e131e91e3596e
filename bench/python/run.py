#!/usr/bin/env python3
"""Python overhead of scx.apply (issue 22, item 5): the package's in-memory apply against the
same library call made from C++, on the same cells, and the memory the Python call adds.

Builds once (cached in --workdir, default bench/out/python/):
  algorithm  simulate 4,000 reference cells (8 donors, --genes, design seed 42) -> make-model tiny, planted ->
             export atlas (panel 200) -> fit -> algo.scx
  queries    `scextract --seed 7 simulate --design-seed 42 --cells N` for each N of --cells (the
             reference's genes, new donors and cells)
Then for each size, --reps times, interleaved, each in a fresh process:
  cpp     BUILD/bench/apply_tool: X read whole (scextract's reader), then apply_algorithm_to()
          over it in memory (the public API call scx.apply makes); times the apply alone
  python  anndata.read_h5ad, then scx.apply(adata, algo) (gene symbols, the C++ call on the
          viewed scipy arrays, obs/obsm/uns written into the AnnData); times scx.apply alone
          and the peak memory it adds over the loaded AnnData (VmHWM reset after loading
          through /proc/self/clear_refs), beside the bytes of X (data + indices + indptr)
Prints medians, the ratio python/cpp (target <= 1.10) and extra-peak / X (no copy: well
below 1).

  .venv/bin/python bench/python/run.py [--cells 100000 1000000] [--reps 3] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PY_CHILD = r"""
import json, resource, sys, time
import anndata, scextract as scx
algo_path, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
adata = anndata.read_h5ad(path)
algo = scx.read_algorithm(algo_path)
X = adata.X
x_mb = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
rss0 = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")  # reset the high-water mark to the current RSS
t = time.perf_counter()
scx.apply(adata, algo, threads=threads)
seconds = time.perf_counter() - t
print(json.dumps({"apply_seconds": seconds, "x_mb": x_mb, "extra_peak_mb": status("VmHWM") - rss0,
                  "cells": adata.n_obs}))
"""


def run(cmd: list[str]) -> dict:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return r


def ensure_algorithm(scx: str, work: Path, genes: int) -> Path:
    algo = work / "algo.scx"
    if algo.exists():
        return algo
    ref = work / "reference.h5ad"
    print("  building the algorithm", file=sys.stderr)
    run([scx, "simulate", "--design-seed", "42", "--cells", "4000", "--donors", "8", "--genes", str(genes), "--out", str(ref)])
    run([scx, "make-model", "--out", str(work / "model"), "--size", "tiny", "--plant", str(ref)])
    run([scx, "export", "--model", str(work / "model"), "--reference", str(ref), "--panel", "200", "--mode", "atlas",
         "--cells", "200", "--out", str(work / "ops.scxop")])
    run([scx, "fit", "--operator", str(work / "ops.scxop"), "--train", str(ref), "--tissue-key", "tissue", "--out", str(algo)])
    return algo


def ensure_query(scx: str, work: Path, cells: int, genes: int) -> Path:
    q = work / f"query_{cells}.h5ad"
    if not q.exists():
        print(f"  simulating {cells} cells", file=sys.stderr)
        # the reference's design (same genes), new donors and cells
        run([scx, "--seed", "7", "simulate", "--design-seed", "42", "--cells", str(cells), "--donors", "8", "--genes",
             str(genes), "--out", str(q)])
    return q


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--genes", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--build", default="build")
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "out" / "python"))
    a = ap.parse_args()
    build = ROOT / a.build
    scx = str(build / "scextract")
    tool = str(build / "bench" / "apply_tool")
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    algo = ensure_algorithm(scx, work, a.genes)
    import scextract
    print(f"scextract {scextract.__version__} (Python package), {os.cpu_count()} cores, threads {a.threads}")
    print(f"{'cells':>9} {'C++ apply s':>12} {'scx.apply s':>12} {'python/C++':>11} {'X MB':>8} {'extra peak MB':>14} {'extra/X':>8}")
    rows = []
    for n in a.cells:
        q = ensure_query(scx, work, n, a.genes)
        cpp, py = [], []
        for _ in range(a.reps):
            cpp.append(json.loads(run([tool, str(algo), str(q), str(a.threads)]).stdout))
            py.append(json.loads(run([sys.executable, "-c", PY_CHILD, str(algo), str(q), str(a.threads)]).stdout))
        c = statistics.median(r["apply_seconds"] for r in cpp)
        p = statistics.median(r["apply_seconds"] for r in py)
        x_mb = py[0]["x_mb"]
        extra = statistics.median(r["extra_peak_mb"] for r in py)
        rows.append({"cells": n, "cpp_apply_seconds": c, "python_apply_seconds": p, "ratio": p / c, "x_mb": x_mb,
                     "extra_peak_mb": extra, "reps": a.reps, "threads": a.threads})
        print(f"{n:>9} {c:>12.3f} {p:>12.3f} {p / c:>11.3f} {x_mb:>8.0f} {extra:>14.1f} {extra / x_mb:>8.3f}")
    (work / "results.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
