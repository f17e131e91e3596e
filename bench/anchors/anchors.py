#!/usr/bin/env python3
"""The real tools' side of bench/anchors/ (issue 8): each step of anchor_tool.cpp, on the same
.h5ad, with each tool's defaults, one step per process (run it with .venv-anchors/bin/python).

  anchors.py STEP --input DATA.h5ad --out DIR [--flavor seurat|seurat_v3] [--n-top 2000]
             [--label-key cell_type] [--split-key donor --test-values a,b] [--root-key depth]
             [--epochs 20] [--seed 0] [--threads 2]

Steps and the calls they time (the step's "seconds"; reading the file is timed apart):
  read        anndata.read_h5ad (whole object); also h5py's raw read of X (the floor)
  hvg         sc.pp.normalize_total(target_sum=1e4) + sc.pp.log1p + sc.pp.highly_variable_genes
              (flavor seurat on the log values, or seurat_v3 on the counts; n_top_genes)
  dpt         sc.pp.pca -> sc.pp.neighbors -> sc.tl.diffmap -> sc.tl.dpt (iroot = the root cell)
              on the log-normalised HVG subset, all at scanpy's defaults
  palantir    sc.pp.pca -> palantir.utils.run_diffusion_maps -> determine_multiscale_space ->
              palantir.core.run_palantir(early_cell = the root cell, seed)
  celltypist  celltypist.train(training cells, labels) + celltypist.annotate(test cells),
              defaults (best match, no majority voting), log1p of normalize_total(1e4), all genes
  scvi        scvi.model.SCVI on the counts of the HVG genes: train(max_epochs=--epochs, CPU)
              + get_latent_representation(); scvi.settings.seed = --seed
  stats       scipy.stats.spearmanr / wilcoxon and scipy.stats.false_discovery_control on
              DIR/stats_input.json (written here when absent, from --seed)

numba-compiled steps (dpt: umap / pynndescent; palantir) report "jit_seconds": the same calls
on the first 500 cells (plus PyNNDescent on 600 random points where the data has 8,192 cells
or more, as scanpy then uses it), made first in the same process, so "seconds" is the warm
time and jit_seconds + seconds what a fresh session pays. Prints one JSON line, like anchor_tool.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["read", "hvg", "dpt", "palantir", "celltypist", "scvi", "stats"])
    ap.add_argument("--input")
    ap.add_argument("--out", required=True)
    ap.add_argument("--flavor", default="seurat", choices=["seurat", "seurat_v3"])
    ap.add_argument("--n-top", type=int, default=2000)
    ap.add_argument("--label-key", default="cell_type")
    ap.add_argument("--split-key", default="")
    ap.add_argument("--test-values", default="")
    ap.add_argument("--root-key", default="depth")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--exact-knn", type=int, default=0, help="dpt: also run scanpy with exact kNN (diagnostic)")
    ap.add_argument("--converged", type=int, default=0, help="celltypist: also refit to tol 1e-8 (diagnostic)")
    return ap.parse_args(argv)


def limit_threads(threads: int) -> None:
    # Before numpy / numba / torch load, so every pool is sized once.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)


def root_cell(adata, key: str) -> int:
    import numpy as np
    return int(np.argmin(adata.obs[key].to_numpy()))  # first minimum, as anchor_tool


def test_mask(adata, split_key: str, test_values: str):
    import numpy as np
    if not split_key:
        return np.arange(adata.n_obs) % 2 == 1
    wanted = set(v for v in test_values.split(",") if v)
    return adata.obs[split_key].astype(str).isin(wanted).to_numpy()


def log_normalized(adata):
    import scanpy as sc
    a = adata.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def hvg_subset(adata, flavor: str, n_top: int):
    """Log-normalised cells over the HVGs; var['highly_variable'] as scanpy computed it."""
    import scanpy as sc
    n_top = min(n_top, adata.n_vars)
    a = log_normalized(adata)
    if flavor == "seurat_v3":
        a.layers["counts"] = adata.X
        sc.pp.highly_variable_genes(a, flavor="seurat_v3", n_top_genes=n_top, layer="counts")
    else:
        sc.pp.highly_variable_genes(a, flavor="seurat", n_top_genes=n_top)
    return a


def dense(m):
    import numpy as np
    import scipy.sparse as sp
    return np.asarray(m.toarray() if sp.issparse(m) else m, dtype=np.float32)


def run_dpt(x, root: int, transformer=None):
    import anndata as ad
    import scanpy as sc
    a = ad.AnnData(x)
    sc.pp.pca(a)
    sc.pp.neighbors(a, transformer=transformer)
    sc.tl.diffmap(a)
    a.uns["iroot"] = root
    sc.tl.dpt(a)
    return a.obs["dpt_pseudotime"].to_numpy()


def run_palantir(x, root: int, seed: int):
    import anndata as ad
    import palantir
    import scanpy as sc
    a = ad.AnnData(x)
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    sc.pp.pca(a)
    palantir.utils.run_diffusion_maps(a)
    palantir.utils.determine_multiscale_space(a)
    res = palantir.core.run_palantir(a, a.obs_names[root], seed=seed)
    pt = res.pseudotime if hasattr(res, "pseudotime") else a.obs["palantir_pseudotime"]
    return pt.reindex(a.obs_names).to_numpy() if hasattr(pt, "reindex") else pt


def warm_up(fn, x, *rest) -> float:
    """Runs fn on the first 500 cells (numba compiles here; returns the seconds it took). At
    8,192 cells and more scanpy's kNN switches to PyNNDescent, which 500 cells do not reach,
    so its compilation is triggered too, on 600 random points."""
    import anndata as ad
    import numpy as np
    import scanpy as sc
    t = time.perf_counter()
    fn(x[: min(500, x.shape[0])], 0, *rest)
    if x.shape[0] >= 8192:
        pts = ad.AnnData(np.random.default_rng(0).normal(size=(600, 50)).astype(np.float32))
        sc.pp.neighbors(pts, use_rep="X", transformer="pynndescent")
    return time.perf_counter() - t


def converged_labels(model, train_a, test_a, args) -> list[str]:
    """Diagnostic, untimed: celltypist's classifier refitted to tol 1e-8 (the optimum its default
    tol 1e-4 stops short of), on celltypist's own scaled, clipped features."""
    import warnings

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    genes = list(model.features)
    def scaled(a):
        x = a[:, genes].X
        x = model.scaler.transform(x.toarray() if hasattr(x, "toarray") else x)
        x[x > 10] = 10
        return x
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(C=1.0, solver="lbfgs", max_iter=100_000, multi_class="ovr", tol=1e-8)
        clf.fit(scaled(train_a), train_a.obs[args.label_key].astype(str).to_numpy())
    return clf.predict(scaled(test_a)).astype(str).tolist()


