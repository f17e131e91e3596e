#!/usr/bin/env python3
"""The ladder table of a `scextract bench` run as Markdown, from its results.json: one row per
rung (config order), one column per endpoint, cells = mean over splits and the marks of a
significant change against the rung the row names (BH within the ladder comparisons):
up/down arrow for better/worse, * / ** over splits, + / ++ over donors (q < 0.05 / 0.01).
Then the control comparisons (method vs its gene-permuted twin) over donors.
With --all, first a table of every method against the run's reference (BH within the
reference comparisons), then the pairs named by "against" (ladder) and the controls.

    python3 bench/ladder/table.py [--all] bench/out/ladder/report/results.json
"""
import json
import math
import sys

SHORT = {
    "branch_balanced_accuracy": "branch BA", "branch_macro_f1": "branch F1",
    "stage_balanced_accuracy": "stage BA", "stage_macro_f1": "stage F1",
    "cd4_cd8_auroc": "CD4/8 AUC", "cd4_cd8_balanced_accuracy": "CD4/8 BA",
    "mono_macro_auroc": "mono/mac AUC", "mono_macro_balanced_accuracy": "mono/mac BA",
    "depth_spearman": "depth", }


def main(path, all_methods=False):
    r = json.load(open(path))
    endpoints = [e["name"] for e in r["endpoints"]]
    higher = {e["name"]: e["higher_is_better"] for e in r["endpoints"]}
    means = {}
    for s in r["scores"]:
        if s["value"] is not None:
            means.setdefault((s["method"], s["endpoint"]), []).append(s["value"])
    comps = r["comparisons"] if all_methods else [c for c in r["comparisons"] if c.get("kind", "reference") != "reference"]
    for c in comps:
        c.setdefault("kind", "reference")
    rung_names = [m["name"] for m in r["methods"]
                  if any(c["kind"] == "ladder" and m["name"] in (c["method"], c["reference"]) for c in comps)]
    against = {c["method"]: c["reference"] for c in comps if c["kind"] == "ladder"}

    def marks(kind, method, endpoint):
        out, arrow = "", ""
        for unit, sym in (("splits", "*"), ("donors", "+")):
            for c in comps:
                if (c["kind"], c["method"], c["endpoint"], c["unit"]) == (kind, method, endpoint, unit) and c["significant"]:
                    out += sym * (2 if c["q"] < 0.01 else 1)
                    up = c["mean_method"] > c["mean_reference"]
                    arrow = "▲" if up == higher[endpoint] else "▼"
        return arrow + out

    def table(names, kind, against_of):
        print(f"| {'method' if kind == 'reference' else 'rung'} | against | " + " | ".join(SHORT.get(e, e) for e in endpoints) + " |")
        print("|---|---|" + "---|" * len(endpoints))
        for name in names:
            cells = []
            for e in endpoints:
                v = means.get((name, e))
                cells.append("n/a" if not v else f"{sum(v) / len(v):.3f}{marks(kind, name, e)}")
            print(f"| {name} | {against_of(name)} | " + " | ".join(cells) + " |")

    if all_methods:
        ref = r.get("reference", "")
        table([m["name"] for m in r["methods"]], "reference", lambda n: "" if n == ref else ref)
        print()
    table(rung_names, "ladder", lambda n: against.get(n, ""))
    controls = [c for c in comps if c["kind"] == "control" and c["unit"] == "donors"]
    if controls:
        print("\n| method | control | endpoint | n donors | method | control | p | q |")
        print("|---|---|---|---|---|---|---|---|")
        for c in controls:
            fmt = lambda x: "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"
            print(f"| {c['method']} | {c['reference']} | {SHORT.get(c['endpoint'], c['endpoint'])} | {c['n']} | "
                  f"{fmt(c['mean_method'])} | {fmt(c['mean_reference'])} | {fmt(c['p'])} | {fmt(c['q'])} |")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--all"]
    main(args[0], all_methods="--all" in sys.argv[1:])
