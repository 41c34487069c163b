//! Service token and mapping rules fetched from System (docs/behaviour.md §8): the first
//! fetch, refreshes after the ttl, System down or answering nonsense, invalid
//! fetched rules, merging with static settings, and one fetcher per Wasm VM.
//!
//! The ttls are 1 or 2 s so that refreshes and retries happen within a test; the
//! limits are generous (a loaded machine) and only the measured delays are printed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{MODEL, assert_authrep, assert_local_reply, assert_passed, get, single_authrep};
use crate::envoy_config::{BACKEND_HOST, Bootstrap, UPSTREAM_CLUSTER};
use crate::harness::{Stack, poll};
use crate::http::{Request, Response};
use crate::plugin::{HOST, SERVICE_ID, SERVICE_TOKEN, SYSTEM_TOKEN, USER_KEY, set, use_system};
use crate::sim::{Received, SimAdmin};

/// How long the filter may take to fetch its first System configuration.
const FIRST_FETCH_LIMIT: Duration = Duration::from_secs(10);
/// How long a change (in System's answers or in what it publishes) may take to
/// show with the 1–2 s ttls used here: far more than the ttl, for a loaded machine.
const CHANGE_LIMIT: Duration = Duration::from_secs(10);
/// The System environment the filter asks for by default.
const ENVIRONMENT: &str = "production";
/// Where System's proxy-configuration endpoint lives.
const SYSTEM_PATH_PREFIX: &str = "/admin/api/services/";
/// What the filter logs when a fetch fails (followed by the reason).
const FETCH_FAILED: &str = "fetching its configuration from System failed";
/// The System call timeout where a test makes System slow.
const SYSTEM_TIMEOUT_MS: u64 = 300;

/// The rules of `fixtures/model.yaml`, as System publishes them.
fn model_rules() -> Vec<Value> {
    vec![
        json!({ "http_method": "GET", "pattern": "/", "metric_system_name": "hits", "delta": 1 }),
        json!({ "http_method": "GET", "pattern": "/products/", "metric_system_name": "products", "delta": 2 }),
    ]
}

/// The first service takes its token and rules from System (served by the
/// simulator on the backend's listener), refreshed every `ttl` seconds.
fn from_system(bootstrap: &mut Bootstrap, ttl: u64) {
    let cluster = bootstrap.backend_cluster.clone();
    let url = format!("http://system.3scale.test:{}/", bootstrap.backend.port());
    use_system(bootstrap.plugin_json(), &cluster, &url);
    bootstrap.plugin_json()["system"]["ttl"] = json!(ttl);
}

/// The simulator's admin API while Envoy is being configured (the simulator is
/// already running then), to set up System before the first fetch.
fn sim_of(bootstrap: &Bootstrap) -> SimAdmin {
    SimAdmin::new(bootstrap.backend)
}

/// A fault on System's endpoint only.
fn system_fault(mode: &str) -> Value {
    json!({ "mode": mode, "status": 500, "scope": "system" })
}

/// No fault anywhere.
fn no_fault() -> Value {
    json!({ "mode": "none" })
}

/// The System fetches the simulator has received.
fn system_fetches(admin: &SimAdmin) -> Vec<Received> {
    admin
        .requests()
        .into_iter()
        .filter(|request| request.path.starts_with(SYSTEM_PATH_PREFIX))
        .collect()
}

/// Everything else the simulator received (authrep calls, in these cases).
fn backend_calls(admin: &SimAdmin) -> Vec<Received> {
    admin
        .requests()
        .into_iter()
        .filter(|request| !request.path.starts_with(SYSTEM_PATH_PREFIX))
        .collect()
}

/// The only backend call, which must be an authrep (System fetches ignored).
fn only_authrep(admin: &SimAdmin) -> Received {
    let calls = backend_calls(admin);
    let [authrep] = calls.as_slice() else {
        panic!("expected exactly one backend call, got {calls:#?}");
    };
    assert!(
        authrep.path.ends_with("/transactions/authrep.xml"),
        "expected an authrep call, got {authrep:?}"
    );
    authrep.clone()
}

/// Checks that no backend call was made (System fetches are allowed).
fn assert_no_authrep(admin: &SimAdmin) {
    let calls = backend_calls(admin);
    assert!(calls.is_empty(), "expected no backend call, got {calls:#?}");
}

