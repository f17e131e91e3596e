#!/usr/bin/env bash
# Sets up (system packages and build; no Python needed) and runs the main job on the
# bundled default data:
#  1. the input path on real data: inspect the bundled PBMC counts, check they are counts,
#     log-normalise and pick a 600-gene HVG panel inside the scGPT whole-human vocabulary;
#  2. the extraction end to end on the ground-truth test bed (the real scGPT weights cannot
#     be bundled): simulate reference cells on the default hematopoiesis ruler, write a
#     small scGPT-format checkpoint with gene programs planted into head 2:5, export every
#     head's operator with the attention atlas, list the compression variants, fit the
#     algorithm (pooled drift features, cell-trained adaptor, readouts) and apply it, with no
#     model, to new cells of the same design.
# Everything goes to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
SCX_NO_VENV=1 scripts/setup.sh
mkdir -p out
S=build/scextract
$S inspect data/pbmc68k_reduced.h5ad
$S prepare data/pbmc68k_reduced.h5ad \
  --vocab data/scgpt_whole_human_vocab.json --n-top-genes 600 \
  --out out/pbmc68k_panel.h5ad --subset --json out/pbmc68k_panel.json

$S simulate --cells 4000 --donors 8 --genes 1000 --out out/sim_reference.h5ad
$S simulate --cells 1000 --donors 8 --genes 1000 --cell-offset 4000 --out out/sim_query.h5ad
$S make-model --out out/planted_model --size tiny --plant out/sim_reference.h5ad --force
$S export --model out/planted_model --reference out/sim_reference.h5ad --panel 400 --mode atlas \
  --cells 300 --out out/operators.scxop
$S compress --operator out/operators.scxop --head 2:5
$S fit --operator out/operators.scxop --train out/sim_reference.h5ad --tissue-key tissue \
  --out out/algorithm.scx
$S apply --algorithm out/algorithm.scx --input out/sim_query.h5ad --out out/sim_query_annotated.h5ad
echo "demo: out/sim_query_annotated.h5ad holds obsm['X_scx'] and obs['scx_depth', 'scx_branch', 'scx_stage', ...]"
