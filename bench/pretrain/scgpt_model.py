"""scGPT's own model code, imported without scgpt/__init__.py.

scgpt 0.2.4's package __init__ imports its tokenizer (torchtext), scbank (datasets),
trainer / utils / tasks (scanpy, scib, scvi-tools, wandb, ...), none of which the model
needs; scgpt/model/__init__.py also pulls in generation_model (-> scgpt.utils -> scanpy).
Installing those (and their torch pins) beside Debian's torch 1.13 is not possible
offline and not wanted, so the two packages are registered here as empty namespace
modules pointing at the installed folders, and only these unmodified files are executed:

  scgpt/model/model.py        TransformerModel, GeneEncoder, ContinuousValueEncoder,
                              ExprDecoder, MVCDecoder, ... (imports torch, numpy, tqdm,
                              and .dsbn / .grad_reverse from the same folder)
  scgpt/model/dsbn.py, scgpt/model/grad_reverse.py
  scgpt/loss.py               masked_mse_loss, ...

The files are located through importlib.metadata (the installed scgpt==0.2.4 wheel), never
copied. flash-attn is absent, so model.py warns once and the model must be built with
use_fast_transformer=False (torch.nn.TransformerEncoderLayer, batch_first, post-norm).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import types
import warnings
from pathlib import Path

SCGPT_VERSION = importlib.metadata.version("scgpt")


def _package_dir() -> Path:
    dist = importlib.metadata.distribution("scgpt")
    init = next(f for f in dist.files if str(f).replace("\\", "/") == "scgpt/__init__.py")
    return Path(dist.locate_file(init)).resolve().parent


def _register(name: str, path: Path) -> None:
    if name in sys.modules:
        return
    mod = types.ModuleType(name)
    mod.__path__ = [str(path)]  # a package whose __init__ is not run
    mod.__file__ = None
    sys.modules[name] = mod


SCGPT_DIR = _package_dir()
_register("scgpt", SCGPT_DIR)
_register("scgpt.model", SCGPT_DIR / "model")
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="flash_attn is not installed")
    model_module = importlib.import_module("scgpt.model.model")
loss_module = importlib.import_module("scgpt.loss")

TransformerModel = model_module.TransformerModel
masked_mse_loss = loss_module.masked_mse_loss