/// Waits until the simulator has received at least `count` System fetches.
fn wait_for_fetches(admin: &SimAdmin, count: usize) -> usize {
    let seen = poll(CHANGE_LIMIT, || {
        let seen = system_fetches(admin).len();
        (seen >= count).then_some(seen)
    });
    seen.unwrap_or_else(|| {
        panic!(
            "fewer than {count} System fetches within {CHANGE_LIMIT:?}: {:#?}",
            system_fetches(admin)
        )
    })
}

/// Sends `request` until `accept` takes the answer; returns it and how long that took.
fn send_until(
    stack: &mut Stack,
    request: &Request,
    limit: Duration,
    accept: impl Fn(&Response) -> bool,
) -> (Response, Duration) {
    let started = Instant::now();
    let mut last: Option<Response> = None;
    let accepted = poll(limit, || {
        let response = stack.send(request);
        let ok = accept(&response);
        last = Some(response.clone());
        ok.then_some(response)
    });
    match accepted {
        Some(response) => (response, started.elapsed()),
        None => panic!("no acceptable answer within {limit:?}; the last was:\n{last:?}"),
    }
}

/// Waits until Envoy's log contains `text`.
fn wait_for_log(stack: &Stack, text: &str) {
    let found = poll(CHANGE_LIMIT, || {
        stack.envoy.log().contains(text).then_some(())
    });
    assert!(
        found.is_some(),
        "Envoy did not log `{text}` within {CHANGE_LIMIT:?}"
    );
}

/// How many lines containing `text` each Envoy thread logged. Envoy's lines start
/// `[time][thread id][level][logger]`; each thread runs its own Wasm VM.
fn lines_per_thread(log: &str, text: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in log.lines().filter(|line| line.contains(text)) {
        let thread = line.split(']').nth(1).unwrap_or_default();
        *counts
            .entry(thread.trim_start_matches('[').to_owned())
            .or_insert(0) += 1;
    }
    counts
}

/// Checks that `text` was logged, at warning level, and at most once per VM.
fn assert_warned_once_per_vm(stack: &Stack, text: &str) {
    let log = stack.envoy.log();
    let counts = lines_per_thread(&log, text);
    assert!(!counts.is_empty(), "no log line contains `{text}`");
    assert!(
        counts.values().all(|count| *count == 1),
        "`{text}` logged more than once by one VM: {counts:?}"
    );
    for line in log.lines().filter(|line| line.contains(text)) {
        assert!(line.contains("[warning]"), "not a warning: {line}");
    }
}

/// Checks that the System access token never appears in Envoy's log.
fn assert_token_not_logged(stack: &Stack) {
    let log = stack.envoy.log();
    assert!(
        !log.contains(SYSTEM_TOKEN),
        "the System access token appears in the log"
    );
}

/// A request with credentials that the model's rules (and static ones) match.
fn keyed(path: &str) -> Request {
    get(&format!("{path}?user_key={USER_KEY}"))
}

#[test]
fn token_and_rules_from_system() {
    let mut stack = Stack::start("token_and_rules_from_system", MODEL, |bootstrap| {
        let cluster = bootstrap.backend_cluster.clone();
        let url = format!("http://system.3scale.test:{}/", bootstrap.backend.port());
        use_system(bootstrap.plugin_json(), &cluster, &url);
    });
    let request = keyed("/products/");
    // Until the first fetch has answered, the service counts as unreachable (503).
    let (response, _) = send_until(&mut stack, &request, FIRST_FETCH_LIMIT, |response| {
        response.status == 200
    });
    assert_passed(&response);

    let requests = stack.admin().requests();
    let fetches: Vec<_> = requests
        .iter()
        .filter(|r| r.path.starts_with(SYSTEM_PATH_PREFIX))
        .collect();
    let fetch = fetches
        .first()
        .unwrap_or_else(|| panic!("no System fetch in {requests:#?}"));
    assert_eq!(fetch.method, "GET");
    assert_eq!(
        fetch.path,
        format!("/admin/api/services/{SERVICE_ID}/proxy/configs/production/latest.json")
    );
    assert_eq!(
        fetch.param_values("access_token"),
        vec![SYSTEM_TOKEN.to_owned()]
    );
    assert_eq!(
        fetch.header(":authority").or(fetch.header("host")),
        Some(format!("system.3scale.test:{}", stack.sim.backend.port()).as_str()),
        "{fetch:?}"
    );

    // The fetched token and rules are used: GET / hits 1 and GET /products/ products 2.
    stack.admin().reset();
    let response = stack.send(&request);
    assert_passed(&response);
    let authrep = single_authrep(&stack.admin());
    assert_authrep(
        &authrep,
        &[("user_key", USER_KEY)],
        &[("hits", "1"), ("products", "2")],
    );
    assert_eq!(
        authrep.header("host"),
        Some(format!("{BACKEND_HOST}:{}", stack.sim.backend.port()).as_str()),
        "{authrep:?}"
    );
}

