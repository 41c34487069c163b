//! Hostile input end to end: header values and query strings up to Envoy's limits,
//! thousands of query parameters, bytes that are not UTF-8, a deeply nested JSON
//! payload, and a 3scale backend or System that answers garbage, huge answers,
//! half an answer, or nothing at all.
//!
//! After each attack the filter's VM must still be the one it started with (every
//! `Stack::send` checks Envoy's log for panics and the `vm_reload` counters), an
//! ordinary request must still pass, and no request without valid credentials may
//! have reached the upstream: every refusal is checked to be the filter's own reply.

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::{
    MODEL, assert_authrep, assert_local_reply, assert_no_backend_call, assert_passed, get,
    single_authrep,
};
use crate::envoy_config::Bootstrap;
use crate::harness::{Scratch, Stack, fixture, poll};
use crate::http::{Request, Response};
use crate::plugin::{USER_KEY, set, use_system};

/// Envoy's default `max_request_headers_kb`: the request line and headers together.
const ENVOY_HEADER_LIMIT: usize = 60 * 1024;
/// What a request may add to an attacker's bytes and still stay under the limit
/// (request line, `host`, `connection` and the header names).
const HEADROOM: usize = 2 * 1024;
/// Milliseconds the filter waits for 3scale where the backend hangs.
const BACKEND_TIMEOUT_MS: u64 = 500;
/// How long System may take to be fetched (or to be retried after a fault).
const FETCH_LIMIT: Duration = Duration::from_secs(10);
/// The header the JWT case reads its payload from.
const JWT_HEADER: &str = "x-jwt-payload";

/// Checks that an ordinary request still passes and was authorized with the
/// expected call (the simulator's log is reset first).
fn assert_ordinary_request_passes(stack: &mut Stack) {
    stack.admin().reset();
    assert_passed(&stack.send(&get(&format!("/?user_key={USER_KEY}"))));
    let authrep = single_authrep(&stack.admin());
    assert_authrep(&authrep, &[("user_key", USER_KEY)], &[("hits", "1")]);
}

/// Checks that the filter refused the request itself: 403 for credentials it
/// did not find or 3scale refused, 503 when 3scale could not decide.
fn assert_refused(response: &Response, status: u16) {
    let bodies: &[&str] = match status {
        403 => &[
            "Authentication parameters missing\n",
            "Authentication failed\n",
        ],
        _ => &["Service Unavailable\n"],
    };
    let body = response.text();
    assert!(
        bodies.contains(&body.as_str()),
        "expected one of {bodies:?}:\n{response:?}"
    );
    assert_local_reply(response, status, &body);
}

/// Whether the echo upstream wrote this answer (it answers with the request as JSON).
fn from_upstream(response: &Response) -> bool {
    serde_json::from_slice::<Value>(&response.body).is_ok_and(|echo| echo.get("method").is_some())
}

#[test]
fn header_values_near_and_over_envoy_limit() {
    let mut stack = Stack::start("adversarial_long_headers", MODEL, |_| {});
    // A user key of almost 60 KiB: found, sent to 3scale (which refuses the
    // oversized call), never passed on.
    let huge_key = "k".repeat(ENVOY_HEADER_LIMIT - HEADROOM);
    let response = stack.send(&get("/").header("x-user-key", &huge_key));
    assert_refused(&response, 403);
    // Several long headers that add up to the same, with the real key among them.
    let mut request = get("/").header("x-user-key", USER_KEY);
    for index in 0..10 {
        request = request.header(
            &format!("x-filler-{index}"),
            "f".repeat((ENVOY_HEADER_LIMIT - HEADROOM) / 10),
        );
    }
    stack.admin().reset();
    assert_passed(&stack.send(&request));
    assert_authrep(
        &single_authrep(&stack.admin()),
        &[("user_key", USER_KEY)],
        &[("hits", "1")],
    );
    // Over the limit: Envoy refuses the request before the filter sees it.
    stack.admin().reset();
    let response =
        stack.send(&get("/").header("x-user-key", "k".repeat(ENVOY_HEADER_LIMIT + 1024)));
    assert_eq!(response.status, 431, "{response:?}");
    assert_no_backend_call(&stack.admin());
    assert_ordinary_request_passes(&mut stack);
}

