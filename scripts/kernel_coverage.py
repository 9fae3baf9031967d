#!/usr/bin/env python3
"""Kernel coverage of the emulated GPU suite: every __global__ function defined in the
repo must have been launched at least once.

The emulated runtime (emu/) writes, per process, LOG/launches.<pid>.txt with one
"<count> <kernel name as written at the launch>" line per kernel when
FRCNN_EMU_LAUNCH_LOG=LOG is set (the emulated CTest suite sets it). This script finds
the kernels the sources define and compares.

usage: kernel_coverage.py --source ROOT --log LOG
exit status: 0 when every kernel was launched, 1 otherwise (the missing ones listed).
"""
import argparse
import collections
import os
import re
import sys

SOURCE_DIRS = ["engine", "kernels", "layers", "train", "data", "apps", "bench", "tests"]
EXTENSIONS = (".cu", ".cuh", ".cpp", ".h")
# `__global__ void [__launch_bounds__(...)] name(` ; template kernels included.
KERNEL = re.compile(r"__global__\s+void\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?([A-Za-z_]\w*)\s*\(")


def defined_kernels(root):
    found = collections.defaultdict(list)  # name -> [file:line]
    for d in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in sorted(files):
                if not f.endswith(EXTENSIONS):
                    continue
                path = os.path.join(dirpath, f)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                for m in KERNEL.finditer(text):
                    line = text.count("\n", 0, m.start()) + 1
                    found[m.group(1)].append("%s:%d" % (os.path.relpath(path, root), line))
    return found


def base_name(launched):
    # "conv_gemm_kernel<P>" -> "conv_gemm_kernel"; "ns::k" -> "k"; "(k<P, 64>)" -> "k"
    # (a launch names a kernel with a comma in its template arguments in parentheses)
    name = launched.strip().lstrip("(").split("<", 1)[0].strip()
    return name.rsplit("::", 1)[-1]


def launched_kernels(log_dir):
    counts = collections.Counter()
    files = [f for f in os.listdir(log_dir) if f.startswith("launches.")] if os.path.isdir(log_dir) else []
    for f in files:
        with open(os.path.join(log_dir, f)) as fh:
            for line in fh:
                parts = line.strip().split(" ", 1)
                if len(parts) == 2:
                    counts[base_name(parts[1])] += int(parts[0])
    return counts, len(files)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    defined = defined_kernels(a.source)
    launched, nfiles = launched_kernels(a.log)
    dup = {k: v for k, v in defined.items() if len(v) > 1}
    if dup:
        for k, v in sorted(dup.items()):
            print("kernel name %s is defined %d times (%s): names must be unique for coverage to be exact"
                  % (k, len(v), ", ".join(v)))
        return 1
    if nfiles == 0:
        print("no launch logs in %s: run the whole emulated suite first (ctest in the emulated build)" % a.log)
        return 1
    missing = sorted(k for k in defined if launched[k] == 0)
    print("%d kernels defined, %d launched (launch logs of %d processes in %s)"
          % (len(defined), len(defined) - len(missing), nfiles, a.log))
    for k in sorted(defined):
        print("  %8d  %s  (%s)" % (launched[k], k, defined[k][0]))
    if missing:
        print("NEVER LAUNCHED by the emulated suite (add a [gpu] test that runs them):")
        for k in missing:
            print("  %s  (%s)" % (k, defined[k][0]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
