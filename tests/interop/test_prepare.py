"""`scextract prepare` against scanpy 1.11 on the same inputs.

For each input, HVG flavour, panel size and vocabulary filter, the panel must be
scanpy's highly variable genes:
- before_hvg: scanpy run on the AnnData restricted to the vocabulary's genes;
- after_hvg: scanpy run on all genes, then restricted to the vocabulary;
in scanpy's order (seurat_v3: highly_variable_rank ascending; seurat:
dispersions_norm descending). Orders are compared only where scanpy's scores
differ: scanpy breaks exact ties with numpy's unstable argsort, scextract by gene
index. For the same reason the selected sets may differ only among genes tied
exactly at the selection boundary (this happens on soupx_pbmc4k, seurat_v3,
n_top_genes=1000). The --out copy must read under anndata without a warning, keep
every original element and hold scanpy's per-gene statistics; the --subset file's
X must be scanpy's normalize_total + log1p of the panel.

The soupx_pbmc4k files are GPL-2: they are read in place from the shared data
folder, never copied (outputs derived from them live in pytest's temporary folders).
Tests on shared data skip when the folder is absent.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

import pytest

anndata = pytest.importorskip(
    "anndata", reason="anndata is not importable: the interop tests need the project venv", exc_type=ImportError
)
sc = pytest.importorskip("scanpy", reason="scanpy is not importable", exc_type=ImportError)
pytest.importorskip("skmisc", reason="scikit-misc (scanpy's seurat_v3 loess) is not importable", exc_type=ImportError)
np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
sp = pytest.importorskip("scipy.sparse")

from scx_interop import REPO, SHARED_DATA, SHARED_MISSING, run_cli  # noqa: E402

VOCAB = REPO / "data" / "scgpt_whole_human_vocab.json"
PBMC68K = REPO / "data" / "pbmc68k_reduced.h5ad"
CLUSTIFYR = SHARED_DATA / "clustifyr_pbmc3k" / "clustifyr_pbmc3k.h5ad"
SOUPX = SHARED_DATA / "soupx_pbmc4k" / "soupx_pbmc4k.h5ad"
SOUPX_10X = SHARED_DATA / "soupx_pbmc4k" / "filtered_feature_bc_matrix"
PBMC68K_PROCESSED = SHARED_DATA / "scanpy_pbmc68k_reduced" / "10x_pbmc68k_reduced.h5ad"

# name -> (path, panel sizes); sizes stay below the number of vocabulary genes.
DATASETS = {
    "pbmc68k": (PBMC68K, (200, 500)),
    "clustifyr": (CLUSTIFYR, (200, 1000)),
    "soupx": (SOUPX, (200, 1000)),
}
FLAVORS = ("seurat_v3", "seurat")
SCORE = {"seurat_v3": "variances_norm", "seurat": "dispersions_norm"}
STATS = {"seurat_v3": ("means", "variances", "variances_norm"), "seurat": ("means", "dispersions", "dispersions_norm")}
STAT_RTOL = 1e-6
# scanpy's seurat flavor computes on the float32 log-normalised X, in float32 (means, dispersions,
# dispersions_norm - the last even stored as float32), and numpy's float32 reductions round
# differently with the CPU's SIMD width (AVX-512 vs AVX2): its values are known to a few float32
# ulps, which rtol alone misses near zero (log dispersions of about 1, normalised dispersions near
# their bin's mean). seurat_v3 works on counts in float64.
STAT_ATOL = {"seurat": 16 * float(np.finfo(np.float32).eps), "seurat_v3": 0.0}
# scextract's statistics agree with scanpy's to ~1e-12 relative, so scanpy scores this
# close are treated as a tie when comparing orders.
TIE_RTOL = 1e-9


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: {SHARED_MISSING}" if SHARED_DATA in path.parents else f"{path} is absent")
    return path


def read_quiet(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return anndata.read_h5ad(path)


def read_strict(path: Path):
    """Reads an scextract output: any warning from anndata is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return anndata.read_h5ad(path)


@functools.lru_cache(maxsize=None)
def vocabulary() -> dict[str, int]:
    return json.loads(VOCAB.read_text())


@functools.lru_cache(maxsize=None)
def counts_of(name: str):
    """(var_names, CSR float32 counts) of a dataset, as anndata reads it."""
    path = need(DATASETS[name][0])
    a = read_quiet(path)
    return np.asarray(a.var_names, dtype=object), sp.csr_matrix(a.X, dtype=np.float32)


