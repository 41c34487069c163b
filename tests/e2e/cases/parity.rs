//! APIcast parity (docs/behaviour.md §3 step 5 and §6, v2): mapping rules see the normal
//! form of the path, a repeated query parameter counts by its last value, and
//! `passthrough_metadata` cannot be spoofed with `_` nor confused by `:`.
//!
//! What Envoy 1.40 does with these spellings under our test configuration (the
//! connection manager's defaults: `normalize_path: false`, `merge_slashes: false`,
//! `path_with_escaped_slashes_action` left to its default, which keeps `%2F`):
//! it accepts every one of them and passes the path to the filter and to the
//! upstream byte for byte, so the filter has to see through them itself. The one
//! exception is a fragment: Envoy's HTTP/1 codec answers a request target with
//! `#` with its own 400 before any filter runs.

use serde_json::{Value, json};

use super::{MODEL, assert_no_backend_call, assert_passed, get, single_authrep};
use crate::harness::Stack;
use crate::plugin::{SERVICE_ID, USER_KEY, set};

/// `GET /admin` charges `products` 5 (the expensive metric), `GET /` charges
/// `hits` 1, and two rules tell `tag=a` from `tag=b`.
fn parity_rules() -> Value {
    json!([
        { "method": "GET", "pattern": "/admin", "usages": [{ "name": "products", "delta": 5 }] },
        { "method": "GET", "pattern": "/", "usages": [{ "name": "hits", "delta": 1 }] },
        { "method": "GET", "pattern": "/search?tag=a", "usages": [{ "name": "sales", "delta": 1 }] },
        { "method": "GET", "pattern": "/search?tag=b", "usages": [{ "name": "products", "delta": 1 }] },
    ])
}

fn start(test: &str, passthrough: bool) -> Stack {
    Stack::start(test, MODEL, |bootstrap| {
        let plugin = bootstrap.plugin_json();
        plugin["services"][0]["mapping_rules"] = parity_rules();
        if passthrough {
            set(plugin, "passthrough_metadata", json!(true));
        }
    })
}

/// Sends `path` with the user key appended and returns the usages 3scale was
/// asked for, after checking that the upstream got the path as it was sent.
fn charged(stack: &mut Stack, path: &str) -> Vec<(String, String)> {
    let separator = if path.contains('?') { '&' } else { '?' };
    let target = format!("{path}{separator}user_key={USER_KEY}");
    stack.admin().reset();
    let echoed = assert_passed(&stack.send(&get(&target)));
    assert_eq!(
        echoed.path, target,
        "the upstream must get the path unchanged"
    );
    let authrep = single_authrep(&stack.admin());
    assert_eq!(
        authrep.param_values("user_key"),
        vec![USER_KEY],
        "{authrep:?}"
    );
    authrep.usages()
}

fn usages(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(metric, delta)| ((*metric).to_owned(), (*delta).to_owned()))
        .collect()
}

#[test]
fn every_spelling_of_a_path_envoy_accepts_is_charged_as_that_path() {
    let mut stack = start("parity_spellings", false);
    let admin = usages(&[("products", "5"), ("hits", "1")]);
    for spelling in [
        "/admin",
        "/%61dmin",
        "/%61%64%6d%69%6E",
        "/./admin",
        "/%2e/admin",
        "/public/../admin",
        "/public/%2e%2e/admin",
        "/public/%2E%2E/admin",
        "/public/.%2e/admin",
        "/../admin",
        "//admin",
        "/public//..//admin",
    ] {
        assert_eq!(charged(&mut stack, spelling), admin, "{spelling}");
    }
    // `%2F` is not a separator: `..%2F` is an ordinary segment, not a way up.
    let hits = usages(&[("hits", "1")]);
    for spelling in ["/public/..%2Fadmin", "/public/%2e%2e%2fadmin", "/a%2fb"] {
        assert_eq!(charged(&mut stack, spelling), hits, "{spelling}");
    }
    // A fragment never reaches the filter: Envoy refuses the request itself.
    stack.admin().reset();
    let response = stack.send(&get(&format!("/admin?user_key={USER_KEY}#x")));
    assert_eq!(response.status, 400, "{response:?}");
    assert_no_backend_call(&stack.admin());
}

#[test]
fn a_repeated_parameter_is_charged_by_its_last_value() {
    let mut stack = start("parity_repeated_parameter", false);
    let tag_a = usages(&[("hits", "1"), ("sales", "1")]);
    let tag_b = usages(&[("hits", "1"), ("products", "1")]);
    assert_eq!(charged(&mut stack, "/search?tag=b&tag=a"), tag_a);
    assert_eq!(charged(&mut stack, "/search?tag=a&tag=b"), tag_b);
    assert_eq!(charged(&mut stack, "/search?tag=a&x=1&tag=b"), tag_b);
}

#[test]
fn passthrough_normalises_too_and_cannot_be_spoofed_with_underscores() {
    let mut stack = start("parity_passthrough", true);
    let request = get(&format!("/public/%2e%2e/%61dmin?user_key={USER_KEY}"))
        .header("x_3scale_user_key", "spoofed")
        .header("X_3scale-App-Id", "spoofed")
        .header("x-3scale_service_id", "spoofed")
        .header("x_3scale_usages", "{\"hits\":1000}")
        .header("x-3scalex", "kept");
    let echoed = assert_passed(&stack.send(&request));
    assert_no_backend_call(&stack.admin());
    for (name, _) in &echoed.headers {
        let read_as_dashes = name.to_ascii_lowercase().replace('_', "-");
        if read_as_dashes.starts_with("x-3scale-") {
            assert_eq!(name, &read_as_dashes, "{name} reached the upstream");
        }
    }
    assert_eq!(echoed.header_values("x-3scale-user-key"), vec![USER_KEY]);
    assert_eq!(
        echoed.header_values("x-3scale-service-id"),
        vec![SERVICE_ID]
    );
    assert_eq!(echoed.header_values("x-3scalex"), vec!["kept"]);
    let usages: Value =
        serde_json::from_str(echoed.header("x-3scale-usages").unwrap_or_default()).unwrap();
    assert_eq!(usages, json!({ "products": 5, "hits": 1 }));
}

#[test]
fn passthrough_escapes_percent_and_colon_in_the_app_id_header() {
    let mut stack = start("parity_passthrough_app_id", true);
    let request = get("/")
        .header("app-id", "tenant:42%")
        .header("app-key", "k:e%3Ay");
    let echoed = assert_passed(&stack.send(&request));
    assert_eq!(
        echoed.header_values("x-3scale-app-id"),
        vec!["tenant%3A42%25:k%3Ae%253Ay"]
    );
    let request = get("/").header("app-id", "a:b");
    let echoed = assert_passed(&stack.send(&request));
    assert_eq!(echoed.header_values("x-3scale-app-id"), vec!["a%3Ab"]);
}
