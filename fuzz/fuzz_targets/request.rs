//! The request flow: `on_request` on a request built from the input, then
//! `on_backend_answer` with an answer built from the input, then the response headers.
//!
//! Input: fields separated by `0xFF` (a byte that never occurs in UTF-8, so text
//! fields need no escaping): `<selector>`, `:method`, `:authority`, `:path`,
//! `authorization`, `x-user-key`, `x-jwt-payload`, the serialized Envoy `Metadata`,
//! then the backend answer's headers as `name:value` lines (`:status:200`).
//! An empty field is an empty header; fields missing at the end leave those
//! headers out (and no answer field means the call could not be dispatched).
//! The selector's first byte picks one of two fixed configurations (odd:
//! passthrough metadata and fail-open; even: `mode: report` for every service but
//! the first, which says `enforce`, and `debug_headers`).
//!
//! Beyond "no panic", the target checks `strip_credentials` (even selector): a
//! request sent on carries no header and no query parameter a credential came from.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use threescale_wasm_auth::backend::BackendAnswer;
use threescale_wasm_auth::config::{self, Config};
use threescale_wasm_auth::fetched::{Fetched, FetchedService};
use threescale_wasm_auth::flow::{self, Decision, Pending};
use threescale_wasm_auth::io::Forward;
use threescale_wasm_auth::io::pairs::OwnedHeaderPairs;
use threescale_wasm_auth::io::query::{query_of, same_name};
use threescale_wasm_auth::mapping::{MappingRule, Usage};
use threescale_wasm_auth::model::{Origin, Usages};
use threescale_wasm_auth::request::{PlainRequest, RequestView};

#[path = "../common/answer_headers.rs"]
mod answer_headers;
use answer_headers::answer_headers;

/// Three services: user key or Basic authorization (`api.*`), a JWT from a header
/// or from metadata (`jwt.*`, token and extra rules from System), and app id/key
/// from anywhere (the rest).
const SERVICES: &str = r#"
services:
  - id: "1"
    token: token-1
    mode: enforce
    authorities: ["api.*", "*.api.example.com:*"]
    mapping_rules:
      - method: GET
        pattern: /
        usages: [{name: hits, delta: 1}]
      - method: any
        pattern: "/orders/{id}/items$?kind={kind}&x={x}"
        usages: [{name: orders, delta: 2}]
        last: true
    credentials:
      user_key:
        - query_string: {keys: [user_key, <user_key>]}
        - header: {keys: [x-user-key]}
      app_id:
        - header:
            keys: [authorization]
            ops:
              - split: {separator: " ", max: 2}
              - length: {min: 2}
              - reverse
              - glob: [Basic, basic]
              - drop: {tail: 1}
              - base64_urlsafe
              - split: {separator: ":", max: 2}
              - test:
                  if: {length: {min: 2}}
                  then:
                    - strlen: {max: 63}
                    - or: [{strlen: {min: 1}}, {drop: {tail: 1}}]
  - id: "2"
    authorities: ["jwt.*"]
    mapping_rules:
      - method: POST
        pattern: /x/{a}/{b}.json
        usages: [{name: hits, delta: 1}, {name: writes, delta: 3}]
    credentials:
      app_id:
        - header:
            keys: [x-jwt-payload]
            ops:
              - base64_urlsafe
              - json: [{keys: [azp, aud]}]
              - take: {head: 1}
        - filter:
            path: [envoy.filters.http.jwt_authn, "0"]
            keys: [azp, aud]
            ops:
              - take: {head: 1}
      app_key:
        - filter:
            path: [envoy.filters.http.jwt_authn, "0", keys]
            keys: ["0"]
  - id: "3"
    credentials:
      app_id:
        - query_string: {keys: [app_id, <app_id>]}
        - header: {keys: [x-app-id, authorization]}
      app_key:
        - query_string: {keys: [app_key]}
        - header: {keys: [x-app-key]}
"#;

const BACKEND: &str = r#"
api: v1
backend:
  upstream:
    name: outbound|443||su1.3scale.net
    url: https://su1.3scale.net/
    timeout: 5000
  extensions: [hierarchy]
system:
  upstream:
    name: outbound|443||system.example.com
    url: https://system.example.com/
  token: system-token
"#;

const STRICT: &str = r#"
mode: report
debug_headers: true
strip_credentials: true
rate_limit_headers: true
errors:
  auth_failed: {status: 401, body: "no", headers: {www-authenticate: Basic}}
