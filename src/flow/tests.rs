//! The request flow of docs/behaviour.md §3, branch by branch and in order, without
//! the cache (`cached.rs` tests the flow with it).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;
use super::{Decision, Pending};
use crate::config;
use crate::fetched::FetchedService;
use crate::io::LocalReply;
use crate::io::pairs::OwnedHeaderPairs;
use crate::mapping::{MappingRule, Usage};
use crate::request::PlainRequest;

/// The flow without the cache.
fn on_request(config: &Config, fetched: &Fetched, request: &dyn RequestView) -> Decision {
    super::on_request(config, fetched, request, None)
}

/// The answer step without the cache (no body is read).
pub(crate) fn on_backend_answer(
    config: &Config,
    pending: &Pending,
    answer: &BackendAnswer,
) -> Decision {
    super::on_backend_answer(config, pending.clone(), answer, &[], None)
}

const BASE_PATH: &str = "/transactions/authrep.xml?service_id=42&service_token=st0ken";

fn base() -> Value {
    json!({
        "api": "v1",
        "backend": {"upstream": {
            "name": "outbound|443||su1.3scale.net",
            "url": "https://su1.3scale.net:443",
            "timeout": 5000
        }},
        "services": [
            {
                "id": "42",
                "token": "st0ken",
                "authorities": ["web.app", "*.example.com", "plain.app:8080"],
                "credentials": {
                    "user_key": [
                        {"query_string": {"keys": ["user_key"]}},
                        {"header": {"keys": ["x-api-key"]}}
                    ],
                    "app_id": [
                        {"header": {"keys": ["x-app-id"]}},
                        {"query_string": {"keys": ["app_id"]}},
                        {"filter": {"path": ["envoy.filters.http.jwt_authn", "0"], "keys": ["azp"]}}
                    ],
                    "app_key": [
                        {"header": {"keys": ["x-app-key"]}},
                        {"query_string": {"keys": ["app_key"]}}
                    ]
                },
                "mapping_rules": [
                    {"method": "GET", "pattern": "/", "usages": [{"name": "hits", "delta": 1}]},
                    {"method": "any", "pattern": "/products/{id}/sold",
                     "usages": [{"name": "sales", "delta": 1}, {"name": "products", "delta": 1}]}
                ]
            },
            {
                "id": "7",
                "token": "other-token",
                "authorities": ["*.app", "web.app"],
                "credentials": {"user_key": [{"header": {"keys": ["x-api-key"]}}]},
                "mapping_rules": [
                    {"method": "any", "pattern": "/", "usages": [{"name": "calls", "delta": 2}]}
                ]
            }
        ]
    })
}

/// The base configuration with top-level keys replaced by `patch`'s.
fn config_with(patch: Value) -> Config {
    let mut document = base();
    if let (Some(target), Value::Object(patch)) = (document.as_object_mut(), patch) {
        target.extend(patch);
    }
    config::parse(document.to_string().as_bytes()).unwrap()
}

fn plain() -> Config {
    config_with(json!({}))
}

fn get(path: &str) -> PlainRequest {
    PlainRequest::new("GET", "web.app", path)
}

fn keyed(path: &str) -> PlainRequest {
    get(path).with_header("x-api-key", "secret-key")
}

fn decide(config: &Config, request: &PlainRequest) -> Decision {
    on_request(config, &Fetched::new(), request)
}

fn reply(decision: Decision) -> LocalReply {
    match decision {
        Decision::Reply(reply) => reply,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn call_out(decision: Decision) -> CallOut {
    match decision {
        Decision::CallOut(call_out) => *call_out,
        other => panic!("expected a call-out, got {other:?}"),
    }
}

fn forward(decision: Decision) -> Forward {
    match decision {
        Decision::Continue(forward) => forward,
        other => panic!("expected to continue, got {other:?}"),
    }
}

fn assert_reply(decision: Decision, status: u16, text: &str) {
    let reply = reply(decision);
    assert_eq!(reply.status, status);
    assert_eq!(
        String::from_utf8(reply.body.clone()).unwrap(),
        format!("{text}\n")
    );
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(reply.header("powered-by"), Some("3scale"));
}

fn authrep_path(decision: Decision) -> String {
    call_out(decision).call.header(":path").unwrap().to_owned()
}

/// A backend answer with this `:status` and these headers (also used by the
/// metrics tests).
pub(crate) fn answer(status: &str, headers: &[(&str, &str)]) -> BackendAnswer {
    let mut all = vec![(":status".to_owned(), status.as_bytes().to_vec())];
    all.extend(
        headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec())),
    );
    BackendAnswer::from_headers(OwnedHeaderPairs::of(&all))
}

fn pending(config: &Config, request: &PlainRequest) -> Pending {
    call_out(decide(config, request)).pending
}

const LIMITS: [(&str, &str); 3] = [
    ("3scale-limit-max-value", "10"),
    ("3scale-limit-remaining", "0"),
    ("3scale-limit-reset", "37"),
];

