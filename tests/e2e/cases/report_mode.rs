//! `mode: report` (SPEC section 9, v2): nothing is denied because of 3scale, every
//! would-be denial goes upstream and is counted per kind, and the usage of known
//! applications reaches 3scale exactly once, with and without the cache.

use std::time::Duration;

use serde_json::json;

use super::{MODEL, assert_local_reply, assert_no_backend_call, assert_passed, get};
use crate::envoy_config::Bootstrap;
use crate::harness::{Stack, closed_port, counters_settled, poll};
use crate::http::{Request, Response};
use crate::plugin::{HOST, LIMITED_CALLS, LIMITED_USER_KEY, SERVICE_TOKEN, USER_KEY, set};
use crate::sim::SimAdmin;

/// The would-deny kinds, as the metrics name them.
const KINDS: [&str; 6] = [
    "unknown_service",
    "auth_missing",
    "auth_failed",
    "no_match",
    "limits_exceeded",
    "unavailable",
];
/// How long batched reports may take to arrive (several flush intervals).
const REPORT_LIMIT: Duration = Duration::from_secs(15);

fn report_mode(bootstrap: &mut Bootstrap) {
    set(bootstrap.plugin_json(), "mode", json!("report"));
}

fn enable_cache(bootstrap: &mut Bootstrap) {
    set(
        bootstrap.plugin_json(),
        "cache",
        json!({ "enabled": true, "ttl": 60, "flush_interval": 1 }),
    );
}

/// Checks `requests.would_deny.<kind>` for every kind, and `requests.authorized`
/// (once the filter has handed its counts to Envoy).
fn assert_would_deny(stack: &Stack, wanted: &[(String, u64)], context: &str) {
    let counts = counters_settled(&wanted.to_vec(), || would_deny(stack));
    assert_eq!(counts, wanted, "{context}");
}

/// `requests.would_deny.<kind>` for every kind, and `requests.authorized`.
fn would_deny(stack: &Stack) -> Vec<(String, u64)> {
    let stats = stack.envoy.stats("threescale_wasm_auth.requests");
    let value = |name: &str| {
        stats
            .iter()
            .find(|(stat, _)| stat == &format!("wasmcustom.threescale_wasm_auth.requests.{name}"))
            .map(|(_, value)| *value)
            .unwrap_or_else(|| panic!("Envoy has no requests.{name}: {stats:?}"))
    };
    let mut counts: Vec<(String, u64)> = KINDS
        .iter()
        .map(|kind| {
            (
                format!("would_deny.{kind}"),
                value(&format!("would_deny.{kind}")),
            )
        })
        .collect();
    counts.push(("authorized".to_owned(), value("authorized")));
    counts
}

fn expected(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> = KINDS
        .iter()
        .map(|kind| {
            let value = pairs
                .iter()
                .find(|(name, _)| name == kind)
                .map_or(0, |(_, value)| *value);
            (format!("would_deny.{kind}"), value)
        })
        .collect();
    let authorized = pairs
        .iter()
        .find(|(name, _)| *name == "authorized")
        .map_or(0, |(_, value)| *value);
    counts.push(("authorized".to_owned(), authorized));
    counts
}

/// The `hits` an application has for ever, as the simulator counts them
/// (`year` for the limited application, whose limit is yearly).
fn hits(admin: &SimAdmin, user_key: &str) -> u64 {
    let application = format!("user_key:{user_key}");
    admin
        .usage()
        .into_iter()
        .filter(|(app, metric, period, _)| {
            *app == application && metric == "hits" && period == "year"
        })
        .map(|(_, _, _, value)| value)
        .sum()
}

/// Waits until 3scale has counted `count` hits for the application, then checks
/// that the number stays there (nothing is reported twice).
fn assert_hits_exactly(admin: &SimAdmin, user_key: &str, count: u64) {
    let reached = poll(REPORT_LIMIT, || {
        (hits(admin, user_key) >= count).then_some(())
    });
    assert!(
        reached.is_some(),
        "{user_key}: 3scale counted {} hits, expected {count}",
        hits(admin, user_key)
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        hits(admin, user_key),
        count,
        "{user_key}: counted more than once"
    );
}

fn with_key(path: &str, key: &str) -> Request {
    get(&format!("{path}?user_key={key}"))
}

