#!/usr/bin/env bash
# Runs the shipped example config (12 donor-holdout splits on the simulated test bed, light
# methods) end to end and checks what it wrote: every method x split scored, the report
# re-renders from results.json (which validates its schema), and the figures are present.
set -euo pipefail
S=$1 CONFIG=$2 OUT=$3
rm -rf "$OUT"
"$S" --quiet bench --config "$CONFIG" --out "$OUT"
for f in results.json scores_by_split.tsv scores_by_donor.tsv comparisons.tsv report.html; do
  [ -s "$OUT/$f" ] || { echo "missing $OUT/$f"; exit 1; }
done
rows=$(($(wc -l < "$OUT/scores_by_split.tsv") - 1))
[ "$rows" -eq 48 ] || { echo "expected 4 methods x 12 splits = 48 rows, found $rows"; exit 1; }
# The supervised methods score every endpoint on every split; CellTypist has no pseudotime.
if awk -F'\t' 'NR > 1 && $2 != "celltypist" && /\tNA(\t|$)/' "$OUT/scores_by_split.tsv" | grep -q .; then
  echo "a supervised method has a not-applicable endpoint"; exit 1
fi
awk -F'\t' 'NR > 1 && $2 == "celltypist" { if ($NF != "NA") bad = 1 } END { exit bad }' "$OUT/scores_by_split.tsv" \
  || { echo "celltypist has a depth score but no pseudotime"; exit 1; }
"$S" --quiet report --results "$OUT/results.json" --out "$OUT/rerendered.html"
cmp -s "$OUT/report.html" "$OUT/rerendered.html" || { echo "report.html differs from a re-render of results.json"; exit 1; }
for id in fig-pseudotime fig-roc fig-splits fig-manifold fig-confusion; do
  grep -q "id=\"$id\"" "$OUT/report.html" || { echo "report.html lacks $id"; exit 1; }
done
# every method with a latent (all four here) can be picked in the manifold figure
picks=$(grep -o 'name="mf-method"' "$OUT/report.html" | wc -l)
[ "$picks" -eq 4 ] || { echo "expected 4 methods in the manifold picker, found $picks"; exit 1; }
grep -q '<table class="confusion"' "$OUT/report.html" || { echo "report.html has no confusion table"; exit 1; }
echo "bench example: 48 method x split rows, report with 5 figures, 4 manifolds to pick"
