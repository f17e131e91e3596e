#!/usr/bin/env python
"""Labels T cells CD4 or CD8 from CITE-seq / Abseq protein counts alone, so the truth of the
CD4/CD8 endpoint on real cells does not come from RNA (issue 18, item 3).

Gate: for each of the CD3, CD4 and CD8 proteins, a two-component Gaussian mixture on
log1p(ADT counts) over all cells (sklearn, seeded); a cell is positive for the protein when
the upper component's posterior is > 0.5. CD3+ CD4+ CD8- = "CD4 T", CD3+ CD8+ CD4- = "CD8 T";
every other cell (CD3-, double positive, double negative) is left out of the output, so every
label maps onto the ruler. The thresholds (the log1p value where the posterior crosses 0.5)
are written to <out>.gates.json and printed.

Usage: gate_adt.py IN.h5ad OUT.h5ad --cd3 NAME --cd4 NAME --cd8 NAME [--donor-key batch]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import anndata as ad
import numpy as np
from sklearn.mixture import GaussianMixture


def gate(values: np.ndarray, name: str) -> tuple[np.ndarray, float]:
    x = np.log1p(values).reshape(-1, 1)
    gm = GaussianMixture(n_components=2, random_state=0, n_init=3).fit(x)
    upper = int(np.argmax(gm.means_.ravel()))
    positive = gm.predict_proba(x)[:, upper] > 0.5
    grid = np.linspace(x.min(), x.max(), 2001).reshape(-1, 1)
    post = gm.predict_proba(grid)[:, upper]
    crossing = grid[np.argmax(post > 0.5), 0]
    if positive.all() or not positive.any():
        sys.exit(f"{name}: the mixture does not split the cells (all {'positive' if positive.all() else 'negative'})")
    return positive, float(crossing)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--cd3", required=True)
    p.add_argument("--cd4", required=True)
    p.add_argument("--cd8", required=True)
    a = p.parse_args()
    adata = ad.read_h5ad(a.input)
    if "protein_expression" not in adata.obsm or "protein_names" not in adata.uns:
        sys.exit(f"{a.input}: no obsm['protein_expression'] with uns['protein_names']")
    names = list(adata.uns["protein_names"])
    proteins = np.asarray(adata.obsm["protein_expression"])
    gates, positive = {}, {}
    for key, name in (("CD3", a.cd3), ("CD4", a.cd4), ("CD8", a.cd8)):
        if name not in names:
            sys.exit(f"{a.input}: protein '{name}' not in uns['protein_names']")
        positive[key], threshold = gate(proteins[:, names.index(name)], name)
        gates[key] = {"protein": name, "log1p_threshold": round(threshold, 4), "n_positive": int(positive[key].sum())}
    cd4 = positive["CD3"] & positive["CD4"] & ~positive["CD8"]
    cd8 = positive["CD3"] & positive["CD8"] & ~positive["CD4"]
    keep = cd4 | cd8
    out = adata[keep].copy()
    out.obs["adt_cell_type"] = np.where(cd4[keep], "CD4 T", "CD8 T")
    out.obs["adt_cell_type"] = out.obs["adt_cell_type"].astype("category")
    summary = {"input": os.path.basename(a.input), "gates": gates, "n_cells_in": int(adata.n_obs),
               "n_cd4_t": int(cd4.sum()), "n_cd8_t": int(cd8.sum()),
               "rule": "GMM(2) on log1p ADT per protein; CD3+CD4+CD8- = CD4 T, CD3+CD8+CD4- = CD8 T, others dropped"}
    if "cell_type" in adata.obs:
        summary["agreement_with_source_labels"] = {
            lab: {t: int(((adata.obs["cell_type"] == lab).to_numpy() & (cd4 if t == "CD4 T" else cd8)).sum())
                  for t in ("CD4 T", "CD8 T")}
            for lab in adata.obs["cell_type"].astype(str).unique()}
    d = os.path.dirname(os.path.abspath(a.output))
    with tempfile.NamedTemporaryFile(dir=d, suffix=".h5ad", delete=False) as t:
        tmp = t.name
    try:
        out.write_h5ad(tmp, compression="gzip")
        os.replace(tmp, a.output)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    with open(a.output.removesuffix(".h5ad") + ".gates.json", "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
