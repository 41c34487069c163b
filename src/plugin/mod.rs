//! The state of one plugin configuration in one VM, owned by the core: the
//! configuration, what System supplied, the System fetch schedule, the cache's
//! report flushing, and the registry of the calls the plugin has in flight.
//!
//! The filter's shell hands each host event to a [`Plugin`] method with a [`Host`]
//! (the host's clock, shared data, call dispatch and metrics, as a trait), and
//! carries out the [`Step`] it returns. Per request, the shell keeps an
//! [`Exchange`], whose contents only the core reads and writes.

mod calls;
mod exchange;
mod host;
#[cfg(test)]
mod tests;

use std::time::Duration;

use log::{debug, log};

use crate::backend::{BackendAnswer, MAX_STATUS_BODY};
use crate::cache::{CacheAccess, Store, Table, Worker};
use crate::config::Config;
use crate::fetched::Fetched;
use crate::flow::{self, Decision};
use crate::io::{Forward, LocalReply};
use crate::metrics::{Metric, Outcome, cache_counts, elapsed_ms, is_backend_error};
use crate::request::RequestView;
use crate::system::{FetchFailure, Fetcher, Outcome as FetchOutcome};

use calls::{Calls, RootCall};
pub use exchange::Exchange;
pub use host::{DispatchRefused, Host};

/// What the shell does with a request after a hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Apply these changes and let the request go upstream now.
    Continue(Forward),
    /// Send this reply; the request never reaches the upstream.
    Reply(LocalReply),
    /// Keep the request paused: a call to 3scale is on its way.
    Wait,
}

/// One plugin configuration's state in one VM (one per Envoy worker).
#[derive(Debug)]
pub struct Plugin {
    config: Config,
    /// What System has supplied so far.
    fetched: Fetched,
    /// Fetch timing and failure memory per service.
    fetcher: Fetcher,
    /// This VM's reporting state, when the cache is enabled.
    reports: Option<Worker>,
    /// The calls the plugin itself sent (fetches, reports), by host token.
    calls: Calls,
}

