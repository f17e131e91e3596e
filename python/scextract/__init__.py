"""scextract: a single-cell foundation model's attention, turned into a small algorithm.

The package is a thin client of scextract's C++ library: every function here calls the same
code as the ``scextract`` command line, so results are bit-identical to the CLI's files.

>>> import anndata as ad, scextract as scx
>>> adata = ad.read_h5ad("query.h5ad")
>>> scx.apply(adata, "algorithm.scx")          # obsm['X_scx'], obs['scx_*'], uns['scx']
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _scextract
from ._scextract import Algorithm, Error, Model, __version__

__all__ = [
    "Algorithm",
    "Error",
    "Model",
    "__version__",
    "apply",
    "apply_file",
    "embed",
    "export",
    "fit",
    "gene_symbols",
    "inspect",
    "interpret",
    "load_model",
    "perturb",
    "pseudotime",
    "read_algorithm",
]

_log = logging.getLogger("scextract")


def read_algorithm(path: Union[str, "os.PathLike[str]"]) -> Algorithm:
    """Read an algorithm file (.scx) written by ``scextract fit``, checking every checksum.

    Raises :class:`scextract.Error` naming the file when it is missing or damaged.
    """
    return _scextract.read_algorithm(str(path))


def gene_symbols(adata, gene_column: Optional[str] = None) -> list[str]:
    """The gene symbols scextract uses for ``adata.var``: ``var_names``, or a symbol column
    (``feature_name``, ``gene_symbols``, ...) when ``var_names`` are Ensembl ids, or
    ``gene_column`` when given. The same choice the CLI makes (it is the same code)."""
    columns = []
    for name in adata.var.columns:
        col = adata.var[name]
        if col.dtype == object or str(col.dtype) in ("category", "string"):
            columns.append((str(name), [str(v) for v in col.astype(str)]))
    symbols, explanation = _scextract.choose_gene_symbols(
        [str(v) for v in adata.var_names], columns, gene_column or ""
    )
    _log.info(explanation)
    return symbols


def _matrix(adata, layer: Optional[str], raw: bool):
    if raw:
        if adata.raw is None:
            raise Error("adata has no .raw; leave out raw=True")
        return adata.raw.X, "raw.X"
    if layer is not None:
        if layer not in adata.layers:
            raise Error(f"adata has no layer '{layer}'; layers: {', '.join(adata.layers.keys()) or 'none'}")
        return adata.layers[layer], f"layers/{layer}"
    return adata.X, "X"


def _apply_arrays(algo: Algorithm, X, symbols: Sequence[str], *, source: str, algorithm_path: str,
                  max_missing: float, chunk_size: int, exact_features: bool, threads: int) -> dict:
    """Runs the C++ apply on ``X`` viewed in place (scipy CSR or numpy); returns the raw result."""
    import scipy.sparse as sp

    common = dict(max_missing=max_missing, chunk_rows=chunk_size, exact_features=exact_features,
                  check_counts=True, threads=threads, algorithm_path=algorithm_path, matrix_source=source)
    if sp.issparse(X):
        if X.format != "csr":
            raise TypeError(
                f"{source} is a scipy.sparse {X.format.upper()} matrix; scextract reads cells as rows: "
                f"pass it as CSR (adata.X = adata.X.tocsr()), which copies it once"
            )
        n, m = X.shape
        return _scextract.apply_csr(algo, X.data, X.indices, X.indptr, n, m, list(symbols), **common)
    if isinstance(X, np.ndarray):
        return _scextract.apply_dense(algo, X, list(symbols), **common)
    if hasattr(X, "compute") or type(X).__module__.startswith("dask"):
        raise TypeError(f"{source} is a lazy (dask) array: use scextract.dask.apply for it")
    raise TypeError(f"{source} is a {type(X).__name__}; pass a scipy.sparse CSR matrix or a numpy array")


def _to_frame_columns(obs_list, index):
    import pandas as pd

    out = {}
    for name, kind, values, categories in obs_list:
        if kind == "categorical":
            out[name] = pd.Categorical.from_codes(np.asarray(values), categories=list(categories))
        else:
            out[name] = np.asarray(values)
    return pd.DataFrame(out, index=index)


def _write_outputs(target, result: dict) -> None:
    """obsm['X_scx'], obs['scx_*'] and uns['scx'] of one C++ apply result into ``target``."""
    target.obsm["X_scx"] = result["latent"]
    frame = _to_frame_columns(result["obs"], target.obs_names)
    for name in frame.columns:
        target.obs[name] = frame[name]
    target.uns["scx"] = result["uns"]
    ood = result["uns"].get("ood", {}) if isinstance(result["uns"], dict) else {}
    if ood.get("warned"):
        _log.warning("%.1f%% of the cells are out of distribution for the algorithm (more than %.0f%%; cells like "
                     "the training cells give about 1-2%%): their labels are extrapolations; see obs['scx_ood']",
                     100 * ood["fraction"], 100 * ood["warn_fraction"])


def _merged_ood(oods: Sequence[dict]) -> dict:
    """uns['scx']['ood'] of consecutive row blocks as one: counts summed, fractions and the
    warning recomputed from them, mean errors weighted by cells."""
    merged = dict(oods[0])
    cells = sum(int(o["cells"]) for o in oods)
    merged["cells"] = cells
    if cells:
        merged["mean_reconstruction_error"] = sum(float(o["mean_reconstruction_error"]) * int(o["cells"])
                                                  for o in oods) / cells
    if merged.get("available"):
        out = sum(int(o["out_of_distribution"]) for o in oods)
        merged["out_of_distribution"] = out
        merged["fraction"] = out / cells if cells else 0.0
        for key in ("reconstruction_error", "detected_fraction"):
            k = sum(int(o[f"{key}_out"]) for o in oods)
            merged[f"{key}_out"] = k
            merged[f"{key}_fraction"] = k / cells if cells else 0.0
        merged["warned"] = merged["fraction"] > float(merged["warn_fraction"])
    return merged


def _concatenated(parts: Sequence[dict]) -> dict:
    """The results of consecutive row blocks as one result, rows in block order (the
    sharded applies gather with this)."""
    if not parts:
        return {"latent": np.zeros((0, 0), np.float32), "obs": [], "uns": {}}
    obs = [(name, kind, np.concatenate([np.asarray(p["obs"][i][2]) for p in parts]), categories)
           for i, (name, kind, _, categories) in enumerate(parts[0]["obs"])]
    uns = dict(parts[0]["uns"])
    if all("ood" in p["uns"] for p in parts):
        uns["ood"] = _merged_ood([p["uns"]["ood"] for p in parts])
    return {"latent": np.concatenate([p["latent"] for p in parts]), "obs": obs, "uns": uns}


def apply(adata, algorithm: Union[str, Algorithm], *, layer: Optional[str] = None, raw: bool = False,
          gene_column: Optional[str] = None, max_missing: float = 0.5, chunk_size: int = 20000,
          exact_features: bool = False, threads: int = 0, copy: bool = False):
    """Place the cells of an AnnData with an algorithm file, in memory.

    Writes ``obsm['X_scx']`` (float32 latent), ``obs['scx_depth']`` (developmental depth),
    ``obs['scx_branch']`` / ``obs['scx_stage']`` (categoricals), ``obs['scx_p_<task>']``
    (binary-readout probabilities), ``obs['scx_recon_error']`` (out-of-distribution signal),
    ``obs['scx_detected_fraction']``, ``obs['scx_ood']`` (bool: out of distribution, when the
    algorithm file holds training bounds) and ``uns['scx']`` (provenance, with the
    out-of-distribution counts in ``uns['scx']['ood']``) - exactly what ``scextract apply``
    writes into its output file, with the same bits. Logs a warning when more than 10% of the
    cells are out of distribution (docs/cli.md#apply).

    ``X`` (or ``layers[layer]``, or ``raw.X``) must hold raw counts, as a scipy.sparse CSR
    matrix (float32/64 or integer data, int32/int64 indices) or a numpy array of any strides.
    It is read in place, a block of ``chunk_size`` cells at a time: no copy of X is made.
    The GIL is released while the library computes.

    Returns the AnnData written to (a copy when ``copy=True``, else ``None``). Raises
    :class:`scextract.Error` for bad content (not counts, too many panel genes missing) and
    ``TypeError`` for a matrix type it cannot read in place.
    """
    path = ""
    if not isinstance(algorithm, Algorithm):
        path = str(algorithm)
        algorithm = read_algorithm(path)
    target = adata.copy() if copy else adata
    X, source = _matrix(target, layer, raw)
    var_source = target.raw if raw else target
    symbols = gene_symbols(var_source, gene_column)
    r = _apply_arrays(algorithm, X, symbols, source=source, algorithm_path=path, max_missing=max_missing,
                      chunk_size=chunk_size, exact_features=exact_features, threads=threads)
    if r["panel_missing"]:
        _log.warning("%d of the algorithm's %d panel genes are absent from the data; they are zero-filled",
                     len(r["panel_missing"]), len(algorithm.panel))
    _write_outputs(target, r)
    return target if copy else None


def apply_file(algorithm: str, input: str, out: str, *, layer: Optional[str] = None, raw: bool = False,
               gene_column: Optional[str] = None, max_missing: float = 0.5, chunk_size: int = 20000,
               exact_features: bool = False, threads: int = 0) -> dict[str, Any]:
    """File to file, exactly as ``scextract apply`` (current .h5ad files are streamed, so a
    file larger than memory is fine). Returns ``{"cells", "latent_dim", "streamed", "seconds",
    "ood", "ood_fraction"}``: the out-of-distribution line ``scextract apply`` prints and the
    flagged share (None when the algorithm file predates the bounds); logs a warning when more
    than 10% of the cells are out of distribution."""
    cells, k, streamed, seconds, ood, ood_fraction, ood_warned = _scextract.apply_file(
        str(algorithm), str(input), str(out), layer or "", raw, gene_column or "", max_missing, chunk_size,
        exact_features, threads)
    if ood_warned:
        _log.warning("%s: their labels are extrapolations; see obs['scx_ood']", ood)
    return {"cells": cells, "latent_dim": k, "streamed": streamed, "seconds": seconds, "ood": ood,
            "ood_fraction": None if ood_fraction < 0 else ood_fraction}


def load_model(path: Union[str, "os.PathLike[str]"]) -> Model:
    """Load an scGPT checkpoint folder (args.json, vocab.json, weights) or weights file
    (.pt or .safetensors). Nothing in the checkpoint is executed: only a state dict is parsed."""
    return _scextract.load_model(str(path))


def embed(adata, model: Union[str, Model], *, key: str = "X_scgpt", layer: Optional[str] = None, raw: bool = False,
          gene_column: Optional[str] = None, pool: str = "mean", tokenizer: str = "official",
          padded_states: str = "zero", pool_batch_size: int = 64, l2_normalize: bool = False,
          max_tokens: int = 1200, batch_size: int = 8, seed: int = 42, threads: int = 0, copy: bool = False):
    """Frozen scGPT cell embeddings into ``obsm[key]`` and ``uns['scx_embed']``, as
    ``scextract embed`` writes them (same options, same bits). The forward pass needs the
    cells as one CSR matrix, so unlike :func:`apply` this reads X into one copy."""
    import scipy.sparse as sp

    if not isinstance(model, Model):
        model = load_model(model)
    target = adata.copy() if copy else adata
    X, source = _matrix(target, layer, raw)
    symbols = gene_symbols(target.raw if raw else target, gene_column)
    common = dict(pool=pool, tokenizer=tokenizer, padded_states=padded_states, pool_batch_size=pool_batch_size,
                  l2_normalize=l2_normalize, max_tokens=max_tokens, batch_size=batch_size, seed=seed, threads=threads,
                  matrix_source=source)
    if sp.issparse(X):
        if X.format != "csr":
            raise TypeError(f"{source} is a scipy.sparse {X.format.upper()} matrix: pass it as CSR (X.tocsr())")
        r = _scextract.embed_arrays(model, X.data, X.indices, X.indptr, X.shape[0], X.shape[1], symbols, **common)
    elif isinstance(X, np.ndarray):
        r = _scextract.embed_arrays(model, X, None, None, X.shape[0], X.shape[1], symbols, **common)
    else:
        raise TypeError(f"{source} is a {type(X).__name__}; pass a scipy.sparse CSR matrix or a numpy array")
    if r["empty_cells"]:
        _log.warning("%d cells express no vocabulary gene; their embeddings are NaN", r["empty_cells"])
    target.obsm[key] = r["embedding"]
    target.uns["scx_embed"] = r["uns"]
    return target if copy else None


def export(model: str, reference: str, out: str, *, mode: str = "atlas", panel: int = 1200, cells: int = 1000,
           max_tokens: int = 1200, batch_size: int = 8, layer: Optional[str] = None, raw: bool = False,
           gene_column: Optional[str] = None, flavor: str = "auto", vocab_filter: str = "before_hvg",
           panel_order: str = "hvg_rank", target_sum: float = 1e4, seed: int = 42, threads: int = 0,
           input_kind: str = "detect") -> dict[str, Any]:
    """Stage 1, as ``scextract export``: every layer x head operator over an HVG panel of the
    reference, from the attention atlas (``mode="atlas"``) or the weights-only ``"qk"`` /
    ``"ov"`` circuits, written to ``out`` (.scxop). Returns ``{"operators", "panel", "bytes", "seconds"}``."""
    ops, g, nbytes, seconds = _scextract.export_file(
        str(model), str(reference), str(out), mode, panel, cells, max_tokens, batch_size, layer or "", raw,
        gene_column or "", flavor, vocab_filter, panel_order, target_sum, seed, threads, input_kind)
    return {"operators": ops, "panel": g, "bytes": nbytes, "seconds": seconds}


def fit(operator_file: str, train: str, out: str, *, label_key: str = "cell_type", donor_key: str = "donor",
        tissue_key: Optional[str] = None, layer: Optional[str] = None, raw: bool = False,
        gene_column: Optional[str] = None, ruler: str = "default", variant: str = "cell", k: int = 10,
        alpha: Optional[float] = None, epochs: Optional[int] = None, features: str = "drift", head: str = "2:5",
        heads: str = "", rank: int = 64, factors: int = 16, top_genes: int = 60, orientation: str = "xA",
        seed: int = 42, threads: int = 0, input_kind: str = "detect", label_map: Optional[str] = None) -> dict[str, Any]:
    """Fit an algorithm file (.scx), as ``scextract fit``: features of the operator file,
    standardiser, adaptor and readouts on the labelled reference cells of ``train``
    (raw counts or log-normalised values, ``input_kind``; ``donor_key="none"`` when there are
    no donors; ``label_map`` a label<TAB>stage TSV added to the ruler's labels)."""
    n, on_ruler, rows, params, loss, readouts, feats, seconds = _scextract.fit_file(
        str(operator_file), str(train), str(out), label_key, donor_key, tissue_key or "", layer or "", raw,
        gene_column or "", str(ruler), variant, k, -1.0 if alpha is None else alpha, -1 if epochs is None else epochs,
        features, head, heads, rank, factors, top_genes, orientation, seed, threads, input_kind, str(label_map or ""))
    return {"cells": n, "cells_on_ruler": on_ruler, "adaptor_rows": rows, "adaptor_parameters": params,
            "adaptor_loss": loss, "features": feats, "seconds": seconds,
            "readouts": {t: {"parameters": p, "training_cells": c, "training_score": sc} for t, p, c, sc in readouts}}


def interpret(algorithm: str, data: str, out: str, *, label_key: str = "cell_type", donor_key: str = "donor",
              tissue_key: Optional[str] = None, layer: Optional[str] = None, raw: bool = False,
              gene_column: Optional[str] = None, gmt: Sequence[str] = ("default",), programs: Optional[str] = None,
              top_genes: int = 60, factors: int = 64, core: int = 4, endpoints: Sequence[str] = (),
              min_donor_cells: int = 5, max_cells: int = 20000, permutations: int = 1000, fdr: float = 0.05,
              seed: int = 42, threads: int = 0) -> dict[str, Any]:
    """What an algorithm's operator knows, as ``scextract interpret``: factors, fixed-probe
    factor ablation on the (held-out) cells of ``data``, core subsets, gene-set enrichment
    (``gmt``: files, ``"default"`` the bundled collection, empty for none) and, with
    ``programs``, known-program recovery. Writes the files into ``out`` and returns
    interpret.json as a dict, with ``"files"`` and ``"seconds"`` added."""
    import json

    summary, files, seconds = _scextract.interpret_file(
        str(algorithm), str(data), str(out), label_key, donor_key, tissue_key or "", layer or "", raw, gene_column or "",
        [str(g) for g in gmt], str(programs or ""), top_genes, factors, core, list(endpoints), min_donor_cells, max_cells,
        permutations, fdr, seed, threads)
    result = json.loads(summary)
    result["files"] = files
    result["seconds"] = seconds
    return result


def perturb(algorithm: str, input: str, out: str, *, genes: Sequence[str] = (), program: Optional[str] = None,
            programs: Optional[str] = None, factor: Optional[int] = None, mode: str = "knockout", null_sets: int = 200,
            summary: Optional[str] = None, layer: Optional[str] = None, raw: bool = False,
            gene_column: Optional[str] = None, seed: int = 42, threads: int = 0) -> dict[str, Any]:
    """In-silico perturbation through the operator, as ``scextract perturb``: knock out or
    overexpress ``genes`` (or the genes of ``program`` in ``programs``, or one ``factor``) in every
    cell of ``input``; writes the annotated copy ``out`` and the summary TSV. Returns
    ``{"summary": [row dicts], "genes", "missing_genes", "summary_file", "seconds"}``."""
    rows, used, missing, summary_file, seconds = _scextract.perturb_file(
        str(algorithm), str(input), str(out), str(summary or ""), list(genes), program or "", str(programs or ""),
        -1 if factor is None else factor, mode, null_sets, layer or "", raw, gene_column or "", seed, threads)
    keys = ("output", "shift", "null_mean", "null_sd", "z", "p", "q", "direction")
    return {"summary": [dict(zip(keys, r)) for r in rows], "genes": used, "missing_genes": missing,
            "summary_file": summary_file, "seconds": seconds}


def pseudotime(input: Union[str, "os.PathLike[str]"], out: Union[str, "os.PathLike[str]"], *, method: str = "dpt",
               root: Optional[str] = None, root_label: Optional[str] = None, label_key: Optional[str] = None,
               use_rep: Optional[str] = None, layer: Optional[str] = None, raw: bool = False, input_kind: str = "detect",
               n_top_genes: int = 2000, n_pcs: int = 50, n_neighbors: int = 15, n_comps: int = 15, n_dcs: int = 10,
               knn: int = 30, n_components: int = 10, num_waypoints: int = 1200, seed: int = 20,
               threads: int = 0) -> dict[str, Any]:
    """scanpy's DPT or Palantir from a root cell (``root``) or label (``root_label`` in obs
    ``label_key``: the medoid of those cells), as ``scextract pseudotime``: writes ``out``, a copy
    of ``input`` with ``obs['dpt_pseudotime']`` or ``obs['palantir_pseudotime']``,
    ``obs['palantir_entropy']`` and ``obsm['palantir_fate_probabilities']``. ``use_rep`` takes an
    obsm embedding instead of log1p + HVGs + PCA. Returns ``{"cells", "representation", "root",
    "root_index", "start_cell", "terminal_states", "unreachable", "seconds"}``."""
    r = _scextract.pseudotime_file(
        method, str(input), str(out), root or "", root_label or "", label_key or "", use_rep or "", layer or "", raw,
        input_kind, n_top_genes, n_pcs, n_neighbors, n_comps, n_dcs, knn, n_components, num_waypoints, seed, threads)
    keys = ("cells", "representation", "root", "root_index", "start_cell", "terminal_states", "unreachable", "seconds")
    return dict(zip(keys, r))


def inspect(path: Union[str, "os.PathLike[str]"], *, text: bool = False):
    """What a file is and holds, as ``scextract inspect --json`` (a dict) or, with
    ``text=True``, as ``scextract inspect`` prints it. Works on .h5ad / 10x / CSV inputs,
    checkpoints and scextract's own .scxop / .scx files."""
    import json

    kind, summary, rendered = _scextract.inspect(str(path))
    return rendered if text else json.loads(summary)