#[test]
fn rule_published_at_run_time_applies_after_the_ttl() {
    let mut stack = Stack::start("system_rule_published", MODEL, |bootstrap| {
        from_system(bootstrap, 1);
    });
    let admin = stack.admin();
    let order = Request::new("POST", &format!("/orders?user_key={USER_KEY}")).host(HOST);
    // Once fetched, the token is known but no fetched rule matches a POST.
    let (response, _) = send_until(&mut stack, &order, FIRST_FETCH_LIMIT, |response| {
        response.status != 503
    });
    assert_local_reply(&response, 404, "No Mapping Rule matched\n");
    assert_no_authrep(&admin);

    let mut rules = model_rules();
    rules.push(json!({ "http_method": "POST", "pattern": "/orders", "metric_system_name": "sales", "delta": 3 }));
    let fetches_before = system_fetches(&admin).len();
    let published = Instant::now();
    admin.publish(SERVICE_ID, ENVIRONMENT, &json!({ "proxy_rules": rules }));
    let (response, _) = send_until(&mut stack, &order, CHANGE_LIMIT, |response| {
        response.status != 404
    });
    let delay = published.elapsed();
    eprintln!("system: a rule published at run time applied {delay:?} later (ttl 1 s)");
    let echoed = assert_passed(&response);
    assert_eq!(echoed.method, "POST");
    assert_eq!(echoed.path, format!("/orders?user_key={USER_KEY}"));
    assert!(system_fetches(&admin).len() > fetches_before);
    let authrep = only_authrep(&admin);
    assert_authrep(&authrep, &[("user_key", USER_KEY)], &[("sales", "3")]);
}

/// System fails with `fault` from before Envoy starts, then recovers.
fn system_down_at_start(test: &str, fault: &str) {
    let mut stack = Stack::start(test, MODEL, |bootstrap| {
        from_system(bootstrap, 2);
        sim_of(bootstrap).fault(&system_fault(fault));
    });
    let admin = stack.admin();
    wait_for_fetches(&admin, 1);
    // The credential check comes first, then the unknown configuration counts as
    // 3scale unreachable.
    assert_local_reply(
        &stack.send(&get("/")),
        403,
        "Authentication parameters missing\n",
    );
    let request = keyed("/products/");
    assert_local_reply(&stack.send(&request), 503, "Service Unavailable\n");
    wait_for_log(&stack, FETCH_FAILED);
    // Retried with back-off (1 s, capped at ttl/2 = 1 s), never giving up.
    let failed = wait_for_fetches(&admin, 4);
    assert_local_reply(&stack.send(&request), 503, "Service Unavailable\n");
    assert_no_authrep(&admin);
    assert_warned_once_per_vm(&stack, FETCH_FAILED);

    admin.fault(&no_fault());
    let recovered = Instant::now();
    let (response, _) = send_until(&mut stack, &request, CHANGE_LIMIT, |response| {
        response.status == 200
    });
    let delay = recovered.elapsed();
    eprintln!(
        "system: down at start ({fault}), {failed} failed fetches; requests passed {delay:?} after System recovered"
    );
    assert_passed(&response);
    let authrep = only_authrep(&admin);
    assert_authrep(
        &authrep,
        &[("user_key", USER_KEY)],
        &[("hits", "1"), ("products", "2")],
    );
    wait_for_log(&stack, "System configuration fetched again after");
    assert_token_not_logged(&stack);
}

#[test]
fn system_answering_500_at_start_then_recovering() {
    system_down_at_start("system_500_at_start", "status");
}

#[test]
fn system_closing_connections_at_start_then_recovering() {
    system_down_at_start("system_close_at_start", "close");
}

#[test]
fn system_down_at_start_with_failure_policy_allow() {
    let mut stack = Stack::start("system_down_allow", MODEL, |bootstrap| {
        from_system(bootstrap, 2);
        set(bootstrap.plugin_json(), "failure_policy", json!("allow"));
        sim_of(bootstrap).fault(&system_fault("status"));
    });
    let admin = stack.admin();
    wait_for_fetches(&admin, 1);
    assert_local_reply(
        &stack.send(&get("/")),
        403,
        "Authentication parameters missing\n",
    );
    let echoed = assert_passed(&stack.send(&keyed("/products/")));
    assert_eq!(echoed.path, format!("/products/?user_key={USER_KEY}"));
    assert_no_authrep(&admin);
}

