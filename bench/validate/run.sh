#!/usr/bin/env bash
# `scextract validate` on the simulated bed: the planted model's atlas operator (from
# bench/controls/run.sh's work directory, made there if absent) on simulated cells of the
# same design, beside the null-simulation and label-lookup controls.
#
#   bench/validate/run.sh [WORKDIR]   (env: CELLS=5000, DONORS=20, PERMS=2000, SCX_BIN)
set -euo pipefail
cd "$(dirname "$0")/../.."
S=${SCX_BIN:-build/scextract}
W=${1:-bench/out/validate}
CELLS=${CELLS:-5000}
DONORS=${DONORS:-20}
PERMS=${PERMS:-2000}
C=${CONTROLS_DIR:-bench/out/controls}
mkdir -p "$W"
source bench/planted_bed.sh
planted_bed "$C"
# same design (seed 42, 1,000 genes): new cells past the reference's
[ -f "$W/cells.h5ad" ] || $S simulate --cells "$CELLS" --donors "$DONORS" --genes 1000 --cell-offset 1000000 \
  --out "$W/cells.h5ad"
/usr/bin/time -f "%e s wall, %M KB peak" $S validate --operator "$C/planted.scxop" --data "$W/cells.h5ad" \
  --tissue-key tissue --permutations "$PERMS" --out "$W/validation.json" | tee "$W/validation.txt"
