"""Sharded apply on Dask: an algorithm over the row blocks of an AnnData read lazily.

Each block goes to a worker, which reads only its own rows (anndata's lazy h5ad / zarr
arrays), applies the algorithm with the same C++ code as ``scextract apply`` and returns
its cells' outputs; the results are gathered in row order. Block boundaries are moved to
multiples of 256 cells (the C++ apply's row block), so the outputs are the same bits as a
single-process apply however the cells are sharded.

>>> from distributed import Client
>>> import scextract.dask
>>> with Client(n_workers=4) as client:
...     placed = scextract.dask.apply("atlas.h5ad", "algorithm.scx", client=client)
>>> placed.obs["scx_depth"]
"""

from __future__ import annotations

import functools
import os
from typing import Optional, Union

import numpy as np

from . import _concatenated, _scextract, _write_outputs, gene_symbols

#: Rows of the C++ apply's arithmetic block (readout/algorithm_pipeline.hpp, kApplyRowBlock).
ROW_BLOCK = 256

__all__ = ["apply", "ROW_BLOCK"]


@functools.lru_cache(maxsize=4)
def _algorithm(path: str):
    # read once per worker process, not once per block
    return _scextract.read_algorithm(path)


def _apply_block(block, algorithm_path: str, symbols: tuple, options: dict) -> dict:
    import scipy.sparse as sp

    algo = _algorithm(algorithm_path)
    if sp.issparse(block):
        block = sp.csr_matrix(block)
        n, m = block.shape
        return _scextract.apply_csr(algo, block.data, block.indices, block.indptr, n, m, list(symbols),
                                    algorithm_path=algorithm_path, **options)
    return _scextract.apply_dense(algo, np.asarray(block), list(symbols), algorithm_path=algorithm_path, **options)


def _block_size(rows_per_block: int) -> int:
    """``rows_per_block`` rounded up to a multiple of ROW_BLOCK (at least one)."""
    return max(ROW_BLOCK, -(-rows_per_block // ROW_BLOCK) * ROW_BLOCK)


def _aligned_chunks(n_rows: int, rows_per_block: int) -> tuple:
    size = _block_size(rows_per_block)
    chunks = [size] * (n_rows // size)
    if n_rows % size:
        chunks.append(n_rows % size)
    return tuple(chunks) or (0,)


def _lazy_anndata(path: str, layer: Optional[str], rows_per_block: int):
    import anndata as ad

    if str(path).endswith(".zarr") or os.path.isdir(path):
        import zarr

        store = zarr.open(path, mode="r")
    else:
        import h5py

        store = h5py.File(path, "r")
    elem = store["layers"][layer] if layer else store["X"]
    n_vars = int(elem.attrs["shape"][1]) if "shape" in elem.attrs else int(elem.shape[1])
    X = ad.experimental.read_elem_lazy(elem, chunks=(rows_per_block, n_vars))
    obs = ad.io.read_elem(store["obs"])
    var = ad.io.read_elem(store["var"])
    return ad.AnnData(X=X, obs=obs, var=var)


def apply(data, algorithm: Union[str, "os.PathLike[str]"], *, client=None, layer: Optional[str] = None,
          gene_column: Optional[str] = None, rows_per_block: int = 50_000, max_missing: float = 0.5,
          exact_features: bool = False, threads: int = 1):
    """Apply an algorithm file to every cell of ``data`` on a Dask cluster.

    ``data`` is a path to an .h5ad or .zarr store (read lazily, a block of
    ``rows_per_block`` cells per task) or an AnnData whose ``X`` (or ``layers[layer]``) is a
    Dask array of scipy CSR or numpy blocks, e.g. from ``anndata.experimental.read_lazy``.
    ``algorithm`` is the path of an .scx file every worker can read. ``client`` is a
    ``distributed.Client`` (None: Dask's current scheduler). ``threads`` is per task.

    Returns an AnnData with no X, the input's obs_names, and obsm['X_scx'],
    obs['scx_*'] and uns['scx'] exactly as :func:`scextract.apply` writes them.
    """
    import anndata as ad
    import dask
    import dask.array as da

    algorithm = str(algorithm)
    _algorithm(algorithm)  # a missing or damaged file fails here, before any task is sent
    adata = _lazy_anndata(str(data), layer, rows_per_block) if isinstance(data, (str, os.PathLike)) else data
    X = adata.layers[layer] if (layer and not isinstance(data, (str, os.PathLike))) else adata.X
    if not isinstance(X, da.Array):
        raise TypeError("data's matrix is not a Dask array: use scextract.apply for an AnnData in memory")
    symbols = tuple(gene_symbols(adata, gene_column))
    n = X.shape[0]
    X = X.rechunk((_aligned_chunks(n, rows_per_block), X.shape[1]))
    options = dict(max_missing=max_missing, chunk_rows=min(rows_per_block, 20_000), exact_features=exact_features,
                   check_counts=True, threads=threads, matrix_source=f"layers/{layer}" if layer else "X")
    blocks = X.to_delayed().ravel()
    tasks = [dask.delayed(_apply_block)(b, algorithm, symbols, options) for b in blocks]
    parts = client.gather(client.compute(tasks)) if client is not None else dask.compute(*tasks)

    out = ad.AnnData(obs=adata.obs[[]].copy())
    _write_outputs(out, _concatenated(parts))
    return out
