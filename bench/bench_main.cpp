// frcnn_bench: the Google Benchmark kernel suite (one binary; every bench/*.cpp adds
// its benchmarks). Run `frcnn_bench --benchmark_filter=...`; on a GPU machine the CUDA
// entries time with CUDA events (manual time), on the CPU with the wall clock.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
