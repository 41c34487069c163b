//! `passthrough_metadata` and the extensions of docs/behaviour.md §9.

use serde_json::{Value, json};

use super::{
    MODEL, assert_authrep, assert_local_reply, assert_no_backend_call, assert_passed, get,
    single_authrep,
};
use crate::envoy_config::BACKEND_HOST;
use crate::harness::Stack;
use crate::http::{Request, Response};
use crate::plugin::{
    APP_ID, APP_KEY, HOST, LIMITED_CALLS, LIMITED_USER_KEY, SERVICE_ID, SERVICE_TOKEN, USER_KEY,
    set,
};

#[test]
fn passthrough_metadata() {
    let mut stack = Stack::start("passthrough_metadata", MODEL, |bootstrap| {
        set(bootstrap.plugin_json(), "passthrough_metadata", json!(true));
    });
    let backend_port = stack.sim.backend.port();
    let request = get(&format!("/products/7/sold?user_key={USER_KEY}"))
        .header("x-3scale-user-key", "spoofed")
        .header("x-3scale-service-token", "spoofed-token")
        .header("X-3scale-Usages", "{\"hits\":1000}");
    let response = stack.send(&request);
    let echoed = assert_passed(&response);
    assert_no_backend_call(&stack.admin());

    assert_eq!(echoed.header_values("x-3scale-user-key"), vec![USER_KEY]);
    assert_eq!(
        echoed.header_values("x-3scale-service-id"),
        vec![SERVICE_ID]
    );
    assert_eq!(
        echoed.header_values("x-3scale-service-token"),
        vec![SERVICE_TOKEN]
    );
    assert_eq!(
        echoed.header_values("x-3scale-cluster-name"),
        vec![format!("outbound|{backend_port}||{BACKEND_HOST}")]
    );
    assert_eq!(
        echoed.header_values("x-3scale-upstream-url"),
        vec![format!("http://{BACKEND_HOST}:{backend_port}/")]
    );
    assert_eq!(echoed.header_values("x-3scale-timeout"), vec!["2000"]);
    let usages: Vec<&str> = echoed.header_values("x-3scale-usages");
    assert_eq!(
        usages.len(),
        1,
        "one x-3scale-usages header: {:?}",
        echoed.headers
    );
    let usages: Value = serde_json::from_str(usages[0]).unwrap();
    assert_eq!(usages, json!({ "hits": 1, "products": 2, "sales": 1 }));
    assert!(
        echoed.header_values("x-3scale-app-id").is_empty(),
        "no app id was sent: {:?}",
        echoed.headers
    );

    let response = stack.send(&get("/").header("app-id", APP_ID).header("app-key", APP_KEY));
    let echoed = assert_passed(&response);
    assert_eq!(
        echoed.header_values("x-3scale-app-id"),
        vec![format!("{APP_ID}:{APP_KEY}")]
    );
    assert!(echoed.header_values("x-3scale-user-key").is_empty());
    assert_no_backend_call(&stack.admin());
}

/// The `RateLimit-*` header values of a response, as numbers.
fn rate_limit(response: &Response) -> (Option<i64>, Option<i64>, Option<i64>) {
    let number = |name: &str| response.header(name).and_then(|v| v.parse().ok());
    (
        number("ratelimit-limit"),
        number("ratelimit-remaining"),
        number("ratelimit-reset"),
    )
}