#[test]
fn bad_answers_keep_the_last_good_configuration() {
    let mut stack = Stack::start("system_bad_answers", MODEL, |bootstrap| {
        from_system(bootstrap, 1);
        bootstrap.plugin_json()["system"]["upstream"]["timeout"] = json!(SYSTEM_TIMEOUT_MS);
    });
    let admin = stack.admin();
    let request = keyed("/products/");
    send_until(&mut stack, &request, FIRST_FETCH_LIMIT, |response| {
        response.status == 200
    });
    // Each kind of bad answer in turn: several fetches fail, requests keep
    // passing with the fetched token and rules, one warning per kind and VM.
    let slow = json!({ "mode": "delay", "delay_ms": 3 * SYSTEM_TIMEOUT_MS, "scope": "system" });
    for (fault, warning) in [
        (
            system_fault("garbage"),
            "System's answer is unusable: the answer is not JSON",
        ),
        (system_fault("status"), "System answered 500"),
        (
            system_fault("close"),
            "System answered 503 or could not be reached",
        ),
        (slow, "System did not answer in time (504)"),
    ] {
        admin.fault(&fault);
        admin.reset();
        // Two VMs (main thread and worker) fetch at the same ticks: four
        // fetches are two failures of this kind in each.
        wait_for_fetches(&admin, 4);
        wait_for_log(&stack, warning);
        admin.reset();
        assert_passed(&stack.send(&request));
        assert_authrep(
            &only_authrep(&admin),
            &[("user_key", USER_KEY)],
            &[("hits", "1"), ("products", "2")],
        );
        assert_warned_once_per_vm(&stack, warning);
    }
    admin.fault(&no_fault());
    wait_for_log(&stack, "System configuration fetched again after");
    stack.envoy.assert_healthy();
    assert_token_not_logged(&stack);
}

#[test]
fn answer_that_is_not_a_proxy_configuration_never_crashes() {
    // The echo upstream stands in for System: 200, JSON, but no `proxy_config`
    // (the simulator's admin API always publishes a rule list).
    let mut stack = Stack::start("system_not_a_proxy_config", MODEL, |bootstrap| {
        from_system(bootstrap, 1);
        let plugin = bootstrap.plugin_json();
        plugin["system"]["upstream"] =
            json!({ "name": UPSTREAM_CLUSTER, "url": "http://echo.app.test/", "timeout": 2000 });
    });
    let unusable = "System's answer is unusable: the answer has no `proxy_config.content`";
    wait_for_log(&stack, unusable);
    assert_local_reply(
        &stack.send(&get("/")),
        403,
        "Authentication parameters missing\n",
    );
    assert_local_reply(&stack.send(&keyed("/")), 503, "Service Unavailable\n");
    assert!(stack.admin().requests().is_empty());
    assert_warned_once_per_vm(&stack, unusable);
}

#[test]
fn invalid_fetched_rules_are_skipped_with_a_warning() {
    let mut stack = Stack::start("system_invalid_rules", MODEL, |bootstrap| {
        from_system(bootstrap, 1);
        let rules = json!([
            { "http_method": "GET", "pattern": "no-slash", "metric_system_name": "hits" },
            { "http_method": "GET", "pattern": "/", "metric_system_name": "hits", "delta": 1 },
            { "http_method": "GET", "pattern": "/products/", "metric_system_name": "products", "delta": -1 },
        ]);
        sim_of(bootstrap).publish(SERVICE_ID, ENVIRONMENT, &json!({ "proxy_rules": rules }));
    });
    let admin = stack.admin();
    let request = keyed("/products/");
    let (response, _) = send_until(&mut stack, &request, FIRST_FETCH_LIMIT, |response| {
        response.status == 200
    });
    assert_passed(&response);
    assert_authrep(
        &only_authrep(&admin),
        &[("user_key", USER_KEY)],
        &[("hits", "1")],
    );
    // Several refreshes with the same skipped rules: one warning each, per VM.
    admin.reset();
    wait_for_fetches(&admin, 3);
    assert_warned_once_per_vm(&stack, "proxy_rules[0] skipped");
    assert_warned_once_per_vm(&stack, "proxy_rules[2] skipped");
    let log = stack.envoy.log();
    assert!(
        log.contains("no-slash"),
        "the warning names the bad pattern"
    );
    assert!(!log.contains("proxy_rules[1] skipped"));

    // A different set of skipped rules is logged again.
    let rules = json!([
        { "http_method": "GET", "pattern": "/", "metric_system_name": "hits", "delta": 1 },
        { "http_method": "GET", "pattern": "/products/", "metric_system_name": "products", "last": "yes" },
    ]);
    admin.publish(SERVICE_ID, ENVIRONMENT, &json!({ "proxy_rules": rules }));
    wait_for_log(&stack, "proxy_rules[1] skipped");
    admin.reset();
    assert_passed(&stack.send(&request));
    assert_authrep(
        &only_authrep(&admin),
        &[("user_key", USER_KEY)],
        &[("hits", "1")],
    );
}

