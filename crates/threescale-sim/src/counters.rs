//! Usage counters per service, application, metric and period instance.
//!
//! A counter belongs to the period instance that was current when it was last
//! written; once that instance has ended the counter reads as zero again,
//! which is how apisonator's expiring keys behave.

use std::collections::HashMap;

use serde::Serialize;

use crate::periods::{ALL_PERIODS, Period, format_time};
use crate::usage::Delta;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    service: String,
    app: usize,
    metric: String,
    period: Period,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    start: i64,
    value: i64,
}

/// The counters of every application.
#[derive(Debug, Default)]
pub struct Counters {
    slots: HashMap<Key, Slot>,
}

/// One live counter, for the admin API.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CounterView {
    pub service_id: String,
    pub application: usize,
    pub metric: String,
    pub period: &'static str,
    pub period_start: String,
    pub value: i64,
}

impl Counters {
    /// The value of a counter in the period instance that contains `now`.
    pub fn current(
        &self,
        service: &str,
        app: usize,
        metric: &str,
        period: Period,
        now: i64,
    ) -> i64 {
        let key = Key {
            service: service.to_string(),
            app,
            metric: metric.to_string(),
            period,
        };
        match self.slots.get(&key) {
            Some(slot) if slot.start == period.window(now).start => slot.value,
            _ => 0,
        }
    }

    /// Applies a delta to a metric in every period.
    pub fn apply(&mut self, service: &str, app: usize, metric: &str, delta: Delta, now: i64) {
        for period in ALL_PERIODS {
            let previous = self.current(service, app, metric, period, now);
            let key = Key {
                service: service.to_string(),
                app,
                metric: metric.to_string(),
                period,
            };
            let slot = Slot {
                start: period.window(now).start,
                value: delta.apply(previous),
            };
            self.slots.insert(key, slot);
        }
    }

    /// Forgets every counter.
    pub fn clear(&mut self) {
        self.slots.clear();
    }

    /// The counters still inside their period at `now`, in a stable order.
    pub fn live(&self, now: i64) -> Vec<CounterView> {
        let mut keys: Vec<(&Key, &Slot)> = self
            .slots
            .iter()
            .filter(|(key, slot)| slot.start == key.period.window(now).start)
            .collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        keys.into_iter()
            .map(|(key, slot)| CounterView {
                service_id: key.service.clone(),
                application: key.app,
                metric: key.metric.clone(),
                period: key.period.name(),
                period_start: format_time(slot.start),
                value: slot.value,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_709_214_330; // 2024-02-29 13:45:30

    fn add(value: i64) -> Delta {
        Delta { set: false, value }
    }

    #[test]
    fn counts_in_every_period() {
        let mut counters = Counters::default();
        counters.apply("1", 0, "hits", add(2), NOW);
        counters.apply("1", 0, "hits", add(3), NOW + 1);
        for period in ALL_PERIODS {
            assert_eq!(counters.current("1", 0, "hits", period, NOW + 2), 5);
        }
        assert_eq!(counters.current("1", 1, "hits", Period::Day, NOW), 0);
    }

    #[test]
    fn counters_expire_at_period_end() {
        let mut counters = Counters::default();
        counters.apply("1", 0, "hits", add(4), NOW);
        let next_minute = Period::Minute.window(NOW).end.unwrap();
        assert_eq!(
            counters.current("1", 0, "hits", Period::Minute, next_minute),
            0
        );
        assert_eq!(
            counters.current("1", 0, "hits", Period::Hour, next_minute),
            4
        );
        counters.apply("1", 0, "hits", add(1), next_minute);
        assert_eq!(
            counters.current("1", 0, "hits", Period::Minute, next_minute),
            1
        );
        assert_eq!(
            counters.current("1", 0, "hits", Period::Eternity, next_minute),
            5
        );
    }

    #[test]
    fn set_replaces_the_value() {
        let mut counters = Counters::default();
        counters.apply("1", 0, "hits", add(4), NOW);
        counters.apply(
            "1",
            0,
            "hits",
            Delta {
                set: true,
                value: 1,
            },
            NOW,
        );
        assert_eq!(counters.current("1", 0, "hits", Period::Year, NOW), 1);
    }

    #[test]
    fn live_view_skips_expired_counters() {
        let mut counters = Counters::default();
        counters.apply("1", 0, "hits", add(1), NOW);
        let next_hour = Period::Hour.window(NOW).end.unwrap();
        let periods: Vec<&str> = counters
            .live(next_hour)
            .iter()
            .map(|view| view.period)
            .collect();
        assert_eq!(periods, vec!["day", "week", "month", "year", "eternity"]);
    }
}
