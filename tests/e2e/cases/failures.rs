//! 3scale unreachable: down (nothing listens) or slow (answers after the
//! timeout). Denied with 503 by default, let through with `failure_policy: allow`.

use std::net::SocketAddr;

use serde_json::json;

use super::{
    MODEL, assert_authrep, assert_local_reply, assert_no_backend_call, assert_passed, get,
    single_authrep,
};
use crate::envoy_config::Bootstrap;
use crate::harness::{Stack, closed_port};
use crate::plugin::{USER_KEY, set};

/// Milliseconds the filter waits for 3scale in the slow-backend cases.
const BACKEND_TIMEOUT_MS: u64 = 300;
/// Milliseconds the simulator delays its answers in the slow-backend cases.
const BACKEND_DELAY_MS: u64 = 1500;

fn backend_down(bootstrap: &mut Bootstrap) {
    bootstrap.backend_endpoint(SocketAddr::from(([127, 0, 0, 1], closed_port())));
}

fn short_timeout(bootstrap: &mut Bootstrap) {
    let plugin = bootstrap.plugin_json();
    plugin["backend"]["upstream"]["timeout"] = json!(BACKEND_TIMEOUT_MS);
}

fn allow_on_failure(bootstrap: &mut Bootstrap) {
    set(bootstrap.plugin_json(), "failure_policy", json!("allow"));
}

fn slow_backend(stack: &Stack) {
    stack
        .admin()
        .fault(&json!({ "mode": "delay", "delay_ms": BACKEND_DELAY_MS, "scope": "backend" }));
}

#[test]
fn backend_down_denies() {
    let mut stack = Stack::start("backend_down_denies", MODEL, backend_down);
    let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
    assert_local_reply(&response, 503, "Service Unavailable\n");
    assert_no_backend_call(&stack.admin());
}

#[test]
fn backend_down_allowed_by_policy() {
    let mut stack = Stack::start("backend_down_allowed", MODEL, |bootstrap| {
        backend_down(bootstrap);
        allow_on_failure(bootstrap);
    });
    let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
    assert_passed(&response);
    assert_no_backend_call(&stack.admin());
}

#[test]
fn backend_slow_denies() {
    let mut stack = Stack::start("backend_slow_denies", MODEL, short_timeout);
    slow_backend(&stack);
    let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
    assert_local_reply(&response, 503, "Service Unavailable\n");
    let authrep = single_authrep(&stack.admin());
    assert_authrep(&authrep, &[("user_key", USER_KEY)], &[("hits", "1")]);
}

#[test]
fn backend_slow_allowed_by_policy() {
    let mut stack = Stack::start("backend_slow_allowed", MODEL, |bootstrap| {
        short_timeout(bootstrap);
        allow_on_failure(bootstrap);
    });
    slow_backend(&stack);
    let started = std::time::Instant::now();
    let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
    assert_passed(&response);
    assert!(
        started.elapsed().as_millis() < u128::from(BACKEND_DELAY_MS),
        "the filter gave up after its timeout, not after the backend answered"
    );
}
