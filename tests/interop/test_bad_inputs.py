"""Bad inputs and misuse: exit codes, one-line error messages, nothing left behind.

Runtime / input errors exit 1 with one line on stderr that names the file and the
problem; usage errors exit 2. A failed convert leaves nothing (not even a temporary
file) in the output folder, and convert never overwrites its own input.
The expectations for each bad fixture live in tests/fixtures/h5ad/expected.json
("bad"), which make_h5ad_fixtures.py writes, so the C++ tests can share them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil

import pytest

anndata = pytest.importorskip(
    "anndata", reason="anndata is not importable: the interop tests need the project venv", exc_type=ImportError
)

from scx_interop import BAD_FIXTURES, FIXTURES, run_cli  # noqa: E402

EXPECTED_BAD = json.loads((FIXTURES / "expected.json").read_text())["bad"]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_error(r, path) -> str:
    err = r.stderr.strip()
    assert err, "nothing on stderr"
    assert "\n" not in err, f"stderr is not one line:\n{err}"
    assert "Traceback" not in err and "HDF5-DIAG" not in err, f"stderr leaks internals: {err}"
    assert os.path.basename(str(path)) in err, f"stderr does not name the file {path}: {err}"
    return err


def test_expected_json_covers_every_bad_fixture():
    assert sorted(EXPECTED_BAD) == sorted(BAD_FIXTURES)


@pytest.mark.parametrize("name", BAD_FIXTURES)
def test_inspect_refuses(name):
    path = FIXTURES / f"{name}.h5ad"
    exp = EXPECTED_BAD[name]
    for args in (("inspect", path), ("inspect", path, "--json")):
        r = run_cli(*args)
        assert r.returncode == exp["inspect"], f"{' '.join(map(str, args))}: exit {r.returncode}, stderr {r.stderr!r}"
        err = one_line_error(r, path)
        for pat in exp["message_patterns"]:
            assert re.search(pat, err, re.IGNORECASE), f"stderr does not match /{pat}/: {err}"
        assert r.stdout.strip() == "", "nothing should be printed on stdout on failure"


@pytest.mark.parametrize("name", BAD_FIXTURES)
def test_convert_refuses_and_leaves_nothing(name, tmp_path):
    path = FIXTURES / f"{name}.h5ad"
    exp = EXPECTED_BAD[name]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    r = run_cli("convert", path, out_dir / "result.h5ad")
    assert r.returncode == exp["convert"], f"exit {r.returncode}, stderr {r.stderr!r}"
    err = one_line_error(r, path)
    for pat in exp["message_patterns"]:
        assert re.search(pat, err, re.IGNORECASE), f"stderr does not match /{pat}/: {err}"
    assert sorted(os.listdir(out_dir)) == [], "convert left files behind"


def test_no_x_converts_but_prepare_needs_x(tmp_path):
    path = FIXTURES / "no_x.h5ad"
    out = tmp_path / "no_x_out.h5ad"
    r = run_cli("convert", path, out)
    assert r.returncode == 0, r.stderr
    a = anndata.read_h5ad(out)
    assert a.X is None and a.shape == anndata.read_h5ad(path).shape

    r = run_cli("prepare", path)
    assert r.returncode == 1, f"exit {r.returncode}, stderr {r.stderr!r}"
    err = one_line_error(r, path)
    assert re.search(r"\bX\b", err), f"the error should say that X is missing: {err}"


def test_missing_input(tmp_path):
    missing = tmp_path / "does_not_exist.h5ad"
    for args in (("inspect", missing), ("convert", missing, tmp_path / "o.h5ad"), ("prepare", missing)):
        r = run_cli(*args)
        assert r.returncode == 1, f"{args[0]}: exit {r.returncode}"
        one_line_error(r, missing)
    assert sorted(os.listdir(tmp_path)) == []


def test_output_folder_missing(tmp_path):
    out = tmp_path / "no_such_dir" / "o.h5ad"
    r = run_cli("convert", FIXTURES / "all_types.h5ad", out)
    assert r.returncode == 1
    one_line_error(r, out)
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["inspect", "--no-such-option", "{good}"], id="unknown-option"),
        pytest.param(["inspect"], id="inspect-missing-path"),
        pytest.param(["convert", "{good}"], id="convert-missing-output"),
        pytest.param([], id="no-subcommand"),
        pytest.param(["frobnicate"], id="unknown-subcommand"),
        pytest.param(["convert", "--gzip", "12", "{good}", "{out}"], id="gzip-out-of-range"),
        pytest.param(["convert", "--gzip", "{good}", "{out}"], id="gzip-without-number"),
        pytest.param(["--threads", "-1", "inspect", "{good}"], id="negative-threads"),
        pytest.param(["prepare", "{good}", "--layer", "counts", "--raw"], id="layer-and-raw"),
    ],
)
def test_usage_errors_exit_2(args, tmp_path):
    good = FIXTURES / "all_types.h5ad"
    r = run_cli(*[a.format(good=good, out=tmp_path / "o.h5ad") for a in args])
    assert r.returncode == 2, f"exit {r.returncode}, stderr {r.stderr!r}"
    assert r.stderr.strip(), "a usage error should say what is wrong"
    assert sorted(os.listdir(tmp_path)) == [], "a usage error must not write anything"


@pytest.mark.parametrize("alias", ["same", "dotdot", "symlink"])
def test_convert_refuses_to_overwrite_its_input(alias, tmp_path):
    src = tmp_path / "input.h5ad"
    shutil.copyfile(FIXTURES / "all_types.h5ad", src)
    before = sha256(src)
    if alias == "same":
        out = src
    elif alias == "dotdot":
        (tmp_path / "sub").mkdir()
        out = tmp_path / "sub" / ".." / "input.h5ad"
    else:
        out = tmp_path / "link.h5ad"
        out.symlink_to(src)
    listing = sorted(os.listdir(tmp_path))
    r = run_cli("convert", src, out)
    assert r.returncode in (1, 2), f"exit {r.returncode}: convert onto its own input must be refused"
    one_line_error(r, out)
    assert sha256(src) == before, "the input file changed"
    assert sorted(os.listdir(tmp_path)) == listing, "convert left files behind"
    if alias == "symlink":
        assert out.is_symlink()