/// Serialized `envoy.config.core.v3.Metadata` with one filter namespace.
fn metadata(namespace: &str, fields: Value) -> Vec<u8> {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Metadata {
        #[prost(map = "string, message", tag = "1")]
        filter_metadata: HashMap<String, prost_types::Struct>,
    }
    fn to_value(value: &Value) -> prost_types::Value {
        use prost_types::value::Kind;
        let kind = match value {
            Value::String(text) => Kind::StringValue(text.clone()),
            Value::Object(map) => Kind::StructValue(to_struct(map)),
            other => panic!("unsupported {other}"),
        };
        prost_types::Value { kind: Some(kind) }
    }
    fn to_struct(map: &serde_json::Map<String, Value>) -> prost_types::Struct {
        prost_types::Struct {
            fields: map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect(),
        }
    }
    let Value::Object(map) = fields else {
        panic!("fields must be an object")
    };
    let message = Metadata {
        filter_metadata: HashMap::from([(namespace.to_owned(), to_struct(&map))]),
    };
    prost::Message::encode_to_vec(&message)
}

// Step 1: the URL.

#[test]
fn missing_authority_is_authentication_failed() {
    let request = PlainRequest::default()
        .with_header(":method", "GET")
        .with_header(":path", "/");
    assert_reply(decide(&plain(), &request), 403, "Authentication failed");
}

#[test]
fn missing_path_is_authentication_failed() {
    let request = PlainRequest::default()
        .with_header(":method", "GET")
        .with_header(":authority", "web.app");
    assert_reply(decide(&plain(), &request), 403, "Authentication failed");
}

#[test]
fn host_header_stands_in_for_authority() {
    let request = PlainRequest::default()
        .with_header(":method", "GET")
        .with_header(":path", "/")
        .with_header("host", "web.app")
        .with_header("x-api-key", "k");
    assert!(matches!(decide(&plain(), &request), Decision::CallOut(_)));
}

// Step 2: the service.

#[test]
fn unknown_authority_is_unknown_service() {
    let request = PlainRequest::new("GET", "nobody.org", "/").with_header("x-api-key", "k");
    assert_reply(decide(&plain(), &request), 403, "Unknown service");
}

#[test]
fn default_port_of_the_scheme_is_ignored() {
    for (scheme, authority) in [("https", "web.app:443"), ("http", "web.app:80")] {
        let request = PlainRequest::default()
            .with_header(":method", "GET")
            .with_header(":scheme", scheme)
            .with_header(":authority", authority)
            .with_header(":path", "/")
            .with_header("x-api-key", "k");
        let call = call_out(decide(&plain(), &request));
        assert_eq!(call.pending.service_index, 0, "{scheme} {authority}");
    }
}

#[test]
fn other_ports_are_kept() {
    let cases = [
        ("https", "web.app:80", false),
        ("http", "web.app:443", false),
        ("https", "web.app:8443", false),
        ("https", "plain.app:8080", true),
        ("https", "plain.app", false),
    ];
    for (scheme, authority, selected) in cases {
        let request = PlainRequest::default()
            .with_header(":method", "GET")
            .with_header(":scheme", scheme)
            .with_header(":authority", authority)
            .with_header(":path", "/")
            .with_header("x-api-key", "k");
        let decision = decide(&plain(), &request);
        let first_service =
            matches!(&decision, Decision::CallOut(c) if c.pending.service_index == 0);
        assert_eq!(
            first_service, selected,
            "{scheme} {authority}: {decision:?}"
        );
    }
}

#[test]
fn authority_is_matched_lowercased() {
    let request = PlainRequest::new("GET", "API.Example.COM", "/").with_header("x-api-key", "k");
    assert_eq!(
        call_out(decide(&plain(), &request)).pending.service_index,
        0
    );
}

#[test]
fn first_matching_service_wins() {
    // `web.app` is listed by both services; the first one is used.
    assert_eq!(pending(&plain(), &keyed("/")).service_index, 0);
    let request = PlainRequest::new("GET", "shop.app", "/").with_header("x-api-key", "k");
    let call = call_out(decide(&plain(), &request));
    assert_eq!(call.pending.service_index, 1);
    assert_eq!(
        call.call.header(":path"),
        Some(
            "/transactions/authrep.xml?service_id=7&service_token=other-token&user_key=k\
             &usage%5Bcalls%5D=2"
        )
    );
}

#[test]
fn services_are_checked_before_credentials() {
    let request = PlainRequest::new("GET", "nobody.org", "/nothing-matches");
    assert_reply(decide(&plain(), &request), 403, "Unknown service");
}

// Step 3: credentials.

#[test]
fn no_credentials_is_authentication_parameters_missing() {
    assert_reply(
        decide(&plain(), &get("/")),
        403,
        "Authentication parameters missing",
    );
}

#[test]
fn credentials_are_checked_before_mapping_rules() {
    let request = PlainRequest::new("POST", "web.app", "/nothing");
    assert_reply(
        decide(&plain(), &request),
        403,
        "Authentication parameters missing",
    );
}

#[test]
fn binary_credential_values_do_not_resolve() {
    let request = get("/").with_header_bytes("x-api-key", b"\xFF\xFE");
    assert_reply(
        decide(&plain(), &request),
        403,
        "Authentication parameters missing",
    );
}

// Step 4: mapping rules.

#[test]
fn no_matching_rule_is_404() {
    let request = PlainRequest::new("POST", "web.app", "/nothing").with_header("x-api-key", "k");
    assert_reply(decide(&plain(), &request), 404, "No Mapping Rule matched");
}

