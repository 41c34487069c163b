//! The filter's metrics as an operator reads them from Envoy's admin interface:
//! `/stats` (`wasmcustom.threescale_wasm_auth.*`) and `/stats/prometheus`
//! (`threescale_wasm_auth_*`), after scenarios whose every request is known.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::{MODEL, assert_local_reply, assert_passed, get};
use crate::harness::{Stack, closed_port, counters_settled, poll};
use crate::http::Request;
use crate::plugin::{HOST, LIMITED_CALLS, LIMITED_USER_KEY, USER_KEY, set, use_system};
use crate::sim::SimAdmin;

/// Every metric the filter defines, as `/stats` names it, with its type.
const METRICS: [(&str, &str); 29] = [
    ("requests.authorized", "counter"),
    ("requests.denied", "counter"),
    ("requests.limited", "counter"),
    ("requests.unknown_service", "counter"),
    ("requests.no_credentials", "counter"),
    ("requests.no_rule", "counter"),
    ("requests.unavailable", "counter"),
    ("requests.allowed_by_failure_policy", "counter"),
    ("requests.passthrough", "counter"),
    ("requests.would_deny.unknown_service", "counter"),
    ("requests.would_deny.auth_missing", "counter"),
    ("requests.would_deny.auth_failed", "counter"),
    ("requests.would_deny.no_match", "counter"),
    ("requests.would_deny.limits_exceeded", "counter"),
    ("requests.would_deny.unavailable", "counter"),
    ("backend.calls", "counter"),
    ("backend.errors", "counter"),
    ("backend.latency_ms", "histogram"),
    ("cache.hits", "counter"),
    ("cache.stale_hits", "counter"),
    ("cache.misses", "counter"),
    ("cache.evictions", "counter"),
    ("reports.sent", "counter"),
    ("reports.failed", "counter"),
    ("reports.dropped", "counter"),
    ("reports.merged", "counter"),
    ("reports.handed_over", "counter"),
    ("system.fetches", "counter"),
    ("system.fetch_failures", "counter"),
];

/// Envoy's namespace for metrics defined by Wasm code, then the filter's prefix.
const STATS_PREFIX: &str = "wasmcustom.threescale_wasm_auth.";
/// The same metrics in `/stats/prometheus`.
const PROMETHEUS_PREFIX: &str = "threescale_wasm_auth_";
/// How long a histogram may take to show a value: Envoy merges histograms at
/// its stats flush, every 5 s by default.
const HISTOGRAM_LIMIT: Duration = Duration::from_secs(20);
/// How long System fetches may take to reach a state in these cases.
const SYSTEM_LIMIT: Duration = Duration::from_secs(20);

/// The filter's counters in `/stats`, by name without [`STATS_PREFIX`].
fn counters(stack: &Stack) -> BTreeMap<String, u64> {
    stack
        .envoy
        .stats("threescale_wasm_auth")
        .into_iter()
        .filter_map(|(name, value)| Some((name.strip_prefix(STATS_PREFIX)?.to_owned(), value)))
        .collect()
}

/// One counter of [`counters`]; fails the test when Envoy does not show it.
fn counter(stack: &Stack, name: &str) -> u64 {
    *counters(stack)
        .get(name)
        .unwrap_or_else(|| panic!("/stats lacks {STATS_PREFIX}{name}"))
}

/// The filter's samples in `/stats/prometheus`, by name without
/// [`PROMETHEUS_PREFIX`] (labels dropped), and the `# TYPE` of each family.
struct Prometheus {
    samples: BTreeMap<String, f64>,
    types: BTreeMap<String, String>,
}

