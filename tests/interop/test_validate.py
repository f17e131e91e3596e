"""`scextract validate` end to end on the simulated bed: the planted model's operator on
simulated cells, beside the null-simulation, label-lookup and null-ruler controls; the frozen path on
held-out donors; and its usage errors."""

import json
import sys
from pathlib import Path

import anndata
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from scx_interop import run_cli  # noqa: E402

FAST = ["--permutations", "9", "--epochs", "150", "--permutation-epochs", "40", "--dims", "3",
        "--max-cells", "400", "--null-cells", "1500"]


def ok(*args):
    r = run_cli(*args, timeout=900)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("validate")
    sim = tmp / "sim.h5ad"
    ok("simulate", "--cells", "2000", "--donors", "8", "--genes", "800", "--out", str(sim))
    ok("make-model", "--out", str(tmp / "model"), "--size", "tiny", "--plant", str(sim))
    ok("export", "--model", str(tmp / "model"), "--reference", str(sim), "--panel", "300", "--mode", "atlas",
       "--cells", "150", "--out", str(tmp / "ops.scxop"))
    return tmp


def test_validate_reports_data_and_every_control(bed):
    out = bed / "validation.json"
    r = ok("validate", "--operator", str(bed / "ops.scxop"), "--data", str(bed / "sim.h5ad"), "--tissue-key", "tissue",
           *FAST, "--out", str(out))
    j = json.loads(out.read_text())
    assert j["format"] == "scextract-validation" and j["version"] == 1
    assert j["options"]["permutation_test"].startswith("one-sided")
    res = j["results"]
    assert set(res) == {"data", "null_simulation", "label_lookup", "null_ruler"}
    data, null, lookup, null_ruler = res["data"], res["null_simulation"], res["label_lookup"], res["null_ruler"]
    for run in (data, null, lookup, null_ruler):
        assert [g["name"] for g in run["gates"]] == ["random", "leave_donor", "leave_branch"]
        assert run["permutation"]["permutations"] == 9
        assert run["permutation"]["p_floor_greater"] == pytest.approx(0.1)
        assert run["permutation"]["p_floor_two_sided"] == pytest.approx(0.2)
        assert [s["k"] for s in run["dimension_sweep"]] == [3]
        assert 0 <= run["trustworthiness"] <= 1
        assert run["subsample_cells"] == 400
    assert data["permutation"]["refit"] is True and data["permutation"]["epochs"] == 40
    assert data["k"] == 10 and data["features"] == 600  # drift: 2 x 300 panel genes
    # the planted structure orders held-out donors; the null bed does not
    assert data["gates"][1]["score"] > 0.2
    assert data["gates"][1]["score"] > null["gates"][1]["score"] + 0.2
    assert null["passed"] is False and null["failures"]
    # 9 permutations floor p at 0.1, above the paper's 0.001: nothing can pass, and the gates say why
    assert j["gates"]["permutation"]["alpha"] == pytest.approx(0.001)
    assert j["gates"]["permutation"]["floor_at_most_alpha"] is False
    for run in (data, null, lookup, null_ruler):
        assert run["passed"] is False
        assert any("floor" in f for f in run["failures"])
    assert "ruler correlation" in r.stdout and "label lookup" in r.stdout and "null ruler" in r.stdout
    assert "verdict" in r.stdout


def test_validate_held_out_donors_with_a_frozen_algorithm(bed):
    a = anndata.read_h5ad(bed / "sim.h5ad")
    test = a.obs["donor"].isin({"D07", "D08"}).values
    a[~test].copy().write_h5ad(bed / "train.h5ad")
    a[test].copy().write_h5ad(bed / "test.h5ad")
    ok("fit", "--operator", str(bed / "ops.scxop"), "--train", str(bed / "train.h5ad"), "--tissue-key", "tissue",
       "--epochs", "300", "--out", str(bed / "algo.scx"))
    out = bed / "frozen.json"
    ok("validate", "--algorithm", str(bed / "algo.scx"), "--held-out", "--data", str(bed / "test.h5ad"),
       "--tissue-key", "tissue", *FAST, "--no-controls", "--out", str(out))
    j = json.loads(out.read_text())
    data = j["results"]["data"]
    assert j["input"]["held_out"] is True and data["frozen"] is True
    assert data["permutation"]["refit"] is False
    assert set(j["results"]) == {"data"}
    assert data["ruler_correlation"] > 0.3


def test_validate_usage_errors_leave_no_output(bed, tmp_path):
    out = tmp_path / "v.json"
    r = run_cli("validate", "--data", str(bed / "sim.h5ad"), "--out", str(out))
    assert r.returncode != 0 and "--operator or --algorithm" in r.stderr
    r = run_cli("validate", "--operator", str(bed / "ops.scxop"), "--held-out", "--data", str(bed / "sim.h5ad"),
                "--out", str(out))
    assert r.returncode != 0 and "--held-out" in r.stderr
    r = run_cli("validate", "--operator", str(bed / "ops.scxop"), "--data", str(bed / "sim.h5ad"), "--max-cells",
                "20000", "--out", str(out))
    assert r.returncode != 0 and "max-cells" in r.stderr
    r = run_cli("validate", "--operator", str(bed / "ops.scxop"), "--data", str(bed / "sim.h5ad"), "--label-key",
                "nope", "--out", str(out))
    assert r.returncode != 0 and "nope" in r.stderr and "obs columns" in r.stderr
    assert not out.exists()
