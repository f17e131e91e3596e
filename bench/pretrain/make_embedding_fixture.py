"""Writes tests/fixtures/pretrained/: scGPT's own embeddings of 20 cells under the pretrained
checkpoint data/scgpt_pretrained_small, for tests/interop/test_pretrained_small.py.

    .venv-pretrain/bin/python bench/pretrain/make_embedding_fixture.py

Tokens (deterministic, no random step): the first 20 cells of data/pbmc68k_reduced.h5ad
(raw UMI counts, CSR) with at most max_seq_len tokens (rows listed in meta.json), each as <cls> (id 60695, value pad_value = -2) followed by its
expressed genes (count > 0) that are in vocab.json, in the file's var order, with per-cell
bins as scgpt.preprocess.binning computes them but with _digitize(side="one"): edges =
numpy.quantile(non-zero counts, numpy.linspace(0, 1, n_bins - 1)), bin = numpy.digitize(count,
edges) (so 1..50, ties with several edges go to the highest, not a random one). Cells with
more than max_seq_len tokens are passed over, so nothing is sampled. The tokens are written to tokens.json in
`scextract model-run --tokens` format, so the test feeds scextract exactly these tokens.

Model: scgpt.model.model.TransformerModel (scgpt 0.2.4, scgpt_model.py) built from args.json
with use_fast_transformer=False, load_state_dict(best_model.pt, strict=True), eval mode,
torch.no_grad, one cell per call (no padding). cls.npy = output["cell_emb"] of the official
forward (cell_emb_style "cls": the final-layer state of <cls>); mean.npy = the same forward's
_get_cell_emb_from_layer with cell_emb_style "avg-pool" (mean over every token, <cls> included),
which is what model-run's mean_<i>.npy is.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scgpt_model  # noqa: E402
from pretrain import build_model, read_counts, text  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "data" / "scgpt_pretrained_small"
INPUT = REPO / "data" / "pbmc68k_reduced.h5ad"
OUT = REPO / "tests" / "fixtures" / "pretrained"
N_CELLS = 20


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tokens_for(input_path: Path, vocab: dict, n_bins: int, pad_value: float, n_cells: int, max_seq_len: int):
    """The first n_cells cells (obs order) whose token count, <cls> included, is at most max_seq_len."""
    _, (data, indices, indptr, shape), genes, _ = read_counts(input_path)
    col_id = np.array([vocab.get(g, -1) for g in genes], dtype=np.int64)
    with h5py.File(input_path, "r") as f:
        obs = f["obs"]
        all_names = [text(s) for s in obs[text(obs.attrs.get("_index", "_index"))][:]]
    cells, names, rows = [], [], []
    for r in range(shape[0]):
        if len(cells) == n_cells:
            break
        lo, hi = indptr[r], indptr[r + 1]
        cols, vals = indices[lo:hi], data[lo:hi]
        order = np.argsort(cols, kind="stable")
        cols, vals = cols[order], vals[order]
        ok = (vals > 0) & (col_id[cols] >= 0)
        ids, counts = col_id[cols[ok]], vals[ok].astype(np.float64)
        if len(ids) + 1 > max_seq_len:
            continue
        edges = np.quantile(counts, np.linspace(0, 1, n_bins - 1))
        bins = np.digitize(counts, edges)
        cells.append({"gene_ids": [int(vocab["<cls>"])] + ids.tolist(),
                      "values": [float(pad_value)] + bins.astype(float).tolist()})
        names.append(all_names[r])
        rows.append(r)
    return cells, names, rows


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=str(MODEL))
    p.add_argument("--out", default=str(OUT))
    a = p.parse_args(argv)
    model_dir, out_dir = Path(a.model).resolve(), Path(a.out).resolve()
    torch.set_num_threads(1)
    args = json.loads((model_dir / "args.json").read_text())
    vocab = json.loads((model_dir / "vocab.json").read_text())
    cells, names, rows = tokens_for(INPUT, vocab, args["n_bins"], args["pad_value"], N_CELLS, args["max_seq_len"])
    for c in cells:
        assert len(c["gene_ids"]) <= args["max_seq_len"], "a cell would need sampling"

    model = build_model(args, vocab)
    state = torch.load(model_dir / "best_model.pt", map_location="cpu")
    model.load_state_dict(state, strict=True)
    model.eval()
    cls, mean = [], []
    with torch.no_grad():
        for c in cells:
            g = torch.tensor([c["gene_ids"]], dtype=torch.long)
            v = torch.tensor([c["values"]], dtype=torch.float32)
            pad = torch.zeros_like(g, dtype=torch.bool)
            out = model(g, v, src_key_padding_mask=pad, CLS=False, CCE=False, MVC=False, ECS=False)
            cls.append(out["cell_emb"][0].numpy())
            model.cell_emb_style = "avg-pool"
            mean.append(model._get_cell_emb_from_layer(model._encode(g, v, pad), v)[0].numpy())
            model.cell_emb_style = args["cell_emb_style"]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "tokens.json").write_text(json.dumps({"cells": cells}) + "\n")
    np.save(out_dir / "cls.npy", np.stack(cls).astype(np.float32))
    np.save(out_dir / "mean.npy", np.stack(mean).astype(np.float32))
    meta = {
        "what": "scGPT's own embeddings (scgpt.model.model.TransformerModel, eval, no_grad) of the tokens in tokens.json",
        "generator": "bench/pretrain/make_embedding_fixture.py",
        "command": ".venv-pretrain/bin/python bench/pretrain/make_embedding_fixture.py",
        "model": os.path.relpath(model_dir, REPO),
        "best_model_sha256": sha256(model_dir / "best_model.pt"),
        "input": os.path.relpath(INPUT, REPO),
        "input_sha256": sha256(INPUT),
        "cells": names,
        "rows": rows,
        "n_tokens": [len(c["gene_ids"]) for c in cells],
        "tokenisation": "<cls> (value pad_value) + expressed vocab genes in var order; bins = numpy.digitize(count, "
                        "numpy.quantile(non-zero counts, linspace(0, 1, n_bins - 1))) (scgpt binning, side='one'); no sampling",
        "outputs": {"cls.npy": "output['cell_emb'] (cell_emb_style cls)", "mean.npy": "mean over all tokens (avg-pool)"},
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                     "scgpt": scgpt_model.SCGPT_VERSION},
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {out_dir}: {len(cells)} cells, tokens {min(meta['n_tokens'])}..{max(meta['n_tokens'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