#[test]
fn usages_are_summed_in_order_of_first_appearance() {
    let call = call_out(decide(&plain(), &keyed("/products/1/sold")));
    assert_eq!(
        call.pending.usages.iter().collect::<Vec<_>>(),
        [("hits", 1), ("sales", 1), ("products", 1)]
    );
    assert_eq!(
        call.call.header(":path"),
        Some(
            "/transactions/authrep.xml?service_id=42&service_token=st0ken&user_key=secret-key\
             &usage%5Bhits%5D=1&usage%5Bsales%5D=1&usage%5Bproducts%5D=1"
        )
    );
}

#[test]
fn a_request_without_method_matches_only_any_rules() {
    let request = PlainRequest::default()
        .with_header(":authority", "web.app")
        .with_header(":path", "/products/9/sold")
        .with_header("x-api-key", "k");
    let usages = pending(&plain(), &request).usages;
    assert_eq!(
        usages.iter().collect::<Vec<_>>(),
        [("sales", 1), ("products", 1)]
    );
}

// Step 6: the authrep call.

#[test]
fn golden_authrep_call_for_a_user_key() {
    let call = call_out(decide(&plain(), &get("/?user_key=abc123"))).call;
    assert_eq!(&*call.cluster, "outbound|443||su1.3scale.net");
    assert_eq!(call.timeout_ms, 5000);
    assert!(call.body.is_empty());
    assert_eq!(
        call.owned_headers(),
        vec![
            (":method".to_owned(), "GET".to_owned()),
            (
                ":path".to_owned(),
                format!("{BASE_PATH}&user_key=abc123&usage%5Bhits%5D=1")
            ),
            (":authority".to_owned(), "su1.3scale.net".to_owned()),
            (":scheme".to_owned(), "https".to_owned()),
            (
                "3scale-options".to_owned(),
                "rejection_reason_header=1&limit_headers=1&no_body=1".to_owned()
            ),
        ]
    );
}

#[test]
fn golden_authrep_call_for_app_id_and_key() {
    let request = get("/")
        .with_header("x-app-id", "aladdin")
        .with_header("x-app-key", "opensesame");
    assert_eq!(
        authrep_path(decide(&plain(), &request)),
        format!("{BASE_PATH}&app_id=aladdin&app_key=opensesame&usage%5Bhits%5D=1")
    );
    let id_only = get("/").with_header("x-app-id", "aladdin");
    assert_eq!(
        authrep_path(decide(&plain(), &id_only)),
        format!("{BASE_PATH}&app_id=aladdin&usage%5Bhits%5D=1")
    );
}

#[test]
fn golden_authrep_encodes_hostile_credentials() {
    let cases = [
        ("a&usage[hits]=-100", "a%26usage%5Bhits%5D%3D-100"),
        ("k=v", "k%3Dv"),
        ("with space", "with%20space"),
        ("50%off", "50%25off"),
        ("clé", "cl%C3%A9"),
    ];
    for (key, encoded) in cases {
        let request = get("/").with_header("x-api-key", key);
        assert_eq!(
            authrep_path(decide(&plain(), &request)),
            format!("{BASE_PATH}&user_key={encoded}&usage%5Bhits%5D=1"),
            "key {key:?}"
        );
    }
}

#[test]
fn query_credentials_are_form_decoded_then_encoded() {
    let request = get("/?user_key=a%26b+c");
    assert_eq!(
        authrep_path(decide(&plain(), &request)),
        format!("{BASE_PATH}&user_key=a%26b%20c&usage%5Bhits%5D=1")
    );
}

#[test]
fn backend_extensions_join_the_options() {
    let mut config = plain();
    config.backend.extensions = vec!["hierarchy".to_owned(), "flat_usage".to_owned()];
    let call = call_out(decide(&config, &keyed("/"))).call;
    assert_eq!(
        call.header("3scale-options"),
        Some("rejection_reason_header=1&limit_headers=1&no_body=1&hierarchy=1&flat_usage=1")
    );
}

#[test]
fn backend_base_path_prefixes_the_call() {
    let config = config_with(json!({"backend": {"upstream": {
        "name": "backend", "url": "http://backend.local:3000/api"
    }}}));
    let call = call_out(decide(&config, &keyed("/"))).call;
    assert!(
        call.header(":path")
            .unwrap()
            .starts_with("/api/transactions/authrep.xml?")
    );
    assert_eq!(call.header(":authority"), Some("backend.local:3000"));
    assert_eq!(call.header(":scheme"), Some("http"));
    assert_eq!(call.timeout_ms, 1000);
}

// Step 6: the answer.

#[test]
fn authorized_request_continues_unchanged() {
    let config = plain();
    let pending = pending(&config, &keyed("/"));
    let forward = forward(on_backend_answer(&config, &pending, &answer("200", &[])));
    assert!(forward.remove_headers.is_empty());
    assert!(forward.set_headers.is_empty());
    assert_eq!(forward.new_path, None);
}

