#!/usr/bin/env bash
# The controls of the extraction issue (docs/benchmarks.md, "Controls"): stages 1-3 amount
# to an affine map of the panel expression, so the same Stage 2/3 pipeline is run on the
# same donor-holdout splits with
#   - the planted model's operator (the extracted algorithm),
#   - the identity operator (A = I),
#   - a random operator with the planted operator's singular values,
#   - the attention atlas of an unplanted random model,
#   - (diagnostic) both atlases with their genes shuffled,
# and compared with paired Wilcoxon tests and Benjamini-Hochberg (scextract bench).
#
#   bench/controls/run.sh [WORKDIR]      (env: CELLS, DONORS, SPLITS, FEATURES, SCX_BIN,
#                                         BENCHES: which of controls unplanted_vs_identity gene_permuted)
set -euo pipefail
cd "$(dirname "$0")/../.."
S=${SCX_BIN:-build/scextract}
W=${1:-bench/out/controls}
CELLS=${CELLS:-16000}
DONORS=${DONORS:-24}
SPLITS=${SPLITS:-12}
FEATURES=${FEATURES:-drift}
mkdir -p "$W"
W=$(cd "$W" && pwd)

source bench/planted_bed.sh
planted_bed "$W" "$CELLS" "$DONORS"
[ -f "$W/unplanted/best_model.pt" ] || $S make-model --out "$W/unplanted" --size tiny --force
[ -f "$W/unplanted.scxop" ] || $S export --model "$W/unplanted" --reference "$W/sim.h5ad" --panel 400 --mode atlas \
  --cells 300 --out "$W/unplanted.scxop"
$S scan-heads --operator "$W/planted.scxop" --train "$W/sim.h5ad" --tissue-key tissue --out "$W/head_scan.tsv"
head -4 "$W/head_scan.tsv"

# bench_config NAME REFERENCE METHOD_JSON...: a config over the same data, panel and splits
bench_config() {
  local name=$1 reference=$2
  shift 2
  local methods
  methods=$(printf '    %s,\n' "$@")
  cat > "$W/$name.json" <<JSON
{
  "data": {"path": "$W/sim.h5ad", "tissue_key": "tissue"},
  "panel": {"from_operator": "$W/planted.scxop"},
  "splits": {"n": $SPLITS, "test_donors": 4, "seed": 42},
  "reference": "$reference",
  "methods": [
${methods%,*}
  ]
}
JSON
}
planted="{\"type\": \"algorithm\", \"name\": \"planted\", \"operator\": \"$W/planted.scxop\", \"features\": \"$FEATURES\"}"
identity='{"type": "algorithm", "name": "identity", "operator": "identity"}'
matched="{\"type\": \"algorithm\", \"name\": \"matched_spectrum\", \"operator\": \"$W/planted.scxop\", \"features\": \"$FEATURES\", \"control\": \"matched_spectrum\"}"
unplanted="{\"type\": \"algorithm\", \"name\": \"unplanted\", \"operator\": \"$W/unplanted.scxop\", \"features\": \"$FEATURES\"}"
# gene_permuted: each atlas with its genes shuffled (P A P^T) keeps its spectrum and sparsity but
# not which genes it connects - what is left of an atlas's gain over A = I without the genes
permuted() { echo "{\"type\": \"algorithm\", \"name\": \"$1_gene_permuted\", \"operator\": \"$W/$1.scxop\", \"features\": \"$FEATURES\", \"control\": \"gene_permuted\"}"; }
bench_config controls planted "$planted" "$identity" "$matched" "$unplanted"
bench_config unplanted_vs_identity unplanted "$unplanted" "$identity"
bench_config gene_permuted unplanted_gene_permuted "$(permuted unplanted)" "$identity" "$unplanted" "$(permuted planted)" "$planted"
for name in ${BENCHES:-controls unplanted_vs_identity gene_permuted}; do
  $S bench --config "$W/$name.json" --out "$W/$name"
done
echo "--- planted vs controls: depth_spearman"
grep -E "^(reference|planted.*depth_spearman)" "$W/controls/comparisons.tsv" | cut -f2-13 || true
echo "--- unplanted vs identity: depth_spearman"
grep -E "^(reference|unplanted.*depth_spearman)" "$W/unplanted_vs_identity/comparisons.tsv" | cut -f2-13 || true
echo "--- gene-permuted unplanted atlas vs the others: depth_spearman"
grep -E "^(reference|unplanted_gene_permuted.*depth_spearman)" "$W/gene_permuted/comparisons.tsv" | cut -f2-13 || true
