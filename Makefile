# The README's two commands:
#   make test   install what is missing, configure, build, run every test (CTest)
#   make demo   install, build, and run the main job on the bundled synthetic dataset
# Knobs: BUILD_DIR, JOBS, CMAKE_ARGS (e.g. CMAKE_ARGS="-DFRCNN_CUDA=OFF").
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps configure build test demo clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_ARGS)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
