//! No usage lost (README, "Cache", "What is guaranteed"): each case starts an
//! Envoy with 2 workers and the cache on with a `flush_interval` far longer
//! than the case, so that usage is still pending when something happens to
//! the plugin, to Envoy or to 3scale; then it compares what 3scale counted
//! with what the filter allowed, exactly, and checks that it stays there
//! (nothing reported twice).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cache::{CACHE_MODEL, enable_cache, request, send_concurrently, total_hits};
use crate::envoy_config::Bootstrap;
use crate::harness::{Stack, poll};
use crate::sim::SimAdmin;

/// Longer than any case: a report that comes is never the regular flush's.
const FLUSH_INTERVAL: u64 = 120;
/// The application (no limits: every request is allowed).
const USER_KEY: &str = "cache-key";
/// Requests sent before the event.
const REQUESTS: usize = 60;
/// Concurrent clients (each request on its own connection, spread over the workers).
const CLIENTS: usize = 4;
/// How long the usage may take to reach 3scale after the event ends: far less
/// than the flush interval, generous for a loaded machine.
const ARRIVAL_LIMIT: Duration = Duration::from_secs(30);
/// How long the count must then stay the same.
const SETTLE: Duration = Duration::from_secs(3);
/// Envoy's drain time: how long a replaced listener's connections, and a
/// graceful drain, last (Istio's default drain is 5 s).
const DRAIN_SECONDS: u32 = 5;
/// How long 3scale is down in the outage cases.
const OUTAGE: Duration = Duration::from_secs(6);

/// A fresh Envoy with 2 workers, its listener read from a file (so that it can
/// be replaced), and the cache on with a long flush interval.
fn durable_stack(test: &str) -> Stack {
    Stack::start(test, CACHE_MODEL, |bootstrap: &mut Bootstrap| {
        bootstrap.concurrency = 2;
        bootstrap.listener_from_file = true;
        bootstrap.drain_time_s = Some(DRAIN_SECONDS);
        enable_cache(bootstrap, json!({ "flush_interval": FLUSH_INTERVAL }));
    })
}

/// Sends requests so that usage is pending in both workers: a first round
/// (the applications' first authreps, whose answers may make the workers
/// report soon), a pause, then a second round whose usage only the flush
/// interval or the event will report. The requests allowed.
fn send_with_usage_pending(stack: &Stack) -> u64 {
    let first = send_allowed(stack, REQUESTS);
    std::thread::sleep(Duration::from_secs(2));
    first + send_allowed(stack, REQUESTS)
}

/// Sends `count` requests from concurrent clients; all must be allowed.
fn send_allowed(stack: &Stack, count: usize) -> u64 {
    let responses = send_concurrently(stack, USER_KEY, count, CLIENTS);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|s| *s == 200),
        "all allowed: {statuses:?}"
    );
    count as u64
}

/// A different plugin configuration of the same service (Envoy sees a new
/// plugin; the filter a new configuration): the backend timeout changes.
pub(super) fn new_configuration(plugin: &mut Value) {
    let timeout = &mut plugin["backend"]["upstream"]["timeout"];
    let next = timeout.as_u64().unwrap_or(2000) + 1;
    *timeout = json!(next);
}

