//! The root context: reads the plugin configuration, builds the core's [`Plugin`]
//! from it, and hands it the timer and the answers to the plugin's own calls.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::abi::{self, BufferType};
use super::host::{self, ProxyHost};
use super::http::Http;
use super::metrics::Metrics;
use crate::config;
use crate::plugin::Plugin;

/// How often the root hands the counters to the host and checks whether a
/// System fetch or a cache report is due. Fetches and reports happen when their
/// interval expires; this only bounds how late (and how soon the first one
/// runs), and how long a count stays in the VM.
const TICK: Duration = Duration::from_millis(500);

/// The plugin's root: one per plugin configuration and VM (so one per Envoy
/// worker thread).
#[derive(Default)]
pub struct Root {
    /// The core's state for the current configuration, shared with every HTTP
    /// context (a request keeps the plugin it started with).
    plugin: Option<Rc<RefCell<Plugin>>>,
    /// The metric ids, shared with every HTTP context.
    metrics: Rc<Metrics>,
    /// The host asked the root to finish and it is still reporting: the host
    /// must be told (`proxy_done`) once it has finished.
    finishing: bool,
    /// The host's timer runs.
    ticking: bool,
}

impl Root {
    /// Runs `work` on the plugin with the host, unless there is no plugin.
    fn with_plugin(&self, work: impl FnOnce(&mut Plugin, &mut ProxyHost<'_>)) {
        let Some(Ok(mut plugin)) = self.plugin.as_ref().map(|p| p.try_borrow_mut()) else {
            return;
        };
        let mut proxy = ProxyHost {
            metrics: &self.metrics,
        };
        work(&mut plugin, &mut proxy);
    }

    /// Starts the host's timer, once: every configuration needs it for the
    /// counters, most also for System fetches and cache reports.
    fn start_timer(&mut self) {
        if self.ticking {
            return;
        }
        let period = u32::try_from(TICK.as_millis()).unwrap_or(u32::MAX);
        match abi::set_tick_period(period) {
            Ok(()) => self.ticking = true,
            Err(status) => log::error!("could not start the timer: {status:?}"),
        }
    }

    /// The answer to one of the plugin's own calls (System fetches, reports).
    pub fn on_http_call_response(&mut self, token: u32, body_size: usize) {
        let mut finished = false;
        self.with_plugin(|plugin, proxy| {
            plugin.on_call_answer(token, body_size, proxy);
            finished = plugin.is_finished();
        });
        if self.finishing && finished {
            self.finishing = false;
            if let Err(status) = abi::done() {
                log::warn!("could not tell the host the plugin has finished: {status:?}");
            }
        }
    }

    /// The configuration or the VM ends: the core reports what it owes first,
    /// and the root stays until those reports are answered.
    pub fn on_done(&mut self) -> bool {
        let mut finished = true;
        self.with_plugin(|plugin, proxy| finished = plugin.on_end(proxy));
        self.metrics.flush();
        self.finishing = !finished;
        finished
    }

    /// Reads the plugin configuration; `false` refuses it.
    pub fn on_configure(&mut self) -> bool {
        super::log::follow_host_level();
        // Once per VM: a new configuration keeps the ids (Envoy's stats are by name).
        if !self.metrics.is_defined() {
            self.metrics = Rc::new(Metrics::define());
        }
        self.start_timer();
        let bytes = abi::buffer(BufferType::PluginConfiguration, usize::MAX).unwrap_or_default();
        match config::parse(&bytes) {
            Ok(config) => {
                for warning in &config.warnings {
                    log::warn!("threescale-wasm-auth configuration: {warning}");
                }
                let plugin = Plugin::new(config, host::now());
                self.plugin = Some(Rc::new(RefCell::new(plugin)));
                self.with_plugin(|plugin, proxy| plugin.on_start(proxy));
                true
            }
            Err(error) => {
                log::error!("threescale-wasm-auth: {error}");
                false
            }
        }
    }

    /// The timer: the core's fetches and reports that are due, then the counters.
    pub fn on_tick(&mut self) {
        self.with_plugin(|plugin, proxy| plugin.on_tick(proxy));
        self.metrics.flush();
    }

    /// A request's context, with the plugin of the configuration at hand.
    pub fn new_request(&self) -> Http {
        Http::new(self.plugin.clone(), Rc::clone(&self.metrics))
    }
}