/// Sends one request of each would-be denial that needs no backend fault, and
/// checks that each went upstream.
fn send_every_denial(stack: &mut Stack) {
    let unknown = Request::get(&format!("/?user_key={USER_KEY}")).host("unknown.example.org");
    assert_passed(&stack.send(&unknown));
    assert_passed(&stack.send(&get("/")));
    assert_passed(
        &stack.send(&Request::new("POST", &format!("/nowhere?user_key={USER_KEY}")).host(HOST)),
    );
    assert_passed(&stack.send(&with_key("/", "not-a-known-key")));
    for _ in 0..LIMITED_CALLS + 2 {
        assert_passed(&stack.send(&with_key("/", LIMITED_USER_KEY)));
    }
    assert_passed(&stack.send(&with_key("/", USER_KEY)));
}

fn assert_no_secrets_logged(stack: &Stack) {
    let log = stack.envoy.log();
    for secret in [SERVICE_TOKEN, USER_KEY, LIMITED_USER_KEY] {
        assert!(
            !log.contains(secret),
            "the log holds a secret ({secret}):\n{log}"
        );
    }
    assert!(
        log.contains("mode: report") && log.contains("would reply limits_exceeded"),
        "the would-be denials are logged:\n{log}"
    );
}

#[test]
fn report_mode_lets_every_would_be_denial_through_and_counts_it() {
    let mut stack = Stack::start("report_mode", MODEL, report_mode);
    send_every_denial(&mut stack);
    let limited_calls = u64::try_from(LIMITED_CALLS).unwrap();
    assert_would_deny(
        &stack,
        &expected(&[
            ("unknown_service", 1),
            ("auth_missing", 1),
            ("no_match", 1),
            ("auth_failed", 1),
            ("limits_exceeded", 2),
            ("authorized", limited_calls + 1),
        ]),
        "report mode",
    );
    // Every request of a known application is counted once: those 3scale
    // authorized by their authrep, those over the limit by a report.
    let admin = stack.admin();
    assert_hits_exactly(&admin, LIMITED_USER_KEY, limited_calls + 2);
    assert_hits_exactly(&admin, USER_KEY, 1);
    assert_no_secrets_logged(&stack);
}

#[test]
fn report_mode_with_the_cache_reports_usage_exactly_once() {
    let mut stack = Stack::start("report_mode_cache", MODEL, |bootstrap| {
        report_mode(bootstrap);
        enable_cache(bootstrap);
    });
    send_every_denial(&mut stack);
    for _ in 0..3 {
        assert_passed(&stack.send(&with_key("/", USER_KEY)));
        assert_passed(&stack.send(&with_key("/", LIMITED_USER_KEY)));
    }
    let limited_calls = u64::try_from(LIMITED_CALLS).unwrap();
    assert_would_deny(
        &stack,
        &expected(&[
            ("unknown_service", 1),
            ("auth_missing", 1),
            ("no_match", 1),
            ("auth_failed", 1),
            ("limits_exceeded", 5),
            ("authorized", limited_calls + 4),
        ]),
        "report mode with the cache",
    );
    let admin = stack.admin();
    assert_hits_exactly(&admin, LIMITED_USER_KEY, limited_calls + 5);
    assert_hits_exactly(&admin, USER_KEY, 4);
}

#[test]
fn report_mode_lets_requests_through_while_3scale_is_unreachable() {
    for cache in [false, true] {
        let mut stack = Stack::start("report_mode_unreachable", MODEL, |bootstrap| {
            report_mode(bootstrap);
            if cache {
                enable_cache(bootstrap);
            }
            let nowhere = std::net::SocketAddr::from(([127, 0, 0, 1], closed_port()));
            bootstrap.backend_endpoint(nowhere);
        });
        assert_passed(&stack.send(&with_key("/", USER_KEY)));
        assert_would_deny(
            &stack,
            &expected(&[("unavailable", 1)]),
            &format!("cache: {cache}"),
        );
    }
}

#[test]
fn a_service_mode_overrides_the_top_level_mode() {
    // Report at the top, enforce for the service: only the unknown service passes.
    let mut stack = Stack::start("report_mode_service_enforce", MODEL, |bootstrap| {
        report_mode(bootstrap);
        bootstrap.plugin_json()["services"][0]["mode"] = json!("enforce");
    });
    let unknown = Request::get("/").host("unknown.example.org");
    assert_passed(&stack.send(&unknown));
    assert_local_reply(
        &stack.send(&get("/")),
        403,
        "Authentication parameters missing\n",
    );
    assert_no_backend_call(&stack.admin());
    drop(stack);
    // Enforce at the top, report for the service.
    let mut stack = Stack::start("report_mode_service_report", MODEL, |bootstrap| {
        bootstrap.plugin_json()["services"][0]["mode"] = json!("report");
    });
    let unknown = Request::get("/").host("unknown.example.org");
    assert_local_reply(&stack.send(&unknown), 403, "Unknown service\n");
    assert_passed(&stack.send(&get("/")));
    for _ in 0..LIMITED_CALLS + 1 {
        assert_passed(&stack.send(&with_key("/", LIMITED_USER_KEY)));
    }
    let limited_calls = u64::try_from(LIMITED_CALLS).unwrap();
    assert_hits_exactly(&stack.admin(), LIMITED_USER_KEY, limited_calls + 1);
}