#[test]
fn rate_limit_headers() {
    let mut stack = Stack::start("rate_limit_headers", MODEL, |bootstrap| {
        set(bootstrap.plugin_json(), "rate_limit_headers", json!(true));
    });
    let request = get(&format!("/?user_key={LIMITED_USER_KEY}"));
    for call in 1..=LIMITED_CALLS {
        let response = stack.send(&request);
        assert_passed(&response);
        let (limit, remaining, reset) = rate_limit(&response);
        assert_eq!(limit, Some(LIMITED_CALLS as i64), "{response:?}");
        assert_eq!(
            remaining,
            Some((LIMITED_CALLS - call) as i64),
            "{response:?}"
        );
        assert!(reset.is_some_and(|r| r > 0), "{response:?}");
    }
    let response = stack.send(&request);
    assert_local_reply(&response, 429, "Usage limit exceeded\n");
    let (limit, remaining, reset) = rate_limit(&response);
    assert_eq!(
        (limit, remaining),
        (Some(LIMITED_CALLS as i64), Some(0)),
        "{response:?}"
    );
    let reset = reset.unwrap_or_else(|| panic!("no RateLimit-Reset:\n{response:?}"));
    let retry_after: i64 = response
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1);
    assert_eq!(
        retry_after, reset,
        "Retry-After is the seconds until the reset:\n{response:?}"
    );

    // An application without limits gets no headers.
    let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
    assert_passed(&response);
    assert_eq!(rate_limit(&response), (None, None, None), "{response:?}");
}

#[test]
fn strip_credentials() {
    let mut stack = Stack::start("strip_credentials", MODEL, |bootstrap| {
        set(bootstrap.plugin_json(), "strip_credentials", json!(true));
    });
    let response = stack.send(&get(&format!(
        "/products/?a=1&user_key={USER_KEY}&b=%20x&a=2"
    )));
    let echoed = assert_passed(&response);
    assert_eq!(
        echoed.path, "/products/?a=1&b=%20x&a=2",
        "other parameters are kept byte for byte"
    );
    assert_authrep(
        &single_authrep(&stack.admin()),
        &[("user_key", USER_KEY)],
        &[("hits", "1"), ("products", "1")],
    );

    let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
    assert_eq!(assert_passed(&response).path, "/", "no dangling `?`");

    let request = get("/")
        .header("app-id", APP_ID)
        .header("app-key", APP_KEY)
        .header("x-kept", "1");
    let echoed = assert_passed(&stack.send(&request));
    assert!(
        echoed.header_values("app-id").is_empty(),
        "{:?}",
        echoed.headers
    );
    assert!(
        echoed.header_values("app-key").is_empty(),
        "{:?}",
        echoed.headers
    );
    assert_eq!(echoed.header_values("x-kept"), vec!["1"]);
}

#[test]
fn errors_overrides() {
    let mut stack = Stack::start("errors_overrides", MODEL, |bootstrap| {
        let errors = json!({
            "auth_missing": {
                "status": 401,
                "body": "credentials required",
                "headers": { "www-authenticate": "Basic realm=\"api\"" },
            },
            "unknown_service": {
                "content_type": "application/json",
                "body": "{\"error\":\"unknown service\"}",
            },
        });
        set(bootstrap.plugin_json(), "errors", errors);
    });
    let response = stack.send(&get("/"));
    assert_eq!(response.status, 401, "{response:?}");
    assert_eq!(
        response.text(),
        "credentials required",
        "the body is sent exactly as configured"
    );
    assert_eq!(
        response.header("www-authenticate").as_deref(),
        Some("Basic realm=\"api\"")
    );
    super::assert_powered_by(&response);

    let response = stack.send(&Request::get("/").host("elsewhere.example.org"));
    assert_eq!(
        response.status, 403,
        "the status is kept when not overridden:\n{response:?}"
    );
    assert_eq!(response.text(), "{\"error\":\"unknown service\"}");
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("application/json")
    );
    super::assert_powered_by(&response);

    // Kinds without an override keep the default reply.
    let response =
        stack.send(&Request::new("DELETE", &format!("/x?user_key={USER_KEY}")).host(HOST));
    assert_local_reply(&response, 404, "No Mapping Rule matched\n");
    assert_no_backend_call(&stack.admin());
}

#[test]
fn powered_by_can_be_disabled() {
    let mut stack = Stack::start("powered_by_disabled", MODEL, |bootstrap| {
        set(bootstrap.plugin_json(), "powered_by", json!(false));
    });
    let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
    assert_eq!(response.status, 200, "{response:?}");
    assert!(
        response.headers_named("powered-by").is_empty(),
        "{response:?}"
    );
    let response = stack.send(&get("/"));
    assert_eq!(response.status, 403, "{response:?}");
    assert!(
        response.headers_named("powered-by").is_empty(),
        "{response:?}"
    );
}

