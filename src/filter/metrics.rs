//! The metrics of `crate::metrics`, defined with the host once per VM. Counters
//! are counted in the VM and handed to the host in one increment per metric on
//! the root's tick ([`Metrics::flush`]): a host call per counter per request
//! cost a cache hit about as much as its decision (README "The benchmark").
//! Histogram values go to the host at once. A host error is logged once and
//! never stops a request.

use std::cell::Cell;

use super::abi::{self, MetricType as HostMetricType, Status};

use crate::metrics::{Metric, MetricType};

/// The host's id of every metric, shared by the root and HTTP contexts of a VM,
/// and the counts not handed to the host yet. Empty until [`Metrics::define`];
/// a metric without an id is not counted.
#[derive(Default)]
pub struct Metrics {
    /// By [`Metric::index`]; `None` where the host refused the definition.
    ids: Vec<Option<u32>>,
    /// Counts since the last [`Metrics::flush`], by [`Metric::index`].
    pending: Vec<Cell<u64>>,
    /// Whether a failed update has been logged already.
    failure_logged: Cell<bool>,
}

impl Metrics {
    /// Defines every metric with the host. Envoy keeps stats by name, so the
    /// same names defined in every worker's VM add up to one stat each.
    pub fn define() -> Metrics {
        let ids = Metric::ALL
            .iter()
            .map(|metric| {
                abi::define_metric(host_type(metric.metric_type()), metric.name())
                    .map_err(|status| {
                        log::error!("could not define metric `{}`: {status:?}", metric.name());
                    })
                    .ok()
            })
            .collect();
        Metrics {
            ids,
            pending: Metric::ALL.iter().map(|_| Cell::new(0)).collect(),
            failure_logged: Cell::new(false),
        }
    }

    /// Whether [`Metrics::define`] has run.
    pub fn is_defined(&self) -> bool {
        !self.ids.is_empty()
    }

    /// Adds `count` to a counter, in the VM until the next [`Metrics::flush`].
    pub fn add(&self, metric: Metric, count: u64) {
        if let Some(pending) = self.pending.get(metric.index()) {
            pending.set(pending.get().saturating_add(count));
        }
    }

    /// Hands the counts since the last flush to the host: one increment per
    /// counter that moved.
    pub fn flush(&self) {
        for (metric, pending) in Metric::ALL.iter().zip(&self.pending) {
            let count = pending.take();
            // Envoy refuses an increment of 0.
            let (Some(id), Ok(offset @ 1..)) = (self.id(*metric), i64::try_from(count)) else {
                continue;
            };
            if let Err(status) = abi::increment_metric(id, offset) {
                self.failed(*metric, status);
            }
        }
    }

    /// Records a value in a histogram.
    pub fn record(&self, metric: Metric, value: u64) {
        let Some(id) = self.id(metric) else {
            return;
        };
        if let Err(status) = abi::record_metric(id, value) {
            self.failed(metric, status);
        }
    }

    fn id(&self, metric: Metric) -> Option<u32> {
        self.ids.get(metric.index()).copied().flatten()
    }

    fn failed(&self, metric: Metric, status: Status) {
        if !self.failure_logged.replace(true) {
            log::warn!(
                "could not update metric `{}`: {status:?} (further metric errors are not logged)",
                metric.name()
            );
        }
    }
}

/// The last contexts of a configuration are gone (it was replaced, or the VM
/// stops): what they counted since the last tick still reaches the host.
impl Drop for Metrics {
    fn drop(&mut self) {
        self.flush();
    }
}

fn host_type(metric_type: MetricType) -> HostMetricType {
    match metric_type {
        MetricType::Counter => HostMetricType::Counter,
        MetricType::Histogram => HostMetricType::Histogram,
    }
}