#[test]
fn thousands_of_query_parameters_near_envoy_limit() {
    let mut stack = Stack::start("adversarial_query", MODEL, |bootstrap| {
        set(bootstrap.plugin_json(), "strip_credentials", json!(true));
    });
    // 6000 parameters, the credential in the middle and repeated (only the
    // first counts; every copy is stripped before the request goes on).
    let mut parameters: Vec<String> = (0..6000).map(|index| format!("p{index}=v")).collect();
    parameters.insert(3000, format!("user_key={USER_KEY}"));
    parameters.insert(4500, "user_key=second-copy".to_owned());
    parameters.push("user%5Fkey=encoded-copy".to_owned());
    let query = parameters.join("&");
    assert!(
        query.len() < ENVOY_HEADER_LIMIT - HEADROOM,
        "{}",
        query.len()
    );
    let echoed = assert_passed(&stack.send(&get(&format!("/?{query}"))));
    let forwarded: Vec<&str> = echoed
        .path
        .strip_prefix("/?")
        .unwrap_or_default()
        .split('&')
        .collect();
    assert_eq!(forwarded.len(), 6000, "only the credentials are removed");
    assert!(
        forwarded.iter().all(|pair| pair.starts_with('p')),
        "a credential reached the upstream"
    );
    assert_authrep(
        &single_authrep(&stack.admin()),
        &[("user_key", USER_KEY)],
        &[("hits", "1")],
    );

    // As many empty and `=`-only parameters, and none with the key: refused
    // without a call.
    stack.admin().reset();
    let noise = ["&", "=", "&=&", "user_key&"].repeat(5000).concat();
    let noise = noise.get(..ENVOY_HEADER_LIMIT - HEADROOM).unwrap();
    let response = stack.send(&get(&format!("/?{noise}")));
    assert_refused(&response, 403);
    assert_ordinary_request_passes(&mut stack);
}

#[test]
fn bytes_that_are_not_utf8_anywhere() {
    let mut stack = Stack::start("adversarial_bytes", MODEL, |_| {});
    // Basic credentials, an app key header and the host with invalid bytes: the
    // values do not resolve, so there are no credentials to check.
    for (name, value) in [
        ("authorization", &b"Basic \xff\xfe\xfd"[..]),
        ("authorization", b"Basic YWxhZGRpbjpvcGVu\xc3\x28c2FtZQ=="),
        ("app-id", b"aladdin\x80"),
        ("x-user-key", b"\xc0\xaf"),
    ] {
        let response = stack.send(&get("/").header(name, value));
        assert_refused(&response, 403);
    }
    // Percent-encoded invalid UTF-8 in the key's value and name.
    for target in [
        "/?user_key=%C3%28",
        "/?user%FF_key=x",
        "/?%FF=%FE&user_key=%80",
    ] {
        assert_refused(&stack.send(&get(target)), 403);
    }
    assert_no_backend_call(&stack.admin());
    // An authority that is not UTF-8, with a valid key: Envoy or the filter
    // refuses it; nothing reaches the upstream.
    let response = stack.send(
        &Request::get(&format!("/?user_key={USER_KEY}")).header("host", b"api.\xff.example.com"),
    );
    assert_ne!(response.status, 200, "{response:?}");
    assert!(
        !from_upstream(&response),
        "the upstream answered:\n{response:?}"
    );
    assert_ordinary_request_passes(&mut stack);
}

/// Reads the user key from the `sub` of a JWT payload header (base64url JSON).
fn user_key_from_jwt(bootstrap: &mut Bootstrap) {
    let plugin = bootstrap.plugin_json();
    plugin["services"][0]["credentials"]["user_key"] = json!([{
        "header": {
            "keys": [JWT_HEADER],
            "ops": ["base64_urlsafe", { "json": [{ "keys": ["sub"] }] }],
        },
    }]);
}

