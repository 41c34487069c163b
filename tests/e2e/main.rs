//! End-to-end tests: the filter in a real Envoy (1.40, V8) in front of the 3scale
//! simulator.
//!
//! Built only with the `e2e` feature. `make test` builds the `.wasm` and the
//! simulator, installs Envoy and exports `THREESCALE_WASM`, `THREESCALE_SIM` and
//! `ENVOY_BIN`; without them every test fails with a message saying so (the
//! suite is never skipped). Each test starts its own simulator and Envoy on
//! kernel-chosen ports, so tests run in parallel without sharing anything, and
//! every process is killed when its test ends, pass or fail.

// Integration tests are always built with `cfg(test)`; saying so lets clippy's
// test allowances (unwrap, indexing) apply to the helpers as well as the tests.
#![cfg(test)]

#[cfg(feature = "apisonator")]
mod account;
#[cfg(feature = "apisonator")]
mod apisonator;
#[cfg(feature = "apisonator")]
mod backends;
mod cases;
mod envoy_config;
mod harness;
mod http;
mod plugin;
mod sim;
