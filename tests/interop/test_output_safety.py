"""Output safety (issue 23, item 3): no output of any command replaces one of its inputs,
whether named as it is, through a symbolic link or through a hard link; a SIGTERM leaves no
temporary file; a full disk or a read-only folder gives one line and exit 1 with nothing
left; identical runs give identical h5ad bytes.

Every input here is made by this file: the refusals come before any input is parsed, so
the inputs are small placeholder files whose bytes must come out unchanged.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from scx_interop import SCX_BIN, run_cli

# command -> (its options, with {name} for each input file, and the options naming outputs)
COMMANDS = {
    "apply": (["apply", "--input", "{cells}", "--algorithm", "{algorithm}"], ["--out"]),
    "fit": (["fit", "--operator", "{operator}", "--train", "{cells}", "--label-map", "{label_map}", "--ruler", "{ruler}"],
            ["--out"]),
    "validate-algorithm": (["validate", "--algorithm", "{algorithm}", "--data", "{cells}", "--label-map", "{label_map}",
                            "--ruler", "{ruler}"], ["--out"]),
    "validate-operator": (["validate", "--operator", "{operator}", "--data", "{cells}"], ["--out"]),
    "perturb": (["perturb", "--algorithm", "{algorithm}", "--input", "{cells}", "--program", "p1", "--programs",
                 "{programs}"], ["--out", "--summary"]),
    "prepare": (["prepare", "{cells}", "--vocab", "{vocab}"], ["--out", "--json"]),
    "simulate": (["simulate", "--cells", "50", "--ruler", "{ruler}", "--vocab", "{vocab}", "--calibrate", "{cells}"],
                 ["--out", "--calibration-out"]),
    "scan-heads": (["scan-heads", "--operator", "{operator}", "--train", "{cells}", "--ruler", "{ruler}"], ["--out"]),
    "export": (["export", "--model", "{model}", "--reference", "{cells}"], ["--out"]),
    "embed": (["embed", "--model", "{model}", "--input", "{cells}"], ["--out"]),
    "pseudotime": (["pseudotime", "--input", "{cells}", "--root", "c1"], ["--out"]),
    "report": (["report", "--results", "{results}"], ["--out"]),
    "ruler-lr": (["ruler", "build-lr", "--data", "{cells}", "--resource", "{resource}"], ["--out"]),
    "convert": (["convert", "{cells}"], [None]),  # None: the positional output
    "convert-model": (["convert-model", "{model}"], [None]),
}

LINKS = ["same", "symlink", "hardlink"]
BIN = Path(SCX_BIN).resolve()


def make_inputs(folder: Path, template: list[str]) -> dict[str, Path]:
    names = [a[1:-1] for a in template if a.startswith("{")]
    suffix = {"cells": ".h5ad", "algorithm": ".scx", "operator": ".scxop", "ruler": ".json", "vocab": ".json",
              "calibration": ".json", "results": ".json", "label_map": ".tsv", "resource": ".tsv", "programs": ".json",
              "model": ".safetensors"}
    files = {}
    for n in names:
        files[n] = folder / f"{n}{suffix[n]}"
        files[n].write_bytes(f"input {n}: placeholder bytes that must not change\n".encode())
    return files


def output_path(folder: Path, target: Path, link: str) -> Path:
    if link == "same":
        return target
    p = folder / f"link_to_{target.name}"
    if link == "symlink":
        p.symlink_to(target.name)
    else:
        os.link(target, p)
    return p


def cases():
    for cmd, (template, outs) in COMMANDS.items():
        for name in [a[1:-1] for a in template if a.startswith("{")]:
            for out in outs:
                for link in LINKS:
                    yield pytest.param(cmd, name, out, link, id=f"{cmd}-{out or 'output'}-is-{name}-{link}")


@pytest.mark.parametrize("cmd,name,out,link", list(cases()))
def test_no_output_replaces_an_input(tmp_path, cmd, name, out, link):
    template, _ = COMMANDS[cmd]
    files = make_inputs(tmp_path, template)
    before = {n: p.read_bytes() for n, p in files.items()}
    args = [a.format(**{k: str(v) for k, v in files.items()}) if a.startswith("{") else a for a in template]
    target = output_path(tmp_path, files[name], link)
    args += [str(target)] if out is None else [out, str(target)]
    for i, other in enumerate(o for o in COMMANDS[cmd][1] if o not in (out, None)):  # the other outputs: free paths
        args += [other, str(tmp_path / f"other_output_{i}")]
    r = run_cli(*args)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1, (args, r.returncode, r.stderr)
    assert len(lines) == 1 and "refusing to overwrite the input" in lines[0], r.stderr
    assert str(target) in lines[0], r.stderr
    assert {n: p.read_bytes() for n, p in files.items()} == before
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_two_outputs_that_are_one_file_are_refused(tmp_path):
    cells = tmp_path / "cells.h5ad"
    cells.write_bytes(b"placeholder")
    r = run_cli("prepare", str(cells), "--out", str(tmp_path / "p.h5ad"), "--json", str(tmp_path / "p.h5ad"))
    assert r.returncode == 1 and "two different outputs" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cells.h5ad"]


def test_a_file_of_a_checkpoint_folder_is_an_input(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    vocab = model / "vocab.json"
    vocab.write_bytes(b'{"A": 0}\n')
    cells = tmp_path / "cells.h5ad"
    cells.write_bytes(b"placeholder")
    r = run_cli("export", "--model", str(model), "--reference", str(cells), "--out", str(vocab))
    assert r.returncode == 1 and "refusing to overwrite the input" in r.stderr, r.stderr
    assert vocab.read_bytes() == b'{"A": 0}\n'


# --- SIGINT / SIGTERM -------------------------------------------------------------------

def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".tmp-" in p.name)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_leaves_no_temporary_file(tmp_path, sig):
    # a simulation big enough to be killed while its .NAME.tmp-PID is being written
    p = subprocess.Popen([str(BIN), "-q", "simulate", "--cells", "2000000", "--block-size", "2000",
                          "--out", str(tmp_path / "big.h5ad")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not temporaries(tmp_path) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert temporaries(tmp_path), "the temporary output never appeared"
        time.sleep(0.2)  # well inside the writing
        p.send_signal(sig)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == -sig  # ended by the signal itself (default action re-raised)
    assert list(tmp_path.iterdir()) == []


# --- full disk, read-only folder --------------------------------------------------------

def in_private_mount(tmp_path: Path, mount: str, command: list[str]) -> subprocess.CompletedProcess:
    """Runs @p command in a private mount namespace after the shell line @p mount; skips
    when namespaces or mounts are not allowed here (not root, a container without them)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces are not allowed here: {probe.stderr.decode().strip()}")
    script = mount + ' && exec "$@"'
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *map(str, command)],
                          capture_output=True, text=True, timeout=300)


