//! The simulator's own API under `/_sim/`: the request log, counters, reset,
//! System configuration changes and fault injection.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::http::{Request, Response};
use crate::sim::State;
use crate::system::{self, Replacement};

/// How requests to the simulated services fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FaultMode {
    #[default]
    None,
    /// Answer with `status` instead.
    Status,
    /// Wait `delay_ms`, then answer normally.
    Delay,
    /// Answer 200 with a body that is neither XML nor JSON.
    Garbage,
    /// Close the connection without answering.
    Close,
    /// Answer normally, with `size` bytes of padding (spaces) after the body.
    Huge,
    /// Send a 200's status line and headers promising a body, part of the body,
    /// then close the connection.
    Truncated,
    /// Send bytes that are not HTTP at all, then close the connection.
    Raw,
    /// Never answer; keep the connection open until the client closes it.
    Hang,
}

/// Which endpoints a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Backend,
    System,
    #[default]
    All,
}

/// The active fault (`PUT /_sim/fault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub mode: FaultMode,
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default = "default_delay")]
    pub delay_ms: u64,
    #[serde(default)]
    pub scope: Scope,
    /// Bytes of padding in `huge` mode.
    #[serde(default = "default_size")]
    pub size: usize,
}

fn default_status() -> u16 {
    500
}

fn default_delay() -> u64 {
    1_000
}

fn default_size() -> usize {
    8 * 1024 * 1024
}

/// The largest `huge` padding accepted: 64 MiB, so a typo cannot exhaust memory.
const MAX_PADDING: usize = 64 * 1024 * 1024;

impl Default for Fault {
    fn default() -> Fault {
        Fault {
            mode: FaultMode::None,
            status: default_status(),
            delay_ms: default_delay(),
            scope: Scope::All,
            size: default_size(),
        }
    }
}

impl Fault {
    /// Parses and checks a fault description.
    pub fn parse(body: &[u8]) -> Result<Fault, String> {
        let fault: Fault = serde_json::from_slice(body).map_err(|error| error.to_string())?;
        if !(100..=599).contains(&fault.status) {
            return Err(format!("status {} is not an HTTP status", fault.status));
        }
        if fault.size > MAX_PADDING {
            return Err(format!(
                "size {} is more than the {MAX_PADDING} bytes of padding allowed",
                fault.size
            ));
        }
        Ok(fault)
    }

    /// Whether the fault applies to a request of this scope.
    pub fn applies_to(&self, scope: Scope) -> bool {
        self.mode != FaultMode::None && (self.scope == Scope::All || self.scope == scope)
    }
}

/// One request received on the backend listener.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    pub at: i64,
    pub method: String,
    pub path: String,
    /// The raw query string.
    pub query: String,
    /// The query parameters, form-decoded, in order.
    pub params: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body's parameters when it is a form, in order.
    pub form: Vec<(String, String)>,
}

impl LoggedRequest {
    /// Records a request; bytes that are not UTF-8 are replaced.
    pub fn new(request: &Request, at: i64) -> LoggedRequest {
        let is_form = request.header("content-type").is_some_and(|value| {
            String::from_utf8_lossy(value)
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        LoggedRequest {
            at,
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            params: form_pairs(request.query.as_bytes()),
            headers: request
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), String::from_utf8_lossy(value).into_owned()))
                .collect(),
            body: String::from_utf8_lossy(&request.body).into_owned(),
            form: if is_form {
                form_pairs(&request.body)
            } else {
                Vec::new()
            },
        }
    }
}

fn form_pairs(text: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

fn bad_request(message: impl Into<String>) -> Response {
    Response::json(400, &json!({"error": message.into()}))
}

/// Handles a `/_sim/…` request.
pub fn handle(state: &mut State, request: &Request, now: i64) -> Response {
    let segments: Vec<&str> = request
        .path
        .trim_start_matches("/_sim/")
        .split('/')
        .collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["requests"]) => Response::json(200, &json!(state.log)),
        ("GET", ["usage"]) => Response::json(200, &usage(state, now)),
        ("GET", ["errors"]) => Response::json(200, &json!(state.dropped_reports)),
        ("GET", ["fault"]) => Response::json(200, &json!(state.fault)),
        ("POST", ["reset"]) => {
            state.counters.clear();
            state.log.clear();
            state.dropped_reports.clear();
            Response::json(200, &json!({"reset": true}))
        }
        ("PUT", ["fault"]) => match Fault::parse(&request.body) {
            Ok(fault) => {
                state.fault = fault;
                Response::json(200, &json!(fault))
            }
            Err(message) => bad_request(message),
        },
        ("PUT", ["system", service_id, environment]) => {
            replace_system(state, service_id, environment, &request.body)
        }
        ("PUT", ["applications", service_id, label]) => {
            change_application(state, service_id, label, &request.body)
        }
        _ => Response::json(404, &json!({"error": "unknown simulator endpoint"})),
    }
}

