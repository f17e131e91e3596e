#!/usr/bin/env python3
"""How tight is the scVI fidelity rule? (issue 21, item 9)

Trains scextract's scVI and scvi-tools' SCVI with several seeds each on one simulated bed
(default: the 10k cells of run.py's sim10k, 1,000 HVGs, 20 epochs, as run.py does) and asks
two questions of the latents:
  1. is scextract farther from scvi-tools than scvi-tools is from itself? (kNN-15 Jaccard of
     every ours-tool pair against every tool-tool pair; 15-NN label-transfer balanced accuracy
     of our seeds against the tool's seeds, Mann-Whitney U, two-sided)
  2. how often does scvi-tools pass run.py's rule when one of its own seeds stands in for
     scextract and three others are the anchors? (every such choice of seeds)

  scvi_seeds.py [--group sim10k] [--seeds 5] [--threads 2] [--epochs 20]
Writes bench/out/anchors/scvi_seeds_<group>/summary.json and prints a table.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anchors import test_mask  # noqa: E402
from run import (ROOT, SIZES, Runner, knn_jaccard, knn_sets, knn_transfer_balanced_accuracy, ok,  # noqa: E402
                 scvi_rule, sim_data)


def rule(ours_nn, ours_ba, anchor_nn: dict, anchor_ba: dict) -> bool:
    """run.py's check_scvi on precomputed neighbour sets and balanced accuracies."""
    *_, jaccard_met, accuracy_met = scvi_rule(ours_nn, ours_ba, anchor_nn, anchor_ba)
    return jaccard_met and accuracy_met


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--group", default="sim10k", choices=[g for g in SIZES if SIZES[g] <= 100_000])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--build", default=str(ROOT / "build"))
    a = ap.parse_args()
    import anndata as ad
    from scipy.stats import mannwhitneyu

    base = ROOT / "bench/out/anchors"
    out = base / f"scvi_seeds_{a.group}"
    out.mkdir(parents=True, exist_ok=True)
    r = Runner(out, a.threads, 7200, str(Path(a.build) / "bench/anchor_tool"), str(Path(a.build) / "scextract"))
    data = sim_data(out, SIZES[a.group], r.scx)  # out.parent: where run.py keeps the beds
    seeds = list(range(a.seeds))
    for s in seeds:
        for side in ("ours", "anchor"):
            rec = r.step(side, "scvi", data, n_top=1000, epochs=a.epochs, seed=s)
            if not ok(rec):
                sys.exit(f"scvi_seeds: {side} seed {s} failed: {rec['error']}")
    backed = ad.read_h5ad(data, backed="r")
    labels = backed.obs["cell_type"].astype(str).to_numpy()
    donors = sorted(backed.obs["donor"].astype(str).unique())
    test = test_mask(backed, "donor", ",".join(donors[:3]))  # run.py's split
    z = {(side, s): np.load(out / f"scvi_{side}_seed{s}.npy") for side in ("ours", "anchor") for s in seeds}
    nn = {k: knn_sets(v) for k, v in z.items()}
    ba = {k: knn_transfer_balanced_accuracy(v, labels, test) for k, v in z.items()}

    tool_tool = [knn_jaccard(nn["anchor", s], nn["anchor", t]) for s, t in itertools.combinations(seeds, 2)]
    ours_tool = [knn_jaccard(nn["ours", s], nn["anchor", t]) for s in seeds for t in seeds]
    ours_ours = [knn_jaccard(nn["ours", s], nn["ours", t]) for s, t in itertools.combinations(seeds, 2)]
    ba_ours = [ba["ours", s] for s in seeds]
    ba_tool = [ba["anchor", s] for s in seeds]
    # the rule, with scvi-tools seed s standing in for scextract against three other seeds
    self_trials = [rule(nn["anchor", s], ba["anchor", s], {t: nn["anchor", t] for t in trio}, {t: ba["anchor", t] for t in trio})
                   for s in seeds for trio in itertools.combinations([t for t in seeds if t != s], 3)]
    ours_trials = [rule(nn["ours", s], ba["ours", s], {t: nn["anchor", t] for t in trio}, {t: ba["anchor", t] for t in trio})
                   for s in seeds for trio in itertools.combinations(seeds, 3)]
    summary = {
        "group": a.group, "seeds": seeds, "epochs": a.epochs, "data": str(data),
        "jaccard": {"tool_tool": tool_tool, "ours_tool": ours_tool, "ours_ours": ours_ours,
                    "mann_whitney_p_ours_tool_vs_tool_tool": float(mannwhitneyu(ours_tool, tool_tool).pvalue)},
        "balanced_accuracy": {"ours": ba_ours, "tool": ba_tool,
                              "mann_whitney_p": float(mannwhitneyu(ba_ours, ba_tool).pvalue)},
        "rule_pass_rate": {"scvi_tools_against_itself": float(np.mean(self_trials)), "trials_self": len(self_trials),
                           "scextract": float(np.mean(ours_trials)), "trials_ours": len(ours_trials)},
        "records": r.records,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    f = lambda v: f"median {np.median(v):.4f} (range {min(v):.4f}-{max(v):.4f}, n={len(v)})"  # noqa: E731
    print(f"{a.group}: {len(seeds)} seeds a side, {a.epochs} epochs")
    print(f"kNN-15 Jaccard  tool-tool {f(tool_tool)}\n                ours-tool {f(ours_tool)}\n"
          f"                ours-ours {f(ours_ours)}\n  Mann-Whitney p (ours-tool vs tool-tool) "
          f"{summary['jaccard']['mann_whitney_p_ours_tool_vs_tool_tool']:.3g}")
    print(f"label transfer BA  ours {f(ba_ours)}\n                   tool {f(ba_tool)}\n  Mann-Whitney p "
          f"{summary['balanced_accuracy']['mann_whitney_p']:.3g}")
    print(f"run.py's rule passes: scvi-tools against itself {np.mean(self_trials):.0%} of {len(self_trials)} trials; "
          f"scextract {np.mean(ours_trials):.0%} of {len(ours_trials)} trials")


if __name__ == "__main__":
    main()
