#!/usr/bin/env bash
# The compression chain (issue 20, item 4; METHOD.md, "Compression and head selection"):
# examples/bench-compression.json on the planted bed - pooled drift (the reference) -> the
# planted single head 2:5 -> its rank-64 / 32 / 16 / 8 SVD surrogates -> hard-sparse (16
# factors x top-60 read and write genes), each with its own cell adaptor and readouts fitted
# on the same donor-holdout splits - and the report's compression-chain table: operator size
# and BH-significant losses of the classification endpoints against the drift operator,
# over splits and over donors, with depth beside.
#
#   bench/compression/run.sh [WORKDIR]   (env: CELLS (4000), DONORS (24), SPLITS (the config's 12), SCX_BIN)
#
# 4,000 cells keep the 7 methods x 12 splits at about 90 CPU-seconds a split (about 10 min on
# two free cores, 25-30 min on the shared 2-core machine); 8,000 cells (the ladder's bed)
# double that. OpenMP threads wait passively: on a shared machine spinning threads take the
# cores the other thread needs (measured: 29 instead of 50 CPU-seconds for one method-split).
#
# Makes, when absent (a bed already there is reused, whatever CELLS says), WORKDIR/sim.h5ad,
# the planted tiny model and its attention atlas
# (planted.scxop; bench/planted_bed.sh), copies the config beside them and runs `scextract
# bench`; WORKDIR/report/ holds report.html (the table follows the endpoint table),
# compression_chain.tsv and the usual results. Prints the chain table and the wall time.
set -euo pipefail
cd "$(dirname "$0")/../.."
S=${SCX_BIN:-build/scextract}
W=${1:-bench/out/compression}
CELLS=${CELLS:-4000}
DONORS=${DONORS:-24}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$W"
W=$(cd "$W" && pwd)

source bench/planted_bed.sh
planted_bed "$W" "$CELLS" "$DONORS"
cp examples/bench-compression.json "$W/compression.json"
ARGS=(bench --config "$W/compression.json" --out "$W/report")
[ -n "${SPLITS:-}" ] && ARGS+=(--splits "$SPLITS")
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v -o "$W/compression.time.txt" $S "${ARGS[@]}"
  grep -E "Elapsed|Maximum resident" "$W/compression.time.txt" || true
else
  time $S "${ARGS[@]}"
fi
echo "--- compression chain: significant losses / classification endpoints tested, against drift (all columns: report/compression_chain.tsv)"
awk -F'\t' 'function g(x) { return x == "NA" ? x : sprintf("%.3g", x) }
  NR == 1 { printf "%-12s %10s %12s %12s %8s %9s %9s\n", "variant", "MB", "loss/splits", "loss/donors", "depth", "q_splits", "q_donors"; next }
  { ls = $2 == "yes" ? "reference" : $6 "/" $5; ld = $2 == "yes" ? "reference" : $10 "/" $9
    printf "%-12s %10.4f %12s %12s %8.3f %9s %9s\n", $1, $4, ls, ld, $13, g($14), g($15) }' "$W/report/compression_chain.tsv"
