//! The simulator's admin API (`/_sim/...`), as the tests use it.

use std::net::SocketAddr;

use serde_json::Value;

use crate::http::Request;

/// One request the simulated backend received.
#[derive(Debug, Clone)]
pub struct Received {
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The raw query string (still percent-encoded), empty if none.
    pub query: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
}

impl Received {
    /// The query decoded into name/value pairs, in order.
    pub fn params(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }

    /// Every value of query parameter `name`.
    pub fn param_values(&self, name: &str) -> Vec<String> {
        self.params()
            .into_iter()
            .filter(|(n, _)| n == name)
            .map(|(_, value)| value)
            .collect()
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The `usage[...]` parameters in order, as (metric, delta) pairs.
    pub fn usages(&self) -> Vec<(String, String)> {
        self.params()
            .into_iter()
            .filter_map(|(name, value)| {
                let metric = name.strip_prefix("usage[")?.strip_suffix(']')?;
                Some((metric.to_owned(), value))
            })
            .collect()
    }
}

/// A client for the simulator's `/_sim` admin API.
pub struct SimAdmin {
    address: SocketAddr,
}

impl SimAdmin {
    /// The admin API served at `address`.
    pub fn new(address: SocketAddr) -> SimAdmin {
        SimAdmin { address }
    }

    fn call(&self, request: Request) -> crate::http::Response {
        let response = request
            .send(self.address)
            .unwrap_or_else(|e| panic!("simulator admin call failed: {e}"));
        assert!(
            (200..300).contains(&response.status),
            "simulator admin call failed:\n{response:?}"
        );
        response
    }

    /// Every request the backend has received since the start or the last reset.
    pub fn requests(&self) -> Vec<Received> {
        let listing = self.call(Request::get("/_sim/requests")).json();
        let entries = listing
            .as_array()
            .or_else(|| listing.get("requests").and_then(Value::as_array))
            .cloned()
            .unwrap_or_default();
        entries.iter().map(received).collect()
    }

    /// The backend requests to a path ending in `suffix`.
    pub fn requests_to(&self, suffix: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|request| request.path.ends_with(suffix))
            .collect()
    }

    /// Forgets received requests and usage.
    pub fn reset(&self) {
        self.call(Request::new("POST", "/_sim/reset"));
    }

    /// Installs a fault (e.g. a delay) on the backend.
    pub fn fault(&self, fault: &Value) {
        self.call(
            Request::new("PUT", "/_sim/fault")
                .header("content-type", "application/json")
                .body(fault.to_string()),
        );
    }

    /// Replaces what System publishes for `service_id` in `environment`
    /// (`{"proxy_rules": [...], "token": "...", "include_token": true}`).
    pub fn publish(&self, service_id: &str, environment: &str, config: &Value) {
        self.call(
            Request::new("PUT", &format!("/_sim/system/{service_id}/{environment}"))
                .header("content-type", "application/json")
                .body(config.to_string()),
        );
    }
}

impl SimAdmin {
    /// Suspends (`true`) or reinstates an application, named as in `/_sim/usage`
    /// (`user_key:<key>` or the app_id).
    pub fn suspend(&self, service_id: &str, application: &str, suspended: bool) {
        self.call(
            Request::new(
                "PUT",
                &format!("/_sim/applications/{service_id}/{application}"),
            )
            .header("content-type", "application/json")
            .body(serde_json::json!({ "suspended": suspended }).to_string()),
        );
    }

    /// One live counter: `metric` of `application` (app_id, or
    /// `user_key:<key>`) in the current `period` (0 when it has none).
    pub fn counted(&self, application: &str, metric: &str, period: &str) -> u64 {
        self.usage()
            .into_iter()
            .filter(|(app, name, of, _)| app == application && name == metric && of == period)
            .map(|(_, _, _, value)| value)
            .sum()
    }

    /// The live counters: (application, metric, period, value).
    pub fn usage(&self) -> Vec<(String, String, String, u64)> {
        let rows = self.call(Request::get("/_sim/usage")).json();
        rows.as_array()
            .into_iter()
            .flatten()
            .map(|row| {
                let text = |key: &str| {
                    row.get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                (
                    text("application"),
                    text("metric"),
                    text("period"),
                    row.get("value").and_then(Value::as_u64).unwrap_or_default(),
                )
            })
            .collect()
    }
}

/// A received request from its JSON form in the admin API.
fn received(entry: &Value) -> Received {
    let text = |key: &str| {
        entry
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (path, query) = match entry.get("query").and_then(Value::as_str) {
        Some(query) => (text("path"), query.to_owned()),
        None => {
            let full = text("path");
            match full.split_once('?') {
                Some((path, query)) => (path.to_owned(), query.to_owned()),
                None => (full, String::new()),
            }
        }
    };
    Received {
        method: text("method"),
        path,
        query,
        headers: header_pairs(entry.get("headers")),
    }
}

/// Headers given either as an object (name → value or list of values) or as a
/// list of `[name, value]` pairs.
pub fn header_pairs(headers: Option<&Value>) -> Vec<(String, String)> {
    let as_text = |value: &Value| value.as_str().map(str::to_owned);
    match headers {
        Some(Value::Object(map)) => map
            .iter()
            .flat_map(|(name, value)| {
                let values: Vec<String> = match value {
                    Value::Array(items) => items.iter().filter_map(as_text).collect(),
                    other => as_text(other).into_iter().collect(),
                };
                values.into_iter().map(|v| (name.to_ascii_lowercase(), v))
            })
            .collect(),
        Some(Value::Array(pairs)) => pairs
            .iter()
            .filter_map(|pair| {
                let name = pair.get(0).and_then(Value::as_str)?;
                let value = pair.get(1).and_then(Value::as_str)?;
                Some((name.to_ascii_lowercase(), value.to_owned()))
            })
            .collect(),
        _ => Vec::new(),
    }
}
