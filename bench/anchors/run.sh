#!/usr/bin/env bash
# scextract side by side with the real tools (issue 8): builds .venv-anchors (pinned scanpy,
# palantir, celltypist, scvi-tools, scikit-learn, scipy, anndata, torch, scgpt), runs the
# labelled fidelity tests (ctest -L anchors: a 2,000-cell bed, the real datasets, the scGPT
# forward pass and the statistics), then the fidelity + speed run on the simulated bed of the
# size asked for, and regenerates bench/RESULTS.md from every run present in bench/out/anchors/.
#
#   bench/anchors/run.sh [--size 10k|100k|1m] [--threads N] [--skip-tests]
#
# Sizes: 10k ~ 10 min, 100k ~ 1.5 h on 2 cores. From 10k the streamed apply is timed against
# the bare streamed read. At 1m: read, HVG, DPT, apply and our Palantir (palantir itself is not
# started: its dense waypoint matrices alone need ~29 GB at 1M cells); CellTypist and scVI are
# left out (a 1M x 2,000 dense matrix in double is 16 GB).
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE=10k
THREADS=$(nproc)
TESTS=1
while (($#)); do
  case "$1" in
    --size) SIZE=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --skip-tests) TESTS=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$SIZE" in 10k|100k|1m) ;; *) echo "run.sh: --size must be 10k, 100k or 1m" >&2; exit 2 ;; esac
BUILD=${SCX_BUILD_DIR:-build}
if ! bench/anchors/make_venv.sh; then
  echo "run.sh: .venv-anchors could not be built (reason above); nothing was measured" >&2
  exit 1
fi
[ -f "$BUILD/build.ninja" ] || scripts/setup.sh
cmake --build "$BUILD" --target scextract anchor_tool scgpt_forward_tool
PY=.venv-anchors/bin/python
mkdir -p bench/out/anchors
$PY bench/anchors/versions.py > bench/out/anchors/versions.json
if ((TESTS)); then
  ctest --test-dir "$BUILD" -L anchors --output-on-failure
fi
$PY bench/anchors/run.py --group "sim$SIZE" --threads "$THREADS" --build "$BUILD"
$PY bench/anchors/report.py
