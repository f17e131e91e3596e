"""Pretrains a small scGPT with scGPT's own model code on permissively licensed real cells.

    .venv-pretrain/bin/python bench/pretrain/pretrain.py --out data/scgpt_pretrained_small
    .venv-pretrain/bin/python bench/pretrain/pretrain.py --init-only --out /tmp/scgpt_init

Model: scgpt.model.model.TransformerModel (scgpt 0.2.4, imported by scgpt_model.py without
the package __init__), use_fast_transformer=False, continuous value encoder, <cls> cell
embedding, MVC decoder ("inner product"). Loss: scgpt.loss.masked_mse_loss on the masked
positions, for the expression decoder (GEP) and the MVC decoder (GEPC), summed, as in
scGPT's pretraining / integration tutorial (loss = loss_mse + loss_gepc).

Data (only MIT / BSD-3-Clause sets of ../shared/data; a file whose uns['license'] is absent
is refused): raw counts (X, CSR), genes kept when their symbol is in scGPT's whole-human
vocab.json (ids kept). Each cell -> <cls> (value pad_value) + its expressed vocabulary genes,
values binned per cell exactly as scgpt.preprocess.binning (51 bins: numpy.quantile edges
of the non-zero values, _digitize side="both"), more than max_seq_len - 1 genes sampled
without replacement (DataCollator._sample, keep_first_n_tokens=1), padded with <pad> /
pad_value; mask_ratio of the non-pad, non-<cls> positions get mask_value
(DataCollator._mask). scgpt.preprocess / data_collator import scanpy, so these ~40 lines are
re-stated here (tokenisation only; the model and loss are scGPT's files).

Layout of the output folder (scGPT's folder format): best_model.pt (the state dict as
TransformerModel names it, saved after the last step), args.json, vocab.json (the whole
whole-human vocabulary, 60,697 tokens: scextract needs ids 0..n-1 and an embedding row per
token, and scGPT's GeneVocab would renumber a sparse subset; the genes actually trained are
listed in training_genes.txt, the other rows keep their random initialisation),
recipe.json, training_curve.csv, training_curve.svg, README.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scgpt_model  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SHARED = (REPO / ".." / "shared" / "data").resolve()
VOCAB = REPO / "data" / "scgpt_whole_human_vocab.json"
DATASETS = [  # MIT / BSD-3-Clause only (../shared/data/README.md)
    "scanpy_pbmc68k_reduced",
    "scirpy_wu2020_tcells_200",
    "scvi_pbmc_citeseq_5k_10k",
    "triana2021_hspc_citeseq",
    "clustifyr_pbmc3k",
    "celltypist_sample_2020",
]
ALLOWED_LICENCES = {"MIT", "BSD-3-Clause"}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def text(v) -> str:
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray) and v.shape == ():
        return text(v[()])
    return str(v)


def read_counts(path: Path):
    """(licence, CSR parts, gene symbols) of an analysis-ready .h5ad; refuses a file without uns['license']."""
    with h5py.File(path, "r") as f:
        if "uns" not in f or "license" not in f["uns"]:
            raise SystemExit(f"{path}: uns['license'] is absent; refusing to train on data whose licence is unknown")
        licence = text(f["uns/license"][()])
        x = f["X"]
        if not isinstance(x, h5py.Group) or text(x.attrs.get("encoding-type", "")) != "csr_matrix":
            raise SystemExit(f"{path}: X is not a CSR matrix")
        shape = tuple(int(s) for s in x.attrs["shape"])
        data = x["data"][:].astype(np.float32)
        indices = x["indices"][:].astype(np.int64)
        indptr = x["indptr"][:].astype(np.int64)
        var = f["var"]
        index_key = text(var.attrs.get("_index", "_index"))
        genes = [text(g) for g in var[index_key][:]]
        x_kind = text(f["uns/x_kind"][()]) if "x_kind" in f["uns"] else ""
    if len(genes) != shape[1]:
        raise SystemExit(f"{path}: {len(genes)} gene names for {shape[1]} columns")
    return licence, (data, indices, indptr, shape), genes, x_kind


def load_cells(data_dir: Path, names: list[str], vocab: dict[str, int]):
    """Per cell: (vocab ids, raw counts) of its expressed vocabulary genes in panel order; per file: provenance."""
    cells, origin, files, trained = [], [], [], set()
    for k, name in enumerate(names):
        path = data_dir / name / f"{name}.h5ad"
        licence, (data, indices, indptr, shape), genes, x_kind = read_counts(path)
        if licence not in ALLOWED_LICENCES:
            raise SystemExit(f"{path}: licence {licence!r} is not MIT or BSD-3-Clause; derived weights could not be shared")
        col_id = np.array([vocab.get(g, -1) for g in genes], dtype=np.int64)
        n_kept = 0
        for r in range(shape[0]):
            lo, hi = indptr[r], indptr[r + 1]
            cols, vals = indices[lo:hi], data[lo:hi]
            order = np.argsort(cols, kind="stable")
            cols, vals = cols[order], vals[order]
            ok = (vals > 0) & (col_id[cols] >= 0)
            ids = col_id[cols[ok]]
            if len(ids) == 0:
                continue
            cells.append((ids, vals[ok]))
            origin.append(k)
            trained.update(ids.tolist())
            n_kept += 1
        files.append({
            "dataset": name,
            "file": os.path.relpath(path, REPO),
            "sha256": sha256(path),
            "license": licence,
            "x_kind": x_kind,
            "n_cells": shape[0],
            "n_cells_used": n_kept,
            "n_genes": shape[1],
            "n_genes_in_vocab": int((col_id >= 0).sum()),
        })
    return cells, np.array(origin), files, sorted(trained)


# --- tokenisation: scgpt.preprocess.binning / _digitize and DataCollator, re-stated -------------

def binning(values: np.ndarray, n_bins: int, rng: np.random.Generator) -> np.ndarray:
    """scgpt.preprocess.binning on a cell's non-zero values (all > 0 here): numpy.quantile edges,
    _digitize(side="both") spreading a value equal to several edges uniformly among them."""
    edges = np.quantile(values, np.linspace(0, 1, n_bins - 1))
    left = np.digitize(values, edges)
    right = np.digitize(values, edges, right=True)
    rands = rng.random(len(values))
    return np.ceil(rands * (right - left) + left).astype(np.int64)


def tokenize(cell, cfg, rng: np.random.Generator):
    ids, counts = cell
    bins = binning(counts, cfg["n_bins"], rng).astype(np.float32)
    budget = cfg["max_seq_len"] - 1
    if len(ids) > budget:  # DataCollator._sample: a random subset in random order (no positions in scGPT)
        pick = rng.permutation(len(ids))[:budget]
        ids, bins = ids[pick], bins[pick]
    genes = np.concatenate([[cfg["cls_id"]], ids])
    values = np.concatenate([[cfg["pad_value"]], bins]).astype(np.float32)
    return genes, values


def make_batch(batch_cells, cfg, rng: np.random.Generator):
    toks = [tokenize(c, cfg, rng) for c in batch_cells]
    length = max(len(g) for g, _ in toks)
    genes = np.full((len(toks), length), cfg["pad_id"], dtype=np.int64)
    values = np.full((len(toks), length), cfg["pad_value"], dtype=np.float32)
    for i, (g, v) in enumerate(toks):
        genes[i, : len(g)], values[i, : len(v)] = g, v
    # DataCollator._mask: Bernoulli(mask_ratio) on every position but padding and the first token
    prob = np.full(values.shape, cfg["mask_ratio"])
    prob[values == cfg["pad_value"]] = 0
    prob[:, 0] = 0
    mask = rng.random(values.shape) < prob
    masked = np.where(mask, np.float32(cfg["mask_value"]), values).astype(np.float32)
    return (torch.from_numpy(genes), torch.from_numpy(masked), torch.from_numpy(values),
            torch.from_numpy(genes == cfg["pad_id"]), torch.from_numpy(mask))


# --- model -----------------------------------------------------------------------------------

def build_model(cfg, vocab):
    return scgpt_model.TransformerModel(
        ntoken=len(vocab),
        d_model=cfg["embsize"],
        nhead=cfg["nheads"],
        d_hid=cfg["d_hid"],
        nlayers=cfg["nlayers"],
        nlayers_cls=cfg["n_layers_cls"],
        n_cls=1,
        vocab=vocab,
        dropout=cfg["dropout"],
        pad_token=cfg["pad_token"],
        pad_value=cfg["pad_value"],
        do_mvc=cfg["MVC"],
        do_dab=False,
        use_batch_labels=False,
        domain_spec_batchnorm=False,
        input_emb_style=cfg["input_emb_style"],
        n_input_bins=cfg["n_bins"],
        cell_emb_style=cfg["cell_emb_style"],
        mvc_decoder_style="inner product",
        explicit_zero_prob=False,
        use_fast_transformer=False,
        pre_norm=False,
    )


def losses(model, batch, cfg):
    genes, masked, target, pad, mask = batch
    out = model(genes, masked, src_key_padding_mask=pad, CLS=False, CCE=False, MVC=cfg["MVC"], ECS=False)
    gep = scgpt_model.masked_mse_loss(out["mlm_output"], target, mask)
    gepc = scgpt_model.masked_mse_loss(out["mvc_output"], target, mask) if cfg["MVC"] else torch.zeros(())
    return gep, gepc


def evaluate(model, batches, cfg):
    model.eval()
    tot_gep = tot_gepc = tot_n = 0.0
    with torch.no_grad():
        for b in batches:
            gep, gepc = losses(model, b, cfg)
            n = float(b[4].sum())
            tot_gep += float(gep) * n
            tot_gepc += float(gepc) * n
            tot_n += n
    model.train()
    return tot_gep / tot_n, tot_gepc / tot_n


def state_sha256(state) -> str:
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def write_svg(rows, heldout, path: Path, title: str):
    """A hand-written SVG (no matplotlib in the venv): train loss (smoothed) and held-out loss vs step."""
    w, h, l, r, t, b = 720, 420, 70, 20, 40, 50
    steps = [x[0] for x in rows]
    train = [x[1] for x in rows]
    win = 50
    csum = np.cumsum([0.0] + train)
    smooth = [(csum[i + 1] - csum[max(0, i + 1 - win)]) / (i + 1 - max(0, i + 1 - win)) for i in range(len(train))]
    ys = smooth + [v for _, v in heldout]
    lo_v, hi_v = min(ys) * 0.9, max(ys) * 1.1  # log scale: the first steps are ~6x the rest
    ymin, ymax = math.log10(lo_v), math.log10(hi_v)
    xmax = max(steps) if steps else 1

    def px(s):
        return l + (w - l - r) * s / xmax

    def py(v):
        return t + (h - t - b) * (1 - (math.log10(v) - ymin) / (ymax - ymin))

    o = io.StringIO()
    o.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">\n')
    o.write(f'<rect width="{w}" height="{h}" fill="white"/>\n<text x="{w / 2}" y="22" text-anchor="middle" font-size="14">{title}</text>\n')
    o.write(f'<line x1="{l}" y1="{h - b}" x2="{w - r}" y2="{h - b}" stroke="black"/><line x1="{l}" y1="{t}" x2="{l}" y2="{h - b}" stroke="black"/>\n')
    for v in (100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000):
        if lo_v <= v <= hi_v:
            o.write(f'<line x1="{l - 4}" y1="{py(v):.1f}" x2="{w - r}" y2="{py(v):.1f}" stroke="#ddd"/><text x="{l - 8}" y="{py(v) + 4:.1f}" text-anchor="end">{v}</text>\n')
    for i in range(6):
        s = xmax * i / 5
        o.write(f'<text x="{px(s):.1f}" y="{h - b + 18}" text-anchor="middle">{s:.0f}</text>\n')
    o.write(f'<text x="{(l + w - r) / 2}" y="{h - 10}" text-anchor="middle">optimizer step</text>\n')
    o.write(f'<text x="16" y="{(t + h - b) / 2}" text-anchor="middle" transform="rotate(-90 16 {(t + h - b) / 2})">loss (GEP + GEPC, masked MSE on bins; log scale)</text>\n')
    pts = " ".join(f"{px(s):.1f},{py(v):.1f}" for s, v in zip(steps, smooth))
    o.write(f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{pts}"/>\n')
    pts = " ".join(f"{px(s):.1f},{py(v):.1f}" for s, v in heldout)
    o.write(f'<polyline fill="none" stroke="#d62728" stroke-width="2" points="{pts}"/>\n')
    for s, v in heldout:
        o.write(f'<circle cx="{px(s):.1f}" cy="{py(v):.1f}" r="3" fill="#d62728"/>\n')
    o.write(f'<text x="{w - r - 10}" y="{t + 16}" text-anchor="end" fill="#1f77b4">train (mean of last {win} steps)</text>\n')
    o.write(f'<text x="{w - r - 10}" y="{t + 32}" text-anchor="end" fill="#d62728">held-out cells (eval mode, fixed masks)</text>\n')
    o.write("</svg>\n")
    path.write_text(o.getvalue())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="output checkpoint folder (created)")
    p.add_argument("--data-dir", default=str(SHARED), help="the shared data folder (default ../shared/data)")
    p.add_argument("--datasets", nargs="+", default=DATASETS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=3600)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=200, help="linear warm-up steps")
    p.add_argument("--embsize", type=int, default=64)
    p.add_argument("--nheads", type=int, default=4)
    p.add_argument("--d-hid", type=int, default=128)
    p.add_argument("--nlayers", type=int, default=4)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--max-seq-len", type=int, default=256)
    p.add_argument("--mask-ratio", type=float, default=0.4)
    p.add_argument("--heldout-fraction", type=float, default=0.1)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--no-mvc", action="store_true")
    p.add_argument("--init-only", action="store_true", help="write the seeded random initialisation (step 0) and stop")
    args = p.parse_args(argv)

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)  # nothing here draws from it; set in case scGPT code does
    rng = np.random.default_rng(args.seed)

    vocab = json.loads(VOCAB.read_text())
    cfg = {
        "embsize": args.embsize, "nheads": args.nheads, "d_hid": args.d_hid, "nlayers": args.nlayers,
        "n_layers_cls": 3, "dropout": args.dropout, "n_bins": 51, "max_seq_len": args.max_seq_len,
        "pad_token": "<pad>", "pad_value": -2, "mask_value": -1, "mask_ratio": args.mask_ratio,
        "input_style": "binned", "input_emb_style": "continuous", "cell_emb_style": "cls",
        "MVC": not args.no_mvc, "USE_CLS": False, "USE_CCE": False, "fast_transformer": False,
        "pre_norm": False, "mvc_decoder_style": "inner product", "explicit_zero_prob": False,
        "cls_id": vocab["<cls>"], "pad_id": vocab["<pad>"],
    }
    if not args.init_only:  # refuse bad data before anything is written (uses no random generator)
        cells, origin, files, trained = load_cells(Path(args.data_dir), args.datasets, vocab)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = build_model(cfg, vocab)  # consumes torch's generator: the initialisation is fixed by --seed
    init_sha = state_sha256(model.state_dict())
    if args.init_only:
        torch.save(model.state_dict(), out / "best_model.pt")
        write_folder_files(out, cfg, args, vocab, None)
        (out / "recipe.json").write_text(json.dumps({"command": command_line(), "seed": args.seed,
                                                     "state_sha256": init_sha, "versions": versions()}, indent=2) + "\n")
        print(f"init written to {out} (state sha256 {init_sha})")
        return 0

    n = len(cells)
    held = np.zeros(n, dtype=bool)
    for k in range(len(args.datasets)):  # held-out cells: a seeded fraction of each file
        idx = np.flatnonzero(origin == k)
        held[rng.choice(idx, size=max(1, int(round(args.heldout_fraction * len(idx)))), replace=False)] = True
    train_idx, held_idx = np.flatnonzero(~held), np.flatnonzero(held)
    eval_rng = np.random.default_rng(args.seed + 1)  # the held-out batches (bins, sampling, masks) are drawn once
    eval_batches = [make_batch([cells[i] for i in held_idx[s: s + 32]], cfg, eval_rng) for s in range(0, len(held_idx), 32)]
    print(f"{n} cells ({len(train_idx)} train, {len(held_idx)} held out), {len(trained)} vocabulary genes", flush=True)

    opt = torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-8)

    def lr_at(step):  # linear warm-up, then cosine decay to 10 % of lr
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        q = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * q)))

    curve = out / "training_curve.csv"
    fcurve = open(curve, "w", newline="")
    wcsv = csv.writer(fcurve)
    wcsv.writerow(["step", "epoch", "wall_s", "lr", "train_loss", "train_gep", "train_gepc", "heldout_gep", "heldout_gepc"])
    g0, c0 = evaluate(model, eval_batches, cfg)
    wcsv.writerow([0, 0, 0.0, "", "", "", "", f"{g0:.6f}", f"{c0:.6f}"])
    heldout = [(0, g0 + c0)]
    rows = []
    print(f"step 0 held-out gep {g0:.4f} gepc {c0:.4f}", flush=True)
    order, pos, epoch = rng.permutation(train_idx), 0, 0
    t0 = time.time()
    model.train()
    for step in range(1, args.steps + 1):
        if pos + args.batch_size > len(order):
            order, pos, epoch = rng.permutation(train_idx), 0, epoch + 1
        batch = make_batch([cells[i] for i in order[pos: pos + args.batch_size]], cfg, rng)
        pos += args.batch_size
        for gr in opt.param_groups:
            gr["lr"] = lr_at(step - 1)
        gep, gepc = losses(model, batch, cfg)
        loss = gep + gepc
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        wall = time.time() - t0
        rows.append((step, float(loss)))
        hg = hc = ""
        if step % args.eval_every == 0 or step == args.steps:
            g, c = evaluate(model, eval_batches, cfg)
            hg, hc = f"{g:.6f}", f"{c:.6f}"
            heldout.append((step, g + c))
            print(f"step {step} epoch {epoch} {wall:.0f}s loss {float(loss):.4f} held-out gep {g:.4f} gepc {c:.4f}", flush=True)
        wcsv.writerow([step, epoch, f"{wall:.2f}", f"{lr_at(step - 1):.6g}", f"{float(loss):.6f}", f"{float(gep):.6f}",
                       f"{float(gepc):.6f}", hg, hc])
        if step % 50 == 0:
            fcurve.flush()
    fcurve.close()
    wall = time.time() - t0
    final_gep, final_gepc = evaluate(model, eval_batches, cfg)
    state = model.state_dict()
    tmp = out / "best_model.pt.tmp"
    torch.save(state, tmp)
    os.replace(tmp, out / "best_model.pt")
    trained_set = set(trained)
    (out / "training_genes.txt").write_text(
        "".join(f"{sym}\t{i}\n" for i, sym in sorted((v, k) for k, v in vocab.items() if v in trained_set)))
    write_folder_files(out, cfg, args, vocab, files)
    write_svg(rows, heldout, out / "training_curve.svg",
              f"scGPT small ({cfg['nlayers']} layers, d {cfg['embsize']}): masked GEP + GEPC, seed {args.seed}")
    last = [r[1] for r in rows[-100:]]
    recipe = {
        "command": command_line(),
        "seed": args.seed,
        "threads": torch.get_num_threads(),
        "versions": versions(),
        "data": files,
        "n_cells": n, "n_train_cells": int(len(train_idx)), "n_heldout_cells": int(len(held_idx)),
        "n_training_genes": len(trained),
        "config": {k: v for k, v in cfg.items()},
        "optimizer": {"name": "Adam", "lr": args.lr, "warmup_steps": args.warmup, "schedule": "linear warm-up, cosine to 0.1 lr",
                      "batch_size": args.batch_size, "steps": args.steps, "epochs_seen": round(args.steps * args.batch_size / len(train_idx), 2),
                      "grad_clip_norm": 1.0},
        "loss": "scgpt.loss.masked_mse_loss(mlm_output) + scgpt.loss.masked_mse_loss(mvc_output) on masked positions (targets: bins 1..50)",
        "wall_time_s": round(wall, 1),
        "final": {"train_loss_mean_last_100_steps": round(float(np.mean(last)), 4),
                  "heldout_gep": round(final_gep, 4), "heldout_gepc": round(final_gepc, 4),
                  "heldout_gep_step0": round(g0, 4), "heldout_gepc_step0": round(c0, 4)},
        "init_state_sha256": init_sha,
        "init_note": "the step-0 model is not stored; `pretrain.py --init-only --seed 0 --out DIR` rebuilds it (same sha256 on the same torch build)",
        "best_model_sha256": sha256(out / "best_model.pt"),
        "saved": "state after the last step (no early stopping)",
    }
    (out / "recipe.json").write_text(json.dumps(recipe, indent=2) + "\n")
    print(json.dumps(recipe["final"]), f"wall {wall:.0f}s", flush=True)
    return 0


def command_line() -> str:
    rel = os.path.relpath(Path(sys.argv[0]).resolve(), REPO)
    return " ".join([".venv-pretrain/bin/python", rel] + sys.argv[1:])


def versions() -> dict:
    import importlib.metadata as md
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "h5py": h5py.__version__, "scgpt": scgpt_model.SCGPT_VERSION, "tqdm": md.version("tqdm")}


def write_folder_files(out: Path, cfg, args, vocab, files):
    a = {k: cfg[k] for k in ("pad_token", "input_style", "input_emb_style", "cell_emb_style", "n_bins", "max_seq_len",
                             "mask_value", "pad_value", "nlayers", "nheads", "embsize", "d_hid", "dropout", "n_layers_cls",
                             "fast_transformer", "pre_norm", "MVC", "USE_CLS", "USE_CCE", "mvc_decoder_style",
                             "explicit_zero_prob")}
    a.update({"mask_ratio": args.mask_ratio, "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed,
              "steps": args.steps, "training_tasks": "pcpt (masked GEP + GEPC)" if cfg["MVC"] else "pcpt (masked GEP)",
              "vocab_path": "vocab.json (scGPT whole-human vocabulary, ids kept)",
              "data_source": [f"../shared/data/{d}/{d}.h5ad" for d in args.datasets]})
    (out / "args.json").write_text(json.dumps(a, indent=2) + "\n")
    (out / "vocab.json").write_text(VOCAB.read_text())


if __name__ == "__main__":
    sys.exit(main())
