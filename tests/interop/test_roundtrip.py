"""`scextract convert IN OUT.h5ad` keeps everything anndata sees, for every .h5ad in the
shared data folder and every good fixture in tests/fixtures/h5ad/.

The input is read with current anndata (legacy files warn that they are old; that is
expected). The output must read with anndata and scanpy without any warning (warnings
are errors), and must hold identical X (values, dtype, sparse format), obs and var
(pandas.testing.assert_frame_equal), obsm, varm, obsp, varp, layers, raw (X and var)
and uns (recursive equality, types included).

Deliberate difference, checked narrowly: scextract does not model null elements in uns;
convert drops them and says so on stderr ("... skipped null element"). Such an element
may be missing from the output only if convert named it in a warning; anything else
missing fails. Structured (record) arrays, e.g. scanpy's rank_genes_groups, round-trip.
Also, a legacy 0-d numeric dataset (anndata: numpy scalar) comes back as a numeric-scalar
(anndata: Python scalar); its value and stored dtype are compared. And a fixed-width unicode array in uns (what anndata makes of the fixed-length bytes
of legacy files) is expected back with object dtype, as anndata's own write / read gives.
"""

from __future__ import annotations

import functools
import re
import warnings

import pytest

anndata = pytest.importorskip(
    "anndata", reason="anndata is not importable: the interop tests need the project venv", exc_type=ImportError
)
np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
sp = pytest.importorskip("scipy.sparse")

from scx_interop import h5ad_params, import_hdf5plugin, read_reference, run_cli  # noqa: E402

PARAMS = h5ad_params()
# convert's warning names "<file>:/uns/<path>: skipped ..."; capture the element path
SKIP_RE = re.compile(r"(/uns(?:/[^\s:]+)*): skipped (null element)")


def assert_matrix_equal(ours, ref, what: str) -> None:
    if ref is None:
        assert ours is None, f"{what}: anndata has none, the output has one"
        return
    assert ours is not None, f"{what}: missing from the output"
    assert sp.issparse(ours) == sp.issparse(ref), f"{what}: sparse vs dense ({type(ours).__name__} vs {type(ref).__name__})"
    assert ours.shape == ref.shape, f"{what}: shape"
    assert ours.dtype == ref.dtype, f"{what}: dtype {ours.dtype} vs {ref.dtype}"
    if sp.issparse(ref):
        assert ours.format == ref.format, f"{what}: sparse format {ours.format} vs {ref.format}"
        # compare the stored arrays (scipy's own comparison cannot handle uint64 indptr)
        assert np.array_equal(ours.indptr.astype(np.int64), ref.indptr.astype(np.int64)), f"{what}: indptr"
        assert np.array_equal(ours.indices.astype(np.int64), ref.indices.astype(np.int64)), f"{what}: indices"
        assert np.array_equal(ours.data, ref.data, equal_nan=ref.dtype.kind == "f"), f"{what}: values"
    else:
        o, r = np.asarray(ours), np.asarray(ref)
        assert np.array_equal(o, r, equal_nan=r.dtype.kind == "f"), f"{what}: values"


def assert_element_equal(ours, ref, what: str) -> None:
    if isinstance(ref, pd.DataFrame):
        assert isinstance(ours, pd.DataFrame), f"{what}: expected a DataFrame, got {type(ours).__name__}"
        pd.testing.assert_frame_equal(ours, ref, obj=what)
    else:
        assert_matrix_equal(ours, ref, what)