/// The headers [`super::on_response_headers`] adds, in order (`Powered-By`
/// appended, the others replacing the upstream's).
fn on_response_headers(config: &Config, limits: Option<&Limits>) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    super::on_response_headers(config, limits, &mut |name, value, write| {
        let expected = if name == "powered-by" {
            crate::io::HeaderWrite::Append
        } else {
            crate::io::HeaderWrite::Replace
        };
        assert_eq!(write, expected, "{name}");
        headers.push((name.to_owned(), value.to_owned()));
    });
    headers
}

#[test]
fn upstream_responses_get_powered_by() {
    let config = plain();
    assert_eq!(
        on_response_headers(&config, None),
        vec![("powered-by".to_owned(), "3scale".to_owned())]
    );
}

#[test]
fn rate_limit_headers_on_upstream_responses() {
    let config = config_with(json!({"rate_limit_headers": true}));
    let pending = pending(&config, &keyed("/"));
    let limits = [
        ("3scale-limit-max-value", "100"),
        ("3scale-limit-remaining", "99"),
        ("3scale-limit-reset", "60"),
    ];
    let forward = forward(on_backend_answer(
        &config,
        &pending,
        &answer("200", &limits),
    ));
    assert_eq!(
        on_response_headers(&config, forward.limits.as_ref()),
        vec![
            ("ratelimit-limit".to_owned(), "100".to_owned()),
            ("ratelimit-remaining".to_owned(), "99".to_owned()),
            ("ratelimit-reset".to_owned(), "60".to_owned()),
            ("powered-by".to_owned(), "3scale".to_owned()),
        ]
    );
}

#[test]
fn no_rate_limit_headers_unless_enabled_or_when_unlimited() {
    let disabled = plain();
    let pending_disabled = pending(&disabled, &keyed("/"));
    let limited = answer("200", &LIMITS);
    let forward_disabled = forward(on_backend_answer(&disabled, &pending_disabled, &limited));
    assert_eq!(
        on_response_headers(&disabled, forward_disabled.limits.as_ref()).len(),
        1
    );

    let enabled = config_with(json!({"rate_limit_headers": true}));
    let unlimited = answer(
        "200",
        &[
            ("3scale-limit-remaining", "-1"),
            ("3scale-limit-reset", "-1"),
        ],
    );
    let pending_enabled = pending(&enabled, &keyed("/"));
    let forward_enabled = forward(on_backend_answer(&enabled, &pending_enabled, &unlimited));
    assert_eq!(
        on_response_headers(&enabled, forward_enabled.limits.as_ref()),
        vec![("powered-by".to_owned(), "3scale".to_owned())]
    );
}

#[test]
fn limits_exceeded_is_429() {
    let config = plain();
    let pending = pending(&config, &keyed("/"));
    let mut headers = vec![("3scale-rejection-reason", "limits_exceeded")];
    headers.extend(LIMITS);
    let decision = on_backend_answer(&config, &pending, &answer("409", &headers));
    let reply = reply(decision.clone());
    assert_reply(decision, 429, "Usage limit exceeded");
    assert_eq!(reply.header("ratelimit-limit"), None);
    assert_eq!(reply.header("retry-after"), None);
}

#[test]
fn limits_exceeded_carries_rate_limit_headers_and_retry_after() {
    let config = config_with(json!({"rate_limit_headers": true}));
    let pending = pending(&config, &keyed("/"));
    let mut headers = vec![("3scale-rejection-reason", "limits_exceeded")];
    headers.extend(LIMITS);
    let reply = reply(on_backend_answer(
        &config,
        &pending,
        &answer("409", &headers),
    ));
    assert_eq!(reply.status, 429);
    assert_eq!(
        reply.headers,
        vec![
            (
                "content-type".to_owned(),
                "text/plain; charset=utf-8".to_owned()
            ),
            ("ratelimit-limit".to_owned(), "10".to_owned()),
            ("ratelimit-remaining".to_owned(), "0".to_owned()),
            ("ratelimit-reset".to_owned(), "37".to_owned()),
            ("retry-after".to_owned(), "37".to_owned()),
            ("powered-by".to_owned(), "3scale".to_owned()),
        ]
    );
}

#[test]
fn other_denials_are_authentication_failed() {
    let config = plain();
    let pending = pending(&config, &keyed("/"));
    let cases = [
        ("409", "application_key_invalid"),
        ("409", ""),
        ("403", "user_key_invalid"),
        ("403", "service_token_invalid"),
        ("404", "application_not_found"),
        ("404", "metric_invalid"),
        ("422", ""),
        ("400", ""),
        ("429", "limits_exceeded"),
    ];
    for (status, reason) in cases {
        let answer = answer(status, &[("3scale-rejection-reason", reason)]);
        assert_reply(
            on_backend_answer(&config, &pending, &answer),
            403,
            "Authentication failed",
        );
    }
}

fn unreachable_answers() -> Vec<BackendAnswer> {
    vec![
        BackendAnswer::DispatchFailed,
        BackendAnswer::from_headers(OwnedHeaderPairs::default()),
        answer("not-a-status", &[]),
        answer("500", &[]),
        answer("502", &[]),
        answer("503", &[]),
        answer("504", &[]),
    ]
}

#[test]
fn unreachable_backend_is_503_by_default() {
    let config = plain();
    let pending = pending(&config, &keyed("/"));
    for answer in unreachable_answers() {
        assert_reply(
            on_backend_answer(&config, &pending, &answer),
            503,
            "Service Unavailable",
        );
    }
}