/// A JWT payload with `sub` next to an array nested `depth` deep.
fn nested_payload(depth: usize, sub: &str) -> String {
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let json = format!(r#"{{"deep":{nested},"sub":"{sub}"}}"#);
    URL_SAFE_NO_PAD.encode(json)
}

#[test]
fn deeply_nested_json_in_a_jwt_payload_header() {
    let mut stack = Stack::start("adversarial_jwt_json", MODEL, user_key_from_jwt);
    // Shallow nesting is an ordinary payload.
    let response = stack.send(&get("/").header(JWT_HEADER, nested_payload(20, USER_KEY)));
    assert_passed(&response);
    // Nesting as deep as the header limit allows: the JSON parser's depth limit
    // refuses it, so there is no credential.
    stack.admin().reset();
    let depth = ((ENVOY_HEADER_LIMIT - HEADROOM) * 3 / 4 - 100) / 2;
    let payload = nested_payload(depth, USER_KEY);
    assert!(payload.len() < ENVOY_HEADER_LIMIT - HEADROOM);
    assert_refused(&stack.send(&get("/").header(JWT_HEADER, &payload)), 403);
    // Unbalanced, and not base64 at all.
    let unbalanced = URL_SAFE_NO_PAD.encode("[".repeat(depth));
    assert_refused(&stack.send(&get("/").header(JWT_HEADER, &unbalanced)), 403);
    assert_refused(
        &stack.send(&get("/").header(JWT_HEADER, "!!!not*base64!!!")),
        403,
    );
    assert_no_backend_call(&stack.admin());
    stack.admin().reset();
    assert_passed(&stack.send(&get("/").header(JWT_HEADER, nested_payload(1, USER_KEY))));
}

/// A fault on the 3scale backend's endpoints only.
fn backend_fault(mode: &str) -> Value {
    json!({ "mode": mode, "scope": "backend", "size": 16 * 1024 * 1024 })
}

#[test]
fn backend_answering_garbage_half_an_answer_or_nothing() {
    let mut stack = Stack::start("adversarial_backend", MODEL, |bootstrap| {
        bootstrap.plugin_json()["backend"]["upstream"]["timeout"] = json!(BACKEND_TIMEOUT_MS);
    });
    for mode in ["raw", "truncated", "close", "hang"] {
        stack.admin().fault(&backend_fault(mode));
        stack.admin().reset();
        let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
        assert_eq!(response.status, 503, "fault {mode}:\n{response:?}");
        assert_refused(&response, 503);
        let calls = stack.admin().requests();
        assert_eq!(calls.len(), 1, "fault {mode}: {calls:#?}");
        stack.admin().fault(&json!({ "mode": "none" }));
        assert_ordinary_request_passes(&mut stack);
    }
}

#[test]
fn huge_backend_answers() {
    let mut stack = Stack::start("adversarial_backend_huge", MODEL, |_| {});
    stack.admin().fault(&backend_fault("huge"));
    // The verdict is in the status and headers; a 16 MiB body after them
    // changes nothing, for a refusal as for an authorization.
    let response = stack.send(&get("/?user_key=not-a-known-key"));
    assert_refused(&response, 403);
    stack.admin().reset();
    assert_passed(&stack.send(&get(&format!("/?user_key={USER_KEY}"))));
    assert_eq!(stack.admin().requests().len(), 1);
    stack.admin().fault(&json!({ "mode": "none" }));
    assert_ordinary_request_passes(&mut stack);
}

#[test]
fn huge_backend_answers_with_the_cache() {
    let mut stack = Stack::start("adversarial_backend_huge_cache", MODEL, |bootstrap| {
        set(
            bootstrap.plugin_json(),
            "cache",
            // No batched report during the test: only authreps go to 3scale.
            json!({ "enabled": true, "ttl": 60, "flush_interval": 60 }),
        );
    });
    stack.admin().fault(&backend_fault("huge"));
    // The filter reads at most MAX_STATUS_BODY (256 KiB) of the 16 MiB body:
    // the document comes first and the padding after it, so the entry is
    // cached from what was read and the second request is a hit.
    let request = get(&format!("/?user_key={USER_KEY}"));
    assert_passed(&stack.send(&request));
    single_authrep(&stack.admin());
    stack.admin().reset();
    assert_passed(&stack.send(&request));
    let authreps = stack.admin().requests_to("/transactions/authrep.xml");
    assert!(authreps.is_empty(), "a hit calls nobody: {authreps:#?}");
    // An unknown key still asks 3scale, and is refused.
    assert_refused(&stack.send(&get("/?user_key=not-a-known-key")), 403);
}

/// The service takes its token and rules from System (refreshed every second).
fn from_system(bootstrap: &mut Bootstrap) {
    let cluster = bootstrap.backend_cluster.clone();
    let url = format!("http://system.3scale.test:{}/", bootstrap.backend.port());
    use_system(bootstrap.plugin_json(), &cluster, &url);
    bootstrap.plugin_json()["system"]["ttl"] = json!(1);
    bootstrap.plugin_json()["system"]["upstream"]["timeout"] = json!(BACKEND_TIMEOUT_MS);
}

/// Sends an ordinary request until it passes (System's first good answer may
/// take a retry to arrive).
fn wait_until_passing(stack: &mut Stack) {
    let request = get(&format!("/?user_key={USER_KEY}"));
    let passed = poll(FETCH_LIMIT, || {
        (stack.send(&request).status == 200).then_some(())
    });
    assert!(
        passed.is_some(),
        "requests still refused {FETCH_LIMIT:?} after System recovered"
    );
}

#[test]
fn system_answers_that_are_not_json_or_are_huge() {
    for mode in ["garbage", "raw", "truncated", "hang"] {
        let mut stack = Stack::start(&format!("adversarial_system_{mode}"), MODEL, |bootstrap| {
            crate::sim::SimAdmin::new(bootstrap.backend)
                .fault(&json!({ "mode": mode, "scope": "system" }));
            from_system(bootstrap);
        });
        let fetched = poll(FETCH_LIMIT, || {
            let calls = stack.admin().requests();
            (!calls.is_empty()).then_some(())
        });
        assert!(fetched.is_some(), "{mode}: no System fetch");
        // No token and no rules: every request is refused, none is sent on.
        let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
        assert_refused(&response, 503);
        let authreps = stack.admin().requests_to("/transactions/authrep.xml");
        assert!(authreps.is_empty(), "{mode}: {authreps:#?}");
        stack.admin().fault(&json!({ "mode": "none" }));
        wait_until_passing(&mut stack);
    }
    // A System answer padded to 16 MiB is still a valid configuration (given
    // the time to arrive on a loaded machine).
    let mut stack = Stack::start("adversarial_system_huge", MODEL, |bootstrap| {
        crate::sim::SimAdmin::new(bootstrap.backend).fault(&json!({
            "mode": "huge", "scope": "system", "size": 16 * 1024 * 1024,
        }));
        from_system(bootstrap);
        bootstrap.plugin_json()["system"]["upstream"]["timeout"] = json!(5000);
    });
    wait_until_passing(&mut stack);
}

/// Assembles `fixtures/trap.wat` (binaryen's `wasm-as`, installed by `make build`
/// with `wasm-opt`) into `scratch`.
fn trapping_module(scratch: &Scratch) -> std::path::PathBuf {
    let module = scratch.file("trap.wasm");
    let status = Command::new("wasm-as")
        .arg(fixture("trap.wat"))
        .arg("-o")
        .arg(&module)
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run wasm-as (binaryen, installed by `make build`): {e}")
        });
    assert!(status.success(), "wasm-as failed: {status}");
    module
}