/// Waits until 3scale has counted `allowed` hits (plus `counted_before`, what
/// an earlier life of the simulator counted), then checks that the count stays
/// there; prints the measure either way.
fn assert_no_usage_lost(admin: &SimAdmin, case: &str, allowed: u64, counted_before: u64) {
    let counted = || counted_before + total_hits(admin, USER_KEY);
    let started = Instant::now();
    let reached = poll(ARRIVAL_LIMIT, || (counted() >= allowed).then_some(()));
    eprintln!(
        "durability: {case}: allowed {allowed}, 3scale counted {} ({:.1} s after the event)",
        counted(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        reached.is_some(),
        "{case}: 3scale counted {} of {allowed} allowed hits within {ARRIVAL_LIMIT:?}",
        counted()
    );
    std::thread::sleep(SETTLE);
    assert_eq!(counted(), allowed, "{case}: usage was reported twice");
}

#[test]
fn durability_reconfiguration_through_lds() {
    let mut stack = durable_stack("durability_lds");
    let allowed = send_with_usage_pending(&stack);
    stack.reconfigure(new_configuration);
    assert_no_usage_lost(&stack.admin(), "reconfiguration", allowed, 0);
    for line in stack
        .envoy
        .log()
        .lines()
        .filter(|line| line.contains("configuration ended"))
    {
        eprintln!("{line}");
    }
    stack.envoy.assert_healthy();
}

#[test]
fn durability_sigterm_after_a_short_graceful_drain() {
    let mut stack = durable_stack("durability_drain");
    let allowed = send_with_usage_pending(&stack);
    stack.envoy.drain_listeners_gracefully();
    std::thread::sleep(Duration::from_secs(u64::from(DRAIN_SECONDS)));
    stack.envoy.terminate();
    assert_no_usage_lost(&stack.admin(), "graceful drain, then SIGTERM", allowed, 0);
}

#[test]
fn durability_sigterm_without_drain_once_traffic_has_stopped() {
    let mut stack = durable_stack("durability_sigterm");
    let allowed = send_with_usage_pending(&stack);
    // The operator setting of README "Cache": SIGTERM comes at least the
    // quiet flush delay plus the backend timeout after the last request.
    std::thread::sleep(Duration::from_secs(4));
    stack.envoy.terminate();
    assert_no_usage_lost(&stack.admin(), "SIGTERM, no drain", allowed, 0);
}

#[test]
fn durability_3scale_answering_5xx_then_back() {
    let mut stack = durable_stack("durability_5xx");
    let mut allowed = send_with_usage_pending(&stack);
    let admin = stack.admin();
    admin.fault(&json!({ "mode": "status", "status": 503, "scope": "backend" }));
    // Traffic goes on from the cache while 3scale fails.
    allowed += send_allowed(&stack, REQUESTS);
    std::thread::sleep(OUTAGE);
    admin.fault(&json!({ "mode": "none" }));
    assert_no_usage_lost(&admin, "3scale answering 503, then back", allowed, 0);
    stack.envoy.assert_healthy();
}

#[test]
fn durability_3scale_refusing_connections_then_back() {
    let mut stack = durable_stack("durability_refused");
    let allowed = send_with_usage_pending(&stack);
    // From now on nothing reaches the count, so what it shows before the stop
    // is what this life of the simulator counted.
    let admin = stack.admin();
    admin.fault(&json!({ "mode": "close", "scope": "backend" }));
    let counted_before = total_hits(&admin, USER_KEY);
    stack.stop_sim();
    std::thread::sleep(OUTAGE);
    stack.restart_sim();
    assert_no_usage_lost(
        &stack.admin(),
        "3scale refusing connections, then back",
        allowed,
        counted_before,
    );
    stack.envoy.assert_healthy();
}

#[test]
fn durability_reconfiguration_while_3scale_is_down() {
    let mut stack = durable_stack("durability_lds_down");
    let allowed = send_with_usage_pending(&stack);
    let admin = stack.admin();
    admin.fault(&json!({ "mode": "status", "status": 503, "scope": "backend" }));
    std::thread::sleep(Duration::from_secs(2));
    stack.reconfigure(new_configuration);
    // The old configuration's listener drains and goes away while 3scale is down.
    std::thread::sleep(OUTAGE + Duration::from_secs(u64::from(DRAIN_SECONDS)));
    admin.fault(&json!({ "mode": "none" }));
    assert_no_usage_lost(&admin, "reconfiguration while 3scale is down", allowed, 0);
    // It went through shared data: the old configuration's reports failed.
    let log = stack.envoy.log();
    for line in log
        .lines()
        .filter(|line| line.contains("unreported usage records"))
    {
        eprintln!("{line}");
    }
    assert!(log.contains("handed over to the next one"), "{log}");
    assert!(log.contains("an ended configuration left"), "{log}");
    stack.envoy.assert_healthy();
}

#[test]
fn durability_two_workers_and_a_reconfiguration_under_load() {
    let mut stack = durable_stack("durability_lds_load");
    let allowed = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let mut next = stack.bootstrap.clone();
    new_configuration(next.plugin_json());
    std::thread::scope(|scope| {
        for _ in 0..CLIENTS {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let response = stack.envoy.send(&request(USER_KEY));
                    assert_eq!(response.status, 200, "{response:?}");
                    allowed.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        std::thread::sleep(Duration::from_secs(2));
        stack.envoy.replace_listener(stack.scratch(), &next);
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::Relaxed);
    });
    stack.bootstrap = next;
    let allowed = allowed.load(Ordering::Relaxed);
    assert!(allowed > 0);
    assert_no_usage_lost(
        &stack.admin(),
        "two workers, reconfiguration under load",
        allowed,
        0,
    );
    stack.envoy.assert_healthy();
}