#[test]
fn failure_policy_deny_is_the_same_as_the_default() {
    let config = config_with(json!({"failure_policy": "deny"}));
    let pending = pending(&config, &keyed("/"));
    let decision = on_backend_answer(&config, &pending, &answer("504", &[]));
    assert_reply(decision, 503, "Service Unavailable");
}

#[test]
fn failure_policy_allow_lets_requests_through() {
    let config = config_with(json!({"failure_policy": "allow"}));
    let pending = pending(&config, &keyed("/"));
    for answer in unreachable_answers() {
        let decision = on_backend_answer(&config, &pending, &answer);
        assert!(matches!(decision, Decision::Continue(_)), "{answer:?}");
    }
}

#[test]
fn failure_policy_allow_does_not_let_denials_through() {
    let config = config_with(json!({"failure_policy": "allow"}));
    let pending = pending(&config, &keyed("/"));
    let denied = answer("403", &[("3scale-rejection-reason", "user_key_invalid")]);
    assert_reply(
        on_backend_answer(&config, &pending, &denied),
        403,
        "Authentication failed",
    );
}

#[test]
fn failure_policy_allow_still_strips_credentials() {
    let config = config_with(json!({"failure_policy": "allow", "strip_credentials": true}));
    let pending = pending(&config, &get("/a?user_key=k&b=1"));
    let forward = forward(on_backend_answer(
        &config,
        &pending,
        &BackendAnswer::DispatchFailed,
    ));
    assert_eq!(forward.new_path.as_deref(), Some("/a?b=1"));
}

// Section 9: errors overrides.

#[test]
fn error_override_replaces_status_body_content_type_and_adds_headers() {
    let config = config_with(json!({"errors": {"auth_missing": {
        "status": 401,
        "body": "{\"error\":\"credentials required\"}",
        "content_type": "application/json",
        "headers": {"WWW-Authenticate": "Basic realm=\"api\""}
    }}}));
    let reply = reply(decide(&config, &get("/")));
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, br#"{"error":"credentials required"}"#);
    assert_eq!(
        reply.headers,
        vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("powered-by".to_owned(), "3scale".to_owned()),
            (
                "www-authenticate".to_owned(),
                "Basic realm=\"api\"".to_owned()
            ),
        ]
    );
}

#[test]
fn error_override_keeps_what_it_leaves_out() {
    let config = config_with(json!({"errors": {"no_match": {"status": 403}}}));
    let request = PlainRequest::new("POST", "web.app", "/nothing").with_header("x-api-key", "k");
    assert_reply(decide(&config, &request), 403, "No Mapping Rule matched");
    let body_only = config_with(json!({"errors": {"unknown_service": {"body": "go away"}}}));
    let request = PlainRequest::new("GET", "nobody.org", "/");
    let reply = reply(decide(&body_only, &request));
    assert_eq!(reply.status, 403);
    assert_eq!(reply.body, b"go away");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn error_overrides_apply_to_each_kind() {
    let config = config_with(json!({"errors": {
        "auth_failed": {"status": 401},
        "limits_exceeded": {"status": 403, "body": ""},
        "unavailable": {"status": 500, "headers": {"retry-after": "5"}}
    }}));
    let pending = pending(&config, &keyed("/"));
    let denied = on_backend_answer(&config, &pending, &answer("403", &[]));
    assert_eq!(reply(denied).status, 401);
    let limited = answer("409", &[("3scale-rejection-reason", "limits_exceeded")]);
    let limited = reply(on_backend_answer(&config, &pending, &limited));
    assert_eq!((limited.status, limited.body.len()), (403, 0));
    let down = reply(on_backend_answer(&config, &pending, &answer("503", &[])));
    assert_eq!(down.status, 500);
    assert_eq!(down.header("retry-after"), Some("5"));
    let malformed = PlainRequest::default().with_header(":path", "/");
    assert_eq!(reply(decide(&config, &malformed)).status, 401);
}

#[test]
fn limits_override_keeps_rate_limit_headers() {
    let config = config_with(json!({
        "rate_limit_headers": true,
        "errors": {"limits_exceeded": {"body": "slow down"}}
    }));
    let pending = pending(&config, &keyed("/"));
    let mut headers = vec![("3scale-rejection-reason", "limits_exceeded")];
    headers.extend(LIMITS);
    let reply = reply(on_backend_answer(
        &config,
        &pending,
        &answer("409", &headers),
    ));
    assert_eq!(reply.body, b"slow down");
    assert_eq!(reply.header("retry-after"), Some("37"));
    assert_eq!(reply.header("ratelimit-remaining"), Some("0"));
}

#[test]
fn powered_by_false_drops_the_header_everywhere() {
    let config = config_with(json!({"powered_by": false, "rate_limit_headers": true}));
    let reply = reply(decide(&config, &get("/")));
    assert_eq!(reply.header("powered-by"), None);
    assert_eq!(reply.status, 403);
    assert!(on_response_headers(&config, None).is_empty());
}

#[test]
fn unconfigured_filter_replies_503() {
    let reply = reply::unconfigured();
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body, b"Service Unavailable\n");
}

