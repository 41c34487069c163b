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
