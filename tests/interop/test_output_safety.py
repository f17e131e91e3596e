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
