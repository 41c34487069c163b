//! The HTTP context: one per request; carries out the core's decisions.

use std::cell::RefCell;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use super::host::{self, HostRequest};
use super::shared::SharedData;
use crate::backend::{BackendAnswer, Limits};
use crate::cache::{CacheAccess, Worker};
use crate::config::Config;
use crate::decision::{Decision, Pending};
use crate::fetched::Fetched;
use crate::flow;

/// The state of one request.
pub struct Http {
    config: Option<Rc<Config>>,
    fetched: Rc<Fetched>,
    /// This worker's cache bookkeeping, when the cache is enabled.
    cache: Option<Rc<RefCell<Worker>>>,
    /// Set while the request waits for 3scale.
    pending: Option<Pending>,
    /// The backend's limits, for the upstream response's headers.
    limits: Option<Limits>,
    /// The filter answered the request itself; its reply has its headers already.
    replied: bool,
}

impl Http {
    /// A request context sharing the plugin's configuration.
    pub fn new(
        config: Option<Rc<Config>>,
        fetched: Rc<Fetched>,
        cache: Option<Rc<RefCell<Worker>>>,
    ) -> Self {
        Http {
            config,
            fetched,
            cache,
            pending: None,
            limits: None,
            replied: false,
        }
    }

    /// Carries out a decision; `Pause` unless the request may go on now.
    fn apply(&mut self, decision: Decision) -> Action {
        match decision {
            Decision::Continue(forward) => {
                host::forward(&forward);
                self.limits = forward.limits;
                Action::Continue
            }
            Decision::Reply(reply) => {
                host::reply(&reply);
                self.replied = true;
                Action::Pause
            }
            Decision::CallOut(call_out) => match host::dispatch(&call_out.call) {
                Ok(_token) => {
                    self.pending = Some(call_out.pending);
                    Action::Pause
                }
                Err(()) => self.answer(&call_out.pending, &BackendAnswer::DispatchFailed, &[]),
            },
        }
    }

    /// Finishes a paused request from 3scale's answer (`body`: its body, read
    /// only when the answer is to fill the cache).
    fn answer(&mut self, pending: &Pending, answer: &BackendAnswer, body: &[u8]) -> Action {
        let decision = match self.config.clone() {
            Some(config) => self
                .with_cache(&config, |cache| {
                    flow::on_cached_backend_answer(&config, pending, answer, body, cache)
                })
                .unwrap_or_else(|| flow::on_backend_answer(&config, pending, answer)),
            None => Decision::Reply(flow::reply::unconfigured()),
        };
        self.apply(decision)
    }

    /// Runs `run` with the cache, when it is enabled (and not already in use,
    /// which cannot happen in a single-threaded VM but must not panic).
    fn with_cache<T>(
        &self,
        config: &Config,
        run: impl FnOnce(&mut CacheAccess<'_>) -> T,
    ) -> Option<T> {
        let settings = config.cache_enabled()?;
        let mut worker = self.cache.as_ref()?.try_borrow_mut().ok()?;
        let mut access = CacheAccess {
            settings,
            store: &SharedData,
            worker: &mut worker,
            now_ms: host::now_ms(),
        };
        Some(run(&mut access))
    }
}

impl Context for Http {
    fn on_http_call_response(&mut self, _: u32, _: usize, body_size: usize, _: usize) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let answer = BackendAnswer::from_headers(host::call_response_headers());
        let body = if pending.credential.is_some() {
            host::call_response_body(body_size)
        } else {
            Vec::new()
        };
        if let Action::Continue = self.answer(&pending, &answer, &body) {
            host::resume_request();
        }
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let decision = match self.config.clone() {
            Some(config) => {
                let fetched = Rc::clone(&self.fetched);
                self.with_cache(&config, |cache| {
                    flow::on_request_cached(&config, &fetched, &HostRequest, cache)
                })
                .unwrap_or_else(|| flow::on_request(&config, &fetched, &HostRequest))
            }
            None => Decision::Reply(flow::reply::unconfigured()),
        };
        self.apply(decision)
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
        if let (Some(config), false) = (&self.config, self.replied) {
            host::add_response_headers(&flow::on_response_headers(config, self.limits.as_ref()));
        }
        Action::Continue
    }
}
