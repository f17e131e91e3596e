#!/usr/bin/env python3
"""Streamed `scextract apply` benchmark: a rank-64 algorithm on simulated cells, against merely
reading X the same way.

Builds once (cached in --workdir, default bench/out/apply_stream/):
  algorithm  simulate a reference (--ref-cells, 8 donors, --genes) -> make-model tiny, planted
             -> export --mode atlas --panel --panel -> compress (the variants, for the record)
             -> fit --features rank --rank 64 --head 2:5 (the planted head) -> algo_rank64.scx
  datasets   `scextract simulate --cells N --genes G` for each N of --cells (new cells: the
             --cell-offset is past the reference), gzip X as simulate writes it
Then, for each size and --reps times, interleaved, each in a fresh process:
  read    BUILD/bench/h5ad_read_tool chunked: H5adRowReader over X, the same chunk of
          rows apply uses (--chunk-size rounded up to a multiple of 256), nothing else
  apply   scextract apply --chunk-size C: read + count check + features + adaptor + readouts,
          written into a copy of the input (the byte copy of the file is part of its time)
and prints median seconds, cells/s, peak RSS of the child (os.wait4) and apply/read. Targets
(issue): apply at most 1.25x the read, and a peak that does not grow with the cells.

  .venv/bin/python bench/apply_stream/run.py [--cells 250000 500000 1000000] [--reps 3]
  .venv/bin/python bench/apply_stream/run.py --cells 20000 100000 --reps 2   # a quick run
  .venv/bin/python bench/apply_stream/run.py --build build-apply --cells 20000   # another build's binaries
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


def run_waited(cmd: list[str]) -> dict:
    """Runs @cmd: wall seconds, stdout and the child's own peak RSS in MB (reaped with wait4,
    so the peak is this child's alone, not the largest of all children so far)."""
    t = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=devnull, text=False)
        out = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t
    if p.returncode != 0:
        # rerun to show why
        r = subprocess.run(cmd, capture_output=True, text=True)
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "stdout": out.decode()}


def step(msg: str, cmd: list[str]) -> None:
    print(f"  {msg}", file=sys.stderr)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr}")


def build_algorithm(scx: str, work: Path, args) -> Path:
    algo = work / "algo_rank64.scx"
    if algo.exists():
        return algo
    print(f"building the rank-64 algorithm in {work} ...", file=sys.stderr)
    ref = work / "reference.h5ad"
    common = ["--threads", str(args.threads)] if args.threads else []
    step("simulate reference", [scx, *common, "simulate", "--cells", str(args.ref_cells), "--donors", "8", "--genes",
                                str(args.genes), "--out", str(ref)])
    step("make-model (tiny, planted)", [scx, *common, "make-model", "--out", str(work / "model"), "--size", "tiny",
                                        "--plant", str(ref), "--force"])
    step("export (atlas)", [scx, *common, "export", "--model", str(work / "model"), "--reference", str(ref), "--panel",
                            str(args.panel), "--mode", "atlas", "--cells", "300", "--out", str(work / "ops.scxop")])
    r = subprocess.run([scx, "compress", "--operator", str(work / "ops.scxop"), "--head", "2:5", "--ranks", "64"],
                       capture_output=True, text=True, check=True)
    (work / "compress.txt").write_text(r.stdout + r.stderr)
    step("fit (rank 64 of head 2:5)", [scx, *common, "fit", "--operator", str(work / "ops.scxop"), "--train", str(ref),
                                       "--tissue-key", "tissue", "--features", "rank", "--rank", "64", "--head", "2:5",
                                       "--out", str(algo)])
    return algo