def small_cells(tmp_path: Path) -> Path:
    cells = tmp_path / "cells.h5ad"
    r = run_cli("-q", "simulate", "--cells", "3000", "--out", cells)
    assert r.returncode == 0, r.stderr
    return cells


FULL_DISK_COMMANDS = {
    "convert": lambda cells, out: ["convert", cells, out / "x.h5ad"],
    "simulate": lambda cells, out: ["simulate", "--cells", "3000", "--out", out / "x.h5ad"],
    "prepare": lambda cells, out: ["prepare", cells, "--n-top-genes", "50", "--out", out / "x.h5ad"],
}


@pytest.mark.parametrize("cmd", list(FULL_DISK_COMMANDS))
def test_a_full_disk_gives_one_line_and_leaves_nothing(tmp_path, cmd):
    cells = small_cells(tmp_path)
    disk = tmp_path / "disk"
    disk.mkdir()
    r = in_private_mount(tmp_path, f"mount -t tmpfs -o size=64k tmpfs {disk}",
                         [BIN, "-q", *FULL_DISK_COMMANDS[cmd](cells, disk)])
    if "mount:" in r.stderr and "tmpfs" in r.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1, r.stderr  # not a segfault at exit (139)
    assert len(lines) == 1 and "No space left on device" in lines[0] and "x.h5ad" in lines[0], r.stderr
    assert ".tmp-" not in lines[0]  # the output the user named, not its temporary


def test_a_full_disk_leaves_nothing_on_it(tmp_path):
    cells = small_cells(tmp_path)
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (f'mount -t tmpfs -o size=64k tmpfs {disk} && "$@"; rc=$?; ls -A {disk}; exit $rc')
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("mount namespaces are not allowed here")
    for args in (["convert", cells, disk / "x.h5ad"], ["simulate", "--cells", "3000", "--out", disk / "y.h5ad"]):
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(BIN), "-q",
                            *map(str, args)], capture_output=True, text=True, timeout=300)
        assert r.returncode == 1, r.stderr
        assert r.stdout.strip() == "", f"left on the full disk: {r.stdout}"