def stats_input(path: Path, seed: int) -> dict:
    import numpy as np
    if path.exists():
        return json.loads(path.read_text())
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 30, 300).astype(float)  # ties on purpose
    y = x + rng.normal(0, 8, 300).round()
    wil = [rng.normal(0.3, 1, 12).round(2).tolist(),                       # exact
           rng.normal(0.2, 1, 80).round(1).tolist(),                       # normal, ties
           (rng.normal(0.1, 1, 40).round(1) * (rng.random(40) > 0.2)).tolist()]  # zeros
    pv = rng.random(50) ** 3
    d = {"x": x.tolist(), "y": y.tolist(), "wilcoxon": wil, "pvalues": pv.tolist()}
    path.write_text(json.dumps(d))
    return d


def run(args: argparse.Namespace) -> dict:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.step == "stats":
        import scipy
        import scipy.stats as st
        d = stats_input(out / "stats_input.json", args.seed)
        t = time.perf_counter()
        res = {"spearman": float(st.spearmanr(d["x"], d["y"]).statistic),
               "wilcoxon_p": [float(st.wilcoxon(w).pvalue) for w in d["wilcoxon"]],
               "bh": [float(v) for v in st.false_discovery_control(d["pvalues"])]}
        res["seconds"] = time.perf_counter() - t
        (out / "stats_anchor.json").write_text(json.dumps(res))
        return {"seconds": res["seconds"], "tool": f"scipy {scipy.__version__}"}

    import anndata as ad
    import numpy as np
    r: dict = {}
    t = time.perf_counter()
    adata = ad.read_h5ad(args.input)
    r["read_seconds"] = time.perf_counter() - t
    r["cells"], r["genes"] = adata.n_obs, adata.n_vars
    if args.step == "read":
        import h5py
        r["nnz"] = int(adata.X.nnz)
        r["checksum"] = float(np.asarray(adata.X.data, dtype=np.float64).sum())
        r["seconds"] = r["read_seconds"]
        t = time.perf_counter()
        with h5py.File(args.input, "r") as f:
            data, _, _ = f["X/data"][:], f["X/indices"][:], f["X/indptr"][:]
        r["h5py_x_seconds"] = time.perf_counter() - t
        r["tool"] = f"anndata {ad.__version__}"
        return r
    if args.step == "hvg":
        import scanpy as sc
        t = time.perf_counter()
        a = hvg_subset(adata, args.flavor, args.n_top)
        r["seconds"] = time.perf_counter() - t
        np.save(out / f"hvg_{args.flavor}_anchor.npy", np.flatnonzero(a.var["highly_variable"].to_numpy()).astype(np.int64))
        r["tool"] = f"scanpy {sc.__version__}"
        return r
    if args.step == "celltypist":
        import celltypist
        test = test_mask(adata, args.split_key, args.test_values)
        t = time.perf_counter()
        a = log_normalized(adata)
        r["prepare_seconds"] = time.perf_counter() - t
        train_a, test_a = a[~test].copy(), a[test].copy()
        t = time.perf_counter()
        model = celltypist.train(train_a, labels=args.label_key)
        pred = celltypist.annotate(test_a, model=model, majority_voting=False)
        r["seconds"] = time.perf_counter() - t
        labels = pred.predicted_labels["predicted_labels"].astype(str).tolist()
        (out / "celltypist_anchor.json").write_text(json.dumps(labels))
        (out / "celltypist_truth.json").write_text(json.dumps(test_a.obs[args.label_key].astype(str).tolist()))
        if args.converged:
            (out / "celltypist_converged.json").write_text(json.dumps(converged_labels(model, train_a, test_a, args)))
        r["tool"] = f"celltypist {celltypist.__version__}"
        return r
    t = time.perf_counter()
    a = hvg_subset(adata, "seurat", args.n_top)
    r["prepare_seconds"] = time.perf_counter() - t
    hv = a.var["highly_variable"].to_numpy()
    if args.step == "scvi":
        import scvi
        import torch
        torch.set_num_threads(args.threads)
        counts = ad.AnnData(dense(adata.X[:, hv]))
        scvi.settings.seed = args.seed
        scvi.settings.dl_num_workers = 0
        t = time.perf_counter()
        scvi.model.SCVI.setup_anndata(counts)
        model = scvi.model.SCVI(counts)
        model.train(max_epochs=args.epochs, accelerator="cpu", devices=1, enable_progress_bar=False)
        z = model.get_latent_representation()
        r["seconds"] = time.perf_counter() - t
        r["epochs"] = args.epochs
        np.save(out / f"scvi_anchor_seed{args.seed}.npy", z.astype(np.float32))
        r["tool"] = f"scvi-tools {scvi.__version__} (torch {torch.__version__})"
        return r
    x = dense(a.X[:, hv])
    root = root_cell(adata, args.root_key)
    r["root"] = root
    if args.step == "dpt":
        import scanpy as sc
        r["jit_seconds"] = warm_up(run_dpt, x)
        t = time.perf_counter()
        pt = run_dpt(x, root)
        r["seconds"] = time.perf_counter() - t
        np.save(out / "dpt_anchor.npy", pt.astype(np.float32))
        if args.exact_knn:  # diagnostic, untimed: scanpy with exact kNN where it would use PyNNDescent
            np.save(out / "dpt_anchor_exact_knn.npy", run_dpt(x, root, "sklearn").astype(np.float32))
        r["tool"] = f"scanpy {sc.__version__}"
        return r
    if args.step == "palantir":
        import palantir
        r["jit_seconds"] = warm_up(run_palantir, x, args.seed)
        t = time.perf_counter()
        pt = run_palantir(x, root, args.seed)
        r["seconds"] = time.perf_counter() - t
        np.save(out / f"palantir_anchor_seed{args.seed}.npy", np.asarray(pt, dtype=np.float32))
        r["tool"] = f"palantir {palantir.__version__}"
        return r
    raise SystemExit(f"anchors.py: unknown step {args.step}")


def peak_resident_mb() -> float:
    """This program's own peak RSS (VmHWM): ru_maxrss on Linux also keeps the memory the parent
    (run.py) had when it forked, so the two sides would carry the driver's memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    args = parse_args(sys.argv[1:])
    limit_threads(args.threads)
    if args.step != "stats" and not args.input:
        raise SystemExit("anchors.py: --input is required")
    r = run(args)
    r["step"] = args.step
    r["threads"] = args.threads
    r["peak_mb"] = peak_resident_mb()
    print(json.dumps(r))


if __name__ == "__main__":
    main()
