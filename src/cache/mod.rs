//! The authorization cache (README, "Cache"): each application's authorization
//! and limits kept in a store shared by the workers, requests decided from it,
//! and usage reported in batches.
//!
//! Pure: the store is a trait ([`Store`]), the clock a parameter; the filter
//! supplies Proxy-Wasm shared data and the host's time.

mod bucket_set;
mod codec;
mod created;
mod entry;
mod events;
mod lease;
mod orphans;
mod store;
mod table;
mod worker;

#[cfg(test)]
mod fleet_tests;

pub use codec::{DecodeError, decode_bucket, decode_records, encode_bucket, encode_records};
pub use created::CREATED_PREFIX;
pub use entry::{
    Answer, AppKey, Authorization, Entry, Flight, HitOutcome, Limit, StoredCredential,
};
pub use events::{CacheEvent, Events};
pub use lease::{Grant, Held, LEASE_GRACE_MS, LEASE_MS, Leases, MOST_LEASES, MOST_REQUESTS};
pub use orphans::{HandedOver, ORPHANS_KEY, adopt, hand_over, merge_per_application};
#[cfg(test)]
pub use store::MemoryStore;
pub use store::{LocalStore, Store, Versioned, WriteError};
pub use table::{
    Decided, Departed, Filled, LastBucket, LeaseAsk, Lookup, Record, Table, WAYS, bucket_count,
    bucket_key,
};
pub use worker::{Batch, MAX_RETRY_MS, QUIET_MS, Worker};

use crate::config::CacheSettings;
use crate::model::Usages;

/// Creates the store keys that must exist before any request or ending plugin
/// writes (a plugin with the cache starts): the orphaned usage's key and the
/// shards of created buckets (`orphans`, `created`: Proxy-Wasm cannot create a
/// key only if it is absent).
pub fn prepare(store: &dyn Store, settings: &CacheSettings) {
    orphans::prepare(store);
    created::prepare(store, bucket_count(settings));
}

/// What a request's handling needs from the cache: the settings, the shared
/// store, this worker's bookkeeping and the time.
pub struct CacheAccess<'a> {
    /// The `cache` settings.
    pub settings: &'a CacheSettings,
    /// The store shared by the workers.
    pub store: &'a dyn Store,
    /// This worker's reporting state.
    pub worker: &'a mut Worker,
    /// Now, in Unix milliseconds.
    pub now_ms: u64,
}

