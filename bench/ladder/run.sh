#!/usr/bin/env bash
# The ablation ladder (issue 17; docs/adaptor.md, "The ladder"): examples/bench-ladder.json on
# the planted bed - every rung a bench method on the same donor-holdout splits, each compared
# with the rung it names (paired Wilcoxon, BH over the ladder) - so a reader sees at which
# step of features -> standardiser -> bottleneck -> readouts each endpoint is won or lost.
#
#   bench/ladder/run.sh [WORKDIR] [ladder|select|unplanted]   (env: CELLS (8000), DONORS (24), SCX_BIN)
#
# select: bench/ladder/select.json on the same bed - the Stage 2 variant (anchor, cell,
# hybrid) chosen per split on two donor folds of the training cells only (4 outer splits:
# every candidate is fitted 2 x per split, so this is the costly run). unplanted:
# bench/ladder/unplanted.json - an unplanted random model's atlas (anchor and cell variants)
# against its own gene-permuted control on the ladder's 12 splits.
#
# Makes, when absent, WORKDIR/sim.h5ad, the planted tiny model, its attention atlas
# (planted.scxop) and its weights-only OV circuits over the same 400-gene panel
# (planted_ov.scxop), copies the config beside them and runs `scextract bench`; the report
# (WORKDIR/report/report.html) opens with the ladder table.
set -euo pipefail
cd "$(dirname "$0")/../.."
S=${SCX_BIN:-build/scextract}
W=${1:-bench/out/ladder}
WHAT=${2:-ladder}
CELLS=${CELLS:-8000}
DONORS=${DONORS:-24}
mkdir -p "$W"
W=$(cd "$W" && pwd)

source bench/planted_bed.sh
planted_bed "$W" "$CELLS" "$DONORS"
[ -f "$W/planted_ov.scxop" ] || $S export --model "$W/planted" --reference "$W/sim.h5ad" --panel 400 --mode ov \
  --out "$W/planted_ov.scxop"
case "$WHAT" in
  ladder) CONFIG=examples/bench-ladder.json OUT=report ;;
  select) CONFIG=bench/ladder/select.json OUT=select ;;
  unplanted)
    CONFIG=bench/ladder/unplanted.json OUT=unplanted
    [ -f "$W/unplanted/best_model.pt" ] || $S make-model --out "$W/unplanted" --size tiny --force
    [ -f "$W/unplanted.scxop" ] || $S export --model "$W/unplanted" --reference "$W/sim.h5ad" --panel 400 --mode atlas \
      --cells 300 --out "$W/unplanted.scxop" ;;
  *) echo "run.sh: the second argument must be ladder, select or unplanted" >&2; exit 2 ;;
esac
cp "$CONFIG" "$W/$WHAT.json"
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v -o "$W/$WHAT.time.txt" $S bench --config "$W/$WHAT.json" --out "$W/$OUT"
  grep -E "Elapsed|Maximum resident" "$W/$WHAT.time.txt" || true
else
  time $S bench --config "$W/$WHAT.json" --out "$W/$OUT"
fi
echo "--- ladder and control comparisons, depth_spearman over donors"
awk -F'\t' 'NR == 1 || ($14 != "reference" && $3 == "depth_spearman" && $4 == "donors")' "$W/$OUT/comparisons.tsv" | cut -f1-3,6,7,11,13,14