@functools.lru_cache(maxsize=None)
def in_vocab(name: str) -> np.ndarray:
    genes, _ = counts_of(name)
    v = vocabulary()
    return np.array([g in v for g in genes])


@functools.lru_cache(maxsize=None)
def lognorm_of(name: str):
    """scanpy normalize_total(1e4) over all genes, then log1p."""
    genes, counts = counts_of(name)
    a = anndata.AnnData(counts.copy())
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


@functools.lru_cache(maxsize=None)
def scanpy_hvg(name: str, flavor: str, n_top: int, vocab_only: bool) -> pd.DataFrame:
    """scanpy's var table, indexed by input position (candidates only)."""
    genes, counts = counts_of(name)
    positions = np.flatnonzero(in_vocab(name)) if vocab_only else np.arange(len(genes))
    if flavor == "seurat_v3":
        a = anndata.AnnData(counts[:, positions].copy())
    else:
        a = lognorm_of(name)[:, positions].copy()
    sc.pp.highly_variable_genes(a, flavor=flavor, n_top_genes=n_top)
    df = a.var.copy()
    df.index = positions
    return df


def scanpy_panel(df: pd.DataFrame, flavor: str, keep=None) -> np.ndarray:
    """Input positions of scanpy's selected genes, most variable first (ties in index order)."""
    sel = df[df["highly_variable"]]
    if flavor == "seurat_v3":
        sel = sel.sort_values("highly_variable_rank", kind="stable")
    else:
        sel = sel.sort_values("dispersions_norm", ascending=False, kind="stable")
    pos = sel.index.to_numpy()
    return pos if keep is None else pos[keep[pos]]


def assert_panel_matches(panel, ref, df: pd.DataFrame, flavor: str, what: str) -> None:
    """Same genes (up to exact ties at the boundary) in the same order where scanpy's scores differ."""
    panel, ref = np.asarray(panel), np.asarray(ref)
    score = df[SCORE[flavor]]
    assert len(panel) == len(ref), f"{what}: {len(panel)} panel genes, scanpy selects {len(ref)}"
    assert len(set(panel.tolist())) == len(panel), f"{what}: the panel repeats a gene"
    only_ours, only_theirs = set(panel.tolist()) - set(ref.tolist()), set(ref.tolist()) - set(panel.tolist())
    if only_ours or only_theirs:
        boundary = score[df["highly_variable"]].min()
        for g in only_ours | only_theirs:
            assert score[g] == boundary, (
                f"{what}: gene {g} selected by {'scextract' if g in only_ours else 'scanpy'} only and its "
                f"{SCORE[flavor]} {score[g]!r} is not tied with the boundary {boundary!r}"
            )
    ours_s, ref_s = score[panel].to_numpy(), score[ref].to_numpy()
    bad = ~np.isclose(ours_s, ref_s, rtol=TIE_RTOL, atol=0.0)
    assert not bad.any(), (
        f"{what}: panel order differs from scanpy's at {np.count_nonzero(bad)} positions, first at "
        f"{np.flatnonzero(bad)[0]} ({SCORE[flavor]} {ours_s[bad][0]!r} vs scanpy's {ref_s[bad][0]!r})"
    )


def assert_stats_match(var: pd.DataFrame, df: pd.DataFrame, flavor: str, n_genes: int, what: str) -> None:
    for col in STATS[flavor]:
        ours = var[col].to_numpy(dtype=np.float64)
        ref = np.full(n_genes, np.nan)
        ref[df.index.to_numpy()] = df[col].to_numpy(dtype=np.float64)
        both_nan = np.isnan(ours) & np.isnan(ref)
        ok = both_nan | np.isclose(ours, ref, rtol=STAT_RTOL, atol=STAT_ATOL[flavor])
        assert ok.all(), (
            f"{what}: var['{col}'] differs from scanpy's for {np.count_nonzero(~ok)} genes, e.g. position "
            f"{np.flatnonzero(~ok)[0]}: {ours[~ok][0]!r} vs {ref[~ok][0]!r}"
        )