// Step 5: passthrough_metadata.

fn passthrough() -> Config {
    config_with(json!({"passthrough_metadata": true}))
}

fn apply(forward: &Forward, request: &PlainRequest) -> Vec<(String, Vec<u8>)> {
    let mut headers = request.headers.clone();
    forward.apply(&mut headers);
    headers
}

fn value<'a>(headers: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| std::str::from_utf8(value).unwrap())
}

#[test]
fn passthrough_hands_everything_to_the_next_filter() {
    let request = keyed("/products/3/sold");
    let forward = forward(decide(&passthrough(), &request));
    assert_eq!(
        forward.set_headers,
        vec![
            ("x-3scale-user-key".to_owned(), "secret-key".to_owned()),
            (
                "x-3scale-cluster-name".to_owned(),
                "outbound|443||su1.3scale.net".to_owned()
            ),
            (
                "x-3scale-upstream-url".to_owned(),
                "https://su1.3scale.net/".to_owned()
            ),
            ("x-3scale-timeout".to_owned(), "5000".to_owned()),
            ("x-3scale-service-id".to_owned(), "42".to_owned()),
            ("x-3scale-service-token".to_owned(), "st0ken".to_owned()),
            (
                "x-3scale-usages".to_owned(),
                r#"{"hits":1,"sales":1,"products":1}"#.to_owned()
            ),
        ]
    );
}

#[test]
fn passthrough_removes_spoofed_headers_first() {
    let request = PlainRequest::new("GET", "web.app", "/")
        .with_header("x-3scale-user-key", "spoofed")
        .with_header("X-3scale-Service-Token", "spoofed")
        .with_header("x-3scale-anything", "spoofed")
        .with_header("x-app-id", "app")
        .with_header("x-other", "kept");
    let forward = forward(decide(&passthrough(), &request));
    let headers = apply(&forward, &request);
    assert_eq!(value(&headers, "x-3scale-user-key"), None);
    assert_eq!(value(&headers, "x-3scale-anything"), None);
    assert_eq!(value(&headers, "X-3scale-Service-Token"), None);
    assert_eq!(value(&headers, "x-3scale-app-id"), Some("app"));
    assert_eq!(value(&headers, "x-3scale-service-token"), Some("st0ken"));
    assert_eq!(value(&headers, "x-other"), Some("kept"));
}

#[test]
fn passthrough_app_id_with_and_without_key() {
    let with_key = get("/")
        .with_header("x-app-id", "app")
        .with_header("x-app-key", "key");
    let headers = apply(&forward(decide(&passthrough(), &with_key)), &with_key);
    assert_eq!(value(&headers, "x-3scale-app-id"), Some("app:key"));
    assert_eq!(value(&headers, "x-3scale-user-key"), None);
    let without = get("/?app_id=app");
    let headers = apply(&forward(decide(&passthrough(), &without)), &without);
    assert_eq!(value(&headers, "x-3scale-app-id"), Some("app"));
}

#[test]
fn passthrough_still_checks_service_credentials_and_rules() {
    let config = passthrough();
    let request = PlainRequest::new("GET", "nobody.org", "/").with_header("x-api-key", "k");
    assert_reply(decide(&config, &request), 403, "Unknown service");
    assert_reply(
        decide(&config, &get("/")),
        403,
        "Authentication parameters missing",
    );
    let request = PlainRequest::new("POST", "web.app", "/x").with_header("x-api-key", "k");
    assert_reply(decide(&config, &request), 404, "No Mapping Rule matched");
}

#[test]
fn passthrough_refuses_credentials_that_cannot_be_header_values() {
    // `%0A` decodes to a line feed: it must not reach a request header.
    let request = get("/?user_key=a%0Ab");
    assert_reply(
        decide(&passthrough(), &request),
        403,
        "Authentication failed",
    );
}

#[test]
fn passthrough_with_strip_credentials_does_both() {
    let config = config_with(json!({"passthrough_metadata": true, "strip_credentials": true}));
    let request = get("/x?a=1&user_key=k");
    let forward = forward(decide(&config, &request));
    assert_eq!(forward.new_path.as_deref(), Some("/x?a=1"));
    let headers = apply(&forward, &request);
    assert_eq!(value(&headers, ":path"), Some("/x?a=1"));
    assert_eq!(value(&headers, "x-3scale-user-key"), Some("k"));
}

// Section 9: strip_credentials.

fn stripping() -> Config {
    config_with(json!({"strip_credentials": true}))
}

fn authorized(config: &Config, request: &PlainRequest) -> Forward {
    let pending = pending(config, request);
    forward(on_backend_answer(config, &pending, &answer("200", &[])))
}

#[test]
fn strip_removes_credential_headers() {
    let request = get("/")
        .with_header("x-app-id", "app")
        .with_header("x-app-key", "key")
        .with_header("x-other", "1");
    let forward = authorized(&stripping(), &request);
    let headers = apply(&forward, &request);
    assert_eq!(value(&headers, "x-app-id"), None);
    assert_eq!(value(&headers, "x-app-key"), None);
    assert_eq!(value(&headers, "x-other"), Some("1"));
    assert_eq!(forward.new_path, None);
}

