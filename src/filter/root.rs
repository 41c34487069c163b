//! The root context: reads and validates the plugin configuration, and keeps each
//! service's System configuration fresh.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType};

use super::host;
use super::http::Http;
use super::metrics::Metrics;
use super::shared::SharedData;
use crate::backend::BackendAnswer;
use crate::cache::{Table, Worker};
use crate::config::{self, Config};
use crate::fetched::Fetched;
use crate::metrics::Metric;
use crate::system::{FetchFailure, Fetcher, Outcome};

/// How often the root checks whether a System fetch or a cache report is due.
/// They happen when their interval expires; this only bounds how late (and how
/// soon the first one runs).
const TICK: Duration = Duration::from_millis(500);

/// The plugin's root: one per plugin configuration and VM (so one per Envoy
/// worker thread, each fetching from System on its own).
#[derive(Default)]
pub struct Root {
    /// The configuration, shared with every HTTP context without copying.
    config: Option<Rc<Config>>,
    /// What System has supplied so far. Replaced (never mutated) on each update,
    /// so a request keeps the snapshot it started with.
    fetched: Rc<Fetched>,
    /// Fetch timing and failure memory per service.
    fetcher: Fetcher,
    /// Fetches waiting for their answer: call token → service index.
    in_flight: HashMap<u32, usize>,
    /// The metric ids, shared with every HTTP context.
    metrics: Rc<Metrics>,
    /// This VM's cache bookkeeping (reports to send, in flight), shared with
    /// its HTTP contexts; `None` without the cache.
    cache: Option<Rc<RefCell<Worker>>>,
}

impl Root {
    fn fetch_due(&mut self, config: &Config) {
        let now = host::now();
        for (index, call) in self.fetcher.due_calls(config, millis(now)) {
            self.metrics.count(Metric::SystemFetches);
            match host::dispatch(&call) {
                Ok(token) => {
                    self.in_flight.insert(token, index);
                }
                Err(()) => {
                    let outcome = self.fetcher.answered(
                        config,
                        index,
                        Err(FetchFailure::Dispatch),
                        millis(now),
                        jitter(now, index),
                    );
                    self.apply(index, outcome);
                }
            }
        }
    }

    /// Sends the cache's batched reports when due (the root dispatches them, so
    /// their answers come back here whatever happens to requests).
    fn flush_reports(&mut self, config: &Config) {
        let (Some(settings), Some(worker)) = (config.cache_enabled(), &self.cache) else {
            return;
        };
        let Ok(mut worker) = worker.try_borrow_mut() else {
            return;
        };
        let table = Table::new(&SharedData, settings);
        for batch in worker.flush(&table, config, &self.fetched, host::now_ms()) {
            match host::dispatch(&batch.call) {
                Ok(token) => worker.sent(token, batch),
                Err(()) => worker.unsent(batch),
            }
        }
        self.metrics.cache(&mut worker);
    }

    /// The answer to a report call; `false` when `token` is not one.
    fn report_answered(&mut self, token: u32) -> bool {
        let Some(Ok(mut worker)) = self.cache.as_ref().map(|worker| worker.try_borrow_mut()) else {
            return false;
        };
        let status = match BackendAnswer::from_headers(host::call_response_headers()) {
            BackendAnswer::Received { status, .. } => status,
            BackendAnswer::DispatchFailed => None,
        };
        let was_report = worker.answered(token, status);
        self.metrics.cache(&mut worker);
        was_report
    }

    /// Takes in the outcome of a fetch (answered, or not sent at all).
    fn apply(&mut self, index: usize, outcome: Outcome) {
        if outcome.fetched.is_none() {
            self.metrics.count(Metric::SystemFetchFailures);
        }
        for (level, line) in outcome.log {
            log::log!(level, "{line}");
        }
        if let Some(service) = outcome.fetched {
            let mut fetched = Fetched::clone(&self.fetched);
            fetched.set(index, service);
            self.fetched = Rc::new(fetched);
        }
    }
}

impl Context for Root {
    fn on_http_call_response(&mut self, token: u32, _: usize, body_size: usize, _: usize) {
        if self.report_answered(token) {
            return;
        }
        let (Some(index), Some(config)) = (self.in_flight.remove(&token), self.config.clone())
        else {
            return;
        };
        let status = match BackendAnswer::from_headers(host::call_response_headers()) {
            BackendAnswer::Received { status, .. } => status,
            BackendAnswer::DispatchFailed => None,
        };
        let body = host::call_response_body(body_size);
        let now = host::now();
        let outcome = self.fetcher.answered(
            &config,
            index,
            Ok((status, &body)),
            millis(now),
            jitter(now, index),
        );
        self.apply(index, outcome);
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        super::log::follow_host_level();
        // Once per VM: a new configuration keeps the ids (Envoy's stats are by name).
        if !self.metrics.is_defined() {
            self.metrics = Rc::new(Metrics::define());
        }
        let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        match config::parse(&bytes) {
            Ok(config) => {
                for warning in &config.warnings {
                    log::warn!("threescale-wasm-auth configuration: {warning}");
                }
                self.fetcher = Fetcher::new(&config);
                self.fetched = Rc::new(Fetched::new());
                self.in_flight.clear();
                self.cache = config.cache_enabled().map(|settings| {
                    let mut worker = Worker::new(settings);
                    worker.seed_tickets(ticket_seed(host::now()));
                    Rc::new(RefCell::new(worker))
                });
                if self.fetcher.is_active() || self.cache.is_some() {
                    if let Err(status) = hostcalls::set_tick_period(TICK) {
                        log::error!("could not start the refresh and report timer: {status:?}");
                    }
                }
                self.config = Some(Rc::new(config));
                true
            }
            Err(error) => {
                log::error!("threescale-wasm-auth: {error}");
                false
            }
        }
    }

    fn on_tick(&mut self) {
        if let Some(config) = self.config.clone() {
            self.fetch_due(&config);
            self.flush_reports(&config);
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http::new(
            self.config.clone(),
            Rc::clone(&self.fetched),
            Rc::clone(&self.metrics),
            self.cache.clone(),
        )))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
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