def assert_element_equal(ours, ref, what: str) -> None:
    if isinstance(ref, dict):
        assert isinstance(ours, dict), f"{what}: a mapping became {type(ours).__name__}"
        missing = sorted(set(ref) - set(ours))
        assert not missing, f"{what}: keys lost: {missing}"
        for k in ref:
            assert_element_equal(ours[k], ref[k], f"{what}/{k}")
    elif isinstance(ref, pd.DataFrame):
        pd.testing.assert_frame_equal(ours, ref, obj=what)
    elif sp.issparse(ref):
        assert sp.issparse(ours) and ours.shape == ref.shape, f"{what}: sparse shape or kind changed"
        assert (ours != ref).nnz == 0, f"{what}: values changed"
    elif isinstance(ref, np.ndarray):
        np.testing.assert_array_equal(np.asarray(ours), ref, err_msg=what)
    else:
        assert ours == ref, f"{what}: {ours!r} != {ref!r}"


def assert_keeps_original(out, orig, what: str) -> None:
    assert out.shape == orig.shape, f"{what}: shape {out.shape} != {orig.shape}"
    assert list(out.obs_names) == list(orig.obs_names) and list(out.var_names) == list(orig.var_names), what
    for frame in ("obs", "var"):
        o, r = getattr(out, frame), getattr(orig, frame)
        lost = [c for c in r.columns if c not in o.columns]
        assert not lost, f"{what}: {frame} columns lost: {lost}"
        pd.testing.assert_frame_equal(o[list(r.columns)], r, obj=f"{what} {frame}")
    assert_element_equal(out.X, orig.X, f"{what} X")
    for slot in ("obsm", "varm", "layers", "obsp", "varp"):
        assert_element_equal(dict(getattr(out, slot)), dict(getattr(orig, slot)), f"{what} {slot}")
    assert_element_equal(dict(out.uns), dict(orig.uns), f"{what} uns")
    assert (out.raw is None) == (orig.raw is None), f"{what}: raw presence changed"


def run_prepare(*args, check: bool = True):
    r = run_cli("prepare", *map(str, args), "--threads", "2")
    if check:
        cmd = " ".join(map(str, args))
        assert r.returncode == 0, f"scextract prepare {cmd} failed ({r.returncode}): {r.stderr.strip()}"
    return r


def panel_positions(out_var: pd.DataFrame) -> np.ndarray:
    pos = out_var["scx_panel_position"].to_numpy()
    in_panel = np.flatnonzero(pos >= 0)
    order = np.argsort(pos[in_panel], kind="stable")
    panel = in_panel[order]
    np.testing.assert_array_equal(pos[panel], np.arange(len(panel)), err_msg="scx_panel_position is not 0..n-1")
    np.testing.assert_array_equal(out_var["highly_variable"].to_numpy(), pos >= 0,
                                  err_msg="highly_variable differs from panel membership")
    return panel


CASES = [
    pytest.param(name, flavor, n, vf, id=f"{name}-{flavor}-{n}-{vf}")
    for name, (_, sizes) in DATASETS.items()
    for flavor in FLAVORS
    for n in sizes
    for vf in ("before_hvg", "after_hvg")
]


