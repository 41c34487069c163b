//! The cases, by theme, and the checks they share.

mod adversarial;
#[cfg(feature = "apisonator")]
mod apisonator;
mod cache;
mod configuration;
mod credentials;
#[cfg(feature = "apisonator")]
mod differential;
mod durability;
mod extensions;
mod failures;
mod fleet;
mod metrics;
mod module;
mod oidc;
mod parity;
mod prometheus;
mod replies;
mod report_mode;
mod secrets;
mod system;

use serde_json::Value;

use crate::http::{Request, Response};
use crate::plugin::{HOST, SERVICE_ID, SERVICE_TOKEN};
use crate::sim::{Received, SimAdmin, header_pairs};

/// The simulator model most cases use.
pub const MODEL: &str = "model.yaml";

/// A `GET` for `target` at the configured service's authority.
pub fn get(target: &str) -> Request {
    Request::get(target).host(HOST)
}

/// Checks a reply the filter made itself: status, exact body, plain-text type
/// and `Powered-By`.
pub fn assert_local_reply(response: &Response, status: u16, body: &str) {
    assert_eq!(response.status, status, "unexpected status:\n{response:?}");
    assert_eq!(response.text(), body, "unexpected body:\n{response:?}");
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("text/plain; charset=utf-8"),
        "unexpected content type:\n{response:?}"
    );
    assert_powered_by(response);
}

/// Checks the `Powered-By: 3scale` response header.
pub fn assert_powered_by(response: &Response) {
    assert_eq!(
        response.headers_named("powered-by"),
        vec!["3scale".to_owned()],
        "expected one `Powered-By: 3scale`:\n{response:?}"
    );
}

/// What the echo upstream received, from its answer.
pub struct Echoed {
    /// HTTP method.
    pub method: String,
    /// Path and query, as received.
    pub path: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
}

impl Echoed {
    /// Every value of header `name`.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The only value of header `name`, if there is exactly one.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self.header_values(name).as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// Checks that the request reached the echo upstream (200, `Powered-By`) and
/// returns what the upstream saw.
pub fn assert_passed(response: &Response) -> Echoed {
    assert_eq!(
        response.status, 200,
        "expected the upstream's answer:\n{response:?}"
    );
    assert_powered_by(response);
    let echo = response.json();
    let text = |key: &str| {
        echo.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Echoed {
        method: text("method"),
        path: text("path"),
        headers: header_pairs(echo.get("headers")),
    }
}

/// Checks that the backend received no request at all.
pub fn assert_no_backend_call(admin: &SimAdmin) {
    let requests = admin.requests();
    assert!(
        requests.is_empty(),
        "expected no call to 3scale, got {requests:#?}"
    );
}

/// Checks that the backend received exactly one request, an authrep, and returns it.
pub fn single_authrep(admin: &SimAdmin) -> Received {
    let requests = admin.requests();
    let [authrep] = requests.as_slice() else {
        panic!("expected exactly one call to 3scale, got {requests:#?}");
    };
    assert_eq!(authrep.method, "GET", "{authrep:?}");
    assert!(
        authrep.path.ends_with("/transactions/authrep.xml"),
        "expected an authrep call, got {authrep:?}"
    );
    authrep.clone()
}

/// Checks an authrep's parameters: the service, exactly the given credentials,
/// the usages in order, nothing else; and the `3scale-options` header.
pub fn assert_authrep(authrep: &Received, credentials: &[(&str, &str)], usages: &[(&str, &str)]) {
    let mut expected: Vec<(String, String)> = vec![
        ("service_id".into(), SERVICE_ID.into()),
        ("service_token".into(), SERVICE_TOKEN.into()),
    ];
    expected.extend(
        credentials
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let mut params = authrep.params();
    let got_usages: Vec<(String, String)> = authrep.usages();
    let want_usages: Vec<(String, String)> = usages
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(got_usages, want_usages, "usages (in order) of {authrep:?}");
    params.retain(|(name, _)| !name.starts_with("usage["));
    params.sort();
    expected.sort();
    assert_eq!(params, expected, "parameters of {authrep:?}");
    let options = authrep.header("3scale-options").unwrap_or_default();
    for option in ["rejection_reason_header=1", "limit_headers=1", "no_body=1"] {
        assert!(
            options.split('&').any(|o| o == option),
            "3scale-options lacks {option}: {authrep:?}"
        );
    }
}
