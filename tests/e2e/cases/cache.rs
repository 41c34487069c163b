//! The authorization cache (README, "Cache"): requests decided locally,
//! usage reported in batches exactly once, limits enforced across workers,
//! stale entries while 3scale is down, revocations seen after the ttl.

use std::time::Duration;

use serde_json::{Value, json};

use super::{assert_local_reply, assert_passed, get};
use crate::envoy_config::Bootstrap;
use crate::harness::{Envoy, Stack, counters_settled, poll};
use crate::http::Response;
use crate::plugin::{SERVICE_ID, set};
use crate::sim::SimAdmin;

/// The simulator model of these cases.
pub(super) const CACHE_MODEL: &str = "cache.yaml";
/// How long reports may take to arrive (several flush intervals).
const REPORT_LIMIT: Duration = Duration::from_secs(15);
/// The limit of `cache-limited` (hits per eternity).
const LIMIT: usize = 10;

pub(super) fn enable_cache(bootstrap: &mut Bootstrap, settings: Value) {
    let mut cache = json!({ "enabled": true, "ttl": 60, "flush_interval": 1 });
    if let (Some(cache), Value::Object(settings)) = (cache.as_object_mut(), settings) {
        cache.extend(settings);
    }
    set(bootstrap.plugin_json(), "cache", cache);
}

pub(super) fn request(user_key: &str) -> crate::http::Request {
    get(&format!("/?user_key={user_key}"))
}

fn authreps(admin: &SimAdmin) -> usize {
    admin.requests_to("/transactions/authrep.xml").len()
}

/// The application's `hits` for ever, as the simulator counts them.
pub(super) fn total_hits(admin: &SimAdmin, user_key: &str) -> u64 {
    admin.counted(&format!("user_key:{user_key}"), "hits", "eternity")
}

/// Waits until the simulator has counted `expected` hits for the application,
/// then checks that it stays there over more flush intervals (nothing is
/// reported twice).
fn assert_counted_exactly(admin: &SimAdmin, user_key: &str, expected: u64) {
    let reached = poll(REPORT_LIMIT, || {
        (total_hits(admin, user_key) >= expected).then_some(())
    });
    assert!(
        reached.is_some(),
        "3scale counted {} hits for {user_key}, expected {expected}",
        total_hits(admin, user_key)
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        total_hits(admin, user_key),
        expected,
        "usage was reported twice"
    );
}

/// Sends `count` requests for `user_key` from `threads` concurrent clients
/// (each request on its own connection, so Envoy spreads them over its workers).
pub(super) fn send_concurrently(
    stack: &Stack,
    user_key: &str,
    count: usize,
    threads: usize,
) -> Vec<Response> {
    send_from(&stack.envoy, user_key, count, threads)
}

/// [`send_concurrently`] to one Envoy of several.
pub(super) fn send_from(
    envoy: &Envoy,
    user_key: &str,
    count: usize,
    threads: usize,
) -> Vec<Response> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    (thread..count)
                        .step_by(threads)
                        .map(|_| envoy.send(&request(user_key)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap())
            .collect()
    })
}

