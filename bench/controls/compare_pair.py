#!/usr/bin/env python3
"""Paired comparison of two methods of one `scextract bench` run on one endpoint, when neither
is the run's reference (the bench compares the reference with each other method only).

  .venv/bin/python bench/controls/compare_pair.py RUN_DIR METHOD_A METHOD_B [--endpoint depth_spearman]

Reads RUN_DIR/scores_by_split.tsv and scores_by_donor.tsv and prints, over splits and over
distinct test donors, n, both means and scipy's two-sided Wilcoxon signed-rank p (method
'auto', as the bench uses). The p is uncorrected: it is not part of the run's BH family.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from scipy.stats import wilcoxon


def scores(path: Path, key: str, method: str, endpoint: str) -> dict[str, float]:
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["method"] == method]
    if not rows:
        sys.exit(f"{path}: no rows for method '{method}'")
    return {r[key]: float(r[endpoint]) for r in rows if r[endpoint] not in ("", "NA", "nan")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--endpoint", default="depth_spearman")
    args = ap.parse_args()
    for unit, name, key in (("splits", "scores_by_split.tsv", "split"), ("donors", "scores_by_donor.tsv", "donor")):
        path = args.run_dir / name
        a = scores(path, key, args.a, args.endpoint)
        b = scores(path, key, args.b, args.endpoint)
        keys = sorted(set(a) & set(b))
        x, y = [a[k] for k in keys], [b[k] for k in keys]
        p = wilcoxon(x, y).pvalue
        print(f"{args.endpoint}: {args.a} vs {args.b} over {unit}: n = {len(keys)}, "
              f"means {sum(x) / len(x):.3f} vs {sum(y) / len(y):.3f}, Wilcoxon p = {p:.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