@pytest.mark.parametrize("name,flavor,n_top,vocab_filter", CASES)
def test_panel_and_out_copy_match_scanpy(name, flavor, n_top, vocab_filter, tmp_path):
    path = need(DATASETS[name][0])
    genes, counts = counts_of(name)
    out, js = tmp_path / "out.h5ad", tmp_path / "summary.json"
    run_prepare(path, "--flavor", flavor, "--n-top-genes", n_top, "--vocab", VOCAB, "--vocab-filter", vocab_filter,
                "--out", out, "--json", js)
    what = f"{name} {flavor} n={n_top} {vocab_filter}"

    before = vocab_filter == "before_hvg"
    df = scanpy_hvg(name, flavor, n_top, before)
    ref = scanpy_panel(df, flavor, keep=None if before else in_vocab(name))

    o = read_strict(out)
    panel = panel_positions(o.var)
    assert_panel_matches(panel, ref, df, flavor, what)
    if before and flavor == "seurat_v3":
        assert len(panel) == n_top, f"{what}: before_hvg must give exactly {n_top} genes, got {len(panel)}"
    if not before:
        assert in_vocab(name)[panel].all(), f"{what}: after_hvg kept genes missing from the vocabulary"

    # exact ties in scextract's own scores: gene index order
    score = o.var[SCORE[flavor]].to_numpy()[panel]
    tied = np.flatnonzero(score[1:] == score[:-1])
    assert (panel[tied] < panel[tied + 1]).all(), f"{what}: exact ties not in gene index order"

    assert_stats_match(o.var, df, flavor, len(genes), what)
    v = vocabulary()
    np.testing.assert_array_equal(o.var["scx_vocab_id"].to_numpy(), [v.get(g, -1) for g in genes],
                                  err_msg=f"{what}: scx_vocab_id")
    np.testing.assert_allclose(o.obs["scx_total_counts"].to_numpy(), np.asarray(counts.sum(axis=1)).ravel(),
                               rtol=1e-6, err_msg=f"{what}: scx_total_counts")
    meta = o.uns["scx_prepare"]
    assert meta["flavor"] == flavor and int(meta["n_top_genes"]) == n_top and meta["vocab_filter"] == vocab_filter, meta
    assert float(meta["target_sum"]) == 1e4 and meta["panel_order"] == "hvg_rank", meta
    assert json.loads(meta["summary_json"]) == json.loads(js.read_text()), f"{what}: uns summary differs from --json"

    s = json.loads(js.read_text())
    assert s["panel"] == list(genes[panel]), f"{what}: --json panel differs from the --out copy's"
    assert s["panel_vocab_ids"] == [v[g] for g in genes[panel]], f"{what}: --json panel_vocab_ids"
    assert (s["n_cells"], s["n_genes"], s["flavor"], s["vocab_filter"]) == (*counts.shape, flavor, vocab_filter), s
    assert s["genes_in_vocab"] == int(in_vocab(name).sum()), s


@pytest.fixture(scope="module")
def originals():
    return functools.lru_cache(maxsize=None)(read_quiet)


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("flavor", FLAVORS)
def test_out_copy_keeps_input_and_subset_is_scanpy_lognorm(name, flavor, tmp_path, originals):
    path = need(DATASETS[name][0])
    genes, counts = counts_of(name)
    n_top = DATASETS[name][1][0]
    out, sub = tmp_path / "out.h5ad", tmp_path / "subset.h5ad"
    run_prepare(path, "--flavor", flavor, "--n-top-genes", n_top, "--vocab", VOCAB, "--out", out)
    run_prepare(path, "--flavor", flavor, "--n-top-genes", n_top, "--vocab", VOCAB, "--out", sub, "--subset")
    what = f"{name} {flavor}"

    o = read_strict(out)
    assert_keeps_original(o, originals(path), what)
    panel = panel_positions(o.var)

    s = read_strict(sub)
    assert list(s.var_names) == list(genes[panel]), f"{what}: --subset var_names are not the panel in order"
    assert list(s.obs_names) == list(o.obs_names), what
    ref_x = lognorm_of(name).X[:, panel].toarray()
    x = s.X.toarray() if sp.issparse(s.X) else np.asarray(s.X)
    np.testing.assert_allclose(x, ref_x, rtol=0, atol=1e-6, err_msg=f"{what}: subset X vs scanpy normalize_total+log1p")
    c = s.layers["counts"]
    np.testing.assert_array_equal(c.toarray() if sp.issparse(c) else c, counts[:, panel].toarray(),
                                  err_msg=f"{what}: layers['counts']")
    for col in (*STATS[flavor], "scx_panel_position", "scx_vocab_id"):
        np.testing.assert_array_equal(s.var[col].to_numpy(), o.var[col].to_numpy()[panel], err_msg=f"{what}: var {col}")
    np.testing.assert_array_equal(s.var["scx_panel_position"].to_numpy(), np.arange(len(panel)))
    for col in originals(path).obs.columns:
        pd.testing.assert_series_equal(s.obs[col], o.obs[col], obj=f"{what} subset obs {col}")
    for col in originals(path).var.columns:
        np.testing.assert_array_equal(
            s.var[col].to_numpy(), o.var[col].to_numpy()[panel], err_msg=f"{what} subset var {col}"
        )
    assert "scx_prepare" in s.uns and "scx_total_counts" in s.obs, what


