"""`scextract ruler check|show|export-default`: exit codes, messages, JSON output, and the
label report of --labels-from against what anndata reads from the same files.

The ruler itself is tested in tests/core/ruler_test.cpp and tests/io/ruler_json_test.cpp;
this file checks the command line around it.
"""

from __future__ import annotations

import json

import pytest

from scx_interop import REPO, SHARED_DATA, SHARED_MISSING, read_reference, run_cli  # noqa: E402

DEFAULT_FILE = REPO / "data" / "rulers" / "hematopoiesis.json"
PBMC68K = REPO / "data" / "pbmc68k_reduced.h5ad"
TRIANA = SHARED_DATA / "triana2021_hspc_citeseq" / "triana2021_hspc_citeseq.h5ad"


def write_json(path, obj):
    path.write_text(json.dumps(obj, indent=1))
    return path


def small_ruler(**changes):
    r = {
        "format": "scextract-ruler",
        "version": 1,
        "name": "small",
        "root": "root",
        "branches": ["stem", "x"],
        "stages": [
            {"name": "root", "depth": 0, "branch": "stem"},
            {"name": "a", "depth": 1, "branch": "x"},
            {"name": "b", "depth": 2, "branch": "x"},
        ],
        "edges": [["root", "a"], ["a", "b"]],
        "labels": {"Alpha cells": "a"},
    }
    r.update(changes)
    return r


def test_default_ruler_passes_check():
    r = run_cli("ruler", "check", "default")
    assert r.returncode == 0, r.stderr
    assert "35 stages" in r.stdout and "7 branches" in r.stdout
    assert r.stdout.rstrip().endswith("ok")
    assert "error" not in r.stderr