impl Plugin {
    /// A plugin for a validated configuration; `now` (the host clock when it
    /// starts) seeds what must differ between VMs.
    pub fn new(config: Config, now: Duration) -> Self {
        let reports = config.cache_enabled().map(|settings| {
            let mut worker = Worker::new(settings);
            worker.seed_tickets(ticket_seed(now));
            worker
        });
        Plugin {
            fetcher: Fetcher::new(&config),
            fetched: Fetched::new(),
            reports,
            calls: Calls::default(),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether [`Plugin::on_tick`] has work to do (System fetches, cache reports),
    /// so that the shell starts the host's timer.
    pub fn needs_timer(&self) -> bool {
        self.fetcher.is_active() || self.reports.is_some()
    }

    /// A request's headers arrived: decide, and send its call to 3scale if it needs one.
    pub fn on_request_headers(
        &mut self,
        exchange: &mut Exchange,
        request: &dyn RequestView,
        host: &mut dyn Host,
    ) -> Step {
        let now_ms = millis(host.now());
        let decision = {
            let mut cache = cache_access(&mut self.reports, &self.config, host.store(), now_ms);
            flow::on_request(&self.config, &self.fetched, request, cache.as_mut())
        };
        self.publish_cache_events(host);
        self.carry_out(exchange, decision, host)
    }

    /// The answer to a request's call to 3scale arrived (`body_size`: its body's
    /// length); `None` when the request was not waiting for one.
    pub fn on_authrep_answer(
        &mut self,
        exchange: &mut Exchange,
        body_size: usize,
        host: &mut dyn Host,
    ) -> Option<Step> {
        let pending = exchange.pending.take()?;
        let now = host.now();
        if let Some(sent_at) = exchange.sent_at.take() {
            host.record(Metric::BackendLatencyMs, elapsed_ms(sent_at, now));
        }
        let answer = BackendAnswer::from_headers(host.call_response_headers());
        // Only an answer that fills the cache is read, and at most this much of it.
        let body = if pending.credential.is_some() {
            host.call_response_body(body_size.min(MAX_STATUS_BODY))
        } else {
            Vec::new()
        };
        Some(self.settle(exchange, &pending, &answer, &body, host))
    }

    /// The request is over. If it still waited for 3scale (the client went away),
    /// the host cancels the call, so its flight in the cache ends here.
    pub fn on_request_done(&mut self, exchange: &mut Exchange, host: &mut dyn Host) {
        let Some(pending) = exchange.pending.take() else {
            return;
        };
        let now_ms = millis(host.now());
        if let Some(mut cache) = cache_access(&mut self.reports, &self.config, host.store(), now_ms)
        {
            flow::abandon_pending(&self.config, &pending, &mut cache);
        }
        self.publish_cache_events(host);
    }

    /// The headers to add to the upstream's response (none when the filter
    /// answered the request itself: its reply has them already).
    pub fn response_headers(&self, exchange: &Exchange) -> Vec<(String, String)> {
        if exchange.replied {
            return Vec::new();
        }
        flow::on_response_headers(&self.config, exchange.limits.as_ref())
    }

    /// The host's timer: sends the System fetches and cache reports that are due.
    pub fn on_tick(&mut self, host: &mut dyn Host) {
        self.fetch_due(host);
        self.flush_reports(host);
    }

    /// The answer to one of the plugin's own calls (`token`) arrived.
    pub fn on_call_answer(&mut self, token: u32, body_size: usize, host: &mut dyn Host) {
        match self.calls.take(token) {
            Some(RootCall::Fetch { service }) => {
                let status = status_of(host.call_response_headers());
                let body = host.call_response_body(body_size);
                self.fetched_answer(service, Ok((status, &body)), host);
            }
            Some(RootCall::Report { records }) => {
                let status = status_of(host.call_response_headers());
                if let Some(worker) = self.reports.as_mut() {
                    worker.answered(records, status);
                }
                self.publish_cache_events(host);
            }
            None => debug!("an answer to an unknown call ({token}) was ignored"),
        }
    }

    /// Carries out a decision: dispatches its call, records what the request now
    /// waits for, counts its outcome.
    fn carry_out(
        &mut self,
        exchange: &mut Exchange,
        decision: Decision,
        host: &mut dyn Host,
    ) -> Step {
        if let Some(outcome) = Outcome::of(&decision) {
            host.count(outcome.metric(), 1);
        }
        match decision {
            Decision::Continue(forward) => {
                exchange.limits = forward.limits;
                Step::Continue(forward)
            }
            Decision::Reply(reply) => {
                exchange.replied = true;
                Step::Reply(reply)
            }
            Decision::CallOut(call_out) => {
                host.count(Metric::BackendCalls, 1);
                match host.dispatch(&call_out.call) {
                    Ok(_) => {
                        exchange.pending = Some(call_out.pending);
                        exchange.sent_at = Some(host.now());
                        Step::Wait
                    }
                    Err(DispatchRefused) => self.settle(
                        exchange,
                        &call_out.pending,
                        &BackendAnswer::DispatchFailed,
                        &[],
                        host,
                    ),
                }
            }
        }
    }

    /// Finishes a request from 3scale's answer.
    fn settle(
        &mut self,
        exchange: &mut Exchange,
        pending: &flow::Pending,
        answer: &BackendAnswer,
        body: &[u8],
        host: &mut dyn Host,
    ) -> Step {
        if is_backend_error(answer) {
            host.count(Metric::BackendErrors, 1);
        }
        let now_ms = millis(host.now());
        let decision = {
            let mut cache = cache_access(&mut self.reports, &self.config, host.store(), now_ms);
            flow::on_backend_answer(&self.config, pending, answer, body, cache.as_mut())
        };
        self.publish_cache_events(host);
        self.carry_out(exchange, decision, host)
    }

    fn fetch_due(&mut self, host: &mut dyn Host) {
        let now = host.now();
        for (service, call) in self.fetcher.due_calls(&self.config, millis(now)) {
            host.count(Metric::SystemFetches, 1);
            match host.dispatch(&call) {
                Ok(token) => self.calls.insert(token, RootCall::Fetch { service }),
                Err(DispatchRefused) => {
                    self.fetched_answer(service, Err(FetchFailure::Dispatch), host);
                }
            }
        }
    }

    /// Takes in the outcome of a fetch (answered, or not sent at all).
    fn fetched_answer(
        &mut self,
        service: usize,
        answer: crate::system::fetcher::Answer<'_>,
        host: &mut dyn Host,
    ) {
        let now = host.now();
        let outcome: FetchOutcome = self.fetcher.answered(
            &self.config,
            service,
            answer,
            millis(now),
            jitter(now, service),
        );
        for (level, line) in &outcome.log {
            log!(*level, "{line}");
        }
        match outcome.fetched {
            Some(fetched) => self.fetched.set(service, fetched),
            None => host.count(Metric::SystemFetchFailures, 1),
        }
    }

    /// Sends the cache's batched reports when due.
    fn flush_reports(&mut self, host: &mut dyn Host) {
        let (Some(worker), Some(settings)) = (self.reports.as_mut(), self.config.cache_enabled())
        else {
            return;
        };
        let now_ms = millis(host.now());
        let batches = {
            let table = Table::new(host.store(), settings);
            worker.flush(&table, &self.config, &self.fetched, now_ms)
        };
        for batch in batches {
            match host.dispatch(&batch.call) {
                Ok(token) => {
                    worker.sent(&batch);
                    self.calls.insert(
                        token,
                        RootCall::Report {
                            records: batch.records,
                        },
                    );
                }
                Err(DispatchRefused) => worker.unsent(batch),
            }
        }
        self.publish_cache_events(host);
    }

    /// Moves the cache's counters by what happened since the last call.
    fn publish_cache_events(&mut self, host: &mut dyn Host) {
        if let Some(worker) = self.reports.as_mut() {
            for (metric, count) in cache_counts(&worker.new_events()) {
                host.count(metric, count);
            }
        }
    }
}

/// What a request's handling needs from the cache, when it is enabled.
fn cache_access<'a>(
    reports: &'a mut Option<Worker>,
    config: &'a Config,
    store: &'a dyn Store,
    now_ms: u64,
) -> Option<CacheAccess<'a>> {
    let settings = config.cache_enabled()?;
    Some(CacheAccess {
        settings,
        store,
        worker: reports.as_mut()?,
        now_ms,
    })
}

