#!/usr/bin/env python3
"""Prints, as JSON, the versions of every anchor tool importable in this interpreter."""
import importlib
import importlib.metadata as md
import json
import platform
import sys

PACKAGES = ["numpy", "scipy", "scikit-learn", "pandas", "h5py", "anndata", "scanpy", "umap-learn",
            "pynndescent", "numba", "palantir", "celltypist", "scvi-tools", "lightning", "jax",
            "mellon", "torch", "scgpt"]
IMPORTS = {"scgpt": "scgpt.model"}


def main() -> None:
    out = {"python": platform.python_version(), "packages": {}, "importable": {}}
    for p in PACKAGES:
        try:
            out["packages"][p] = md.version(p)
        except md.PackageNotFoundError:
            out["packages"][p] = None
    for p, mod in IMPORTS.items():
        try:
            importlib.import_module(mod)
            out["importable"][p] = True
        except Exception as e:  # noqa: BLE001 - any import failure is recorded, not raised
            out["importable"][p] = f"{type(e).__name__}: {e}"[:300]
    try:
        import torch
        out["torch_threads"] = torch.get_num_threads()
    except Exception:  # noqa: BLE001
        pass
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