#[test]
fn errors_overrides_of_the_other_kinds() {
    let mut stack = Stack::start("errors_overrides_other_kinds", MODEL, |bootstrap| {
        let errors = json!({
            "auth_failed": {
                "status": 401,
                "headers": { "WWW-Authenticate": "Basic realm=\"api\"" },
            },
            "no_match": { "status": 405, "body": "no such operation\n" },
            "limits_exceeded": {
                "content_type": "application/json",
                "body": "{\"error\":\"quota exhausted\"}",
            },
            "unavailable": { "status": 502, "headers": { "retry-after": "30" } },
        });
        set(bootstrap.plugin_json(), "errors", errors);
        set(bootstrap.plugin_json(), "rate_limit_headers", json!(true));
    });

    let response = stack.send(&get("/?user_key=nobody-has-this-key"));
    assert_eq!(response.status, 401, "{response:?}");
    assert_eq!(
        response.text(),
        "Authentication failed\n",
        "the default text is kept"
    );
    assert_eq!(
        response.header("www-authenticate").as_deref(),
        Some("Basic realm=\"api\""),
        "{response:?}"
    );
    super::assert_powered_by(&response);

    let response =
        stack.send(&Request::new("DELETE", &format!("/x?user_key={USER_KEY}")).host(HOST));
    assert_eq!(response.status, 405, "{response:?}");
    assert_eq!(response.text(), "no such operation\n");
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("text/plain; charset=utf-8"),
        "the default content type is kept"
    );

    let limited = get(&format!("/?user_key={LIMITED_USER_KEY}"));
    for _ in 0..LIMITED_CALLS {
        assert_passed(&stack.send(&limited));
    }
    let response = stack.send(&limited);
    assert_eq!(response.status, 429, "the status is kept:\n{response:?}");
    assert_eq!(response.text(), "{\"error\":\"quota exhausted\"}");
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("application/json")
    );
    let (limit, remaining, reset) = rate_limit(&response);
    assert_eq!(
        (limit, remaining),
        (Some(LIMITED_CALLS as i64), Some(0)),
        "the rate-limit headers stay on an overridden 429:\n{response:?}"
    );
    assert_eq!(
        response
            .header("retry-after")
            .and_then(|v| v.parse::<i64>().ok()),
        reset,
        "{response:?}"
    );
    super::assert_powered_by(&response);

    stack
        .admin()
        .fault(&json!({ "mode": "status", "status": 500, "scope": "backend" }));
    let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
    assert_eq!(response.status, 502, "{response:?}");
    assert_eq!(response.text(), "Service Unavailable\n");
    assert_eq!(response.headers_named("retry-after"), vec!["30".to_owned()]);
}

#[test]
fn strip_credentials_of_app_id_app_key_and_basic_auth() {
    let mut stack = Stack::start("strip_credentials_app", MODEL, |bootstrap| {
        set(bootstrap.plugin_json(), "strip_credentials", json!(true));
    });
    // `app%5Fkey` is `app_key` once decoded, as the query_string source reads it.
    let response = stack.send(&get(&format!(
        "/products/?x=%2F+y&app_id={APP_ID}&app_idx=1&app%5Fkey={APP_KEY}&x=2&flag"
    )));
    let echoed = assert_passed(&response);
    assert_eq!(
        echoed.path, "/products/?x=%2F+y&app_idx=1&x=2&flag",
        "only the credential parameters go; the others are kept byte for byte and in order"
    );
    assert_authrep(
        &single_authrep(&stack.admin()),
        &[("app_id", APP_ID), ("app_key", APP_KEY)],
        &[("hits", "1"), ("products", "1")],
    );

    // `aladdin:opensesame`, from the Authorization header with the Basic ops.
    let request = get("/?keep=1")
        .header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")
        .header("x-kept", "1");
    let echoed = assert_passed(&stack.send(&request));
    assert!(
        echoed.header_values("authorization").is_empty(),
        "{:?}",
        echoed.headers
    );
    assert_eq!(echoed.header_values("x-kept"), vec!["1"]);
    assert_eq!(echoed.path, "/?keep=1");
}