/// The debug response headers of a response, by name.
fn debug_headers(response: &Response) -> Vec<(String, String)> {
    response
        .headers
        .iter()
        .filter(|(name, _)| name.starts_with("x-3scale-"))
        .map(|(name, value)| (name.clone(), String::from_utf8_lossy(value).into_owned()))
        .collect()
}

fn debug_request(token: &str) -> Request {
    get(&format!("/products/1/sold?user_key={USER_KEY}")).header("X-3scale-Debug", token)
}

#[test]
fn debug_headers_answer_the_service_token_only() {
    let mut stack = Stack::start("debug_headers", MODEL, |bootstrap| {
        set(bootstrap.plugin_json(), "debug_headers", json!(true));
    });
    // The right token: the response says how the request was seen.
    let response = stack.send(&debug_request(SERVICE_TOKEN));
    let echoed = assert_passed(&response);
    assert!(
        echoed.header_values("x-3scale-debug").is_empty(),
        "{:?}",
        echoed.headers
    );
    let headers = debug_headers(&response);
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name}: {headers:?}"))
    };
    assert_eq!(value("x-3scale-service-id"), crate::plugin::SERVICE_ID);
    assert_eq!(
        value("x-3scale-credentials"),
        "user_key from query parameter user_key"
    );
    assert_eq!(
        value("x-3scale-matched-rules"),
        "GET /, GET /products/, ANY /products/{id}/sold"
    );
    assert_eq!(
        value("x-3scale-usage"),
        "usage%5Bhits%5D=1&usage%5Bproducts%5D=2&usage%5Bsales%5D=1"
    );
    let text: String = format!("{headers:?}");
    assert!(
        !text.contains(USER_KEY) && !text.contains(SERVICE_TOKEN),
        "{text}"
    );
    // The filter's own replies get them too.
    let response = stack.send(&get("/").header("x-3scale-debug", SERVICE_TOKEN));
    assert_local_reply(&response, 403, "Authentication parameters missing\n");
    assert_eq!(
        debug_headers(&response),
        [
            (
                "x-3scale-service-id".to_owned(),
                crate::plugin::SERVICE_ID.to_owned()
            ),
            ("x-3scale-credentials".to_owned(), "none".to_owned()),
        ]
    );
    // A wrong token: nothing added, and the header is still removed.
    for wrong in [
        &SERVICE_TOKEN[..SERVICE_TOKEN.len() - 1],
        "e2e-service-tokem",
        "",
    ] {
        let response = stack.send(&debug_request(wrong));
        let echoed = assert_passed(&response);
        assert!(echoed.header_values("x-3scale-debug").is_empty(), "{wrong}");
        assert!(debug_headers(&response).is_empty(), "{wrong}: {response:?}");
    }
}

#[test]
fn debug_headers_off_adds_nothing() {
    let mut stack = Stack::start("debug_headers_off", MODEL, |_| {});
    let response = stack.send(&debug_request(SERVICE_TOKEN));
    assert_passed(&response);
    assert!(debug_headers(&response).is_empty(), "{response:?}");
}

#[test]
fn debug_headers_say_what_report_mode_would_have_done() {
    let mut stack = Stack::start("debug_headers_report", MODEL, |bootstrap| {
        report_mode(bootstrap);
        set(bootstrap.plugin_json(), "debug_headers", json!(true));
    });
    let response = stack.send(&get("/").header("x-3scale-debug", SERVICE_TOKEN));
    assert_passed(&response);
    let headers: Vec<(String, String)> = debug_headers(&response);
    assert!(
        headers.contains(&("x-3scale-would-deny".to_owned(), "auth_missing".to_owned())),
        "{headers:?}"
    );
}

#[test]
fn a_bad_mode_is_refused_with_its_path_and_the_allowed_values() {
    let nowhere = std::net::SocketAddr::from(([127, 0, 0, 1], closed_port()));
    let mut plugin = crate::plugin::base(
        "outbound|1||backend.3scale.test",
        &format!("http://{nowhere}/"),
    );
    plugin["services"][0]["mode"] = json!("audit");
    super::configuration::assert_refused(
        "report_mode_bad_mode",
        crate::envoy_config::PluginConfiguration::Json(plugin),
        &[
            "services[0].mode",
            "unknown variant `audit`, expected `enforce` or `report`",
        ],
    );
}
