# The two commands: `make run` serves on the embedded defaults, `make test` runs every
# test. Both install missing Debian packages first (scripts/install-deps).
BUILD_DIR ?= build
BUILD_TYPE ?= Release
ARGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps configure build run test bench clean

all: build

deps:
	@scripts/install-deps

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

configure: $(BUILD_DIR)/build.ninja

build: deps configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/voxgate serve $(ARGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# Load benchmarks need the server and wrk; see docs/BENCHMARKS.md.
bench: build
	bench/webhook_load.sh $(BUILD_DIR)/voxgate

clean:
	rm -rf $(BUILD_DIR)