fn prometheus(stack: &Stack) -> Prometheus {
    let page = Request::get("/stats/prometheus")
        .send(stack.envoy.admin)
        .unwrap_or_else(|e| panic!("Envoy admin /stats/prometheus failed: {e}"))
        .text();
    let mut samples = BTreeMap::new();
    let mut types = BTreeMap::new();
    for line in page.lines() {
        if let Some(declaration) = line.strip_prefix("# TYPE ") {
            if let Some((name, kind)) = declaration.split_once(' ')
                && let Some(name) = name.strip_prefix(PROMETHEUS_PREFIX)
            {
                types.insert(name.to_owned(), kind.to_owned());
            }
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let name = series.split('{').next().unwrap_or_default();
        if let (Some(name), Ok(value)) = (name.strip_prefix(PROMETHEUS_PREFIX), value.parse())
            && !series.contains("le=")
        {
            samples.insert(name.to_owned(), value);
        }
    }
    Prometheus { samples, types }
}

/// Waits until the backend latency histogram has `count` values, from the
/// `_count` sample of `/stats/prometheus`.
fn wait_for_latency_count(stack: &Stack, count: u64) {
    let seen = poll(HISTOGRAM_LIMIT, || {
        let samples = prometheus(stack).samples;
        let seen = samples.get("backend_latency_ms_count").copied()?;
        (seen == count as f64).then_some(())
    });
    assert!(
        seen.is_some(),
        "backend_latency_ms_count did not reach {count} within {HISTOGRAM_LIMIT:?}: {:?}",
        prometheus(stack).samples
    );
}

/// Checks that every counter has the expected value (those not named are 0) in
/// `/stats`, and the same value in `/stats/prometheus`.
fn assert_counters(stack: &Stack, expected: &[(&str, u64)]) {
    let wanted: BTreeMap<String, u64> = METRICS
        .iter()
        .filter(|(_, kind)| *kind == "counter")
        .map(|(name, _)| {
            let value = expected
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0, |(_, value)| *value);
            ((*name).to_owned(), value)
        })
        .collect();
    let shown = counters_settled(&wanted, || counters(stack));
    assert_eq!(shown, wanted, "the filter's counters in /stats");
    let samples = prometheus(stack).samples;
    for (name, value) in &wanted {
        let prometheus_name = name.replace('.', "_");
        assert_eq!(
            samples.get(&prometheus_name).copied(),
            Some(*value as f64),
            "{PROMETHEUS_PREFIX}{prometheus_name} in /stats/prometheus"
        );
    }
}

#[test]
fn metrics_are_defined_at_start() {
    let stack = Stack::start("metrics_defined", MODEL, |_| {});
    assert_counters(&stack, &[]);
    let page = Request::get("/stats?filter=latency_ms")
        .send(stack.envoy.admin)
        .unwrap()
        .text();
    assert!(
        page.contains("wasmcustom.threescale_wasm_auth.backend.latency_ms: No recorded values"),
        "the histogram is listed before any value:\n{page}"
    );
    let types = prometheus(&stack).types;
    for (name, kind) in METRICS {
        assert_eq!(
            types.get(&name.replace('.', "_")).map(String::as_str),
            Some(kind),
            "# TYPE of {PROMETHEUS_PREFIX}{name} in /stats/prometheus: {types:?}"
        );
    }
}

/// A request with a user key the backend does not know.
fn unknown_key() -> Request {
    get("/?user_key=nobody-has-this-key")
}

#[test]
fn every_request_is_counted_once_by_outcome_across_worker_vms() {
    let mut stack = Stack::start("metrics_outcomes", MODEL, |bootstrap| {
        bootstrap.concurrency = 2;
    });
    let keyed = get(&format!("/?user_key={USER_KEY}"));
    assert_passed(&stack.send(&keyed));
    // Several connections at once, so that both workers' VMs serve requests.
    let listener = stack.envoy.listener;
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let request = keyed.clone();
            std::thread::spawn(move || request.send(listener).map(|r| r.status))
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap().unwrap(), 200);
    }
    let limited = get(&format!("/?user_key={LIMITED_USER_KEY}"));
    for _ in 0..LIMITED_CALLS {
        assert_passed(&stack.send(&limited));
    }
    assert_local_reply(&stack.send(&limited), 429, "Usage limit exceeded\n");
    assert_local_reply(&stack.send(&unknown_key()), 403, "Authentication failed\n");
    let elsewhere = Request::get(&format!("/?user_key={USER_KEY}")).host("other.example.org");
    assert_local_reply(&stack.send(&elsewhere), 403, "Unknown service\n");
    assert_local_reply(
        &stack.send(&get("/")),
        403,
        "Authentication parameters missing\n",
    );
    let no_rule = Request::new("POST", &format!("/orders?user_key={USER_KEY}")).host(HOST);
    assert_local_reply(&stack.send(&no_rule), 404, "No Mapping Rule matched\n");
    let admin = stack.admin();
    for fault in [
        json!({ "mode": "status", "status": 500, "scope": "backend" }),
        json!({ "mode": "close", "scope": "backend" }),
    ] {
        admin.fault(&fault);
        assert_local_reply(&stack.send(&keyed), 503, "Service Unavailable\n");
    }
    admin.fault(&json!({ "mode": "none" }));

    let authorized = 9 + LIMITED_CALLS as u64;
    let authreps = admin.requests_to("/transactions/authrep.xml").len() as u64;
    assert_eq!(authreps, authorized + 1 + 1 + 2, "one authrep per request");
    assert_counters(
        &stack,
        &[
            ("requests.authorized", authorized),
            ("requests.limited", 1),
            ("requests.denied", 1),
            ("requests.unknown_service", 1),
            ("requests.no_credentials", 1),
            ("requests.no_rule", 1),
            ("requests.unavailable", 2),
            ("backend.calls", authreps),
            ("backend.errors", 2),
        ],
    );
    // Every call was answered (the closed connection by Envoy's 503).
    wait_for_latency_count(&stack, authreps);
    let per_worker = stack.envoy.stats("worker_[0-9].downstream_cx_total");
    assert_eq!(per_worker.len(), 2, "two workers: {per_worker:?}");
    assert!(
        per_worker.iter().all(|(_, connections)| *connections > 0),
        "both workers (each with its own VM) served requests, counted in one stat each: {per_worker:?}"
    );
}