"#;

const LENIENT: &str = r#"
passthrough_metadata: true
failure_policy: allow
powered_by: false
"#;

fn configs() -> &'static (Config, Config) {
    static CONFIGS: OnceLock<(Config, Config)> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let parse = |extra: &str| {
            let text = format!("{BACKEND}{extra}{SERVICES}");
            config::parse(text.as_bytes()).unwrap_or_else(|error| panic!("fixed config: {error}"))
        };
        (parse(STRICT), parse(LENIENT))
    })
}

fn fetched() -> &'static Fetched {
    static FETCHED: OnceLock<Fetched> = OnceLock::new();
    FETCHED.get_or_init(|| {
        let mut fetched = Fetched::new();
        let usage = Usage::new("fetched", 5).expect("valid usage");
        let rule = MappingRule::new("GET", "/fetched/{x}", vec![usage], false).expect("valid rule");
        fetched.set(
            1,
            FetchedService {
                token: Some("fetched-token".into()),
                rules: vec![rule].into(),
            },
        );
        fetched
    })
}

/// `FUZZ_DEBUG=1` prints each decision, to see what an input (or a seed) reaches.
fn debug() -> bool {
    static DEBUG: OnceLock<bool> = OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("FUZZ_DEBUG").is_some())
}

const HEADERS: [&str; 6] = [
    ":method",
    ":authority",
    ":path",
    "authorization",
    "x-user-key",
    "x-jwt-payload",
];

/// With `strip_credentials`, no copy of a credential may reach the upstream: every
/// header a credential came from is removed, and no query parameter whose name
/// decodes to a credential parameter's name is left in the forwarded path.
fn assert_stripped(request: &PlainRequest, pending: &Pending) {
    let original = request
        .header(":path")
        .map(|path| String::from_utf8_lossy(&path).into_owned())
        .unwrap_or_default();
    let path = pending.forward.new_path.as_deref().unwrap_or(&original);
    for origin in &pending.origins {
        match origin {
            Origin::Header(name) => assert!(
                pending.forward.removes(name),
                "header {name} not removed: {pending:?}"
            ),
            Origin::QueryParameter(name) => {
                let left = query_of(path)
                    .into_iter()
                    .flat_map(|query| query.split('&'))
                    .find(|pair| {
                        let raw = pair.split_once('=').map_or(*pair, |(raw, _)| raw);
                        same_name(raw, name)
                    });
                assert!(
                    left.is_none(),
                    "parameter {name} left in {path:?}: {pending:?}"
                );
            }
            Origin::Metadata => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|&byte| byte == 0xFF);
    let selector = fields
        .next()
        .and_then(|field| field.first().copied())
        .unwrap_or(0);
    let (strict, lenient) = configs();
    let config = if selector % 2 == 0 { strict } else { lenient };

    let mut request = PlainRequest::default();
    for name in HEADERS {
        if let Some(value) = fields.next() {
            request = request.with_header_bytes(name, value);
        }
    }
    if let Some(metadata) = fields.next() {
        request = request.with_metadata(metadata.to_vec());
    }
    let answer = match fields.next() {
        Some(headers) => {
            BackendAnswer::from_headers(OwnedHeaderPairs::of(&answer_headers(headers)))
        }
        None => BackendAnswer::DispatchFailed,
    };

    let decision = flow::on_request(config, fetched(), &request, None);
    if debug() {
        eprintln!("on_request: {decision:?}");
    }
    let pending = match decision {
        Decision::CallOut(call_out) => {
            if config.strip_credentials {
                assert_stripped(&request, &call_out.pending);
            }
            call_out.pending
        }
        // Still exercise the answer step, with a service index from the input
        // (possibly out of range, which the answer step must tolerate).
        _ => Pending {
            service_index: usize::from(selector / 2),
            usages: Usages::default(),
            origins: Vec::new(),
            forward: Forward::default(),
            credential: None,
            ticket: None,
            notes: Default::default(),
        },
    };
    let answered = flow::on_backend_answer(config, pending, &answer, &[], None);
    if debug() {
        eprintln!("on_backend_answer: {answered:?}");
    }
    let limits = match answered {
        Decision::Continue(forward) => forward.limits,
        _ => None,
    };
    flow::on_response_headers(config, limits.as_ref(), &mut |name, value, _| {
        if debug() {
            eprintln!("response header: {name}: {value}");
        }
    });
});
