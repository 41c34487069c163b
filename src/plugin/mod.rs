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

use log::{debug, info, log, warn};

use crate::backend::{BackendAnswer, MAX_STATUS_BODY};
use crate::cache::{self, CacheAccess, CacheEvent, Store, Table, Worker, bucket_count};
use crate::config::Config;
use crate::fetched::Fetched;
use crate::flow::{self, Decision};
use crate::io::pairs::OwnedHeaderPairs;
use crate::io::{Forward, HeaderWrite, LocalReply};
use crate::metrics::{Metric, Outcome, cache_counts, elapsed_ms, is_backend_error};
use crate::request::RequestView;
use crate::system::request::proxy_config_call;
use crate::system::{FetchFailure, Fetcher, Outcome as FetchOutcome, SharedFetch};

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
    /// The configuration has ended ([`Plugin::on_end`]): nothing is due any more.
    ending: bool,
    /// Each service's System fetch as shared with the other plugins of the VM
    /// id (one fetcher per Envoy), by service.
    shared_fetches: Vec<SharedFetch>,
    /// When the last shared answer this plugin took was fetched, by service.
    seen_fetch_ms: Vec<u64>,
    /// This plugin's name in the System fetch leases.
    owner: u64,
}

impl Plugin {
    /// A plugin for a validated configuration; `now` (the host clock when it
    /// starts) seeds what must differ between VMs.
    pub fn new(config: Config, now: Duration) -> Self {
        let reports = config.cache_enabled().map(|settings| {
            let mut worker = Worker::new(settings);
            worker.seed_tickets(ticket_seed(now));
            // What a configuration this one replaces left in the buckets.
            worker.touch_all(bucket_count(settings));
            worker
        });
        Plugin {
            fetcher: Fetcher::new(&config),
            fetched: Fetched::new(),
            reports,
            calls: Calls::default(),
            ending: false,
            shared_fetches: shared_fetches(&config),
            seen_fetch_ms: vec![0; config.services.len()],
            owner: owner_id(now),
            config,
        }
    }

