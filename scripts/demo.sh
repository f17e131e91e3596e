#!/usr/bin/env bash
# Sets up (system packages and build; no Python needed) and runs the main job on the
# bundled default data. Until the extraction stages exist, the main job is the
# input path every stage starts from: read the bundled PBMC counts, check they are
# counts, log-normalise, pick a 1,200-gene HVG panel within the scGPT whole-human
# vocabulary, and write the prepared panel to out/pbmc68k_panel.h5ad.
set -euo pipefail
cd "$(dirname "$0")/.."
SCX_NO_VENV=1 scripts/setup.sh
mkdir -p out
build/scextract inspect data/pbmc68k_reduced.h5ad
build/scextract prepare data/pbmc68k_reduced.h5ad \
  --vocab data/scgpt_whole_human_vocab.json --n-top-genes 600 \
  --out out/pbmc68k_panel.h5ad --subset --json out/pbmc68k_panel.json
build/scextract inspect out/pbmc68k_panel.h5ad