fn usage(state: &State, now: i64) -> Value {
    let rows: Vec<Value> = state
        .counters
        .live(now)
        .into_iter()
        .map(|counter| {
            let application = state
                .model
                .service(&counter.service_id)
                .and_then(|service| service.applications.get(counter.application))
                .map(|app| app.label())
                .unwrap_or_default();
            json!({
                "service_id": counter.service_id,
                "application": application,
                "metric": counter.metric,
                "period": counter.period,
                "period_start": counter.period_start,
                "value": counter.value,
            })
        })
        .collect();
    Value::Array(rows)
}

/// `{"suspended": bool}`: suspends (revokes) or reinstates an application.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationChange {
    suspended: bool,
}

fn change_application(state: &mut State, service_id: &str, label: &str, body: &[u8]) -> Response {
    let change: ApplicationChange = match serde_json::from_slice(body) {
        Ok(change) => change,
        Err(error) => return bad_request(error.to_string()),
    };
    let application = state
        .model
        .services
        .iter_mut()
        .filter(|service| service.id == service_id)
        .flat_map(|service| service.applications.iter_mut())
        .find(|app| app.label() == label);
    match application {
        Some(app) => {
            app.suspended = change.suspended;
            Response::json(200, &json!({"suspended": app.suspended}))
        }
        None => Response::json(
            404,
            &json!({"error": format!("unknown application {label:?} in service {service_id:?}")}),
        ),
    }
}

fn replace_system(state: &mut State, service_id: &str, environment: &str, body: &[u8]) -> Response {
    if state.model.service(service_id).is_none() {
        return Response::json(
            404,
            &json!({"error": format!("unknown service {service_id:?}")}),
        );
    }
    let replacement: Replacement = match serde_json::from_slice(body) {
        Ok(replacement) => replacement,
        Err(error) => return bad_request(error.to_string()),
    };
    system::replace(&mut state.configs, service_id, environment, replacement);
    let version = state
        .configs
        .get(&(service_id.to_string(), environment.to_string()))
        .map_or(0, |config| config.version);
    Response::json(200, &json!({"version": version}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_defaults_and_validation() {
        let fault = Fault::parse(br#"{"mode": "status"}"#).unwrap();
        assert_eq!(
            (fault.status, fault.delay_ms, fault.scope),
            (500, 1_000, Scope::All)
        );
        assert!(Fault::parse(br#"{"mode": "status", "status": 42}"#).is_err());
        assert!(Fault::parse(br#"{"mode": "explode"}"#).is_err());
        assert!(Fault::parse(br#"{"mode": "close", "scop": "all"}"#).is_err());
    }

    #[test]
    fn fault_scope() {
        let fault = Fault::parse(br#"{"mode": "close", "scope": "system"}"#).unwrap();
        assert!(fault.applies_to(Scope::System));
        assert!(!fault.applies_to(Scope::Backend));
        assert!(!Fault::default().applies_to(Scope::Backend));
    }

    #[test]
    fn logged_request_decodes_query_and_form() {
        let request = Request {
            method: "POST".into(),
            target: "/transactions.xml?a=%5B1%5D".into(),
            path: "/transactions.xml".into(),
            query: "a=%5B1%5D".into(),
            headers: vec![(
                "content-type".into(),
                b"application/x-www-form-urlencoded".to_vec(),
            )],
            body: b"x=1+2&y".to_vec(),
        };
        let logged = LoggedRequest::new(&request, 5);
        assert_eq!(logged.params, vec![("a".to_string(), "[1]".to_string())]);
        assert_eq!(
            logged.form,
            vec![
                ("x".to_string(), "1 2".to_string()),
                ("y".to_string(), String::new())
            ]
        );
    }
}
