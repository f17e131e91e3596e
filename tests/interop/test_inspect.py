"""`scextract inspect --json` agrees with what current anndata reports, for every .h5ad in
the shared data folder and every good fixture in tests/fixtures/h5ad/.

Column kinds are mapped from pandas dtypes: category -> categorical, bool -> bool,
numeric numpy -> numeric, object/str -> string, Int*/UInt* -> nullable-integer,
boolean -> nullable-boolean, string -> nullable-string.

Deliberate differences, checked narrowly instead of ignored:
  * inspect lists a uns entry it cannot model (a structured / record array, a null
    element) not at all, but names it in `warnings`; anndata keeps it.
  * index_name is the name of the index dataset; anndata reports index.name None
    for the default "_index".
  * categories of numeric type are printed as text by inspect; they are compared
    as numbers.
"""

from __future__ import annotations

import math

import pytest

anndata = pytest.importorskip(
    "anndata", reason="anndata is not importable: the interop tests need the project venv", exc_type=ImportError
)
np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from scx_interop import (  # noqa: E402
    SHARED_MISSING,
    TENX_FOLDER,
    h5ad_params,
    inspect_json,
    matrix_kind,
    pandas_kind,
    read_reference,
    run_cli,
)

PARAMS = h5ad_params()


def same_label(label: str, category) -> bool:
    if isinstance(category, str):
        return label == category
    if isinstance(category, (bool, np.bool_)):
        return label.lower() == str(bool(category)).lower()
    try:
        return math.isclose(float(label), float(category), rel_tol=1e-12, abs_tol=0.0)
    except ValueError:
        return False


def skipped_in_warnings(j: dict, where: str) -> bool:
    """True when inspect's warnings say element `where` (e.g. "/uns/foo") was skipped."""
    return any(where in w and "skipped" in w for w in j["warnings"])


@pytest.mark.parametrize("path", PARAMS)
def test_shape_and_x(path):
    j, a = inspect_json(path), read_reference(path)
    assert j["format"] == "h5ad"
    assert (j["n_obs"], j["n_vars"]) == (a.n_obs, a.n_vars)
    if a.X is None:
        assert j["X"] is None
        return
    enc, dtype = matrix_kind(a.X)
    assert j["X"] is not None, "inspect reports no X but anndata has one"
    assert (j["X"]["encoding"], j["X"]["dtype"]) == (enc, dtype)
    assert j["X"]["shape"] == list(a.X.shape)
    if enc != "array":
        assert j["X"]["nnz"] == a.X.nnz


def check_frame(jf: dict, df, what: str) -> None:
    if df.index.name is None:
        assert jf["index_name"] == "_index", f"{what}: index dataset"
    else:
        assert jf["index_name"] == df.index.name, f"{what}: index name"
    assert jf["n_rows"] == len(df), f"{what}: rows"
    assert [c["name"] for c in jf["columns"]] == [str(c) for c in df.columns], f"{what}: column names / order"
    for jc in jf["columns"]:
        s = df[jc["name"]]
        col = f"{what}['{jc['name']}']"
        assert jc["kind"] == pandas_kind(s.dtype), f"{col}: kind (pandas dtype {s.dtype})"
        if jc["kind"] == "categorical":
            cats = list(s.cat.categories)
            assert jc["n_categories"] == len(cats), f"{col}: number of categories"
            assert jc["ordered"] == bool(s.cat.ordered), f"{col}: ordered"
            assert jc["n_missing"] == int(s.isna().sum()), f"{col}: missing values"
            cdt = s.cat.categories.dtype
            want = "str" if (cdt.kind in "OUS" or isinstance(cdt, pd.StringDtype)) else cdt.name
            assert jc["dtype"] == want, f"{col}: dtype of the categories"
            if "categories" in jc:
                assert len(jc["categories"]) == len(cats)
                bad = [(lab, c) for lab, c in zip(jc["categories"], cats, strict=True) if not same_label(lab, c)]
                assert not bad, f"{col}: categories differ (inspect, anndata): {bad[:5]}"
                vc = s.value_counts(sort=False, dropna=True)
                expected = {lab: int(vc[c]) for lab, c in zip(jc["categories"], cats, strict=True)}
                assert jc["counts"] == expected, f"{col}: value counts"
        elif jc["kind"] in ("numeric", "bool"):
            assert jc["dtype"] == s.dtype.name, f"{col}: dtype"
        elif jc["kind"].startswith("nullable-"):
            assert jc["n_missing"] == int(s.isna().sum()), f"{col}: missing values"
            want = "str" if jc["kind"] == "nullable-string" else s.dtype.numpy_dtype.name
            assert jc["dtype"] == want, f"{col}: dtype"
        else:
            assert jc["dtype"] == "str", f"{col}: dtype"


@pytest.mark.parametrize("path", PARAMS)
def test_obs_var_columns(path):
    j, a = inspect_json(path), read_reference(path)
    check_frame(j["obs"], a.obs, "obs")
    check_frame(j["var"], a.var, "var")