impl CacheAccess<'_> {
    /// Decides a request from this worker's lease for it, or from a fresh
    /// entry (returning a spent lease and taking a new one in the same write),
    /// or `Miss`.
    pub fn decide(&mut self, key: &AppKey<'_>, usages: &Usages) -> Lookup {
        if let Some(limits) = self.worker.serve_lease(key, usages, self.now_ms) {
            self.worker.record(CacheEvent::Hit);
            return Lookup::Hit(HitOutcome::Allow(limits));
        }
        let bucket = self.table().bucket_of(key);
        let returning = self.worker.leases.take_spent(key, usages, self.now_ms);
        let ticket = self
            .worker
            .leases
            .has_room()
            .then(|| self.worker.next_ticket());
        let ask = LeaseAsk {
            returning: returning.as_ref(),
            ticket,
        };
        let decided = self
            .table()
            .lookup_leasing(bucket, key, usages, self.now_ms, 0, ask);
        let Some(decided) = decided else {
            // The store would not cooperate: what the lease allowed is
            // reported directly rather than lost.
            if let Some(record) = returning.and_then(|held| held.record()) {
                self.worker.enqueue(record);
                self.worker.flush_soon();
            }
            self.settle(&Lookup::Miss, bucket, CacheEvent::Hit, true);
            return Lookup::Miss;
        };
        if returning.is_some() {
            self.worker.touch(bucket, self.now_ms);
        }
        if let Some(record) = decided.unmerged {
            self.worker.enqueue(record);
            self.worker.flush_soon();
        }
        if let (Some(grant), Lookup::Hit(HitOutcome::Allow(limits))) =
            (decided.grant, &decided.lookup)
        {
            let held = Held::new(grant, bucket, key, usages, *limits, self.now_ms);
            self.worker.leases.insert(held);
        }
        self.settle(&decided.lookup, bucket, CacheEvent::Hit, true);
        decided.lookup
    }

    /// Decides a request from an entry up to `stale_ttl` past expiry (3scale is
    /// unreachable), or `Miss`.
    pub fn decide_stale(&mut self, key: &AppKey<'_>, usages: &Usages) -> Lookup {
        let staleness = self.settings.stale_ttl.saturating_mul(1000);
        // Not a miss: the request has already counted as one.
        self.lookup(key, usages, staleness, CacheEvent::StaleHit, false)
    }

    /// Records an authrep with this usage about to be sent for `key`, so that
    /// hits count its usage until its answer is merged (or `until_ms`, when
    /// an answer can no longer come); its ticket, `None` when the store would
    /// not take it.
    pub fn depart(&mut self, key: &AppKey<'_>, usages: &Usages, until_ms: u64) -> Option<u64> {
        let flight = Flight {
            ticket: self.worker.next_ticket(),
            usage: usages
                .0
                .iter()
                .map(|(metric, delta)| (metric.to_string(), *delta))
                .collect(),
            until_ms,
        };
        let departed = self.table().depart(key, &flight, self.now_ms);
        self.evicted(departed.evicted);
        departed.recorded.then_some(flight.ticket)
    }

    /// Forgets the authrep `ticket`: it failed, its answer cannot be read, or
    /// its request went away.
    pub fn abandon(&mut self, key: &AppKey<'_>, ticket: u64) {
        self.table().abandon(key, ticket, self.now_ms);
    }

    /// Stores what 3scale answered to the authrep `ticket` for a request
    /// (`request` is its usage).
    pub fn learn(
        &mut self,
        key: &AppKey<'_>,
        ticket: Option<u64>,
        answer: Answer<'_>,
        request: &Usages,
        use_hierarchy: bool,
    ) {
        let table = self.table();
        let filled = table.fill(key, ticket, answer, request, self.now_ms, use_hierarchy);
        let bucket = table.bucket_of(key);
        self.evicted(filled.evicted);
        if filled.refreshed {
            // The refreshed entry may carry unreported usage: report it soon.
            self.worker.touch(bucket, self.now_ms);
            self.worker.flush_soon();
        }
    }

    /// Queues `usages` for the next batched report without touching the entry:
    /// the usage of a request that `mode: report` lets through although it is
    /// over its limits, which neither the cache nor 3scale has counted.
    pub fn report_anyway(&mut self, key: &AppKey<'_>, usages: &Usages) {
        self.worker.enqueue(Record {
            service_id: key.service_id.to_owned(),
            credential: StoredCredential::of(key.credential),
            usages: usages.clone(),
        });
    }

    /// The buckets, remembering the last one this worker wrote.
    fn table(&self) -> Table<'_> {
        Table::new(self.store, self.settings).remembering(self.worker.last_bucket())
    }

    /// Reports an evicted entry's unreported usage soon.
    fn evicted(&mut self, record: Option<Record>) {
        if let Some(record) = record {
            self.worker.record(CacheEvent::Eviction);
            self.worker.enqueue(record);
            self.worker.flush_soon();
        }
    }

    fn lookup(
        &mut self,
        key: &AppKey<'_>,
        usages: &Usages,
        staleness_ms: u64,
        hit: CacheEvent,
        count_miss: bool,
    ) -> Lookup {
        let table = self.table();
        let bucket = table.bucket_of(key);
        let lookup = table.lookup_in(bucket, key, usages, self.now_ms, staleness_ms);
        self.settle(&lookup, bucket, hit, count_miss);
        lookup
    }

    /// Counts what a lookup in `bucket` decided, and remembers the bucket
    /// for the next flush when it added usage.
    fn settle(&mut self, lookup: &Lookup, bucket: u32, hit: CacheEvent, count_miss: bool) {
        match lookup {
            Lookup::Hit(outcome) => {
                self.worker.record(hit);
                if matches!(outcome, HitOutcome::Allow(_)) {
                    self.worker.touch(bucket, self.now_ms);
                }
            }
            Lookup::Miss if count_miss => self.worker.record(CacheEvent::Miss),
            Lookup::Miss => {}
            Lookup::OverBudget => {
                self.worker.record(CacheEvent::Miss);
                // Reported and acknowledged, the usage is confirmed and the
                // budget free again: report it now rather than at the interval.
                self.worker.flush_soon();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Credential, Secret};

    #[test]
    fn usage_reported_anyway_is_queued_without_touching_the_entry() {
        let settings = CacheSettings {
            enabled: true,
            ..CacheSettings::default()
        };
        let store = MemoryStore::default();
        let mut worker = Worker::new(&settings);
        let mut cache = CacheAccess {
            settings: &settings,
            store: &store,
            worker: &mut worker,
            now_ms: 1_000,
        };
        let credential = Credential::UserKey(Secret::new("key"));
        let key = AppKey {
            service_id: "42",
            credential: &credential,
        };
        let mut usages = Usages::default();
        usages.add(&"hits".into(), 3);
        cache.report_anyway(&key, &usages);
        cache.report_anyway(&key, &usages);
        assert_eq!(worker.queued(), 2);
        assert!(store.keys().is_empty(), "no entry was written");
    }
}