fn statuses(responses: &[Response]) -> (usize, usize) {
    let allowed = responses.iter().filter(|r| r.status == 200).count();
    let limited = responses.iter().filter(|r| r.status == 429).count();
    assert_eq!(
        allowed + limited,
        responses.len(),
        "only 200s and 429s expected: {:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    (allowed, limited)
}

#[test]
fn cache_answers_locally_and_reports_usage_exactly_once() {
    let mut stack = Stack::start("cache_reports", CACHE_MODEL, |bootstrap| {
        enable_cache(bootstrap, json!({}));
    });
    for _ in 0..20 {
        assert_passed(&stack.send(&request("cache-key")));
    }
    let admin = stack.admin();
    assert_eq!(authreps(&admin), 1, "one authrep, then the cache decides");
    assert_counted_exactly(&admin, "cache-key", 20);
    let reports = admin.requests_to("/transactions.xml");
    assert!(
        !reports.is_empty() && reports.len() <= 5,
        "batched: {reports:#?}"
    );
    let metric = |name: &str| cache_metric(&stack, name);
    let lookups = || (metric("cache.hits"), metric("cache.misses"));
    assert_eq!(counters_settled(&(19, 1), lookups), (19, 1));
    let sent = reports.len() as u64;
    assert_eq!(counters_settled(&sent, || metric("reports.sent")), sent);
    assert_eq!(metric("reports.failed") + metric("reports.dropped"), 0);
    stack.envoy.assert_healthy();
}

/// One of the filter's counters, as Envoy's admin `/stats` shows it.
pub(super) fn cache_metric(stack: &Stack, name: &str) -> u64 {
    let full = format!("wasmcustom.threescale_wasm_auth.{name}");
    stack
        .envoy
        .stats(&format!("^{}$", full.replace('.', "\\.")))
        .into_iter()
        .find(|(stat, _)| *stat == full)
        .map_or_else(|| panic!("no stat {full}"), |(_, value)| value)
}

#[test]
fn cache_reports_exactly_with_two_workers() {
    let stack = Stack::start("cache_reports_two_workers", CACHE_MODEL, |bootstrap| {
        bootstrap.concurrency = 2;
        enable_cache(bootstrap, json!({}));
    });
    let responses = send_concurrently(&stack, "cache-key", 60, 4);
    assert!(responses.iter().all(|r| r.status == 200), "all allowed");
    let admin = stack.admin();
    assert!(authreps(&admin) < 60, "the cache decided some requests");
    assert_counted_exactly(&admin, "cache-key", 60);
}

#[test]
fn cache_enforces_limits_with_one_worker() {
    let mut stack = Stack::start("cache_limits", CACHE_MODEL, |bootstrap| {
        enable_cache(bootstrap, json!({}));
        set(bootstrap.plugin_json(), "rate_limit_headers", json!(true));
    });
    let responses: Vec<Response> = (0..LIMIT + 5)
        .map(|_| stack.send(&request("cache-limited")))
        .collect();
    let (allowed, _) = statuses(&responses);
    assert_eq!(allowed, LIMIT);
    let last = responses.last().unwrap();
    assert_local_reply(last, 429, "Usage limit exceeded\n");
    assert_eq!(last.header("ratelimit-limit").as_deref(), Some("10"));
    assert_eq!(last.header("ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(authreps(&stack.admin()), 1);
    assert_counted_exactly(&stack.admin(), "cache-limited", LIMIT as u64);
}

/// Clients sending at once, more than there are workers: several authreps for
/// the application are in flight together, and hits count them.
const CLIENTS: usize = 6;

#[test]
fn cache_enforces_limits_with_concurrent_clients_and_one_worker() {
    let stack = Stack::start("cache_limits_concurrent", CACHE_MODEL, |bootstrap| {
        enable_cache(bootstrap, json!({}));
    });
    let responses = send_concurrently(&stack, "cache-limited", 3 * LIMIT, CLIENTS);
    let (allowed, _) = statuses(&responses);
    assert_eq!(
        allowed, LIMIT,
        "{allowed} allowed with a limit of {LIMIT}, {CLIENTS} clients and 1 worker"
    );
    assert_counted_exactly(&stack.admin(), "cache-limited", allowed as u64);
}

#[test]
fn cache_enforces_limits_with_two_workers() {
    let stack = Stack::start("cache_limits_two_workers", CACHE_MODEL, |bootstrap| {
        bootstrap.concurrency = 2;
        enable_cache(bootstrap, json!({}));
    });
    // Authreps in flight count for hits, so the number of clients does not
    // matter, and only one worker creates the bucket's key, so neither
    // worker's first authrep goes uncounted (README, "Cache", "Known limits").
    let responses = send_concurrently(&stack, "cache-limited", 3 * LIMIT, CLIENTS);
    let (allowed, _) = statuses(&responses);
    assert_eq!(
        allowed, LIMIT,
        "{allowed} allowed with a limit of {LIMIT}, {CLIENTS} clients and 2 workers"
    );
    assert_counted_exactly(&stack.admin(), "cache-limited", allowed as u64);
}

/// Makes every backend call fail (the connection is closed without an answer).
fn take_backend_down(admin: &SimAdmin) {
    admin.fault(&json!({ "mode": "close", "scope": "backend" }));
}

#[test]
fn cache_serves_known_applications_from_stale_entries_while_3scale_is_down() {
    let mut stack = Stack::start("cache_stale", CACHE_MODEL, |bootstrap| {
        enable_cache(bootstrap, json!({ "ttl": 1, "stale_ttl": 120 }));
    });
    assert_passed(&stack.send(&request("cache-key")));
    let admin = stack.admin();
    take_backend_down(&admin);
    // Until the entry expires the cache answers alone; then each request tries
    // 3scale, fails, and the stale entry answers.
    let expired = poll(REPORT_LIMIT, || {
        assert_passed(&stack.envoy.send(&request("cache-key")));
        (authreps(&admin) >= 2).then_some(())
    });
    assert!(expired.is_some(), "the entry never expired");
    assert_passed(&stack.send(&request("cache-key")));
    // An application the cache has never seen follows the failure policy.
    assert_local_reply(
        &stack.send(&request("cache-limited")),
        503,
        "Service Unavailable\n",
    );
}

#[test]
fn cache_without_stale_ttl_follows_the_failure_policy_once_expired() {
    let mut stack = Stack::start("cache_no_stale", CACHE_MODEL, |bootstrap| {
        enable_cache(bootstrap, json!({ "ttl": 1 }));
    });
    assert_passed(&stack.send(&request("cache-key")));
    take_backend_down(&stack.admin());
    let denied = poll(REPORT_LIMIT, || {
        let response = stack.envoy.send(&request("cache-key"));
        (response.status != 200).then_some(response)
    });
    let denied = denied.expect("the entry never expired");
    assert_local_reply(&denied, 503, "Service Unavailable\n");
    stack.envoy.assert_healthy();
}

#[test]
fn cache_denies_a_revoked_application_after_the_ttl() {
    let mut stack = Stack::start("cache_revoked", CACHE_MODEL, |bootstrap| {
        enable_cache(bootstrap, json!({ "ttl": 1 }));
    });
    assert_passed(&stack.send(&request("cache-revoked")));
    stack
        .admin()
        .suspend(SERVICE_ID, "user_key:cache-revoked", true);
    let denied = poll(REPORT_LIMIT, || {
        let response = stack.envoy.send(&request("cache-revoked"));
        (response.status != 200).then_some(response)
    });
    let denied = denied.expect("the revoked application was never denied");
    assert_local_reply(&denied, 403, "Authentication failed\n");
    // The denial is cached too: the next request does not ask 3scale.
    let asked = authreps(&stack.admin());
    assert_local_reply(
        &stack.send(&request("cache-revoked")),
        403,
        "Authentication failed\n",
    );
    assert!(authreps(&stack.admin()) <= asked + 1);
}

#[test]
fn cache_forgets_the_authrep_of_a_request_that_went_away() {
    let stack = Stack::start("cache_abandoned", CACHE_MODEL, |bootstrap| {
        enable_cache(bootstrap, json!({}));
        // Envoy ends the request (504) while its authrep waits for 3scale, and
        // cancels the call: the filter's context is done before any answer.
        bootstrap.request_timeout = Some("0.5s".into());
    });
    let admin = stack.admin();
    admin.fault(&json!({ "mode": "delay", "delay_ms": 1500, "scope": "backend" }));
    assert_eq!(stack.envoy.send(&request("cache-limited")).status, 504);
    admin.fault(&json!({ "mode": "none" }));
    // 3scale counts it anyway, once its delay is over.
    let counted = poll(REPORT_LIMIT, || {
        (total_hits(&admin, "cache-limited") == 1).then_some(())
    });
    assert!(
        counted.is_some(),
        "3scale never counted the abandoned authrep"
    );
    // Its flight ended with its request (else it would hold one more unit of
    // the limit until it expires, and a 429 would come early): the next
    // answer's value has it.
    let responses: Vec<Response> = (0..LIMIT + 5)
        .map(|_| stack.envoy.send(&request("cache-limited")))
        .collect();
    statuses(&responses);
    let codes: Vec<u16> = responses.iter().map(|r| r.status).collect();
    let expected: Vec<u16> = (0..LIMIT + 5)
        .map(|at| if at < LIMIT - 1 { 200 } else { 429 })
        .collect();
    assert_eq!(codes, expected);
    assert_counted_exactly(&admin, "cache-limited", LIMIT as u64);
}
