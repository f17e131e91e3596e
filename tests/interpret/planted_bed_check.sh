#!/usr/bin/env bash
# Issue 20, items 1-3 end to end on a small planted bed (no Python): the rank-r surrogate of
# the planted head recovers the planted programs far above a permutation null, the same
# analysis on the unplanted model of the same seed recovers none beyond chance, the interpret
# outputs are complete, knocking out the planted B/plasma program moves cells away from that
# branch beyond random gene sets, and bad input fails with one line and no output.
#
#   planted_bed_check.sh SCEXTRACT WORKDIR
set -euo pipefail
S=$1
HERE=$(cd "$(dirname "$0")" && pwd)
W=$2
rm -rf "$W"
mkdir -p "$W"
cd "$W"
fail() { echo "FAIL: $*" >&2; exit 1; }
json_int() { grep -o "\"$2\": [0-9]*" "$1" | head -1 | grep -o "[0-9]*$"; }

$S -q simulate --cells 2400 --donors 6 --genes 1000 --design-seed 42 --seed 42 --out train.h5ad
$S -q simulate --cells 1500 --donors 3 --genes 1000 --design-seed 42 --seed 7 --out held.h5ad
$S -q make-model --out planted --size tiny --plant train.h5ad --force
$S -q make-model --out unplanted --size tiny --force
for m in planted unplanted; do
  $S -q export --model $m --reference train.h5ad --panel 400 --mode atlas --cells 300 --out $m.scxop
  $S -q fit --operator $m.scxop --train train.h5ad --features rank --head 2:5 --rank 32 --epochs 60 --out $m.scx
  $S -q interpret --algorithm $m.scx --data held.h5ad --programs train.h5ad --permutations 400 --out interp_$m
done

for f in factors.tsv ablation.tsv subsets.tsv enrichment.tsv programs.tsv interpret.json interpret.html; do
  [ -s "interp_planted/$f" ] || fail "interp_planted/$f missing or empty"
done
[ "$(wc -l < interp_planted/subsets.tsv)" -eq 17 ] || fail "subsets.tsv: header + intact + 15 core subsets expected"
[ "$(wc -l < interp_planted/ablation.tsv)" -eq 34 ] || fail "ablation.tsv: header + intact + 32 factors expected"
grep -q 'id="fig-impact"' interp_planted/interpret.html || fail "no impact figure"
grep -q 'id="fig-subsets"' interp_planted/interpret.html || fail "no subset heat map"
# shares of the 32 factors sum to 1
awk -F'\t' 'NR > 2 { s += $(NF - 1) } END { if (s < 0.999 || s > 1.001) { print "shares sum to " s; exit 1 } }' \
  interp_planted/ablation.tsv || fail "impact shares do not sum to 1"

planted=$(json_int interp_planted/interpret.json recovered)
unplanted=$(json_int interp_unplanted/interpret.json recovered)
tested=$(json_int interp_planted/interpret.json tested)
echo "known programs recovered: planted $planted of $tested, unplanted $unplanted of $tested"
[ "$planted" -ge 10 ] || fail "the planted head's factors recover only $planted programs"
[ "$unplanted" -le 1 ] || fail "the unplanted model's factors 'recover' $unplanted programs (chance at FDR 0.05: about 0)"

# knocking out the planted B/plasma program moves held-out cells away from that branch
$S -q perturb --algorithm planted.scx --input held.h5ad --program branch:b_plasma --programs train.h5ad \
  --null-sets 200 --out perturbed.h5ad
[ -s perturbed.h5ad ] && [ -s perturbed.perturb.tsv ] || fail "perturb wrote no output"
awk -F'\t' '$1 == "branch:b_plasma" { found = 1; if ($8 != "away") { print "branch:b_plasma " $8 " q " $7; exit 1 } }
            END { if (!found) exit 1 }' perturbed.perturb.tsv || fail "knocking out the B/plasma program did not move cells away from b_plasma"

# bad input: one line, exit 1, nothing written
$S -q fit --operator planted.scxop --train train.h5ad --epochs 5 --out drift.scx
if $S -q interpret --algorithm drift.scx --data held.h5ad --out interp_drift 2> err.txt; then fail "a drift algorithm was interpreted"; fi
grep -q "feature blocks" err.txt || fail "drift refusal does not say why: $(cat err.txt)"
[ ! -e interp_drift ] || fail "interpret left output behind"
printf 'SET_ONE description\tCD3E\n' > bad.gmt
if $S -q interpret --algorithm planted.scx --data held.h5ad --gmt bad.gmt --out interp_bad 2> err.txt; then fail "a bad GMT was read"; fi
grep -q "bad.gmt: line 1" err.txt || fail "GMT error does not name the file and line: $(cat err.txt)"
[ ! -e interp_bad ] || fail "interpret left output behind"
if $S -q perturb --algorithm planted.scx --input held.h5ad --genes NOPE1,NOPE2 --out p2.h5ad 2> err.txt; then fail "absent genes perturbed"; fi
grep -q "none of the 2 genes" err.txt || fail "absent-gene error unclear: $(cat err.txt)"
[ ! -e p2.h5ad ] || fail "perturb left output behind"
[ "$(wc -l < err.txt)" -eq 1 ] || fail "error is not one line"
# the interpret page in headless Chromium: both figures drawn, no script, a non-blank screenshot
chromium_check=$HERE/../report/report_chromium_check.sh
status=0
bash "$chromium_check" "$S" "$W/interp_planted/interpret.html" "$W/chromium" "fig-impact:rect:20 fig-subsets:rect:64" || status=$?
[ $status -eq 0 ] || [ $status -eq 77 ] || fail "the interpret page does not render in Chromium"
[ $status -eq 0 ] || echo "(Chromium check skipped: no chromium)"
echo "interpret / perturb planted-bed check passed"
