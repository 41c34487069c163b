//! What the cache did, as plain data, for logs and metrics.

/// One thing the cache did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheEvent {
    /// A request was decided from a fresh entry.
    Hit,
    /// A request was decided from a stale entry while 3scale was unreachable.
    StaleHit,
    /// A request went to 3scale (no usable entry).
    Miss,
    /// An entry was evicted to make room.
    Eviction,
    /// A report was accepted by 3scale.
    ReportSent {
        /// Applications in the report.
        transactions: usize,
    },
    /// A report could not be sent or was refused; its usage is retried.
    ReportFailed {
        /// Applications in the report.
        transactions: usize,
    },
    /// Unreported usage records were dropped (queue bound, unknown service).
    Dropped {
        /// Records dropped.
        records: usize,
    },
    /// Queued records were merged per application (the queue reached its bound).
    Merged {
        /// Records fewer after merging.
        records: usize,
    },
    /// Unreported usage records were handed over to the next plugin (this one ended).
    HandedOver {
        /// Records handed over.
        records: usize,
    },
}

/// Counters of [`CacheEvent`]s, per worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Events {
    /// [`CacheEvent::Hit`]s.
    pub hits: u64,
    /// [`CacheEvent::StaleHit`]s.
    pub stale_hits: u64,
    /// [`CacheEvent::Miss`]es.
    pub misses: u64,
    /// [`CacheEvent::Eviction`]s.
    pub evictions: u64,
    /// [`CacheEvent::ReportSent`] calls.
    pub reports_sent: u64,
    /// [`CacheEvent::ReportFailed`] calls.
    pub reports_failed: u64,
    /// Records [`CacheEvent::Dropped`].
    pub dropped: u64,
    /// Records fewer by [`CacheEvent::Merged`].
    pub merged: u64,
    /// Records [`CacheEvent::HandedOver`].
    pub handed_over: u64,
}

impl Events {
    /// What happened between `earlier` and these counts.
    pub fn since(&self, earlier: &Events) -> Events {
        Events {
            hits: self.hits.saturating_sub(earlier.hits),
            stale_hits: self.stale_hits.saturating_sub(earlier.stale_hits),
            misses: self.misses.saturating_sub(earlier.misses),
            evictions: self.evictions.saturating_sub(earlier.evictions),
            reports_sent: self.reports_sent.saturating_sub(earlier.reports_sent),
            reports_failed: self.reports_failed.saturating_sub(earlier.reports_failed),
            dropped: self.dropped.saturating_sub(earlier.dropped),
            merged: self.merged.saturating_sub(earlier.merged),
            handed_over: self.handed_over.saturating_sub(earlier.handed_over),
        }
    }

    /// Counts one event.
    pub fn record(&mut self, event: CacheEvent) {
        let counter = match event {
            CacheEvent::Hit => &mut self.hits,
            CacheEvent::StaleHit => &mut self.stale_hits,
            CacheEvent::Miss => &mut self.misses,
            CacheEvent::Eviction => &mut self.evictions,
            CacheEvent::ReportSent { .. } => &mut self.reports_sent,
            CacheEvent::ReportFailed { .. } => &mut self.reports_failed,
            CacheEvent::Dropped { records } => return add(&mut self.dropped, records),
            CacheEvent::Merged { records } => return add(&mut self.merged, records),
            CacheEvent::HandedOver { records } => return add(&mut self.handed_over, records),
        };
        *counter = counter.saturating_add(1);
    }
}

fn add(counter: &mut u64, records: usize) {
    *counter = counter.saturating_add(u64::try_from(records).unwrap_or(u64::MAX));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_counts_once_and_drops_count_records() {
        let mut events = Events::default();
        for event in [
            CacheEvent::Hit,
            CacheEvent::Hit,
            CacheEvent::StaleHit,
            CacheEvent::Miss,
            CacheEvent::Eviction,
            CacheEvent::ReportSent { transactions: 3 },
            CacheEvent::ReportFailed { transactions: 2 },
            CacheEvent::Dropped { records: 5 },
            CacheEvent::Merged { records: 4 },
            CacheEvent::HandedOver { records: 6 },
        ] {
            events.record(event);
        }
        assert_eq!(
            events,
            Events {
                hits: 2,
                stale_hits: 1,
                misses: 1,
                evictions: 1,
                reports_sent: 1,
                reports_failed: 1,
                dropped: 5,
                merged: 4,
                handed_over: 6,
            }
        );
        let later = Events { hits: 5, ..events };
        assert_eq!(
            later.since(&events),
            Events {
                hits: 3,
                ..Events::default()
            }
        );
    }
}
