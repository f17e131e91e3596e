"""docs/python.md is a script: its python blocks run, in order, in a folder holding the
query and the algorithm, and must not fail."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def test_the_tutorial_runs(bed, tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 5
    shutil.copy(bed["query"], tmp_path / "query.h5ad")
    shutil.copy(bed["algorithm"], tmp_path / "algorithm.scx")
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        scope: dict = {"__name__": "tutorial"}
        for i, code in enumerate(blocks):
            exec(compile(code, f"docs/python.md block {i + 1}", "exec"), scope)
    finally:
        os.chdir(here)
    assert (tmp_path / "query_placed.h5ad").exists()