#[test]
fn static_token_wins_and_static_rules_come_first() {
    let mut stack = Stack::start("system_static_first", MODEL, |bootstrap| {
        from_system(bootstrap, 2);
        let service = &mut bootstrap.plugin_json()["services"][0];
        service["token"] = json!(SERVICE_TOKEN);
        service["mapping_rules"] = json!([
            { "method": "GET", "pattern": "/products/", "usages": [{ "name": "sales", "delta": 1 }] },
        ]);
        let sim = sim_of(bootstrap);
        // System publishes a token the backend refuses: only the static one works.
        sim.publish(
            SERVICE_ID,
            ENVIRONMENT,
            &json!({ "proxy_rules": model_rules(), "token": "fetched-token-refused-by-backend" }),
        );
        sim.fault(&system_fault("status"));
    });
    let admin = stack.admin();
    let request = keyed("/products/");
    // With a static token and static rules the service works before any fetch succeeds.
    wait_for_fetches(&admin, 1);
    admin.reset();
    assert_passed(&stack.send(&request));
    assert_authrep(
        &only_authrep(&admin),
        &[("user_key", USER_KEY)],
        &[("sales", "1")],
    );

    admin.fault(&no_fault());
    let merged = poll(CHANGE_LIMIT, || {
        admin.reset();
        assert_passed(&stack.send(&request));
        let authrep = only_authrep(&admin);
        (authrep.usages().len() > 1).then_some(authrep)
    });
    let authrep = merged.expect("the fetched rules were never applied");
    assert_authrep(
        &authrep,
        &[("user_key", USER_KEY)],
        &[("sales", "1"), ("hits", "1"), ("products", "2")],
    );
}

#[test]
fn each_vm_fetches_on_its_own() {
    let mut stack = Stack::start("system_fetch_per_vm", MODEL, |bootstrap| {
        bootstrap.concurrency = 2;
        // A ttl far longer than the test: every fetch counted is a first fetch.
        from_system(bootstrap, 300);
    });
    let admin = stack.admin();
    send_until(&mut stack, &keyed("/"), FIRST_FETCH_LIMIT, |response| {
        response.status == 200
    });
    // Every VM has had several 500 ms ticks by now.
    std::thread::sleep(Duration::from_millis(1500));
    let fetches = system_fetches(&admin);
    let log = stack.envoy.log();
    let fetching_threads = lines_per_thread(&log, "mapping rules fetched from System");
    eprintln!(
        "system: with --concurrency 2 and ttl 300 s, {} System fetches for one service in the first seconds; threads that logged a fetched configuration: {fetching_threads:?}",
        fetches.len()
    );
    assert!(!fetches.is_empty());
    stack.envoy.assert_healthy();
}

#[test]
fn system_cluster_missing_never_crashes() {
    // Envoy refuses to dispatch a call to a cluster it does not have.
    let mut stack = Stack::start("system_cluster_missing", MODEL, |bootstrap| {
        from_system(bootstrap, 1);
        bootstrap.plugin_json()["system"]["upstream"]["name"] = json!("outbound|80||nowhere.test");
    });
    let not_sent = "the call could not be sent";
    wait_for_log(&stack, not_sent);
    assert_local_reply(&stack.send(&keyed("/")), 503, "Service Unavailable\n");
    // Retried (not given up) but warned once per VM.
    std::thread::sleep(Duration::from_millis(1000));
    assert_local_reply(&stack.send(&keyed("/")), 503, "Service Unavailable\n");
    assert_warned_once_per_vm(&stack, not_sent);
    assert!(stack.admin().requests().is_empty());
}