def assert_uns_equal(ours, ref, what: str, skipped: set[str], h5=None) -> None:
    """Recursive equality, including the type of every scalar and the dtype of every array.

    @p what is the element's HDF5 path; @p h5 the open output file, for stored dtypes.
    """
    if what in skipped:
        assert ours is None, f"{what}: warned as skipped but present"
        return
    if isinstance(ref, dict):
        assert isinstance(ours, dict), f"{what}: dict vs {type(ours).__name__}"
        missing = sorted(k for k in ref.keys() - ours.keys() if f"{what}/{k}" not in skipped)
        assert not missing, f"{what}: keys missing from the output: {missing}"
        assert not ours.keys() - ref.keys(), f"{what}: extra keys {sorted(ours.keys() - ref.keys())}"
        for k in ref:
            assert_uns_equal(ours.get(k), ref[k], f"{what}/{k}", skipped, h5)
        return
    if isinstance(ref, pd.DataFrame):
        assert isinstance(ours, pd.DataFrame), f"{what}: DataFrame vs {type(ours).__name__}"
        pd.testing.assert_frame_equal(ours, ref, obj=what)
        return
    if sp.issparse(ref):
        assert_matrix_equal(ours, ref, what)
        return
    if isinstance(ref, np.generic) and ref.dtype.kind in "biuf" and not isinstance(ours, np.generic):
        # a legacy 0-d dataset reads as a numpy scalar, a current numeric-scalar as a Python
        # scalar (anndata's own write / read does the same): compare the value and the dtype
        # stored in the output
        assert type(ours) is type(ref.item()) and ours == ref.item(), f"{what}: {ours!r} vs {ref!r}"
        if h5 is not None:
            assert h5[what].dtype == ref.dtype, f"{what}: stored dtype {h5[what].dtype} vs {ref.dtype}"
        return
    assert type(ours) is type(ref), f"{what}: type {type(ours).__name__} vs {type(ref).__name__}"
    if isinstance(ref, np.ndarray):
        if ref.dtype.kind == "U":
            # anndata itself writes a fixed-width unicode array as a string-array and reads it
            # back as object dtype (legacy files hold such arrays as fixed-length bytes)
            assert ours.dtype == np.dtype(object), f"{what}: dtype {ours.dtype} vs {ref.dtype}"
            assert ours.shape == ref.shape and (ours == ref).all(), f"{what}: values"
            return
        assert ours.dtype == ref.dtype, f"{what}: dtype {ours.dtype} vs {ref.dtype}"
        assert ours.shape == ref.shape, f"{what}: shape {ours.shape} vs {ref.shape}"
        if ref.dtype.kind == "f":
            assert np.array_equal(ours, ref, equal_nan=True), f"{what}: values"
        else:
            assert np.array_equal(ours, ref), f"{what}: values"
    elif isinstance(ref, float) and np.isnan(ref):
        assert np.isnan(ours), f"{what}: NaN"
    else:
        assert ours == ref, f"{what}: {ours!r} vs {ref!r}"


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """path -> (output path, convert's stderr); converts each input once per module."""
    cache: dict = {}
    out_dir = tmp_path_factory.mktemp("converted")

    def get(path):
        if path not in cache:
            out = out_dir / f"{len(cache):02d}_{path.name}"
            r = run_cli("convert", path, out)
            assert r.returncode == 0, f"convert {path} failed ({r.returncode}): {r.stderr.strip()}"
            assert out.is_file()
            assert not [p for p in out_dir.iterdir() if p.name.startswith(".")], "temporary file left behind"
            cache[path] = (out, r.stderr)
        return cache[path]

    return get


@functools.lru_cache(maxsize=None)
def read_strict(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return anndata.read_h5ad(path)


@pytest.mark.parametrize("path", PARAMS)
def test_output_reads_without_warnings(path, converted):
    out, _ = converted(path)
    read_strict(out)
    sc = pytest.importorskip("scanpy", reason="scanpy is not importable")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sc.read_h5ad(out)


@pytest.mark.parametrize("path", PARAMS)
def test_x_obs_var(path, converted):
    out, _ = converted(path)
    ours, ref = read_strict(out), read_reference(path)
    assert ours.shape == ref.shape
    assert_matrix_equal(ours.X, ref.X, "X")
    pd.testing.assert_frame_equal(ours.obs, ref.obs, obj="obs")
    pd.testing.assert_frame_equal(ours.var, ref.var, obj="var")


@pytest.mark.parametrize("path", PARAMS)
def test_aligned_mappings(path, converted):
    out, _ = converted(path)
    ours, ref = read_strict(out), read_reference(path)
    for name in ("obsm", "varm", "obsp", "varp", "layers"):
        o, r = getattr(ours, name), getattr(ref, name)
        assert sorted(o.keys()) == sorted(r.keys()), f"{name} keys"
        for k in r:
            assert_element_equal(o[k], r[k], f"{name}['{k}']")


@pytest.mark.parametrize("path", PARAMS)
def test_raw(path, converted):
    out, _ = converted(path)
    ours, ref = read_strict(out), read_reference(path)
    if ref.raw is None:
        assert ours.raw is None
        return
    assert ours.raw is not None, "raw missing from the output"
    assert_matrix_equal(ours.raw.X, ref.raw.X, "raw.X")
    pd.testing.assert_frame_equal(ours.raw.var, ref.raw.var, obj="raw.var")
    assert sorted(ours.raw.varm.keys()) == sorted(ref.raw.varm.keys()), "raw.varm keys"
    for k in ref.raw.varm:
        assert_element_equal(ours.raw.varm[k], ref.raw.varm[k], f"raw.varm['{k}']")


@pytest.mark.parametrize("path", PARAMS)
def test_uns(path, converted):
    out, stderr = converted(path)
    ours, ref = read_strict(out), read_reference(path)
    skipped = {m.group(1) for m in SKIP_RE.finditer(stderr)}
    import h5py

    with h5py.File(out, "r") as h5:
        assert_uns_equal(dict(ours.uns), dict(ref.uns), "/uns", skipped, h5)


def test_zstd_input_is_refused_but_readable_by_anndata_with_plugin():
    """Sanity check of the fixture itself: the file is valid, only the filter is missing."""
    from scx_interop import FIXTURES

    if not import_hdf5plugin():
        pytest.skip("hdf5plugin is not installed")
    a = read_reference(FIXTURES / "zstd_unsupported.h5ad")
    assert a.X.nnz > 0