def test_model_run_on_a_full_disk_leaves_no_folder(tmp_path):
    pytest.importorskip("safetensors")
    np = pytest.importorskip("numpy")
    from scx_interop import REPO, make_forward_checkpoint
    import json

    fixture = REPO / "tests" / "fixtures" / "forward" / "d16_h4"
    ckpt = make_forward_checkpoint(tmp_path / "ckpt", fixture)
    ids, values, lengths = (np.load(fixture / f"{n}.npy") for n in ("gene_ids", "values", "lengths"))
    cells = [{"gene_ids": ids[b, :n].tolist(), "values": values[b, :n].tolist()} for b, n in enumerate(lengths)]
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"cells": cells * 40}))
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("mount namespaces are not allowed here")
    script = f'mount -t tmpfs -o size=16k tmpfs {disk} && "$@"; rc=$?; ls -A {disk}; exit $rc'
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(BIN), "-q",
                        "model-run", "--model", str(ckpt), "--tokens", str(tokens), "--out", str(disk / "run")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stdout.strip() == "", f"left on the full disk: {r.stdout}"


def test_a_read_only_folder_gives_one_line_and_leaves_nothing(tmp_path):
    cells = small_cells(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0:
        ro.chmod(0o555)
        try:
            r = run_cli("-q", "convert", cells, ro / "x.h5ad")
        finally:
            ro.chmod(0o755)
    else:  # root ignores permissions: a read-only bind mount instead
        if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
            pytest.skip("running as root without mount namespaces: no way to make a read-only folder")
        script = f'mount --bind {ro} {ro} && mount -o remount,bind,ro {ro} && exec "$@"'
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(BIN), "-q",
                            "convert", str(cells), str(ro / "x.h5ad")], capture_output=True, text=True, timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1, r.stderr
    assert len(lines) == 1 and "x.h5ad" in lines[0], r.stderr
    assert list(ro.iterdir()) == []


# --- identical runs, identical bytes ----------------------------------------------------

def test_identical_runs_give_identical_h5ad_bytes(tmp_path):
    anndata = pytest.importorskip("anndata")
    runs = {
        "simulate": lambda out: ["simulate", "--cells", "300", "--out", out],
        "convert": lambda out: ["convert", tmp_path / "cells.h5ad", out],
        "prepare": lambda out: ["prepare", tmp_path / "cells.h5ad", "--n-top-genes", "50", "--out", out],
    }
    assert run_cli("-q", "simulate", "--cells", "300", "--out", tmp_path / "cells.h5ad").returncode == 0
    for name, args in runs.items():
        first, second = tmp_path / f"{name}_1.h5ad", tmp_path / f"{name}_2.h5ad"
        assert run_cli("-q", *args(first)).returncode == 0
        time.sleep(1.1)  # HDF5 object timestamps have a resolution of one second
        assert run_cli("-q", *args(second)).returncode == 0
        assert first.read_bytes() == second.read_bytes(), name
        assert anndata.read_h5ad(first).n_obs == 300


def test_bench_on_a_full_disk_leaves_no_folder(tmp_path):
    import json

    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("mount namespaces are not allowed here")
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({
        "data": {"simulate": {"cells": 1200, "donors": 6, "genes": 600, "seed": 1}}, "ruler": "default",
        "panel": {"size": 100}, "splits": {"n": 2, "seed": 42}, "reference": "raw", "methods": [{"type": "raw"}]}))
    disk = tmp_path / "disk"
    disk.mkdir()
    # 16 KiB: the first finished method x split does not fit, so nothing is worth keeping for --resume
    script = f'mount -t tmpfs -o size=16k tmpfs {disk} && "$@"; rc=$?; ls -A {disk}; exit $rc'
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", str(BIN), "-q", "bench",
                        "--config", str(cfg), "--out", str(disk / "report")], capture_output=True, text=True, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1, r.stderr
    assert len(lines) == 1 and "No space left on device" in lines[0], r.stderr
    assert r.stdout.strip() == "", f"left on the full disk: {r.stdout}"