def test_soupx_seurat_v3_1000_differs_only_by_a_boundary_tie():
    """The documented exception: scanpy and scextract break one exact tie differently."""
    df = scanpy_hvg("soupx", "seurat_v3", 1000, False)
    v = df["variances_norm"]
    boundary = v[df["highly_variable"]].min()
    tied = np.flatnonzero(v.to_numpy() == boundary)
    assert len(tied) >= 2, "expected an exact tie at the boundary (scanpy/numpy changed?)"
    r = json.loads(run_prepare(SOUPX, "--n-top-genes", 1000, "--json", "-").stdout)
    genes, _ = counts_of("soupx")
    ours = set(r["panel"])
    theirs = set(genes[df.index[df["highly_variable"]]])
    assert len(ours) == 1000
    assert {g for g in ours ^ theirs} <= set(genes[df.index[tied]]), "genes outside the boundary tie differ"


@pytest.mark.parametrize("flavor", FLAVORS)
def test_no_vocab_panel_is_scanpy_on_all_genes(flavor):
    name = "clustifyr"
    need(DATASETS[name][0])
    genes, _ = counts_of(name)
    r = run_prepare(CLUSTIFYR, "--flavor", flavor, "--n-top-genes", 300, "--json", "-")
    s = json.loads(r.stdout)
    assert s["vocab_filter"] == "none" and "panel_vocab_ids" in s and s["panel_vocab_ids"] == []
    df = scanpy_hvg(name, flavor, 300, False)
    pos = {g: i for i, g in enumerate(genes)}
    panel = [pos[g] for g in s["panel"]]
    assert_panel_matches(panel, scanpy_panel(df, flavor), df, flavor, f"{name} {flavor} no vocab")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_panel_order_input_is_the_same_set_in_input_order(flavor):
    base = ("--flavor", flavor, "--n-top-genes", 200, "--vocab", VOCAB, "--json", "-")
    ranked = json.loads(run_prepare(PBMC68K, *base).stdout)
    by_input = json.loads(run_prepare(PBMC68K, *base, "--panel-order", "input").stdout)
    genes, _ = counts_of("pbmc68k")
    pos = {g: i for i, g in enumerate(genes)}
    assert set(by_input["panel"]) == set(ranked["panel"])
    assert by_input["panel"] == sorted(ranked["panel"], key=pos.__getitem__)
    assert by_input["panel_order"] == "input"
    ids = dict(zip(ranked["panel"], ranked["panel_vocab_ids"]))
    assert by_input["panel_vocab_ids"] == [ids[g] for g in by_input["panel"]]


def test_threads_do_not_change_the_output():
    base = ("prepare", PBMC68K, "--flavor", "seurat_v3", "--n-top-genes", 300, "--vocab", VOCAB, "--json", "-")
    one, many = run_cli("--threads", "1", *base), run_cli("--threads", "4", *base)
    assert one.returncode == 0 and many.returncode == 0, one.stderr + many.stderr
    assert one.stdout == many.stdout


@functools.lru_cache(maxsize=None)
def soupx_10x():
    return sc.read_10x_mtx(SOUPX_10X)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_10x_folder_gives_the_h5ad_panel_and_scanpy_selection(flavor, tmp_path):
    need(SOUPX_10X / "matrix.mtx.gz")
    need(SOUPX)
    args = ("--flavor", flavor, "--n-top-genes", 200, "--vocab", VOCAB, "--json", "-")
    from_10x = json.loads(run_prepare(SOUPX_10X, *args, "--out", tmp_path / "tenx.h5ad").stdout)
    from_h5ad = json.loads(run_prepare(SOUPX, *args).stdout)
    assert from_10x["panel"] == from_h5ad["panel"]

    a = soupx_10x()
    genes = np.asarray(a.var_names, dtype=object)
    keep = np.array([g in vocabulary() for g in genes])
    counts = sp.csr_matrix(a.X, dtype=np.float32)
    if flavor == "seurat_v3":
        b = anndata.AnnData(counts[:, keep].copy())
    else:
        b = anndata.AnnData(counts.copy())
        sc.pp.normalize_total(b, target_sum=1e4)
        sc.pp.log1p(b)
        b = b[:, keep].copy()
    sc.pp.highly_variable_genes(b, flavor=flavor, n_top_genes=200)
    df = b.var.copy()
    df.index = np.flatnonzero(keep)
    pos = {g: i for i, g in enumerate(genes)}
    assert_panel_matches([pos[g] for g in from_10x["panel"]], scanpy_panel(df, flavor), df, flavor, f"10x {flavor}")

    o = read_strict(tmp_path / "tenx.h5ad")
    assert list(o.var_names) == list(genes) and o.n_obs == a.n_obs
    np.testing.assert_array_equal(genes[panel_positions(o.var)], from_10x["panel"])
    assert_stats_match(o.var, df, flavor, len(genes), f"10x {flavor}")


