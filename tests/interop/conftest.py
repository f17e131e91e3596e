"""Interop tests: scextract against the real anndata / scanpy.

Run from the repository root with the project venv:
    .venv/bin/python -m pytest -q tests/interop
SCX_BIN and SCX_SOURCE_DIR are described in scx_interop.py. Each test module skips
itself when anndata is not importable; tests on the real data skip when
SCX_SOURCE_DIR/../shared/data is absent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scx_interop import SCX_BIN  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def scx_bin() -> Path:
    if not (SCX_BIN.is_file() and os.access(SCX_BIN, os.X_OK)):
        pytest.fail(
            f"scextract executable not found at {SCX_BIN}: build it (ninja -C build scextract) or set SCX_BIN",
            pytrace=False,
        )
    return SCX_BIN
