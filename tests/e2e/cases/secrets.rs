//! Secrets in Envoy's log (docs/behaviour.md §10): service tokens, the System access
//! token, user keys and app keys never appear at info level, and at debug level
//! only redacted (`US…(24)`).
//!
//! One scenario runs through everything that logs: credentials from the query,
//! headers and Basic authorization, a service configured from System, refusals by
//! the filter and by 3scale, the backend failing and System failing. It runs once
//! with the filter at info and `strip_credentials` on, and once at debug with it
//! off. The rest of Envoy logs at info in both runs: Envoy's own debug lines
//! print whole requests, which is the operator's choice, not the filter's.
//!
//! The secrets are distinctive strings (the model `fixtures/secrets.yaml` holds
//! the same), so a plain substring search of the log cannot miss one.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::assert_local_reply;
use crate::envoy_config::Bootstrap;
use crate::harness::{Stack, poll};
use crate::http::Request;

const MODEL: &str = "secrets.yaml";
/// The service whose token and rules are in the plugin configuration.
const STATIC_SERVICE: &str = "3100000000011";
const STATIC_HOST: &str = "static.example.com";
const STATIC_TOKEN: &str = "SVCTOKEN-a4Kf9Hs2Jd6Pm1Yw";
/// The service whose token (below) and rules come from System.
const FETCHED_SERVICE: &str = "3100000000012";
const FETCHED_HOST: &str = "fetched.example.com";
const FETCHED_TOKEN: &str = "SVCTOKEN-p7Ge1Ka5Ux3Zn9Ri";
const SYSTEM_TOKEN: &str = "SYSTOKEN-q8Zr3Lw0Xc7Nv2Tb";
const USER_KEY: &str = "USERKEY-g5Tn8Qe3Rv0Lx7Bz";
const FETCHED_USER_KEY: &str = "USERKEY-c3Vh7Np1Ws5Kq9Dm";
const APP_ID: &str = "secrets-app";
const APP_KEY: &str = "APPKEY-m2Wc6Yj9Fu4Ds1Ho";
/// Keys 3scale refuses: secrets all the same (a typo of a real key is close to it).
const WRONG_USER_KEY: &str = "WRONGKEY-t6Yb0Mf8Hj2Ec4Ls";
const WRONG_APP_KEY: &str = "WRONGAPPKEY-n1Xd5Ra9Gk3Sw7Pv";

/// Every secret the scenario uses.
const SECRETS: [&str; 8] = [
    STATIC_TOKEN,
    FETCHED_TOKEN,
    SYSTEM_TOKEN,
    USER_KEY,
    FETCHED_USER_KEY,
    APP_KEY,
    WRONG_USER_KEY,
    WRONG_APP_KEY,
];

/// How long System may take to answer the first time, or again after a fault.
const FETCH_LIMIT: Duration = Duration::from_secs(10);

/// The plugin configuration of the scenario: the static service with user key
/// and app id/key credentials from query, headers and Basic authorization; the
/// fetched service with a user key; System refreshed every second.
fn plugin(bootstrap: &Bootstrap, strip: bool) -> Value {
    let port = bootstrap.backend.port();
    let upstream = |host: &str| {
        json!({
            "name": bootstrap.backend_cluster,
            "url": format!("http://{host}:{port}/"),
            "timeout": 1000,
        })
    };
    json!({
        "api": "v1",
        "strip_credentials": strip,
        "backend": { "name": "backend", "upstream": upstream("backend.3scale.test") },
        "system": {
            "name": "system",
            "upstream": upstream("system.3scale.test"),
            "token": SYSTEM_TOKEN,
            "ttl": 1,
        },
        "services": [
            {
                "id": STATIC_SERVICE,
                "token": STATIC_TOKEN,
                "authorities": [STATIC_HOST],
                "credentials": {
                    "user_key": [
                        { "query_string": { "keys": ["user_key"] } },
                        { "header": { "keys": ["x-user-key"] } },
                    ],
                    "app_id": [
                        { "query_string": { "keys": ["app_id"] } },
                        { "header": { "keys": ["app-id"] } },
                        {
                            "header": {
                                "keys": ["authorization"],
                                "ops": [
                                    { "split": { "separator": " ", "max": 2 } },
                                    { "length": { "min": 2 } },
                                    { "drop": { "head": 1 } },
                                    "base64_urlsafe",
                                    { "split": { "max": 2 } },
                                ],
                            },
                        },
                    ],
                    "app_key": [
                        { "query_string": { "keys": ["app_key"] } },
                        { "header": { "keys": ["app-key"] } },
                    ],
                },
                "mapping_rules": [
                    { "method": "any", "pattern": "/", "usages": [{ "name": "hits", "delta": 1 }] },
                ],
            },
            {
                "id": FETCHED_SERVICE,
                "authorities": [FETCHED_HOST],
                "credentials": {
                    "user_key": [
                        { "query_string": { "keys": ["user_key"] } },
                        { "header": { "keys": ["x-user-key"] } },
                    ],
                },
            },
        ],
    })
}