def test_counts_from_a_layer_and_another_target_sum(tmp_path):
    """Counts in layers['counts'] under a log-normalised X; seurat HVGs on normalize_total(1e6)."""
    a = read_quiet(PBMC68K)
    counts = sp.csr_matrix(a.X, dtype=np.float32)
    a.layers["counts"] = counts.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    layered = tmp_path / "layered.h5ad"
    a.write_h5ad(layered)

    # X is log1p(normalize_total): detected and said; stated as counts it is refused, naming the layer to use
    r = run_prepare(layered, check=False)
    assert r.returncode == 0 and "X: log-normalised (detected" in r.stderr, r.stderr
    r = run_prepare(layered, "--input-kind", "counts", check=False)
    assert r.returncode == 1 and "--layer counts" in r.stderr and "log-normalised" in r.stderr, r.stderr

    args = ("--flavor", "seurat", "--n-top-genes", 150, "--target-sum", 1e6, "--json", "-")
    out = tmp_path / "subset.h5ad"
    s = json.loads(run_prepare(layered, "--layer", "counts", *args, "--out", out, "--subset").stdout)
    assert s["matrix"] == "layers/counts" and s["target_sum"] == 1e6
    assert s["panel"] == json.loads(run_prepare(PBMC68K, *args).stdout)["panel"]

    ref = anndata.AnnData(counts.copy())
    sc.pp.normalize_total(ref, target_sum=1e6)
    sc.pp.log1p(ref)
    sc.pp.highly_variable_genes(ref, flavor="seurat", n_top_genes=150)
    df = ref.var.copy()
    df.index = np.arange(ref.n_vars)
    genes = list(a.var_names)
    pos = {g: i for i, g in enumerate(genes)}
    panel = [pos[g] for g in s["panel"]]
    assert_panel_matches(panel, scanpy_panel(df, "seurat"), df, "seurat", "layer counts, target_sum 1e6")
    x = read_strict(out).X
    np.testing.assert_allclose(x.toarray() if sp.issparse(x) else x, ref.X[:, panel].toarray(), rtol=0, atol=1e-6)


# ---- gene symbols -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ensembl_copy(tmp_path_factory):
    """pbmc68k with fake Ensembl ids as var_names and the symbols in var['feature_name'] (BSD data)."""
    a = read_quiet(PBMC68K)
    symbols = list(a.var_names)
    a.var["feature_name"] = pd.Categorical(symbols)
    a.var["alt_symbol"] = symbols
    a.var["junk"] = [f"nothing{i}" for i in range(a.n_vars)]
    a.var_names = [f"ENSG{i:011d}" for i in range(a.n_vars)]
    path = tmp_path_factory.mktemp("ensembl") / "pbmc68k_ensembl.h5ad"
    a.write_h5ad(path)
    return path


def test_ensembl_var_names_use_feature_name(ensembl_copy):
    args = ("--n-top-genes", 200, "--vocab", VOCAB, "--json", "-")
    orig = json.loads(run_prepare(PBMC68K, *args).stdout)
    r = run_prepare(ensembl_copy, *args)
    assert "var['feature_name']" in r.stderr and "Ensembl" in r.stderr, r.stderr
    s = json.loads(r.stdout)
    assert s["panel"] == orig["panel"] and s["panel_vocab_ids"] == orig["panel_vocab_ids"]
    assert s["genes_in_vocab"] == orig["genes_in_vocab"]


def test_gene_column_forces_a_column(ensembl_copy, tmp_path):
    args = ("--n-top-genes", 200, "--vocab", VOCAB, "--json", "-")
    orig = json.loads(run_prepare(PBMC68K, *args).stdout)
    r = run_prepare(ensembl_copy, *args, "--gene-column", "alt_symbol")
    assert "var['alt_symbol']" in r.stderr and "requested" in r.stderr, r.stderr
    assert json.loads(r.stdout)["panel"] == orig["panel"]

    # a symbol-indexed file told to use a column of non-symbols: nothing matches the vocabulary
    out = tmp_path / "junk.h5ad"
    r = run_prepare(ensembl_copy, *args, "--gene-column", "junk", "--out", out, check=False)
    assert r.returncode == 1 and "vocabulary" in r.stderr, r.stderr
    assert not out.exists()

    r = run_prepare(ensembl_copy, *args, "--gene-column", "no_such_column", check=False)
    assert r.returncode == 1 and "no_such_column" in r.stderr, r.stderr

    # without a vocabulary the Ensembl copy still reports symbols in its panel
    s = json.loads(run_prepare(ensembl_copy, "--n-top-genes", 200, "--json", "-").stdout)
    assert s["panel"] == json.loads(run_prepare(PBMC68K, "--n-top-genes", 200, "--json", "-").stdout)["panel"]


