"""
scextract's C++ library (include/scextract/); use the functions of the scextract package.
"""

from collections.abc import Sequence
from typing import Annotated

from numpy.typing import NDArray


class Error(RuntimeError):
    pass

class Algorithm:
    """An algorithm file (.scx) read into memory."""

    @property
    def latent_dim(self) -> int: ...

    @property
    def panel(self) -> list[str]: ...

    @property
    def features(self) -> str: ...

    @property
    def target_sum(self) -> float: ...

    @property
    def readouts(self) -> list[tuple[str, str, list[str]]]: ...

    @property
    def provenance_json(self) -> str: ...

    @property
    def ruler_json(self) -> str: ...

def read_algorithm(path: str) -> Algorithm:
    """Reads an algorithm file (.scx), checking every checksum."""

def apply_csr(algorithm: Algorithm, data: Annotated[NDArray, dict(device='cpu', writable=False)], indices: Annotated[NDArray, dict(device='cpu', writable=False)], indptr: Annotated[NDArray, dict(device='cpu', writable=False)], n_rows: int, n_cols: int, symbols: Sequence[str], max_missing: float = 0.5, chunk_rows: int = 20000, exact_features: bool = False, check_counts: bool = True, threads: int = 0, algorithm_path: str = '', matrix_source: str = 'X') -> dict:
    """Applies an algorithm to CSR arrays viewed in place."""

def apply_dense(algorithm: Algorithm, x: Annotated[NDArray, dict(device='cpu', writable=False)], symbols: Sequence[str], max_missing: float = 0.5, chunk_rows: int = 20000, exact_features: bool = False, check_counts: bool = True, threads: int = 0, algorithm_path: str = '', matrix_source: str = 'X') -> dict:
    """Applies an algorithm to a dense array viewed in place (any strides)."""

def apply_file(algorithm: str, input: str, out: str, layer: str = '', raw: bool = False, gene_column: str = '', max_missing: float = 0.5, chunk_rows: int = 20000, exact_features: bool = False, threads: int = 0) -> tuple[int, int, bool, float, str, float, bool]:
    """
    File to file, exactly as `scextract apply`: (cells, latent_dim, streamed, seconds, ood line, OOD fraction (-1: unavailable), OOD warning).
    """

def choose_gene_symbols(var_names: Sequence[str], columns: Sequence[tuple[str, Sequence[str]]], force_column: str = '') -> tuple[list[str], str]:
    """
    The gene symbols scextract uses for var: (symbols, explanation), the CLI's choice.
    """

class Model:
    """An scGPT checkpoint loaded without executing anything from it."""

    @property
    def weights_file(self) -> str: ...

    @property
    def n_layers(self) -> int: ...

    @property
    def n_heads(self) -> int: ...

    @property
    def d_model(self) -> int: ...

    @property
    def vocab_size(self) -> int: ...

def load_model(path: str) -> Model:
    """
    Loads an scGPT checkpoint folder or weights file (nothing in it is executed).
    """

def embed_arrays(model: Model, data: object, indices: object | None, indptr: object | None, n_rows: int, n_cols: int, symbols: Sequence[str], pool: str = 'mean', tokenizer: str = 'official', padded_states: str = 'zero', pool_batch_size: int = 64, l2_normalize: bool = False, max_tokens: int = 1200, batch_size: int = 8, seed: int = 42, threads: int = 0, matrix_source: str = 'X') -> dict:
    """
    Frozen scGPT embeddings of CSR arrays (indices given) or a dense array (indices None).
    """

def export_file(model: str, reference: str, out: str, mode: str, panel: int, cells: int, max_tokens: int, batch_size: int, layer: str, raw: bool, gene_column: str, flavor: str, vocab_filter: str, panel_order: str, target_sum: float, seed: int, threads: int, input_kind: str) -> tuple[int, int, int, float]:
    """`scextract export`: (operators, panel genes, bytes, seconds)."""

def fit_file(operator_file: str, train: str, out: str, label_key: str, donor_key: str, tissue_key: str, layer: str, raw: bool, gene_column: str, ruler: str, variant: str, k: int, alpha: float, epochs: int, features: str, head: str, heads: str, rank: int, factors: int, top_genes: int, orientation: str, seed: int, threads: int, input_kind: str, label_map: str) -> tuple[int, int, int, int, float, list[tuple[str, int, int, float]], str, float]:
    """`scextract fit`: a summary tuple of the fit."""

def interpret_file(algorithm: str, data: str, out: str, label_key: str, donor_key: str, tissue_key: str, layer: str, raw: bool, gene_column: str, gmt: list[str], programs: str, top_genes: int, factors: int, core: int, endpoints: list[str], min_donor_cells: int, max_cells: int, permutations: int, fdr: float, seed: int, threads: int) -> tuple[str, list[str], float]:
    """`scextract interpret`: (interpret.json text, files written, seconds)."""

def pseudotime_file(method: str, input: str, out: str, root: str, root_label: str, label_key: str, use_rep: str, layer: str, raw: bool, input_kind: str, n_top_genes: int, n_pcs: int, n_neighbors: int, n_comps: int, n_dcs: int, knn: int, n_components: int, num_waypoints: int, seed: int, threads: int) -> tuple[int, str, str, int, str, list[str], int, float]:
    """`scextract pseudotime`: (cells, representation, root, root row, start cell, terminal states, unreachable cells, seconds)."""

def perturb_file(algorithm: str, input: str, out: str, summary: str, genes: list[str], program: str, programs: str, factor: int, mode: str, null_sets: int, layer: str, raw: bool, gene_column: str, seed: int, threads: int) -> tuple[list[tuple[str, float, float, float, float, float, float, str]], list[str], list[str], str, float]:
    """`scextract perturb`: (summary rows, genes perturbed, genes off the panel, summary TSV, seconds)."""

def inspect(path: str) -> tuple[str, str, str]:
    """`scextract inspect`: (kind, summary JSON text, text)."""
