//! The HTTP context: one per request; carries out the core's decisions.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use super::host::{self, HostRequest};
use super::metrics::Metrics;
use super::shared::SharedData;
use crate::backend::{BackendAnswer, Limits, MAX_STATUS_BODY};
use crate::cache::{CacheAccess, Worker};
use crate::config::Config;
use crate::decision::{Decision, HttpCall, Pending};
use crate::fetched::Fetched;
use crate::flow;
use crate::metrics::{Metric, elapsed_ms};

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
    metrics: Rc<Metrics>,
    /// When the call to 3scale was sent, by the host clock.
    call_sent_at: Option<Duration>,
}

impl Http {
    /// A request context sharing the plugin's configuration.
    pub fn new(
        config: Option<Rc<Config>>,
        fetched: Rc<Fetched>,
        metrics: Rc<Metrics>,
        cache: Option<Rc<RefCell<Worker>>>,
    ) -> Self {
        Http {
            config,
            fetched,
            cache,
            pending: None,
            limits: None,
            replied: false,
            metrics,
            call_sent_at: None,
        }
    }

    /// Carries out a decision; `Pause` unless the request may go on now.
    fn apply(&mut self, decision: Decision) -> Action {
        self.metrics.outcome(&decision);
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
            Decision::CallOut(call_out) => match self.dispatch(&call_out.call) {
                Ok(_token) => {
                    self.pending = Some(call_out.pending);
                    Action::Pause
                }
                Err(()) => self.answer(&call_out.pending, &BackendAnswer::DispatchFailed, &[]),
            },
        }
    }

    /// Sends a call to 3scale, counting it and noting when it left.
    fn dispatch(&mut self, call: &HttpCall) -> Result<u32, ()> {
        self.metrics.count(Metric::BackendCalls);
        let token = host::dispatch(call)?;
        self.call_sent_at = Some(host::now());
        Ok(token)
    }

    /// Finishes a paused request from 3scale's answer (`body`: its body, read
    /// only when the answer is to fill the cache).
    fn answer(&mut self, pending: &Pending, answer: &BackendAnswer, body: &[u8]) -> Action {
        self.metrics.backend_answer(answer);
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
        let result = run(&mut access);
        self.metrics.cache(&mut worker);
        Some(result)
    }
}

impl Context for Http {
    /// The request is over; if it still waits for 3scale (the client went
    /// away), the host cancels the call, so its flight ends here.
    fn on_done(&mut self) -> bool {
        if let (Some(pending), Some(config)) = (self.pending.take(), self.config.clone()) {
            self.with_cache(&config, |cache| {
                flow::abandon_pending(&config, &pending, cache);
            });
        }
        true
    }

    fn on_http_call_response(&mut self, _: u32, _: usize, body_size: usize, _: usize) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        if let Some(sent_at) = self.call_sent_at.take() {
            let latency = elapsed_ms(sent_at, host::now());
            self.metrics.record(Metric::BackendLatencyMs, latency);
        }
        let answer = BackendAnswer::from_headers(host::call_response_headers());
        let body = if pending.credential.is_some() {
            host::call_response_body(body_size.min(MAX_STATUS_BODY))
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
