//! The simulator's shared state and the routing of the main listener:
//! apisonator endpoints, the System endpoint, and the `/_sim/` admin API.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::admin::{self, Fault, FaultMode, LoggedRequest, Scope};
use crate::backend::{self, AuthCall, CONTENT_TYPE};
use crate::counters::Counters;
use crate::http::{Handler, Reply, Request, Response};
use crate::model::Model;
use crate::system::{self, Configs};

/// Most requests kept in the log; the older half is dropped when it is full.
const MAX_LOGGED: usize = 10_000;

/// Everything the simulator remembers.
#[derive(Debug)]
pub struct State {
    pub model: Model,
    pub counters: Counters,
    pub configs: Configs,
    pub log: Vec<LoggedRequest>,
    pub fault: Fault,
    /// Report batches dropped during processing, as `{code, message}`.
    pub dropped_reports: Vec<Value>,
}

/// The handler of the main listener.
pub struct Simulator {
    state: Mutex<State>,
}

impl Simulator {
    /// A simulator with no traffic yet.
    pub fn new(model: Model) -> Simulator {
        let configs = system::initial_configs(&model);
        Simulator {
            state: Mutex::new(State {
                model,
                counters: Counters::default(),
                configs,
                log: Vec::new(),
                fault: Fault::default(),
                dropped_reports: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler thread must not take the simulator down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// The `truncated` fault: a 200 that promises 1000 bytes and sends 14.
const TRUNCATED: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n<status>author";
/// The `raw` fault: no status line, no headers, not HTTP.
const NOT_HTTP: &[u8] = b"\x00\xff\x16\x03 this is not HTTP \r\n\r\n\xfe";

fn scope_of(path: &str) -> Scope {
    if path.starts_with("/admin/api/") {
        Scope::System
    } else {
        Scope::Backend
    }
}

impl Handler for Simulator {
    fn handle(&self, request: &Request) -> Reply {
        let now = now();
        if request.path.starts_with("/_sim/") {
            return Reply::Send(admin::handle(&mut self.lock(), request, now));
        }
        let scope = scope_of(&request.path);
        let fault = {
            let mut state = self.lock();
            if state.log.len() >= MAX_LOGGED {
                // A long demo must not grow without bound; tests reset long before this.
                state.log.drain(..MAX_LOGGED / 2);
            }
            state.log.push(LoggedRequest::new(request, now));
            state.fault
        };
        if fault.applies_to(scope) {
            match fault.mode {
                FaultMode::None => {}
                FaultMode::Status => {
                    return Reply::Send(Response::new(
                        fault.status,
                        "text/plain",
                        "simulated failure\n",
                    ));
                }
                FaultMode::Delay => thread::sleep(Duration::from_millis(fault.delay_ms)),
                FaultMode::Garbage => {
                    let content_type = match scope {
                        Scope::System => "application/json",
                        _ => CONTENT_TYPE,
                    };
                    return Reply::Send(Response::new(
                        200,
                        content_type,
                        &b"\x00\xff<<not a 3scale answer}}"[..],
                    ));
                }
                FaultMode::Close => return Reply::Hangup,
                FaultMode::Huge => {
                    let mut response = route(&mut self.lock(), request, now);
                    response.body.resize(response.body.len() + fault.size, b' ');
                    return Reply::Send(response);
                }
                FaultMode::Truncated => return Reply::Raw(TRUNCATED.to_vec()),
                FaultMode::Raw => return Reply::Raw(NOT_HTTP.to_vec()),
                FaultMode::Hang => return Reply::Hang,
            }
        }
        Reply::Send(route(&mut self.lock(), request, now))
    }
}

fn route(state: &mut State, request: &Request, now: i64) -> Response {
    let options = request.header("3scale-options");
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/transactions/authrep.xml") => auth(state, AuthCall::Authrep, request, now),
        ("GET", "/transactions/authorize.xml") => auth(state, AuthCall::Authorize, request, now),
        ("POST", "/transactions.xml") => {
            let outcome = backend::report(
                &state.model,
                &mut state.counters,
                request.header("content-type"),
                &request.body,
                options,
                now,
            );
            if let Some(error) = outcome.dropped {
                state.dropped_reports.push(json!({
                    "at": now,
                    "code": error.code(),
                    "message": error.message(),
                }));
            }
            backend_response(outcome.answer)
        }
        ("GET", "/status") => Response::json(200, &json!({"status": "ok"})),
        ("GET", path) if path.starts_with("/admin/api/") => {
            system::proxy_config(&state.model, &state.configs, path, &request.query)
        }
        (_, path) if path.starts_with("/admin/api/") => {
            Response::json(404, &json!({"status": "Not found"}))
        }
        // apisonator's not-found answer: empty body, its content type.
        _ => Response::new(404, CONTENT_TYPE, ""),
    }
}

fn auth(state: &mut State, call: AuthCall, request: &Request, now: i64) -> Response {
    backend_response(backend::authorize(
        &state.model,
        &mut state.counters,
        call,
        request.query.as_bytes(),
        request.header("3scale-options"),
        now,
    ))
}

fn backend_response(answer: backend::Answer) -> Response {
    Response {
        status: answer.status,
        headers: answer.headers,
        body: answer.body.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"
system: { access_token: sys }
services:
  - id: "1"
    token: tok
    metrics: [ { name: hits } ]
    applications:
      - user_key: uk
        plan: { name: Basic }
    system:
      production: { proxy_rules: [] }
"#;

    fn simulator() -> Simulator {
        Simulator::new(Model::from_yaml(MODEL).unwrap())
    }

    fn request(method: &str, target: &str, body: &str) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method: method.into(),
            target: target.into(),
            path: path.into(),
            query: query.into(),
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    fn status(reply: Reply) -> Option<u16> {
        match reply {
            Reply::Send(response) => Some(response.status),
            Reply::Hangup | Reply::Raw(_) | Reply::Hang => None,
        }
    }

    const AUTHREP: &str = "/transactions/authrep.xml?service_token=tok&service_id=1&user_key=uk";
    const SYSTEM: &str =
        "/admin/api/services/1/proxy/configs/production/latest.json?access_token=sys";

    #[test]
    fn routes_backend_system_and_unknown_paths() {
        let sim = simulator();
        assert_eq!(status(sim.handle(&request("GET", AUTHREP, ""))), Some(200));
        assert_eq!(status(sim.handle(&request("GET", SYSTEM, ""))), Some(200));
        assert_eq!(status(sim.handle(&request("POST", AUTHREP, ""))), Some(404));
        assert_eq!(
            status(sim.handle(&request("GET", "/admin/api/x", ""))),
            Some(404)
        );
        assert_eq!(sim.lock().log.len(), 4);
    }

    #[test]
    fn admin_calls_are_not_logged() {
        let sim = simulator();
        sim.handle(&request("GET", "/_sim/requests", ""));
        assert!(sim.lock().log.is_empty());
    }

    #[test]
    fn faults_follow_their_scope() {
        let sim = simulator();
        let put = request(
            "PUT",
            "/_sim/fault",
            r#"{"mode": "close", "scope": "system"}"#,
        );
        assert_eq!(status(sim.handle(&put)), Some(200));
        assert_eq!(status(sim.handle(&request("GET", SYSTEM, ""))), None);
        assert_eq!(status(sim.handle(&request("GET", AUTHREP, ""))), Some(200));
        let put = request("PUT", "/_sim/fault", r#"{"mode": "status", "status": 502}"#);
        sim.handle(&put);
        assert_eq!(status(sim.handle(&request("GET", AUTHREP, ""))), Some(502));
        assert_eq!(sim.lock().log.len(), 3, "faulted requests are logged");
    }

    #[test]
    fn huge_pads_the_real_answer_and_the_others_do_not_answer_in_http() {
        let sim = simulator();
        let put = request("PUT", "/_sim/fault", r#"{"mode": "huge", "size": 5000}"#);
        assert_eq!(status(sim.handle(&put)), Some(200));
        let Reply::Send(padded) = sim.handle(&request("GET", AUTHREP, "")) else {
            panic!("huge answers");
        };
        sim.handle(&request("PUT", "/_sim/fault", r#"{"mode": "none"}"#));
        let Reply::Send(plain) = sim.handle(&request("GET", AUTHREP, "")) else {
            panic!("no fault answers");
        };
        assert_eq!(padded.status, plain.status);
        assert_eq!(padded.body.len(), plain.body.len() + 5000);
        assert!(padded.body.ends_with(b"  "));

        sim.handle(&request("PUT", "/_sim/fault", r#"{"mode": "truncated"}"#));
        let Reply::Raw(bytes) = sim.handle(&request("GET", AUTHREP, "")) else {
            panic!("truncated answers raw bytes");
        };
        assert!(bytes.starts_with(b"HTTP/1.1 200 OK\r\n"));
        sim.handle(&request("PUT", "/_sim/fault", r#"{"mode": "raw"}"#));
        let Reply::Raw(bytes) = sim.handle(&request("GET", AUTHREP, "")) else {
            panic!("raw answers raw bytes");
        };
        assert!(!bytes.starts_with(b"HTTP/"));
        sim.handle(&request("PUT", "/_sim/fault", r#"{"mode": "hang"}"#));
        assert_eq!(sim.handle(&request("GET", AUTHREP, "")), Reply::Hang);
        let too_big = request("PUT", "/_sim/fault", r#"{"mode": "huge", "size": 1e12}"#);
        assert_eq!(status(sim.handle(&too_big)), Some(400));
        let too_big = request(
            "PUT",
            "/_sim/fault",
            r#"{"mode": "huge", "size": 100000000}"#,
        );
        assert_eq!(status(sim.handle(&too_big)), Some(400));
    }

    #[test]
    fn dropped_report_batches_are_recorded() {
        let sim = simulator();
        let body = "service_token=tok&service_id=1&transactions%5B0%5D%5Buser_key%5D=nope&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1";
        assert_eq!(
            status(sim.handle(&request("POST", "/transactions.xml", body))),
            Some(202)
        );
        assert_eq!(sim.lock().dropped_reports[0]["code"], "user_key_invalid");
    }

    #[test]
    fn applications_can_be_suspended_and_reinstated() {
        let sim = simulator();
        let suspend = |suspended: bool| {
            request(
                "PUT",
                "/_sim/applications/1/user_key:uk",
                &format!(r#"{{"suspended": {suspended}}}"#),
            )
        };
        assert_eq!(status(sim.handle(&suspend(true))), Some(200));
        assert_eq!(status(sim.handle(&request("GET", AUTHREP, ""))), Some(409));
        assert_eq!(status(sim.handle(&suspend(false))), Some(200));
        assert_eq!(status(sim.handle(&request("GET", AUTHREP, ""))), Some(200));
        let unknown = request(
            "PUT",
            "/_sim/applications/1/nobody",
            r#"{"suspended": true}"#,
        );
        assert_eq!(status(sim.handle(&unknown)), Some(404));
        let bad = request(
            "PUT",
            "/_sim/applications/1/user_key:uk",
            r#"{"suspend": true}"#,
        );
        assert_eq!(status(sim.handle(&bad)), Some(400));
    }
}
