# The README's two commands:
#   make test   install what is missing, configure, build, run every test: the CPU build's
#               suite (CTest in BUILD_DIR), then the GPU tests on the emulated CUDA device
#               (CTest in EMU_BUILD_DIR, AddressSanitizer + UBSan; docs/EMULATION.md)
#   make demo   install, build, and run the main job on the bundled synthetic dataset
# Also: make test-cpu, make test-emu (one suite each), make test-fuzz (every libFuzzer target
#       of tests/fuzz for 60 s in build-fuzz, clang + ASan + UBSan; scripts/fuzz.sh,
#       docs/FUZZING.md; longer: scripts/fuzz.sh --time 3600).
# Knobs: BUILD_DIR, EMU_BUILD_DIR, JOBS, CMAKE_ARGS (e.g. CMAKE_ARGS="-DFRCNN_CUDA=OFF"),
#        EMU_CMAKE_ARGS (e.g. EMU_CMAKE_ARGS="-DFRCNN_SANITIZE=" for a faster build without sanitizers).
BUILD_DIR ?= build
EMU_BUILD_DIR ?= build-emu
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=
EMU_CMAKE_ARGS ?=

.PHONY: all deps configure build test test-cpu configure-emu build-emu test-emu test-fuzz demo clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_ARGS)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: test-cpu test-emu test-fuzz

test-cpu: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The emulated build only needs the libraries and the tests (no benchmarks).
configure-emu: deps
	@cmake -S . -B $(EMU_BUILD_DIR) -G Ninja -DFRCNN_CUDA_EMULATION=ON -DFRCNN_BUILD_BENCH=OFF $(EMU_CMAKE_ARGS)

build-emu: configure-emu
	@cmake --build $(EMU_BUILD_DIR) -j $(JOBS)

test-emu: build-emu
	@cd $(EMU_BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The fuzz smoke: builds its own clang folder (build-fuzz) and fails on any crash.
test-fuzz: deps
	@scripts/fuzz.sh --time 60

demo: build
	@scripts/demo.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) $(EMU_BUILD_DIR) build-fuzz