def dataset(scx: str, work: Path, n: int, args) -> Path:
    path = work / f"sim_{n}x{args.genes}.h5ad"
    if not path.exists():
        print(f"simulating {n} cells x {args.genes} genes ...", file=sys.stderr)
        t = time.perf_counter()
        common = ["--threads", str(args.threads)] if args.threads else []
        step("simulate", [scx, *common, "simulate", "--cells", str(n), "--donors", "8", "--genes", str(args.genes),
                          "--cell-offset", str(args.ref_cells), "--out", str(path)])
        print(f"  {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    ap.add_argument("--genes", type=int, default=2000, help="genes of the simulated data (simulate's default)")
    ap.add_argument("--panel", type=int, default=1200, help="panel of the exported operator (export's default)")
    ap.add_argument("--ref-cells", type=int, default=4000, help="reference cells the algorithm is fitted on")
    ap.add_argument("--chunk-size", type=int, default=20000, help="apply --chunk-size (and the read's block)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="--threads for both (0: scextract's default, all cores)")
    ap.add_argument("--workdir", default=str(ROOT / "bench" / "out" / "apply_stream"),
                    help="datasets and the algorithm are cached here and reused")
    ap.add_argument("--build", default=os.environ.get("SCX_BUILD", "build-extract"),
                    help="build directory (relative to the repository, or absolute) holding scextract and "
                         "bench/h5ad_read_tool (default: $SCX_BUILD, else build-extract)")
    ap.add_argument("--scextract", help="scextract executable (default: BUILD/scextract)")
    ap.add_argument("--read-tool", help="the read tool (default: BUILD/bench/h5ad_read_tool)")
    ap.add_argument("--keep-outputs", action="store_true", help="keep apply's output files")
    ap.add_argument("--prepare-only", action="store_true", help="build the algorithm and the datasets, time nothing")
    args = ap.parse_args()
    build = ROOT / args.build
    args.scextract = args.scextract or str(build / "scextract")
    args.read_tool = args.read_tool or str(build / "bench" / "h5ad_read_tool")
    for exe in (args.scextract, args.read_tool):
        if not Path(exe).exists():
            sys.exit(f"{exe} not found: build it (cmake --build {args.build} --target scextract h5ad_read_tool)")

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    algo = build_algorithm(args.scextract, work, args)
    paths = {n: dataset(args.scextract, work, n, args) for n in args.cells}
    if args.prepare_only:
        return 0
    block = -(-args.chunk_size // 256) * 256  # apply rounds its chunks up to whole 256-row blocks
    threads = ["--threads", str(args.threads)] if args.threads else []
    env_threads = {"OMP_NUM_THREADS": str(args.threads)} if args.threads else {}
    os.environ.update(env_threads)

    rows = []
    for n, path in paths.items():
        out = work / f"applied_{n}.h5ad"
        read_runs, apply_runs = [], []
        for rep in range(args.reps):
            # interleaved, so drift in the machine's load hits both alike
            r = run_waited([args.read_tool, "chunked", str(path), str(block)])
            r["json"] = json.loads(r["stdout"].strip().splitlines()[-1])
            read_runs.append(r)
            out.unlink(missing_ok=True)  # replacing it would time its unlink too (0.7 s for 1.2 GB)
            apply_runs.append(run_waited([args.scextract, *threads, "--quiet", "apply", "--algorithm", str(algo), "--input",
                                          str(path), "--out", str(out), "--chunk-size", str(args.chunk_size)]))
            print(f"  {n} cells: rep {rep + 1}/{args.reps}: read {read_runs[-1]['seconds']:.1f} s, "
                  f"apply {apply_runs[-1]['seconds']:.1f} s", file=sys.stderr)
        if not args.keep_outputs:
            out.unlink(missing_ok=True)
        read_s = statistics.median(r["seconds"] for r in read_runs)
        apply_s = statistics.median(r["seconds"] for r in apply_runs)
        rows.append({
            "cells": n,
            "file_mb": round(path.stat().st_size / 2**20, 1),
            "nnz": read_runs[0]["json"]["nnz"],
            "read_seconds": read_s,
            "apply_seconds": apply_s,
            "read_cells_per_s": n / read_s,
            "apply_cells_per_s": n / apply_s,
            "read_peak_mb": max(r["peak_mb"] for r in read_runs),
            "apply_peak_mb": max(r["peak_mb"] for r in apply_runs),
            "ratio_apply_to_read": apply_s / read_s,
            "read_runs_s": [r["seconds"] for r in read_runs],
            "apply_runs_s": [r["seconds"] for r in apply_runs],
        })

    result = {
        "algorithm": f"{algo.name}: rank-64 SVD of head 2:5, panel {args.panel}, fitted on {args.ref_cells} cells",
        "genes": args.genes,
        "chunk_size": args.chunk_size,
        "read_block_rows": block,
        "threads": args.threads or os.cpu_count(),
        "reps": args.reps,
        "rows": rows,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
    (work / "apply_stream.json").write_text(json.dumps(result, indent=2))
    print(f"{result['algorithm']}; {args.genes} genes; --chunk-size {args.chunk_size}; "
          f"{result['threads']} threads; median of {args.reps}")
    print(f"{'cells':>9}{'file MB':>9}{'read s':>8}{'apply s':>9}{'read cells/s':>14}{'apply cells/s':>15}"
          f"{'read MB':>9}{'apply MB':>10}{'apply/read':>12}")
    for r in rows:
        print(f"{r['cells']:>9}{r['file_mb']:>9.0f}{r['read_seconds']:>8.1f}{r['apply_seconds']:>9.1f}"
              f"{r['read_cells_per_s']:>14.0f}{r['apply_cells_per_s']:>15.0f}{r['read_peak_mb']:>9.0f}"
              f"{r['apply_peak_mb']:>10.0f}{r['ratio_apply_to_read']:>12.2f}")
    worst = max(r["ratio_apply_to_read"] for r in rows)
    peaks = [r["apply_peak_mb"] for r in rows]
    print(f"apply / read at most {worst:.2f} (target <= 1.25); apply peak {min(peaks):.0f}-{max(peaks):.0f} MB "
          f"over {rows[0]['cells']}-{rows[-1]['cells']} cells (target: flat)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
