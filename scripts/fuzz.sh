#!/usr/bin/env bash
# Fuzzing (issue 23, item 5): configures and builds build-fuzz (clang, libFuzzer + ASan + UBSan;
# only the libraries the targets need), then runs every target of tests/fuzz for SECONDS
# each (default 60) from its committed seeds, and prints one line per target: executions,
# exec/s and new findings. Exits non-zero when a target crashed, leaked, timed out or ran out
# of memory; the input that did it is in build-fuzz/findings/<target>/ (rerun it with
# build-fuzz/fuzz/<target>_fuzz FILE). New coverage goes to build-fuzz/corpus/<target>/,
# never into the committed seeds (tests/fuzz/corpus/, made by tests/fuzz/make_seed_corpus.py).
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. bash scripts/fuzz.sh 20; bash scripts/fuzz.sh 300 h5ad
#   SCX_FUZZ_BENCH=ON bash scripts/fuzz.sh ...       also builds and runs bench_config (needs scx_bench)
#   SCX_FUZZ_KEEP_GOING=1 bash scripts/fuzz.sh ...   long runs: fork mode, a finding is saved and fuzzing goes on
#   SCX_FUZZ_SEED=1 bash scripts/fuzz.sh ...          a fixed libFuzzer seed (CI), so a short run explores the same inputs
#   SCX_FUZZ_RUNS=1000000 bash scripts/fuzz.sh 3600 T  stop after that many executions (SECONDS stays the upper bound)
#   SCX_FUZZ_REPLAY_ONLY="h5ad tenx_h5" ...           these targets only replay their seeds and regressions (-runs=0)
# Every run also replays tests/fuzz/regressions/<target>/: inputs that once crashed and are fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
build=build-fuzz
jobs="${SCX_FUZZ_JOBS:-$(nproc)}"

start=$(date +%s)
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DSCX_FUZZ=ON -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DCMAKE_C_FLAGS_RELEASE=-O1 >/dev/null
fi
[ -z "${SCX_FUZZ_BENCH:-}" ] || cmake "$build" -DSCX_FUZZ_BENCH="$SCX_FUZZ_BENCH" >/dev/null
ninja -C "$build" -j "$jobs" scx_fuzz_all
echo "fuzz: build-fuzz ready in $(( $(date +%s) - start )) s"

# -max_len per target: a little above its largest seed.
declare -A max_len=(
  [restricted_pickle]=65536 [torch_checkpoint]=131072 [safetensors]=16384 [h5ad]=131072
  [tenx_h5]=65536 [tenx_mtx]=8192 [csv_counts]=8192 [ruler_json]=32768 [vocab_json]=16384
  [scgpt_args]=4096 [bench_config]=16384 [algorithm_file]=65536 [operator_file]=131072 [scx_container]=131072)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  # every target built (bench_config only with -DSCX_FUZZ_BENCH=ON)
  for t in "$build"/fuzz/*_fuzz; do t=$(basename "$t" _fuzz); targets+=("$t"); done
fi

# allocator_may_return_null: an impossible size gives NULL, as glibc does, which libhdf5 checks;
# a huge allocation that would succeed is still caught by libFuzzer's -malloc_limit_mb (= -rss_limit_mb).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
rows=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/${t}_fuzz"
  [ -x "$bin" ] || { echo "fuzz: no target $t ($bin)" >&2; exit 2; }
  mkdir -p "$build/corpus/$t" "$build/findings/$t" tests/fuzz/corpus/"$t"
  before=$(find "$build/findings/$t" -type f | wc -l)
  log="$build/findings/$t.log"
  rc=0
  extra=()
  [ -z "${SCX_FUZZ_KEEP_GOING:-}" ] || extra+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  [ -z "${SCX_FUZZ_SEED:-}" ] || extra+=(-seed="$SCX_FUZZ_SEED")
  [ -z "${SCX_FUZZ_RUNS:-}" ] || extra+=(-runs="$SCX_FUZZ_RUNS")
  corpora=("$build/corpus/$t" "tests/fuzz/corpus/$t")
  [ ! -d "tests/fuzz/regressions/$t" ] || corpora+=("tests/fuzz/regressions/$t")
  if [[ " ${SCX_FUZZ_REPLAY_ONLY:-} " == *" $t "* ]]; then
    # replay only: the committed inputs run once each, nothing new is tried
    "$bin" -runs=0 -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$build/findings/$t/" \
      "tests/fuzz/corpus/$t" "${corpora[@]:2}" >"$log" 2>&1 || rc=$?
  else
    "$bin" "${corpora[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -max_len="${max_len[$t]:-65536}" -print_final_stats=1 -artifact_prefix="$build/findings/$t/" \
      "${extra[@]}" >"$log" 2>&1 || rc=$?
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ -z "$execs" ]; then # fork mode: "#N: cov: ... exec/s: R ..."
    execs=$(sed -n 's/^#\([0-9]*\): cov.*/\1/p' "$log" | tail -1)
    took=$(sed -n 's/^#[0-9]*: cov.* time: \([0-9]*\)s.*/\1/p' "$log" | tail -1)
    [ -z "$execs" ] || [ -z "$took" ] || [ "$took" -eq 0 ] || rate=$(( execs / took ))
  fi
  new=$(( $(find "$build/findings/$t" -type f | wc -l) - before ))
  rows+=("$(printf '%-18s %12s %8s %6s' "$t" "${execs:-?}" "${rate:-?}" "$new")")
  if [ "$rc" -ne 0 ] || [ "$new" -ne 0 ]; then
    failed=1
    echo "fuzz: $t FAILED (exit $rc); log: $log; findings: $build/findings/$t/" >&2
    grep -m3 -E "ERROR: |runtime error|scx fuzz:" "$log" >&2 || tail -5 "$log" >&2
  fi
done
printf '%-18s %12s %8s %6s\n' target executions exec/s new
printf '%s\n' "${rows[@]}"
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, $(( $(date +%s) - start )) s in all"
exit "$failed"
