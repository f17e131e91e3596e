"""Sharded apply on a TileDB-SOMA experiment (a CELLxGENE Census, or one of your own):
the cells selected by an obs filter are split by ``soma_joinid`` into blocks of a multiple
of 256 cells (the C++ apply's row block), each block is read inside its own task with
``ExperimentAxisQuery.to_anndata`` and placed with :func:`scextract.apply`, and the blocks
are gathered in joinid order. The result is the same bits however the cells are sharded,
and the same as ``scextract.apply`` on all the cells at once.

>>> import scextract.soma
>>> placed = scextract.soma.apply("s3://.../census/homo_sapiens", "algorithm.scx",
...                               obs_value_filter="tissue_general == 'blood'", X_name="raw",
...                               gene_column="feature_name", client=client)
"""

from __future__ import annotations

import os
from typing import Optional, Union

import numpy as np

from . import _concatenated, _write_outputs
from .dask import _algorithm, _block_size

__all__ = ["apply"]


def _place_block(uri: str, measurement: str, X_name: str, joinids: np.ndarray, algorithm_path: str,
                 gene_column: Optional[str], options: dict) -> dict:
    import tiledbsoma

    from . import _apply_arrays, gene_symbols

    with tiledbsoma.Experiment.open(uri) as exp:
        with exp.axis_query(measurement, obs_query=tiledbsoma.AxisQuery(coords=(joinids,))) as q:
            block = q.to_anndata(X_name=X_name)
    X = block.X.tocsr() if hasattr(block.X, "tocsr") else block.X
    return _apply_arrays(_algorithm(algorithm_path), X, gene_symbols(block, gene_column), source=f"X/{X_name}",
                         algorithm_path=algorithm_path, **options)


def apply(uri: str, algorithm: Union[str, "os.PathLike[str]"], *, measurement: str = "RNA", X_name: str = "raw",
          obs_value_filter: Optional[str] = None, gene_column: Optional[str] = "feature_name", client=None,
          rows_per_block: int = 50_000, max_missing: float = 0.5, exact_features: bool = False, threads: int = 1):
    """Apply an algorithm file to the cells of a SOMA experiment matching ``obs_value_filter``.

    ``X_name`` is the measurement's X layer holding raw counts (a Census calls it ``"raw"``;
    ``tiledbsoma.io.from_anndata`` writes ``"data"``). ``gene_column`` is the var column with
    gene symbols (``feature_name`` in a Census; None: the var ids). ``client`` is a
    ``distributed.Client`` (None: the blocks run one after another in this process).

    Returns an AnnData with no X whose obs_names are the cells' ``soma_joinid``, with
    obsm['X_scx'], obs['scx_*'] and uns['scx'] as :func:`scextract.apply` writes them.
    """
    import anndata as ad
    import pandas as pd
    import tiledbsoma

    algorithm = str(algorithm)
    _algorithm(algorithm)  # a missing or damaged file fails here, before any block is read
    with tiledbsoma.Experiment.open(uri) as exp:
        obs = exp.obs.read(value_filter=obs_value_filter, column_names=["soma_joinid"]).concat().to_pandas()
    joinids = np.sort(obs["soma_joinid"].to_numpy())
    size = _block_size(rows_per_block)
    blocks = [joinids[i:i + size] for i in range(0, len(joinids), size)]
    options = dict(max_missing=max_missing, chunk_size=min(size, 20_000), exact_features=exact_features, threads=threads)
    args = [(uri, measurement, X_name, b, algorithm, gene_column, options) for b in blocks]
    if client is not None:
        parts = client.gather([client.submit(_place_block, *a, pure=False) for a in args])
    else:
        parts = [_place_block(*a) for a in args]
    out = ad.AnnData(obs=pd.DataFrame(index=joinids.astype(str)))
    _write_outputs(out, _concatenated(parts))
    return out