def test_check_json():
    r = run_cli("ruler", "check", "default", "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["ok"] is True and j["errors"] == [] and j["warnings"] == []
    assert j["n_stages"] == 35 and j["n_branches"] == 7 and j["root"] == "HSC"
    assert j["max_depth"] == 7
    assert sum(j["branch_stage_counts"].values()) == 35
    assert j["distances"] == "graph hops"


def test_export_default_is_the_data_file(tmp_path):
    out = tmp_path / "h.json"
    r = run_cli("ruler", "export-default", "--out", out)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == DEFAULT_FILE.read_bytes()
    assert run_cli("ruler", "check", out).returncode == 0
    # show --json writes the file format back; it checks as the same ruler.
    shown = run_cli("ruler", "show", out, "--json")
    assert shown.returncode == 0, shown.stderr
    j = json.loads(shown.stdout)
    original = json.loads(DEFAULT_FILE.read_text())
    for key in ("format", "version", "name", "root", "branches", "stages", "edges", "labels", "sources"):
        if key == "stages":
            assert j[key] == [{"description": "", **s} for s in original[key]]
        else:
            assert j[key] == original[key], key


def test_show_text():
    r = run_cli("ruler", "show")
    assert r.returncode == 0, r.stderr
    assert "ruler 'human-hematopoiesis'" in r.stdout
    assert "branch stem_progenitor" in r.stdout
    assert "depth 0  HSC" in r.stdout
    assert "sources:" in r.stdout and "Laurenti" in r.stdout


def test_failed_check_lists_every_error(tmp_path):
    bad = small_ruler()
    bad["stages"][2]["depth"] = 4  # b is 2 hops from the root
    bad["stages"].append({"name": "lonely", "depth": 1, "branch": "nowhere"})
    bad["labels"]["ALPHA"] = "b"  # same normalised label as "Alpha cells", other stage
    path = write_json(tmp_path / "bad.json", bad)
    r = run_cli("ruler", "check", path)
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 4, r.stderr
    assert any("stage 'b' has depth 4 but is 2 hop(s) from the root 'root'" in e for e in errors)
    assert any("branch 'nowhere', which is not declared" in e for e in errors)
    assert any("not connected" in e and "lonely" in e for e in errors)
    assert any("same label after normalisation" in e for e in errors)
    assert r.stderr.strip().splitlines()[-1] == f"scextract: error: {path}: the ruler fails 4 check(s), listed above"
    assert "FAILED: 4 error(s)" in r.stdout

    j = run_cli("ruler", "check", path, "--json")
    assert j.returncode == 1
    report = json.loads(j.stdout)
    assert report["ok"] is False and len(report["errors"]) == 4


def test_warnings_do_not_fail(tmp_path):
    path = write_json(tmp_path / "w.json", small_ruler(branches=["stem", "x", "empty"]))
    r = run_cli("ruler", "check", path)
    assert r.returncode == 0, r.stderr
    assert "warning: branch 'empty' has no stages" in r.stderr


def test_malformed_file_names_file_and_path(tmp_path):
    bad = small_ruler()
    bad["edges"][1] = ["a", "c"]
    path = write_json(tmp_path / "typo.json", bad)
    r = run_cli("ruler", "check", path)
    assert r.returncode == 1
    assert r.stderr.strip() == f'scextract: error: {path}: edges[1][1]: unknown stage "c"'

    r = run_cli("ruler", "check", tmp_path / "absent.json")
    assert r.returncode == 1
    assert "absent.json: cannot open ruler file" in r.stderr


def test_explicit_distance_ruler(tmp_path):
    # A non-graph ruler (e.g. ligand-receptor path distances): no edges, a matrix instead.
    ruler = small_ruler(edges=[], distances={"stages": ["b", "a", "root"], "matrix": [[0, 2.5, 4], [2.5, 0, 1], [4, 1, 0]]})
    path = write_json(tmp_path / "lr.json", ruler)
    r = run_cli("ruler", "check", path, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["distances"] == "explicit matrix"

    ruler["distances"]["matrix"][0][1] = 3
    r = run_cli("ruler", "check", write_json(tmp_path / "asym.json", ruler))
    assert r.returncode == 1
    assert "not symmetric" in r.stderr


def test_usage_errors():
    assert run_cli("ruler").returncode == 2
    assert run_cli("ruler", "check").returncode == 2
    assert run_cli("ruler", "check", "default", "--label-key", "x").returncode == 2  # needs --labels-from
    assert run_cli("ruler", "export-default").returncode == 2


def test_labels_from_bundled_pbmc68k():
    r = run_cli("ruler", "check", "default", "--labels-from", PBMC68K, "--json")
    assert r.returncode == 0, r.stderr
    lf = json.loads(r.stdout)["labels_from"]
    assert lf["label_key"] == "cell_type" and lf["unknown_labels"] == []
    by_label = {row["label"]: row for row in lf["labels"]}
    assert by_label["CD14+ Monocyte"]["stage"] == "classical_monocyte"
    assert by_label["CD34+"]["stage"] == "HSC" and by_label["CD34+"]["depth"] == 0
    assert by_label["CD8+/CD45RA+ Naive Cytotoxic"]["branch"] == "t"

    anndata = pytest.importorskip("anndata", exc_type=ImportError)
    del anndata
    counts = read_reference(PBMC68K).obs["cell_type"].value_counts()
    assert {k: row["n_cells"] for k, row in by_label.items()} == {str(k): int(v) for k, v in counts.items() if v > 0}

    text = run_cli("ruler", "check", "default", "--labels-from", PBMC68K)
    assert "CD14+ Monocyte (129 cells) -> classical_monocyte (branch mononuclear_phagocyte, depth 5)" in text.stdout


def test_labels_from_reports_unknown_labels():
    if not TRIANA.is_file():
        pytest.skip(SHARED_MISSING)
    r = run_cli("ruler", "check", "default", "--labels-from", TRIANA, "--label-key", "Ident")
    assert r.returncode == 0, r.stderr  # unknown labels are reported, not errors
    assert "Central memory / effector memory T cells (17 cells) -> unknown" in r.stdout
    assert "unknown labels: Central memory / effector memory T cells" in r.stdout

    r = run_cli("ruler", "check", "default", "--labels-from", TRIANA, "--label-key", "nosuch")
    assert r.returncode == 1
    assert "obs has no column 'nosuch'" in r.stderr and "Prediction_Ind" in r.stderr
