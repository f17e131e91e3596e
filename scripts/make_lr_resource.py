#!/usr/bin/env python3
"""Derives data/lr/cellphonedb_v4_human.tsv (ligand, receptor) for `scextract ruler build-lr`.

Source: the PyPI package commot 0.0.3 (MIT licence), which ships CellPhoneDB v4.0's human
ligand-receptor table (CellPhoneDB: MIT licence) as
commot/preprocessing/_data/LRdatabase/CellPhoneDB_v4.0/CellPhoneDBv4.0.human.csv.
The wheel and the CSV are checked against the sha256 values below, so a changed upload is
refused rather than silently shipped. Only the ligand and receptor columns are kept
(complex subunits stay joined by '_'); duplicate pairs are dropped; order is the source's.

    python scripts/make_lr_resource.py [--wheel commot-0.0.3-py3-none-any.whl]

Without --wheel it runs `pip download --no-deps commot==0.0.3` into a temporary folder.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import pathlib
import subprocess
import sys
import tempfile
import zipfile

PACKAGE, VERSION = "commot", "0.0.3"
WHEEL = f"{PACKAGE}-{VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "fb4028e3cfea7073b4531f5c5c7b903f69128aaa4215834c0988429e2001e11b"
MEMBER = "commot/preprocessing/_data/LRdatabase/CellPhoneDB_v4.0/CellPhoneDBv4.0.human.csv"
MEMBER_SHA256 = "affccb4d2699b7e672d2913458b190d5e05908cd67f6a2a5036ce16744ccb934"
OUT = pathlib.Path(__file__).resolve().parent.parent / "data" / "lr" / "cellphonedb_v4_human.tsv"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=pathlib.Path)
    ap.add_argument("--out", type=pathlib.Path, default=OUT)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"{PACKAGE}=={VERSION}", "-d", tmp],
                           check=True)
            wheel = pathlib.Path(tmp) / WHEEL
        blob = wheel.read_bytes()
        if sha256(blob) != WHEEL_SHA256:
            sys.exit(f"{wheel}: sha256 {sha256(blob)} is not the recorded {WHEEL_SHA256}")
        with zipfile.ZipFile(io.BytesIO(blob)) as z:
            text = z.read(MEMBER)
    if sha256(text) != MEMBER_SHA256:
        sys.exit(f"{MEMBER}: sha256 {sha256(text)} is not the recorded {MEMBER_SHA256}")
    rows = list(csv.reader(io.StringIO(text.decode("utf-8"))))
    seen, pairs = set(), []
    for row in rows[1:]:  # header ",0,1,2,3": index, ligand, receptor, pathway, kind
        ligand, receptor = row[1].strip(), row[2].strip()
        if ligand and receptor and (ligand, receptor) not in seen:
            seen.add((ligand, receptor))
            pairs.append((ligand, receptor))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        f.write(f"# CellPhoneDB v4.0 human ligand-receptor pairs (MIT), from PyPI {PACKAGE} {VERSION} (MIT),\n")
        f.write(f"# {MEMBER} (sha256 {MEMBER_SHA256}).\n")
        f.write("# Made by scripts/make_lr_resource.py; complex subunits joined by '_'. See data/lr/README.md.\n")
        f.write("ligand\treceptor\n")
        for ligand, receptor in pairs:
            f.write(f"{ligand}\t{receptor}\n")
    print(f"{args.out}: {len(pairs)} pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