@pytest.mark.parametrize("path", PARAMS)
def test_obsm_varm_layers_obsp(path):
    j, a = inspect_json(path), read_reference(path)
    for name in ("obsm", "varm", "layers"):
        mapping = getattr(a, name)
        assert sorted(j[name]) == sorted(mapping.keys()), f"{name} keys"
        for k, v in mapping.items():
            if isinstance(v, pd.DataFrame):
                assert j[name][k]["encoding"] == "dataframe", f"{name}['{k}']"
                assert j[name][k]["shape"] == list(v.shape), f"{name}['{k}'] shape"
                continue
            enc, dtype = matrix_kind(v)
            assert j[name][k]["shape"] == list(v.shape), f"{name}['{k}'] shape"
            assert (j[name][k]["encoding"], j[name][k]["dtype"]) == (enc, dtype), f"{name}['{k}'] encoding / dtype"
    for name in ("obsp", "varp"):
        mapping = getattr(a, name)
        assert sorted(j[name]) == sorted(mapping.keys()), f"{name} keys"
        for k, v in mapping.items():
            assert j[name][k]["encoding"] == matrix_kind(v)[0], f"{name}['{k}'] encoding"


@pytest.mark.parametrize("path", PARAMS)
def test_raw(path):
    j, a = inspect_json(path), read_reference(path)
    if a.raw is None:
        assert j["raw"] is None
        return
    assert j["raw"] is not None, "anndata has .raw, inspect reports none"
    assert j["raw"]["n_vars"] == a.raw.n_vars
    enc, dtype = matrix_kind(a.raw.X)
    assert j["raw"]["X"]["shape"] == list(a.raw.X.shape)
    assert (j["raw"]["X"]["encoding"], j["raw"]["X"]["dtype"]) == (enc, dtype)
    check_frame(j["raw"]["var"], a.raw.var, "raw.var")


@pytest.mark.parametrize("path", PARAMS)
def test_uns_keys(path):
    j, a = inspect_json(path), read_reference(path)
    ours, theirs = set(j["uns"]), set(a.uns.keys())
    assert ours <= theirs, f"inspect reports uns keys anndata does not have: {sorted(ours - theirs)}"
    unexplained = sorted(k for k in theirs - ours if not skipped_in_warnings(j, f"/uns/{k}"))
    assert not unexplained, f"uns keys missing from inspect without a warning: {unexplained}"


def test_10x_folder_matches_scanpy(tmp_path):
    if not TENX_FOLDER.is_dir():
        pytest.skip(SHARED_MISSING if "shared" in str(TENX_FOLDER) else f"{TENX_FOLDER} is absent")
    sc = pytest.importorskip("scanpy", reason="scanpy is not importable")
    ref = sc.read_10x_mtx(TENX_FOLDER)
    j = inspect_json(TENX_FOLDER)
    assert j["format"] == "10x-mtx"
    assert (j["n_obs"], j["n_vars"]) == ref.shape
    assert j["X"]["nnz"] == ref.X.nnz
    out = tmp_path / "tenx.h5ad"
    r = run_cli("convert", TENX_FOLDER, out)
    assert r.returncode == 0, r.stderr
    ours = anndata.read_h5ad(out)
    assert list(ours.var_names) == list(ref.var_names), "var_names (scanpy: gene symbols, made unique)"
    assert list(ours.obs_names) == list(ref.obs_names), "obs_names (barcodes)"
    diff = abs(ours.X.astype(np.float64) - ref.X.astype(np.float64))
    assert diff.max() == 0, "X values"


def test_value_verdicts_of_counts_and_scanpy_lognorm(tmp_path):
    """issue 19, item 7: inspect says what X, the layers and raw.X hold; a scanpy
    log1p(normalize_total(target_sum=1e4)) copy of a real counts file is named as such."""
    from scx_interop import SHARED_DATA

    src = SHARED_DATA / "clustifyr_pbmc3k" / "clustifyr_pbmc3k.h5ad"
    if not src.is_file():
        pytest.skip(SHARED_MISSING)
    sc = pytest.importorskip("scanpy", reason="scanpy is not importable")
    j = inspect_json(src)
    assert j["values"]["X"]["kind"] == "counts"
    a = anndata.read_h5ad(src)
    a.layers["counts"] = a.X.copy()
    a.raw = a.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    out = tmp_path / "lognorm.h5ad"
    a.write_h5ad(out)
    j = inspect_json(out)
    v = j["values"]
    assert v["X"]["kind"] == "log_normalized" and v["X"]["expm1_row_sums_constant"]
    assert v["X"]["expm1_row_sum"] == pytest.approx(1e4, rel=1e-3)
    assert v["layers/counts"]["kind"] == "counts" and v["raw.X"]["kind"] == "counts"
    text = run_cli("inspect", out).stdout
    assert "X: log-normalised (non-integer, max" in text and "log1p(normalize_total(target_sum=10000))" in text, text
    print(text)