# ---- refusals -----------------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "path,extra,found,hints",
    [
        pytest.param(CLUSTIFYR, ("--layer", "lognorm_seurat"), "log-normalised", ("X (leave out --layer)",),
                     id="clustifyr-lognorm-layer"),
        pytest.param(PBMC68K_PROCESSED, (), "scaled", ("--raw",), id="pbmc68k-processed-X"),
        pytest.param(
            PBMC68K_PROCESSED, ("--raw",), "log-normalised", ("X (leave out --raw)",), id="pbmc68k-processed-raw"
        ),
    ],
)
def test_non_counts_are_refused_with_a_hint(path, extra, found, hints, tmp_path):
    need(path)
    out, js = tmp_path / "out.h5ad", tmp_path / "s.json"
    r = run_prepare(path, *extra, "--out", out, "--json", js, check=False)
    assert r.returncode == 1, f"exit {r.returncode}: {r.stderr}"
    err = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(err) == 1, r.stderr
    err = err[0]
    assert path.name in err and "raw counts" in err and found in err, err
    for h in hints:
        assert h in err, f"hint {h!r} missing: {err}"
    assert r.stdout.strip() == ""
    assert sorted(os.listdir(tmp_path)) == [], f"left behind: {os.listdir(tmp_path)}"


def test_subset_without_out_is_a_usage_error():
    r = run_prepare(PBMC68K, "--subset", check=False)
    assert r.returncode == 2 and "--out" in r.stderr, r.stderr


def test_out_equal_to_input_is_refused(tmp_path):
    copy = tmp_path / "in.h5ad"
    shutil.copyfile(PBMC68K, copy)
    digest = sha256(copy)
    (tmp_path / "sub").mkdir()
    for target in (copy, tmp_path / "." / "in.h5ad", tmp_path / "sub" / ".." / "in.h5ad"):
        for extra in ((), ("--subset",)):
            r = run_prepare(copy, "--out", target, *extra, check=False)
            assert r.returncode != 0 and "input" in r.stderr, f"{target}: exit {r.returncode}, {r.stderr}"
    assert sha256(copy) == digest, "the input was modified"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.h5ad", "sub"]
    assert list((tmp_path / "sub").iterdir()) == []


@pytest.mark.parametrize("vocab_filter", ["before_hvg", "after_hvg"])
def test_vocabulary_matching_no_gene_is_an_error(vocab_filter, tmp_path):
    out, js = tmp_path / "o.h5ad", tmp_path / "o.json"
    bad_vocab = tmp_path / "v.json"
    bad_vocab.write_text(json.dumps({"NOT_A_GENE_1": 0, "hes4": 1}))  # matching is case-sensitive
    args = ("--vocab", bad_vocab, "--vocab-filter", vocab_filter, "--out", out, "--json", js)
    r = run_prepare(PBMC68K, *args, check=False)
    assert r.returncode == 1 and "vocabulary" in r.stderr, f"{vocab_filter}: exit {r.returncode}, {r.stderr}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.json"], "output left behind"


def test_failures_leave_no_output(tmp_path):
    out, js = tmp_path / "o.h5ad", tmp_path / "o.json"
    bad_vocab = tmp_path / "v.json"
    bad_vocab.write_text(json.dumps({"NOT_A_GENE_1": 0, "NOT_A_GENE_2": 1}))
    r = run_prepare(PBMC68K, "--vocab", bad_vocab, "--out", out, "--json", js, check=False)
    assert r.returncode == 1 and "vocabulary" in r.stderr, r.stderr
    r = run_prepare(PBMC68K, "--layer", "nope", "--out", out, "--json", js, check=False)
    assert r.returncode == 1 and "nope" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.json"]
