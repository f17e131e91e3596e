#!/usr/bin/env bash
# Issue 20, items 1-3 (docs/benchmarks.md, "What the operator knows"): interpret and perturb
# on the planted bed, with the unplanted model of the same seed as the control, and on a real
# PBMC set with the learned small scGPT (data/scgpt_pretrained_small).
#
#   bench/interpret/run.sh [WORKDIR] [planted|real|all]   (env: CELLS (8000), DONORS (24), SCX_BIN)
#
# planted: training cells (design seed 42) and held-out cells of 8 new donors of the same
# design (seed 7); the planted and the unplanted tiny model's attention atlas over a 400-gene
# panel; fit the rank-64 surrogate of head 2:5 on the training cells; interpret on the held-out
# cells with the simulation's programs as ground truth; knock out every planted branch
# program and a random gene set of the same size. real: Kang 2018 PBMC (GPL-3, read from
# ../shared/data, never copied; 2 donors): the learned model's atlas on all cells (no labels),
# the rank-32 surrogate of the head scan-heads ranks first within donor A (control cells
# training, stimulated held out), fitted on donor A and
# interpreted on donor B with the bundled gene sets.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
S=${SCX_BIN:-$ROOT/build/scextract}
W=${1:-bench/out/interpret}
WHAT=${2:-all}
CELLS=${CELLS:-8000}
DONORS=${DONORS:-24}
mkdir -p "$W"
W=$(cd "$W" && pwd)
cd "$W"
timed() { local t0; t0=$(date +%s.%N); "$@"; echo "  ($(echo "$(date +%s.%N) - $t0" | bc | xargs printf '%.1f') s: ${*:2:1})"; }

if [ "$WHAT" = planted ] || [ "$WHAT" = all ]; then
  [ -f train.h5ad ] || $S -q simulate --cells "$CELLS" --donors "$DONORS" --genes 1000 --design-seed 42 --seed 42 --out train.h5ad
  [ -f held.h5ad ] || $S -q simulate --cells $((CELLS / 2)) --donors 8 --genes 1000 --design-seed 42 --seed 7 --out held.h5ad
  [ -f planted/best_model.pt ] || $S -q make-model --out planted --size tiny --plant train.h5ad --force
  [ -f unplanted/best_model.pt ] || $S -q make-model --out unplanted --size tiny --force
  for m in planted unplanted; do
    [ -f $m.scxop ] || $S -q export --model $m --reference train.h5ad --panel 400 --mode atlas --cells 300 --out $m.scxop
    [ -f $m.scx ] || timed $S -q fit --operator $m.scxop --train train.h5ad --features rank --head 2:5 --rank 64 --out $m.scx
    timed $S interpret --algorithm $m.scx --data held.h5ad --programs train.h5ad --out interpret_$m
  done
  echo "--- knockouts on held-out cells (planted model): branch programs, then random gene sets of the same size"
  for p in stem_progenitor erythroid_megakaryocyte granulocyte mononuclear_phagocyte b_plasma t nk; do
    $S -q perturb --algorithm planted.scx --input held.h5ad --program branch:$p --programs train.h5ad \
      --out perturb_$p.h5ad
    awk -F'\t' -v p="$p" '$1 == "branch:" p { printf "%-26s own branch shift %+.4f (null %+.4f +- %.4f, z %+.1f) q %.3g %s\n", p, $2, $3, $4, $5, $7, $8 }' \
      perturb_$p.perturb.tsv
  done
fi

if [ "$WHAT" = real ] || [ "$WHAT" = all ]; then
  KANG=$ROOT/../shared/data/muscat_kang2018_pbmc/muscat_kang2018_pbmc.h5ad
  MODEL=$ROOT/data/scgpt_pretrained_small
  [ -f "$KANG" ] || { echo "no $KANG: skipping the real set"; exit 0; }
  [ -f kang_a.h5ad ] || "$ROOT/.venv/bin/python" - "$KANG" <<'PY'
import sys, anndata as ad
a = ad.read_h5ad(sys.argv[1])
donors = sorted(a.obs["donor"].astype(str).unique())
a[a.obs["donor"].astype(str) == donors[0]].copy().write_h5ad("kang_a.h5ad")
a[a.obs["donor"].astype(str) == donors[1]].copy().write_h5ad("kang_b.h5ad")
print("donor A", donors[0], "donor B", donors[1])
PY
  [ -f kang.scxop ] || $S -q export --model "$MODEL" --reference "$KANG" --panel 400 --mode atlas --cells 600 --out kang.scxop
  # one donor: the head is chosen within donor A, control cells training and stimulated cells held out
  [ -f kang_heads.tsv ] || $S -q scan-heads --operator kang.scxop --train kang_a.h5ad --donor-key group_id --test-donors stim --out kang_heads.tsv
  HEAD=$(awk -F'\t' 'NR == 2 { print $2 ":" $3 }' kang_heads.tsv)
  echo "head ranked first by scan-heads on donor A: $HEAD"
  [ -f kang_r32.scx ] || timed $S -q fit --operator kang.scxop --train kang_a.h5ad --features rank --head "$HEAD" --rank 32 --out kang_r32.scx
  timed $S interpret --algorithm kang_r32.scx --data kang_b.h5ad --out interpret_kang
fi
