"""Hostile JSON through the CLI (issue 23, item 1), every input made here: 100,000-deep
arrays and objects, absurd declared sizes and a 100 KB value in an error message. Each run
exits 1 with one short line on stderr naming the file and the problem, and writes nothing.
"""

from __future__ import annotations

import pytest

from scx_interop import run_cli

DEEP_ARRAY = "[" * 100000 + "]" * 100000
DEEP_OBJECT = '{"a":' * 100000 + "1" + "}" * 100000


def refused(r, path, needle):
    err = r.stderr.strip()
    assert r.returncode == 1, f"exit {r.returncode}: {err[:500]}"
    assert "\n" not in err and len(err) < 600, err[:1000]
    assert str(path) in err and needle in err, err
    return err


@pytest.mark.parametrize("text", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_deep_json_is_refused_by_every_reader(tmp_path, text):
    f = tmp_path / "deep.json"
    f.write_text(text)
    out = tmp_path / "out"
    needle = "JSON nested more than 64 levels deep"
    refused(run_cli("ruler", "check", f), f, needle)
    refused(run_cli("report", "--results", f, "--out", out / "r.html"), f, needle)
    refused(run_cli("bench", "--config", f, "--out", out), f, needle)
    assert not out.exists()


@pytest.mark.parametrize(
    "extra, needle",
    [
        ('"data": {"simulate": {"cells": 1000000000000}}', "$.data.simulate: 'cells': 1000000000000 is more than"),
        ('"data": {"simulate": {"donors": 1000000000}}', "$.data.simulate: 'donors': 1000000000 is more than"),
        ('"data": "x.h5ad", "fdr": -1', "$: 'fdr': -1 is not a q threshold"),
        ('"data": "x.h5ad", "panel": {"size": 1000000000}', "$.panel: 'size': 1000000000 is more than 100000"),
    ],
    ids=["cells", "donors", "fdr", "panel"],
)
def test_bench_refuses_absurd_sizes_before_any_work(tmp_path, extra, needle):
    f = tmp_path / "bench.json"
    f.write_text("{" + extra + ', "methods": [{"type": "pca"}]}')
    out = tmp_path / "out"
    refused(run_cli("bench", "--config", f, "--out", out), f, needle)
    assert not out.exists()


def test_a_deep_value_where_a_message_would_show_it(tmp_path):
    # before issue 23 the ruler reader dumped "version" recursively into its message: SIGSEGV
    f = tmp_path / "ruler.json"
    f.write_text('{"format": "scextract-ruler", "version": ' + DEEP_ARRAY + "}")
    refused(run_cli("ruler", "check", f), f, "JSON nested more than 64 levels deep")
    f.write_text('{"format": "scextract-ruler", "version": ' + "[" * 60 + "]" * 60 + "}")
    refused(run_cli("ruler", "check", f), f, "version: expected an integer, got [[[[")


def test_long_values_are_cut_in_messages(tmp_path):
    f = tmp_path / "ruler.json"
    f.write_text('{"format": "scextract-ruler", "version": ["' + "v" * 100000 + '"]}')
    refused(run_cli("ruler", "check", f), f, "expected an integer")


def test_bench_refuses_a_panel_larger_than_the_data(tmp_path):
    f = tmp_path / "bench.json"
    f.write_text('{"data": {"simulate": {"cells": 300, "donors": 3, "genes": 600}}, "panel": {"size": 5000},'
                 ' "methods": [{"type": "pca"}]}')
    out = tmp_path / "out"
    refused(run_cli("bench", "--config", f, "--out", out), f, "$.panel.size: 5000 is more than the 600 genes of the data")
    assert not out.exists()
    # the simulator's own refusal names the config too
    f.write_text('{"data": {"simulate": {"genes": 60}}, "methods": [{"type": "pca"}]}')
    refused(run_cli("bench", "--config", f, "--out", out), f, "$.data.simulate: ")
    assert not out.exists()
