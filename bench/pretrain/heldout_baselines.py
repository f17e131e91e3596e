"""Model-free baselines for the held-out loss in recipe.json: the masked MSE that two
predictors reach on exactly the held-out batches pretrain.py evaluates (same cells, bins,
sampling and masks, rebuilt from the seed), to read the training curve against.

    .venv-pretrain/bin/python bench/pretrain/heldout_baselines.py [--seed 0]

  constant   every masked position predicted as the mean bin of the training cells' tokens
  gene_mean  each gene predicted as its mean bin over the training cells (no context: what
             a model that knows the gene but not the cell could do); unseen genes -> constant
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pretrain as P  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-seq-len", type=int, default=256)
    ap.add_argument("--mask-ratio", type=float, default=0.4)
    ap.add_argument("--heldout-fraction", type=float, default=0.1)
    a = ap.parse_args()
    vocab = json.loads(P.VOCAB.read_text())
    cfg = {"n_bins": 51, "max_seq_len": a.max_seq_len, "pad_value": -2, "mask_value": -1, "mask_ratio": a.mask_ratio,
           "cls_id": vocab["<cls>"], "pad_id": vocab["<pad>"]}
    cells, origin, _, _ = P.load_cells(P.SHARED, P.DATASETS, vocab)
    rng = np.random.default_rng(a.seed)  # the same draws, in the same order, as pretrain.main
    held = np.zeros(len(cells), dtype=bool)
    for k in range(len(P.DATASETS)):
        idx = np.flatnonzero(origin == k)
        held[rng.choice(idx, size=max(1, int(round(a.heldout_fraction * len(idx)))), replace=False)] = True
    held_idx = np.flatnonzero(held)
    eval_rng = np.random.default_rng(a.seed + 1)
    batches = [P.make_batch([cells[i] for i in held_idx[s: s + 32]], cfg, eval_rng) for s in range(0, len(held_idx), 32)]
    # training-cell statistics: bins of every expressed gene (one binning draw per cell, seeded)
    stat_rng = np.random.default_rng(a.seed + 2)
    sums, counts, tot, n = {}, {}, 0.0, 0
    for i in np.flatnonzero(~held):
        ids, c = cells[i]
        b = P.binning(c, 51, stat_rng)
        tot += b.sum(); n += len(b)
        for g, v in zip(ids.tolist(), b.tolist()):
            sums[g] = sums.get(g, 0.0) + v
            counts[g] = counts.get(g, 0) + 1
    const = tot / n
    se_c = se_g = m = 0.0
    for genes, _, target, _, mask in batches:
        g, t, mk = genes.numpy(), target.numpy(), mask.numpy()
        pred_g = np.vectorize(lambda x: sums[x] / counts[x] if x in counts else const)(g)
        se_c += float((((const - t) ** 2) * mk).sum())
        se_g += float((((pred_g - t) ** 2) * mk).sum())
        m += float(mk.sum())
    print(json.dumps({"heldout_masked_positions": int(m), "constant_bin": round(const, 3),
                      "constant_mse": round(se_c / m, 4), "gene_mean_mse": round(se_g / m, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