#[test]
fn strip_removes_query_parameters_wherever_they_are() {
    let cases = [
        ("/p?user_key=k&a=1&b=%20", "/p?a=1&b=%20"),
        ("/p?a=1&user_key=k&b=2", "/p?a=1&b=2"),
        ("/p?a=1&b=+2&user_key=k", "/p?a=1&b=+2"),
        ("/p?user_key=k", "/p"),
    ];
    for (path, expected) in cases {
        let forward = authorized(&stripping(), &get(path));
        assert_eq!(forward.new_path.as_deref(), Some(expected), "{path}");
    }
}

#[test]
fn strip_removes_app_id_and_app_key_from_mixed_origins() {
    let request = get("/p?app_key=s&x=1&app_id=i&y=2").with_header("x-keep", "1");
    let forward = authorized(&stripping(), &request);
    // The header queries come first but find nothing; the query ones resolve.
    assert_eq!(forward.new_path.as_deref(), Some("/p?x=1&y=2"));
    assert!(forward.remove_headers.is_empty());
}

#[test]
fn strip_leaves_metadata_credentials_alone() {
    let request = get("/p?a=1").with_metadata(metadata(
        "envoy.filters.http.jwt_authn",
        json!({"verified_jwt": {"azp": "client-from-jwt"}}),
    ));
    let config = stripping();
    let call = call_out(decide(&config, &request));
    assert!(
        call.call
            .header(":path")
            .unwrap()
            .contains("&app_id=client-from-jwt&")
    );
    let forward = forward(on_backend_answer(
        &config,
        &call.pending,
        &answer("200", &[]),
    ));
    assert_eq!(
        forward,
        Forward {
            limits: forward.limits,
            ..Forward::default()
        }
    );
}

#[test]
fn without_strip_credentials_nothing_is_removed() {
    let forward = authorized(
        &plain(),
        &get("/p?user_key=k&a=1").with_header("x-api-key", "h"),
    );
    assert_eq!(forward.new_path, None);
    assert!(forward.remove_headers.is_empty());
}

// Section 8 in the flow: System not answered yet.

fn with_system(services: Value) -> Config {
    config_with(json!({
        "system": {
            "upstream": {"name": "system", "url": "https://admin.3scale.net"},
            "token": "access-token"
        },
        "services": services
    }))
}

fn system_service(token: Option<&str>, rules: bool) -> Value {
    let mut service = json!({
        "id": "42",
        "authorities": ["web.app"],
        "credentials": {"user_key": [{"header": {"keys": ["x-api-key"]}}]}
    });
    if let Some(token) = token {
        service["token"] = json!(token);
    }
    if rules {
        service["mapping_rules"] = json!([
            {"method": "GET", "pattern": "/", "usages": [{"name": "hits", "delta": 1}]}
        ]);
    }
    service
}

fn fetched(token: Option<&str>, rules: Vec<MappingRule>) -> Fetched {
    let mut fetched = Fetched::new();
    fetched.set(
        0,
        FetchedService {
            token: token.map(Secret::from),
            rules: rules.into(),
        },
    );
    fetched
}

fn fetched_rule(pattern: &str, metric: &str) -> MappingRule {
    MappingRule::new("GET", pattern, vec![Usage::new(metric, 1).unwrap()], false).unwrap()
}

#[test]
fn unknown_token_is_unreachable_after_the_credential_check() {
    let config = with_system(json!([system_service(None, true)]));
    assert_reply(
        decide(&config, &get("/")),
        403,
        "Authentication parameters missing",
    );
    assert_reply(decide(&config, &keyed("/")), 503, "Service Unavailable");
}

#[test]
fn unknown_rules_are_unreachable() {
    let config = with_system(json!([system_service(Some("st"), false)]));
    assert_reply(decide(&config, &keyed("/")), 503, "Service Unavailable");
}

#[test]
fn unknown_configuration_follows_the_failure_policy() {
    let mut config = with_system(json!([system_service(None, false)]));
    config.failure_policy = FailurePolicy::Allow;
    assert!(matches!(
        decide(&config, &keyed("/")),
        Decision::Continue(_)
    ));
}

#[test]
fn fetched_token_and_rules_complete_the_service() {
    let config = with_system(json!([system_service(None, false)]));
    let fetched = fetched(
        Some("fetched-token"),
        vec![fetched_rule("/", "fetched_hits")],
    );
    let call = call_out(on_request(&config, &fetched, &keyed("/")));
    assert_eq!(
        call.call.header(":path"),
        Some(
            "/transactions/authrep.xml?service_id=42&service_token=fetched-token\
             &user_key=secret-key&usage%5Bfetched_hits%5D=1"
        )
    );
}

#[test]
fn static_token_and_rules_come_first() {
    let config = with_system(json!([system_service(Some("static-token"), true)]));
    let fetched = fetched(Some("fetched-token"), vec![fetched_rule("/", "extra")]);
    let call = call_out(on_request(&config, &fetched, &keyed("/")));
    assert_eq!(
        call.call.header(":path"),
        Some(
            "/transactions/authrep.xml?service_id=42&service_token=static-token\
             &user_key=secret-key&usage%5Bhits%5D=1&usage%5Bextra%5D=1"
        )
    );
}