/// What the suite's health check rests on: a VM that fails is answered with 503
/// under `FAIL_RELOAD` (never let through), and the failure shows in the
/// `vm_reload` counters that `Stack::send` checks after every request. The
/// module stands in for a filter that panics: it traps on every request.
#[test]
fn a_failing_vm_denies_and_is_detected() {
    let modules = Scratch::new("adversarial_trap_module");
    let module = trapping_module(&modules);
    let stack = Stack::start("adversarial_trap", MODEL, |bootstrap| {
        bootstrap.wasm = module.clone();
    });
    assert!(
        stack
            .envoy
            .vm_reloads()
            .iter()
            .all(|(_, count)| *count == 0),
        "reloads before any request"
    );
    let request = get(&format!("/?user_key={USER_KEY}"));
    // The VM fails on the first request; the next ones are answered while Envoy
    // backs off, or reload it and fail again.
    let detected = poll(FETCH_LIMIT, || {
        let response = stack.envoy.send(&request);
        assert_eq!(
            response.status, 503,
            "a failed VM let a request through:\n{response:?}"
        );
        assert!(!from_upstream(&response), "{response:?}");
        let reloads = stack.envoy.vm_reloads();
        reloads
            .iter()
            .any(|(_, count)| *count > 0)
            .then_some(reloads)
    });
    assert!(
        detected.is_some(),
        "the VM failure never showed in the reload counters"
    );
    assert_no_backend_call(&stack.admin());
}