/// Starts the stack with the filter logging at `wasm_log_level`.
fn start(test: &str, wasm_log_level: &'static str, strip: bool) -> Stack {
    Stack::start(test, MODEL, |bootstrap| {
        bootstrap.wasm_log_level = wasm_log_level;
        bootstrap.plugin = crate::envoy_config::PluginConfiguration::Json(plugin(bootstrap, strip));
    })
}

fn at(host: &str, target: &str) -> Request {
    Request::get(target).host(host)
}

/// Sends `request` and checks its status.
fn expect(stack: &mut Stack, request: &Request, status: u16) {
    let response = stack.send(request);
    assert_eq!(response.status, status, "{request:?}\n{response:?}");
}

/// Everything that logs, in order; each step checked, so that the log has
/// something to show.
fn scenario(stack: &mut Stack) {
    let admin = stack.admin();
    // The fetched service passes once System has answered.
    let fetched = at(FETCHED_HOST, &format!("/?user_key={FETCHED_USER_KEY}"));
    let passed = poll(FETCH_LIMIT, || {
        (stack.send(&fetched).status == 200).then_some(())
    });
    assert!(passed.is_some(), "the fetched service never passed");

    // Accepted: user key in the query and in a header, app id and key in headers,
    // in the query and in Basic authorization.
    let basic = STANDARD.encode(format!("{APP_ID}:{APP_KEY}"));
    for request in [
        at(STATIC_HOST, &format!("/?user_key={USER_KEY}")),
        at(STATIC_HOST, "/").header("x-user-key", USER_KEY),
        at(STATIC_HOST, "/")
            .header("app-id", APP_ID)
            .header("app-key", APP_KEY),
        at(STATIC_HOST, &format!("/?app_id={APP_ID}&app_key={APP_KEY}")),
        at(STATIC_HOST, "/").header("authorization", format!("Basic {basic}")),
        at(FETCHED_HOST, "/").header("x-user-key", FETCHED_USER_KEY),
    ] {
        expect(stack, &request, 200);
    }

    // Refused by 3scale, and by the filter (no credentials; a key without an id).
    expect(
        stack,
        &at(STATIC_HOST, &format!("/?user_key={WRONG_USER_KEY}")),
        403,
    );
    expect(
        stack,
        &at(STATIC_HOST, "/")
            .header("app-id", APP_ID)
            .header("app-key", WRONG_APP_KEY),
        403,
    );
    let response = stack.send(&at(STATIC_HOST, "/"));
    assert_local_reply(&response, 403, "Authentication parameters missing\n");
    expect(
        stack,
        &at(STATIC_HOST, &format!("/?app_key={APP_KEY}")),
        403,
    );

    // The backend failing: a 500, then a closed connection.
    for mode in ["status", "close"] {
        admin.fault(&json!({ "mode": mode, "scope": "backend" }));
        expect(
            stack,
            &at(STATIC_HOST, &format!("/?user_key={USER_KEY}")),
            503,
        );
        expect(stack, &fetched, 503);
    }
    // System failing: its fetches fail (and are logged), the last good
    // configuration stays.
    admin.fault(&json!({ "mode": "status", "scope": "system" }));
    let failed = poll(FETCH_LIMIT, || {
        stack
            .envoy
            .log()
            .contains("fetching its configuration from System failed")
            .then_some(())
    });
    assert!(failed.is_some(), "no System failure was logged");
    expect(stack, &fetched, 200);
    admin.fault(&json!({ "mode": "none" }));
    expect(stack, &fetched, 200);
}

/// The secrets that appear in `log`, verbatim.
fn leaked(log: &str) -> Vec<&'static str> {
    SECRETS
        .into_iter()
        .filter(|secret| log.contains(secret))
        .collect()
}

/// How the filter writes a secret in a debug log (`threescale_wasm_auth::model::redact`).
fn redacted(secret: &str) -> String {
    let prefix: String = secret.chars().take(2).collect();
    format!("{prefix}…({})", secret.chars().count())
}

#[test]
fn no_secret_in_the_log_at_info() {
    let mut stack = start("secrets_at_info", "info", true);
    scenario(&mut stack);
    let log = stack.envoy.log();
    // The filter did log at info and above (the failures), just nothing secret.
    assert!(
        log.contains("denying the request (failure_policy: deny)"),
        "the filter logged no warning; the log proves nothing:\n{log}"
    );
    assert!(
        !log.contains("resolved from"),
        "debug lines at info level:\n{log}"
    );
    let leaked = leaked(&log);
    assert!(leaked.is_empty(), "secrets in the log at info: {leaked:?}");
}

#[test]
fn only_redacted_secrets_in_the_log_at_debug() {
    let mut stack = start("secrets_at_debug", "debug", false);
    scenario(&mut stack);
    let log = stack.envoy.log();
    let leaked = leaked(&log);
    assert!(leaked.is_empty(), "secrets in the log at debug: {leaked:?}");
    // The keys the filter found are in the debug lines, redacted.
    for key in [
        USER_KEY,
        FETCHED_USER_KEY,
        APP_KEY,
        WRONG_USER_KEY,
        WRONG_APP_KEY,
    ] {
        let shown = redacted(key);
        assert!(
            log.contains(&shown),
            "no `{shown}` for a key the filter read; debug lines:\n{}",
            log.lines()
                .filter(|line| line.contains("[debug]"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
