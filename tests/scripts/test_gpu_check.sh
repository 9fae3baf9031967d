#!/usr/bin/env bash
# Checks scripts/gpu-check.sh without a GPU (registered in tests/CMakeLists.txt):
#   test_gpu_check.sh plan    SOURCE_DIR BUILD_DIR
#       the step caps sum to at most the 480 s budget, every step has a cap, the
#       shared-memory op list matches the kernels that declare shared memory, and every
#       test named in the sanitizer specs exists in the test binaries of BUILD_DIR;
#   test_gpu_check.sh dry-run SOURCE_DIR PYTHON
#       the orchestration with trivial steps, one of them hanging: the hang is stopped at
#       its cap, every other step still runs, $OUT holds at most 8 files, results.json is
#       valid JSON with a status and seconds per step, logs.tar.gz holds the logs.
set -uo pipefail
what=${1:?plan or dry-run}
src=${2:?source dir}
fail() { echo "FAIL: $*"; exit 1; }

case $what in
  plan)
    build=${3:?build dir}
    plan=$("$src/scripts/gpu-check.sh" --plan) || fail "--plan exited non-zero"
    echo "$plan"
    budget=$(echo "$plan" | awk '$1 == "budget" { print $2 }')
    [[ $budget -le 480 ]] || fail "budget $budget s is over 480 s"
    sum=0
    n=0
    while read -r _ name cap _; do
      [[ $cap =~ ^[0-9]+$ && $cap -gt 0 ]] || fail "step $name has no positive cap"
      sum=$((sum + cap))
      n=$((n + 1))
    done < <(echo "$plan" | grep '^step ')
    [[ $n -ge 8 ]] || fail "only $n steps in the plan"
    [[ $sum -le $budget ]] || fail "caps sum to $sum s, over the $budget s budget"
    echo "caps: $n steps, $sum s of $budget s"
    listed=$(echo "$plan" | awk '$1 == "shared-memory-ops" { $1 = ""; print }' | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
    actual=$(grep -l -E 'FRCNN_SHARED|dynamic_shared<' "$src"/kernels/*_cuda.cu | xargs -n1 basename |
      sed 's/_cuda\.cu$//' | sort | tr '\n' ' ')
    [[ $listed == "$actual" ]] || fail "shared-memory ops in gpu-check.sh: '$listed'; in kernels/: '$actual'"
    while read -r _ tool bin spec; do
      [[ -x $build/tests/$bin ]] || fail "$build/tests/$bin not built"
      IFS=',' read -ra parts <<< "$spec"
      for p in "${parts[@]}"; do
        c=$("$build/tests/$bin" "$p" --list-test-names-only | grep -c .)
        [[ $c -gt 0 ]] || fail "$tool spec '$p' matches no test in $bin"
      done
      echo "$tool $bin: ${#parts[@]} spec parts, each matching tests"
    done < <(echo "$plan" | grep '^sanitize ')
    ;;
  dry-run)
    py=${3:-python3}
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    start=$(date +%s)
    OUT=$tmp/out BUILD_DIR=$tmp/build GPU_CHECK_WORK=$tmp/work GPU_CHECK_DRY_HANG=kernel-bench \
      GPU_CHECK_DRY_CAP=2 "$src/scripts/gpu-check.sh" --dry-run
    rc=$?
    took=$(($(date +%s) - start))
    [[ $rc == 1 ]] || fail "a timed-out step should make the run exit 1, got $rc"
    [[ $took -lt 30 ]] || fail "the dry run took $took s: the hanging step was not stopped at its cap"
    files=$(find "$tmp/out" -type f | wc -l)
    [[ $files -le 8 ]] || fail "$files files in \$OUT, more than 8"
    [[ -f $tmp/out/results.json && -f $tmp/out/logs.tar.gz ]] || fail "results.json or logs.tar.gz missing"
    "$py" - "$tmp/out/results.json" << 'EOF' || fail "results.json"
import json, sys
r = json.load(open(sys.argv[1]))
steps = {s["name"]: s for s in r["steps"]}
assert len(steps) >= 8, steps
for name, s in steps.items():
    want = "timeout" if name == "kernel-bench" else "ok"
    assert s["status"] == want, (name, s)
    assert isinstance(s["seconds"], (int, float)) and s["seconds"] <= s["budget_s"] + 2, s
assert r["elapsed_s"] <= r["budget_s"], r
assert len(r["out_files"]) <= 8 and "results.json" in r["out_files"], r["out_files"]
print("results.json: %d steps, kernel-bench timed out, the others ok, %.1f s" % (len(steps), r["elapsed_s"]))
EOF
    tar -tzf "$tmp/out/logs.tar.gz" | grep -q '^logs/gpu-tests.log$' || fail "logs.tar.gz lacks logs/gpu-tests.log"
    # The hanging step's grandchild would touch its file 4 s after the step began.
    wait_s=$((start + 7 - $(date +%s)))
    [[ $wait_s -gt 0 ]] && sleep "$wait_s"
    [[ -e $tmp/work/hang-survived-its-cap ]] && fail "the hanging step's grandchild outlived the cap"
    echo "dry run: rc $rc, $files files, $took s"
    ;;
  *) fail "unknown mode $what" ;;
esac
echo PASS