#[test]
fn failure_policy_allow_and_passthrough_are_counted() {
    let mut stack = Stack::start("metrics_allowed", MODEL, |bootstrap| {
        set(bootstrap.plugin_json(), "failure_policy", json!("allow"));
        bootstrap.backend_endpoint(([127, 0, 0, 1], closed_port()).into());
    });
    let keyed = get(&format!("/?user_key={USER_KEY}"));
    for _ in 0..2 {
        assert_passed(&stack.send(&keyed));
    }
    assert_local_reply(
        &stack.send(&get("/")),
        403,
        "Authentication parameters missing\n",
    );
    assert_counters(
        &stack,
        &[
            ("requests.allowed_by_failure_policy", 2),
            ("requests.no_credentials", 1),
            ("backend.calls", 2),
            ("backend.errors", 2),
        ],
    );
    wait_for_latency_count(&stack, 2);
    drop(stack);

    let mut stack = Stack::start("metrics_passthrough", MODEL, |bootstrap| {
        set(bootstrap.plugin_json(), "passthrough_metadata", json!(true));
    });
    assert_passed(&stack.send(&keyed));
    assert_counters(&stack, &[("requests.passthrough", 1)]);
}

/// The System requests the simulator has received.
fn system_requests(admin: &SimAdmin) -> u64 {
    admin
        .requests()
        .iter()
        .filter(|request| request.path.starts_with("/admin/api/services/"))
        .count() as u64
}

/// Polls until `settled` accepts (`system.fetches`, `system.fetch_failures`,
/// System requests the simulator received), with every counted fetch received.
fn wait_for_fetches(stack: &Stack, settled: impl Fn(u64, u64) -> bool) -> (u64, u64) {
    let admin = stack.admin();
    let state = poll(SYSTEM_LIMIT, || {
        let fetches = counter(stack, "system.fetches");
        let failures = counter(stack, "system.fetch_failures");
        (fetches == system_requests(&admin) && settled(fetches, failures))
            .then_some((fetches, failures))
    });
    state.unwrap_or_else(|| {
        panic!(
            "System fetch counters did not settle within {SYSTEM_LIMIT:?}: {:?}, {} System requests received",
            counters(stack),
            system_requests(&admin)
        )
    })
}

#[test]
fn system_fetches_and_failures_are_counted() {
    let mut stack = Stack::start("metrics_system", MODEL, |bootstrap| {
        let cluster = bootstrap.backend_cluster.clone();
        let url = format!("http://system.3scale.test:{}/", bootstrap.backend.port());
        use_system(bootstrap.plugin_json(), &cluster, &url);
        bootstrap.plugin_json()["system"]["ttl"] = json!(4);
        SimAdmin::new(bootstrap.backend)
            .fault(&json!({ "mode": "status", "status": 500, "scope": "system" }));
    });
    // The main thread's VM and the worker's both fetch, and retry after failures.
    let (_, failures) = wait_for_fetches(&stack, |fetches, failures| {
        failures >= 3 && fetches == failures
    });
    let keyed = get(&format!("/?user_key={USER_KEY}"));
    assert_local_reply(&stack.send(&keyed), 503, "Service Unavailable\n");

    stack.admin().fault(&json!({ "mode": "none" }));
    let passed = poll(SYSTEM_LIMIT, || {
        (stack.send(&keyed).status == 200).then_some(())
    });
    assert!(passed.is_some(), "requests pass once System answers");
    let (fetches, failures_now) = wait_for_fetches(&stack, |fetches, now| fetches > now);
    assert!(failures_now >= failures, "failures never go down");
    assert!(fetches > failures_now, "at least one successful fetch");
    let samples = prometheus(&stack).samples;
    assert!(
        samples
            .get("system_fetches")
            .is_some_and(|v| *v >= fetches as f64),
        "{samples:?}"
    );
    assert!(
        samples
            .get("system_fetch_failures")
            .is_some_and(|v| *v >= failures_now as f64),
        "{samples:?}"
    );
}
