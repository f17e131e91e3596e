#!/usr/bin/env python3
"""Prints, as JSON, the versions of every anchor tool importable in this interpreter."""
import importlib.metadata as md
import json
import platform
import sys
from pathlib import Path

PACKAGES = ["numpy", "scipy", "scikit-learn", "pandas", "h5py", "anndata", "scanpy", "umap-learn",
            "pynndescent", "numba", "palantir", "celltypist", "scvi-tools", "lightning", "jax",
            "mellon", "torch", "scgpt"]


def main() -> None:
    out = {"python": platform.python_version(), "packages": {}, "importable": {}}
    for p in PACKAGES:
        try:
            out["packages"][p] = md.version(p)
        except md.PackageNotFoundError:
            out["packages"][p] = None
    # scgpt's model code, imported as the forward check imports it (without the package's
    # __init__, whose tokenizer needs a torchtext that Debian's torch cannot load).
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scgpt_forward"))
    try:
        from run import import_scgpt_model_module
        import_scgpt_model_module()
        out["importable"]["scgpt.model.model"] = True
    except BaseException as e:  # noqa: BLE001 - any import failure is recorded, not raised
        out["importable"]["scgpt.model.model"] = f"{type(e).__name__}: {e}"[:300]
    try:
        import torch
        out["torch_threads"] = torch.get_num_threads()
    except Exception:  # noqa: BLE001
        pass
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