    /// The plugin starts (the host took its configuration). With the cache, the
    /// keys that must exist before a request or an ending plugin writes are made
    /// to exist now ([`cache::prepare`]).
    pub fn on_start(&self, host: &mut dyn Host) {
        if let Some(settings) = self.config.cache_enabled() {
            cache::prepare(host.store(), settings);
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A request's headers arrived: decide, and send its call to 3scale if it needs one.
    pub fn on_request_headers(
        &mut self,
        exchange: &mut Exchange,
        request: &dyn RequestView,
        host: &mut dyn Host,
    ) -> Step {
        // One reading of the host clock per hook: the decision takes
        // microseconds, and every reading is a host call.
        let now = host.now();
        let decision = {
            let mut cache =
                cache_access(&mut self.reports, &self.config, host.store(), millis(now));
            flow::on_request(&self.config, &self.fetched, request, cache.as_mut())
        };
        // The cache's counts reach the metrics at the next tick (which hands
        // the metrics to the host anyway), not at every request.
        self.carry_out(exchange, decision, now, host)
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
        Some(self.settle(exchange, pending, &answer, &body, now, host))
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

    /// Hands `add` each header to add to the upstream's response (none when
    /// the filter answered the request itself: its reply has them already).
    pub fn response_headers(
        &self,
        exchange: &Exchange,
        add: &mut dyn FnMut(&str, &str, HeaderWrite),
    ) {
        if exchange.replied {
            return;
        }
        flow::on_response_headers(&self.config, exchange.limits.as_ref(), add);
        for (name, value) in &exchange.response_headers {
            add(name, value, HeaderWrite::Replace);
        }
    }

    /// The host's timer: sends the System fetches and cache reports that are
    /// due, and takes over the usage an ended configuration handed over.
    pub fn on_tick(&mut self, host: &mut dyn Host) {
        if self.ending {
            return;
        }
        self.fetch_due(host);
        self.adopt_orphans(host);
        self.flush_reports(host);
    }

    /// The configuration ends (Envoy replaced it, or its VM goes away): reports
    /// everything it owes now, and hands what it cannot report over to the
    /// next configuration through shared data. `true` when it is done at once;
    /// otherwise the shell asks [`Plugin::is_finished`] after each answer.
    pub fn on_end(&mut self, host: &mut dyn Host) -> bool {
        self.ending = true;
        for shared in &self.shared_fetches {
            shared.release(host.store(), self.owner);
        }
        if let Some(worker) = self.reports.as_mut() {
            worker.flush_soon();
        }
        self.flush_reports(host);
        self.hand_over_queued(host);
        self.is_finished()
    }

    /// Whether an ended configuration has nothing left to wait for.
    pub fn is_finished(&self) -> bool {
        self.ending && !self.calls.has_reports()
    }

    /// The answer to one of the plugin's own calls (`token`) arrived.
    pub fn on_call_answer(&mut self, token: u32, body_size: usize, host: &mut dyn Host) {
        match self.calls.take(token) {
            Some(RootCall::Fetch { service }) => {
                let status = status_of(host.call_response_headers());
                let body = host.call_response_body(body_size);
                if self.fetched_answer(service, Ok((status, &body)), host) {
                    self.publish_fetch(service, &body, host);
                }
            }
            Some(RootCall::Report { records }) => {
                let status = status_of(host.call_response_headers());
                let now_ms = millis(host.now());
                if let (Some(worker), Some(settings)) =
                    (self.reports.as_mut(), self.config.cache_enabled())
                {
                    let table = Table::new(host.store(), settings);
                    worker.answered(&table, records, status, now_ms);
                }
                if self.ending {
                    self.hand_over_queued(host);
                }
                self.publish_cache_events(host);
            }
            None => debug!("an answer to an unknown call ({token}) was ignored"),
        }
    }

    /// Carries out a decision: dispatches its call, records what the request now
    /// waits for, counts its outcome. `now`: the host clock when the hook began.
    fn carry_out(
        &mut self,
        exchange: &mut Exchange,
        decision: Decision,
        now: Duration,
        host: &mut dyn Host,
    ) -> Step {
        if let Some(outcome) = Outcome::of(&decision) {
            host.count(outcome.metric(), 1);
        }
        match decision {
            Decision::Continue(mut forward) => {
                // What the response needs stays here; the shell applies the rest.
                exchange.limits = forward.limits;
                exchange.response_headers = std::mem::take(&mut forward.response_headers);
                Step::Continue(forward)
            }
            Decision::Reply(reply) => {
                exchange.replied = true;
                Step::Reply(reply)
            }
            Decision::CallOut(call_out) => {
                host.count(Metric::BackendCalls, 1);
                let flow::CallOut { call, pending } = *call_out;
                match host.dispatch(&call) {
                    Ok(_) => {
                        exchange.pending = Some(pending);
                        exchange.sent_at = Some(now);
                        Step::Wait
                    }
                    Err(DispatchRefused) => self.settle(
                        exchange,
                        pending,
                        &BackendAnswer::DispatchFailed,
                        &[],
                        now,
                        host,
                    ),
                }
            }
        }
    }

    /// Finishes a request from 3scale's answer (arrived at `now`).
    fn settle(
        &mut self,
        exchange: &mut Exchange,
        pending: flow::Pending,
        answer: &BackendAnswer,
        body: &[u8],
        now: Duration,
        host: &mut dyn Host,
    ) -> Step {
        if is_backend_error(answer) {
            host.count(Metric::BackendErrors, 1);
        }
        let decision = {
            let mut cache =
                cache_access(&mut self.reports, &self.config, host.store(), millis(now));
            flow::on_backend_answer(&self.config, pending, answer, body, cache.as_mut())
        };
        self.publish_cache_events(host);
        self.carry_out(exchange, decision, now, host)
    }

    /// Takes what another plugin fetched, then sends the fetches due of the
    /// services whose lease this plugin holds.
    fn fetch_due(&mut self, host: &mut dyn Host) {
        let now_ms = millis(host.now());
        self.take_shared_fetches(host);
        let holding: Vec<bool> = self
            .shared_fetches
            .iter()
            .map(|shared| shared.hold(host.store(), self.owner, now_ms))
            .collect();
        let mine = |service: usize| holding.get(service).copied().unwrap_or(true);
        for (service, call) in self.fetcher.due_calls_where(&self.config, now_ms, mine) {
            host.count(Metric::SystemFetches, 1);
            match host.dispatch(&call) {
                Ok(token) => self.calls.insert(token, RootCall::Fetch { service }),
                Err(DispatchRefused) => {
                    self.fetched_answer(service, Err(FetchFailure::Dispatch), host);
                }
            }
        }
    }

    /// Takes the answers other plugins fetched and published since this one
    /// last looked, as if it had fetched them itself.
    fn take_shared_fetches(&mut self, host: &mut dyn Host) {
        for service in 0..self.shared_fetches.len() {
            let seen = self.seen_fetch_ms.get(service).copied().unwrap_or(0);
            let Some(published) = self
                .shared_fetches
                .get(service)
                .and_then(|shared| shared.published_after(host.store(), seen))
            else {
                continue;
            };
            let (fetched_at, body) = published;
            if let Some(seen) = self.seen_fetch_ms.get_mut(service) {
                *seen = fetched_at;
            }
            debug!("service {service}: took the System configuration another worker fetched");
            self.fetched_answer(service, Ok((Some(200), &body)), host);
        }
    }

    /// Publishes a good answer this plugin fetched for the other plugins.
    fn publish_fetch(&mut self, service: usize, body: &[u8], host: &mut dyn Host) {
        let now_ms = millis(host.now());
        if let Some(shared) = self.shared_fetches.get(service) {
            shared.publish(host.store(), now_ms, body);
        }
        if let Some(seen) = self.seen_fetch_ms.get_mut(service) {
            *seen = now_ms;
        }
    }

    /// Takes in the outcome of a fetch (answered, or not sent at all);
    /// whether it succeeded.
    fn fetched_answer(
        &mut self,
        service: usize,
        answer: crate::system::fetcher::Answer<'_>,
        host: &mut dyn Host,
    ) -> bool {
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
            Some(fetched) => {
                self.fetched.set(service, fetched);
                true
            }
            None => {
                host.count(Metric::SystemFetchFailures, 1);
                false
            }
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
                Err(DispatchRefused) => worker.unsent(batch, now_ms),
            }
        }
        self.publish_cache_events(host);
    }

    /// Takes over the usage records ended configurations handed over.
    fn adopt_orphans(&mut self, host: &mut dyn Host) {
        let Some(worker) = self.reports.as_mut() else {
            return;
        };
        let records = cache::adopt(host.store());
        if records.is_empty() {
            return;
        }
        info!(
            "took over {} unreported usage records an ended configuration left",
            records.len()
        );
        records
            .into_iter()
            .for_each(|record| worker.enqueue(record));
        worker.flush_soon();
        self.publish_cache_events(host);
    }

    /// Hands this ended configuration's queued usage over to the next one.
    fn hand_over_queued(&mut self, host: &mut dyn Host) {
        let (Some(worker), Some(settings)) = (self.reports.as_mut(), self.config.cache_enabled())
        else {
            return;
        };
        let records = worker.take_queued();
        let count = records.len();
        if count == 0 {
            return;
        }
        let bound = usize::try_from(settings.max_pending_reports).unwrap_or(usize::MAX);
        let handed = cache::hand_over(host.store(), records, bound);
        let dropped = handed.dropped.min(count);
        worker.record(CacheEvent::HandedOver {
            records: count - dropped,
        });
        if dropped > 0 {
            warn!(
                "the configuration ended and could not hand over {dropped} unreported usage records: dropped"
            );
            worker.record(CacheEvent::Dropped { records: dropped });
        }
        info!(
            "the configuration ended: {} unreported usage records handed over to the next one",
            count - dropped
        );
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
fn status_of(headers: OwnedHeaderPairs) -> Option<u16> {
    match BackendAnswer::from_headers(headers) {
        BackendAnswer::Received { status, .. } => status,
        BackendAnswer::DispatchFailed => None,
    }
}

fn millis(time: Duration) -> u64 {
    u64::try_from(time.as_millis()).unwrap_or(u64::MAX)
}

/// Each service's System fetch as shared through the store (none without `system`).
fn shared_fetches(config: &Config) -> Vec<SharedFetch> {
    let Some(system) = &config.system else {
        return Vec::new();
    };
    config
        .services
        .iter()
        .map(|service| SharedFetch::for_call(&proxy_config_call(system, service)))
        .collect()
}

/// A name for this plugin in the System fetch leases, from the clock (plugins
/// start at different instants).
fn owner_id(now: Duration) -> u64 {
    let nanos = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
    (nanos ^ 0x5DEE_CE66_D1CE_4E5B)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(29)
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