#[test]
fn a_fetched_service_without_rules_matches_nothing() {
    let config = with_system(json!([system_service(Some("st"), false)]));
    let fetched = fetched(None, Vec::new());
    assert_reply(
        on_request(&config, &fetched, &keyed("/")),
        404,
        "No Mapping Rule matched",
    );
}

#[test]
fn fetched_service_without_any_token_is_unreachable() {
    let config = with_system(json!([system_service(None, true)]));
    let fetched = fetched(None, vec![fetched_rule("/", "hits")]);
    assert_reply(
        on_request(&config, &fetched, &keyed("/")),
        503,
        "Service Unavailable",
    );
}

// Forward as applied to a header list.

#[test]
fn forward_apply_removes_then_sets_and_rewrites_the_path() {
    let mut headers = vec![
        (":path".to_owned(), b"/a?k=1".to_vec()),
        ("x-key".to_owned(), b"s".to_vec()),
        ("x-3scale-a".to_owned(), b"1".to_vec()),
        ("x-set".to_owned(), b"old".to_vec()),
    ];
    let forward = Forward {
        remove_headers: vec!["x-key".to_owned()],
        remove_header_prefixes: vec!["x-3scale-".to_owned()],
        set_headers: vec![
            ("x-set".to_owned(), "new".to_owned()),
            ("x-3scale-b".to_owned(), "2".to_owned()),
        ],
        new_path: Some("/a".to_owned()),
        ..Forward::default()
    };
    forward.apply(&mut headers);
    assert_eq!(
        headers,
        vec![
            (":path".to_owned(), b"/a".to_vec()),
            ("x-set".to_owned(), b"new".to_vec()),
            ("x-3scale-b".to_owned(), b"2".to_vec()),
        ]
    );
}

/// Rules where an expensive metric sits behind one path: the attack of SPEC 6 v2.
fn admin_rules() -> Config {
    let mut document = base();
    document["services"][0]["mapping_rules"] = json!([
        {"method": "GET", "pattern": "/admin", "usages": [{"name": "adm", "delta": 5}]},
        {"method": "GET", "pattern": "/", "usages": [{"name": "hits", "delta": 1}]},
        {"method": "GET", "pattern": "/search?tag=a", "usages": [{"name": "tag_a", "delta": 1}]},
        {"method": "GET", "pattern": "/search?tag=b", "usages": [{"name": "tag_b", "delta": 1}]}
    ]);
    config::parse(document.to_string().as_bytes()).unwrap()
}

#[test]
fn every_spelling_of_a_path_is_charged_the_same_and_sent_unchanged() {
    let config = admin_rules();
    let admin = "&usage%5Badm%5D=5&usage%5Bhits%5D=1";
    for path in [
        "/admin",
        "/%61dmin",
        "/%61%64%6D%69%6E",
        "/./admin",
        "/public/../admin",
        "/public/%2e%2e/admin",
        "/public/%2E%2E/admin",
        "//admin",
        "/admin#fragment",
    ] {
        let decision = decide(&config, &keyed(path));
        let call = call_out(decision);
        let call_path = call.call.header(":path").unwrap().to_owned();
        assert!(call_path.ends_with(admin), "{path}: {call_path}");
        assert_eq!(call.pending.forward.new_path, None, "{path}");
    }
    let encoded_slash = authrep_path(decide(&config, &keyed("/public/..%2Fadmin")));
    assert!(
        encoded_slash.ends_with("&usage%5Bhits%5D=1"),
        "{encoded_slash}"
    );
}

#[test]
fn a_repeated_parameter_is_charged_by_its_last_value() {
    let config = admin_rules();
    let call_path = authrep_path(decide(&config, &keyed("/search?tag=b&tag=a")));
    assert!(
        call_path.ends_with("&usage%5Bhits%5D=1&usage%5Btag_a%5D=1"),
        "{call_path}"
    );
}

#[test]
fn passthrough_removes_underscore_spellings_of_its_headers() {
    let request = keyed("/")
        .with_header("x_3scale_user_key", "spoofed")
        .with_header("X_3scale-App-Id", "spoofed")
        .with_header("x-3scale_service_token", "spoofed");
    let forward = forward(decide(&passthrough(), &request));
    let headers = apply(&forward, &request);
    let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
    for spoofed in [
        "x_3scale_user_key",
        "X_3scale-App-Id",
        "x-3scale_service_token",
    ] {
        assert!(!names.contains(&spoofed), "{spoofed} kept: {names:?}");
    }
    assert_eq!(value(&headers, "x-3scale-user-key"), Some("secret-key"));
}

#[test]
fn passthrough_escapes_percent_and_colon_in_app_id_and_key() {
    let request = get("/")
        .with_header("x-app-id", "id:with%colon")
        .with_header("x-app-key", "key:50%");
    let headers = apply(&forward(decide(&passthrough(), &request)), &request);
    assert_eq!(
        value(&headers, "x-3scale-app-id"),
        Some("id%3Awith%25colon:key%3A50%25")
    );
    let without_key = get("/").with_header("x-app-id", "a:b");
    let headers = apply(&forward(decide(&passthrough(), &without_key)), &without_key);
    assert_eq!(value(&headers, "x-3scale-app-id"), Some("a%3Ab"));
}
