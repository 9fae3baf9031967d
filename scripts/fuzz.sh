#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (docs/FUZZING.md): configures and builds them in
# build-fuzz with clang (-DFRCNN_FUZZ=ON: ASan + UBSan + libFuzzer), then runs each target
# for SECONDS, up to N at a time, and fails naming the target and the crash file when one
# finds anything. `make test-fuzz` is the CI smoke (60 s each); longer runs on demand:
#
#   scripts/fuzz.sh                          every target, 60 s each, 2 at a time
#   scripts/fuzz.sh --time 3600 config       one target for an hour
#   scripts/fuzz.sh --jobs 4 --time 600      every target, 4 at a time
#   scripts/fuzz.sh --build-only             configure and build only
#   scripts/fuzz.sh --list                   the target names
#
# Each target fuzzes its seed corpus tests/fuzz/corpus/<t>/ and regressions
# tests/fuzz/regressions/<t>/, read only: new inputs go to build-fuzz/corpus/<t>/ (kept
# between runs, so a longer run continues where the last one stopped), crash files to
# build-fuzz/crashes/<t>/, the log to build-fuzz/logs/<t>.log. Knobs (environment):
# FUZZ_BUILD_DIR (build-fuzz), FUZZ_RSS_MB (2048: libFuzzer's -rss_limit_mb), FUZZ_MALLOC_MB
# (512: -malloc_limit_mb, a single allocation above it is a finding), FUZZ_SEED (1; 0: random),
# FUZZ_TIMEOUT (10: s per input), FUZZ_MAX_LEN (8192: input size cap in bytes), BUILD_JOBS (nproc).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=60
jobs=2
build_only=0
list=0
targets=()
all_targets() { for f in tests/fuzz/fuzz_*.cpp; do f=${f##*/fuzz_}; echo "${f%.cpp}"; done; }
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case "$1" in
    --time) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --list) list=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ((list)); then all_targets; exit 0; fi
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 ]] || { echo "fuzz.sh: --time needs a positive number of seconds" >&2; exit 2; }
[[ "$jobs" =~ ^[0-9]+$ && "$jobs" -ge 1 ]] || { echo "fuzz.sh: --jobs needs a positive number" >&2; exit 2; }
((${#targets[@]})) || mapfile -t targets < <(all_targets)
for t in "${targets[@]}"; do
  [[ -f tests/fuzz/fuzz_$t.cpp ]] || { echo "fuzz.sh: no target '$t' (tests/fuzz/fuzz_$t.cpp); targets: $(all_targets | tr '\n' ' ')" >&2; exit 2; }
done

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (scripts/install-deps.sh installs clang)" >&2; exit 1; }
start=$(date +%s)
if [[ ! -f $build/CMakeCache.txt ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFRCNN_FUZZ=ON -DFRCNN_CUDA=OFF -DFRCNN_BUILD_TESTS=OFF -DFRCNN_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j "${BUILD_JOBS:-$(nproc)}" --target fuzz
echo "fuzz.sh: built in $(($(date +%s) - start)) s"
((build_only)) && exit 0

rss=${FUZZ_RSS_MB:-2048}
mal=${FUZZ_MALLOC_MB:-512}
per_input=${FUZZ_TIMEOUT:-10}
max_len=${FUZZ_MAX_LEN:-8192}
run_one() {
  local t=$1 log=$build/logs/$1.log
  local corpus=$build/corpus/$t crashes=$build/crashes/$t
  mkdir -p "$corpus" "$crashes" "$build/logs"
  # A fixed seed (FUZZ_SEED, default 1) makes the CI smoke take the same path on every run,
  # so a red smoke is a finding anyone can reproduce, not luck; FUZZ_SEED=0 lets libFuzzer
  # pick one (for long runs).
  local args=(-seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -rss_limit_mb="$rss" -malloc_limit_mb="$mal" -timeout="$per_input"
              -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$crashes/")
  [[ -f tests/fuzz/$t.dict ]] && args+=(-dict="tests/fuzz/$t.dict")
  # The first folder receives new inputs; the committed ones are only read.
  local dirs=("$corpus" "tests/fuzz/corpus/$t")
  [[ -d tests/fuzz/regressions/$t ]] && dirs+=("tests/fuzz/regressions/$t")
  # A hard stop well past -max_total_time, in case the target hangs outside an input.
  timeout -k 10 $((seconds + 120)) "$build/bin/fuzz_$t" "${args[@]}" "${dirs[@]}" >"$log" 2>&1
}

declare -A pids=()
failed=()
report() {  # $1 target, $2 exit status
  local t=$1 rc=$2 log=$build/logs/$1.log
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if ((rc == 0)); then
    echo "fuzz.sh: $t ok: ${execs:-?} inputs in $seconds s, no crash ($log)"
    return
  fi
  local crash
  crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  echo "fuzz.sh: $t FAILED (exit $rc): crash file ${crash:-none written}, log $log" >&2
  grep -m 12 -E 'ERROR: |runtime error|FUZZ FINDING|SUMMARY|==[0-9]+==|deadly signal|timeout' "$log" >&2 || tail -n 20 "$log" >&2
  failed+=("$t")
}
for t in "${targets[@]}"; do
  while ((${#pids[@]} >= jobs)); do
    wait -n || true
    for d in "${!pids[@]}"; do
      if ! kill -0 "${pids[$d]}" 2>/dev/null; then
        rc=0; wait "${pids[$d]}" || rc=$?
        report "$d" "$rc"; unset "pids[$d]"
      fi
    done
  done
  echo "fuzz.sh: $t for $seconds s"
  run_one "$t" & pids[$t]=$!
done
for d in "${!pids[@]}"; do
  rc=0; wait "${pids[$d]}" || rc=$?
  report "$d" "$rc"
done
echo "fuzz.sh: ${#targets[@]} target(s), $(($(date +%s) - start)) s in all"
if ((${#failed[@]})); then
  echo "fuzz.sh: FAILED: ${failed[*]} (reproduce: $build/bin/fuzz_<target> <crash file>; docs/FUZZING.md)" >&2
  exit 1
fi