/// A request for a plugin whose configuration was refused: 503, counted.
pub fn unconfigured(host: &mut dyn Host) -> Step {
    host.count(Metric::RequestsUnavailable, 1);
    Step::Reply(flow::reply::unconfigured())
}

/// The `:status` of a call's answer, if it has a usable one.
fn status_of(headers: Vec<(String, Vec<u8>)>) -> Option<u16> {
    match BackendAnswer::from_headers(headers) {
        BackendAnswer::Received { status, .. } => status,
        BackendAnswer::DispatchFailed => None,
    }
}

fn millis(time: Duration) -> u64 {
    u64::try_from(time.as_millis()).unwrap_or(u64::MAX)
}

/// A seed for this VM's authrep tickets, from the clock's nanoseconds (VMs
/// start at different instants).
fn ticket_seed(now: Duration) -> u32 {
    let mixed = u64::from(now.subsec_nanos())
        .wrapping_add(now.as_secs())
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // The high half is the best mixed.
    u32::try_from(mixed >> 32).unwrap_or(0)
}

/// A value in `[0, 1)` that differs between services and between VMs started at
/// different instants, from the clock's nanoseconds (no randomness source needed).
fn jitter(now: Duration, index: usize) -> f64 {
    let seed = u64::from(now.subsec_nanos()) ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mixed = seed.wrapping_mul(0xBF58_476D_1CE4_E5B9).rotate_left(31);
    // The top 53 bits give an exact float below 1.
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}
