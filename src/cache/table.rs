//! Entries in the shared store: a fixed set of buckets, each a small LRU.
//!
//! An application hashes to one of `ceil(max_entries / WAYS)` buckets; each
//! bucket is one store key holding at most [`WAYS`] entries as JSON. So the
//! store never holds more than that many keys, whatever the number of
//! credentials seen (Proxy-Wasm shared data has no delete), and eviction is
//! least-recently-used within a bucket. Every change is a read, a change, and
//! a versioned write, retried on conflict: workers never lose each other's
//! updates.

use super::entry::{Answer, AppKey, Entry, HitOutcome, StoredCredential};
use super::store::{Store, WriteError};
use crate::config::CacheSettings;
use crate::lookup::Credential;
use crate::mapping::Usages;

/// Entries per bucket.
pub const WAYS: u32 = 4;
/// Attempts at a read-change-write before giving up (the caller then falls
/// back to 3scale, or retries at the next flush).
const MAX_ATTEMPTS: usize = 16;
const KEY_PREFIX: &str = "threescale-wasm-auth.cache.";

/// Unreported usage of one application, claimed for a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The service id.
    pub service_id: String,
    /// The application.
    pub credential: StoredCredential,
    /// Metric deltas.
    pub usages: Usages,
}

/// The result of a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The entry decided; an allowed request's usage is recorded in it.
    Hit(HitOutcome),
    /// No usable entry (or the store would not cooperate): ask 3scale.
    Miss,
}

/// What filling the cache with an answer did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filled {
    /// Whether the entry was written.
    pub stored: bool,
    /// Whether it replaced an entry of the same application (a refresh).
    pub refreshed: bool,
    /// The unreported usage of an evicted entry: the caller must report it.
    pub evicted: Option<Record>,
}

/// The buckets, as seen through one store.
pub struct Table<'a> {
    store: &'a dyn Store,
    buckets: u32,
}

impl<'a> Table<'a> {
    /// The table sized by the settings.
    pub fn new(store: &'a dyn Store, settings: &CacheSettings) -> Self {
        Table {
            store,
            buckets: bucket_count(settings),
        }
    }

    /// The bucket an application lives in.
    pub fn bucket_of(&self, key: &AppKey<'_>) -> u32 {
        let mut hash = Fnv::default();
        hash.write(key.service_id.as_bytes());
        match key.credential {
            Credential::UserKey(user_key) => {
                hash.write(b"\0u\0");
                hash.write(user_key.as_bytes());
            }
            Credential::AppId { app_id, app_key } => {
                hash.write(b"\0a\0");
                hash.write(app_id.as_bytes());
                if let Some(app_key) = app_key {
                    hash.write(b"\0k\0");
                    hash.write(app_key.as_bytes());
                }
            }
        }
        u32::try_from(hash.finish() % u64::from(self.buckets.max(1))).unwrap_or(0)
    }

    /// Decides a request from the entry of `key` if it is usable at `now_ms`
    /// (up to `staleness_ms` past expiry), recording an allowed request's usage.
    pub fn lookup(
        &self,
        key: &AppKey<'_>,
        usages: &Usages,
        now_ms: u64,
        staleness_ms: u64,
    ) -> Lookup {
        let bucket = self.bucket_of(key);
        self.update(bucket, |entries| {
            let Some(entry) = entries
                .iter_mut()
                .find(|entry| entry.is_for(key) && entry.usable(now_ms, staleness_ms))
            else {
                return (Lookup::Miss, false);
            };
            let outcome = entry.check(usages, now_ms);
            let allowed = matches!(outcome, HitOutcome::Allow(_));
            if allowed {
                entry.add_usage(usages, now_ms);
            }
            (Lookup::Hit(outcome), allowed)
        })
        .unwrap_or(Lookup::Miss)
    }

    /// Stores what an authrep answered for `key`, merged with its old entry; a
    /// full bucket evicts its least recently used entry.
    pub fn fill(
        &self,
        key: &AppKey<'_>,
        answer: Answer<'_>,
        request: &Usages,
        now_ms: u64,
        ttl_ms: u64,
        use_hierarchy: bool,
    ) -> Filled {
        let bucket = self.bucket_of(key);
        self.update(bucket, |entries| {
            let position = entries.iter().position(|entry| entry.is_for(key));
            let old = position.and_then(|at| entries.get(at));
            let fresh =
                Entry::from_answer(key, answer, old, request, now_ms, ttl_ms, use_hierarchy);
            let mut evicted = None;
            let full = entries.len() >= WAYS as usize;
            match position.and_then(|at| entries.get_mut(at)) {
                Some(slot) => *slot = fresh,
                None if !full => entries.push(fresh),
                None => {
                    let oldest = entries.iter_mut().min_by_key(|entry| entry.last_used_ms);
                    if let Some(slot) = oldest {
                        let mut gone = std::mem::replace(slot, fresh);
                        evicted = record_of(&mut gone);
                    }
                }
            }
            (
                Filled {
                    stored: true,
                    refreshed: position.is_some(),
                    evicted,
                },
                true,
            )
        })
        .unwrap_or_default()
    }

    /// Claims the unreported usage of every entry of a bucket (so that exactly
    /// one worker reports it) and drops entries past any use. `None` when the
    /// store would not cooperate; try again later.
    pub fn claim(&self, bucket: u32, now_ms: u64, staleness_ms: u64) -> Option<Vec<Record>> {
        self.update(bucket, |entries| {
            let records: Vec<Record> = entries.iter_mut().filter_map(record_of).collect();
            let before = entries.len();
            entries.retain(|entry| entry.usable(now_ms, staleness_ms));
            let changed = !records.is_empty() || entries.len() != before;
            (records, changed)
        })
    }

    /// Read, change, write with retries. `change` returns its result and
    /// whether anything is to be written.
    fn update<T>(
        &self,
        bucket: u32,
        mut change: impl FnMut(&mut Vec<Entry>) -> (T, bool),
    ) -> Option<T> {
        let key = bucket_key(bucket);
        for _ in 0..MAX_ATTEMPTS {
            let read = self.store.read(&key);
            let cas = read.as_ref().and_then(|value| value.cas);
            // A bucket that cannot be decoded (empty, or from another version of
            // the filter) is treated as empty and overwritten.
            let mut entries: Vec<Entry> = read
                .as_ref()
                .and_then(|value| serde_json::from_slice(&value.bytes).ok())
                .unwrap_or_default();
            let (result, write) = change(&mut entries);
            if !write {
                return Some(result);
            }
            let bytes = serde_json::to_vec(&entries).ok()?;
            match self.store.write(&key, &bytes, cas) {
                Ok(()) => return Some(result),
                Err(WriteError::Conflict) => continue,
                Err(WriteError::Failed) => return None,
            }
        }
        None
    }
}

/// The number of buckets for the settings.
pub fn bucket_count(settings: &CacheSettings) -> u32 {
    settings.max_entries.div_ceil(WAYS).max(1)
}

/// The store key of a bucket (no secret in it: it may be logged).
pub fn bucket_key(bucket: u32) -> String {
    format!("{KEY_PREFIX}{bucket}")
}

fn record_of(entry: &mut Entry) -> Option<Record> {
    let usages = entry.take_unreported();
    (!usages.is_empty()).then(|| Record {
        service_id: entry.service_id.clone(),
        credential: entry.credential.clone(),
        usages: Usages(usages),
    })
}

/// FNV-1a (64 bit): the same bucket for the same application in every VM,
/// unlike std's randomly keyed hasher.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{StatusDocument, UsageReport};
    use crate::cache::store::MemoryStore;

    const NOW: u64 = 1_700_000_000_000;
    const TTL: u64 = 60_000;

    fn settings(max_entries: u32) -> CacheSettings {
        CacheSettings {
            enabled: true,
            max_entries,
            ..CacheSettings::default()
        }
    }

    fn hits(n: u64) -> Usages {
        Usages(vec![("hits".into(), n)])
    }

    fn limited(max: i64, current: i64) -> StatusDocument {
        StatusDocument {
            authorized: true,
            reports: vec![UsageReport {
                metric: "hits".into(),
                period: "eternity".into(),
                period_end: None,
                max_value: max,
                current_value: current,
            }],
            ..StatusDocument::default()
        }
    }

    fn key(credential: &Credential) -> AppKey<'_> {
        AppKey {
            service_id: "42",
            credential,
        }
    }

    fn user(name: &str) -> Credential {
        Credential::UserKey(name.into())
    }

    #[test]
    fn miss_fill_hit_and_claim() {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(100));
        let alice = user("alice");
        assert_eq!(table.lookup(&key(&alice), &hits(1), NOW, 0), Lookup::Miss);
        let doc = limited(3, 1);
        let filled = table.fill(
            &key(&alice),
            Answer::Authorized(&doc),
            &hits(1),
            NOW,
            TTL,
            true,
        );
        assert_eq!(
            filled,
            Filled {
                stored: true,
                refreshed: false,
                evicted: None
            }
        );
        for _ in 0..2 {
            assert!(matches!(
                table.lookup(&key(&alice), &hits(1), NOW, 0),
                Lookup::Hit(HitOutcome::Allow(_))
            ));
        }
        assert!(matches!(
            table.lookup(&key(&alice), &hits(1), NOW, 0),
            Lookup::Hit(HitOutcome::LimitsExceeded(_))
        ));
        let bucket = table.bucket_of(&key(&alice));
        let records = table.claim(bucket, NOW, 0).unwrap();
        assert_eq!(
            records,
            vec![Record {
                service_id: "42".into(),
                credential: StoredCredential::UserKey("alice".into()),
                usages: hits(2),
            }]
        );
        assert_eq!(
            table.claim(bucket, NOW, 0),
            Some(vec![]),
            "claimed only once"
        );
        assert!(matches!(
            table.lookup(&key(&alice), &hits(1), NOW, 0),
            Lookup::Hit(HitOutcome::LimitsExceeded(_))
        ));
        assert_eq!(
            table.lookup(&key(&alice), &hits(1), NOW + TTL, 0),
            Lookup::Miss
        );
        assert!(matches!(
            table.lookup(&key(&alice), &hits(1), NOW + TTL, 1),
            Lookup::Hit(_)
        ));
    }

    #[test]
    fn conflicts_are_retried_and_never_lose_usage() {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(4));
        let alice = user("alice");
        let doc = limited(1000, 1);
        table.fill(
            &key(&alice),
            Answer::Authorized(&doc),
            &hits(1),
            NOW,
            TTL,
            true,
        );
        // Another worker adds one hit between every read and write, 5 times.
        let other = std::rc::Rc::new(std::cell::Cell::new(5));
        let counter = other.clone();
        *store.interloper.borrow_mut() = Some(Box::new(move |store: &MemoryStore| {
            if counter.get() > 0 {
                counter.set(counter.get() - 1);
                let bytes = store.read(&bucket_key(0)).unwrap().bytes;
                let mut entries: Vec<Entry> = serde_json::from_slice(&bytes).unwrap();
                entries[0].add_usage(&hits(1), NOW);
                store.force(&bucket_key(0), &serde_json::to_vec(&entries).unwrap());
            }
        }));
        assert!(matches!(
            table.lookup(&key(&alice), &hits(1), NOW, 0),
            Lookup::Hit(HitOutcome::Allow(_))
        ));
        *store.interloper.borrow_mut() = None;
        store.conflicts.set(3);
        let records = table.claim(0, NOW, 0).unwrap();
        assert_eq!(records[0].usages, hits(6));
    }

    #[test]
    fn endless_conflicts_or_a_broken_store_fall_back_to_3scale() {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(4));
        let alice = user("alice");
        let doc = limited(1000, 1);
        table.fill(
            &key(&alice),
            Answer::Authorized(&doc),
            &hits(1),
            NOW,
            TTL,
            true,
        );
        assert!(matches!(
            table.lookup(&key(&alice), &hits(1), NOW, 0),
            Lookup::Hit(_)
        ));
        store.conflicts.set(MAX_ATTEMPTS);
        assert_eq!(table.lookup(&key(&alice), &hits(1), NOW, 0), Lookup::Miss);
        store.conflicts.set(MAX_ATTEMPTS);
        assert_eq!(table.claim(0, NOW, 0), None);
        store.broken.set(true);
        assert_eq!(table.lookup(&key(&alice), &hits(1), NOW, 0), Lookup::Miss);
        assert_eq!(
            table.fill(&key(&user("bob")), Answer::Denied, &hits(1), NOW, TTL, true),
            Filled::default()
        );
        store.broken.set(false);
        let claimed = table.claim(0, NOW, 0).unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(
            claimed[0].usages,
            hits(1),
            "the failed hits counted nothing"
        );
    }

    #[test]
    fn a_full_bucket_evicts_its_least_recently_used_entry_with_its_usage() {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(WAYS));
        let doc = limited(1000, 1);
        let users: Vec<Credential> = (0..WAYS + 1).map(|i| user(&format!("u{i}"))).collect();
        for (at, credential) in users.iter().take(WAYS as usize).enumerate() {
            table.fill(
                &key(credential),
                Answer::Authorized(&doc),
                &hits(1),
                NOW + at as u64,
                TTL,
                true,
            );
        }
        // u1 gets usage, then the others are used later: u1 is the least recently used.
        table.lookup(&key(&users[1]), &hits(2), NOW + 10, 0);
        for other in [0, 2, 3] {
            table.lookup(&key(&users[other]), &hits(1), NOW + 20, 0);
        }
        let filled = table.fill(
            &key(&users[4]),
            Answer::Authorized(&doc),
            &hits(1),
            NOW + 30,
            TTL,
            true,
        );
        assert_eq!(
            filled.evicted,
            Some(Record {
                service_id: "42".into(),
                credential: StoredCredential::UserKey("u1".into()),
                usages: hits(2),
            })
        );
        assert_eq!(
            table.lookup(&key(&users[1]), &hits(1), NOW + 40, 0),
            Lookup::Miss
        );
        assert_eq!(store.keys(), vec![bucket_key(0)]);
    }

    #[test]
    fn buckets_are_bounded_and_stable() {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(10));
        assert_eq!(bucket_count(&settings(10)), 3);
        assert_eq!(bucket_count(&settings(1)), 1);
        for i in 0..200 {
            let credential = user(&format!("key-{i}"));
            table.fill(&key(&credential), Answer::Denied, &hits(1), NOW, TTL, true);
        }
        assert_eq!(store.keys().len(), 3);
        let app = Credential::AppId {
            app_id: "a".into(),
            app_key: None,
        };
        assert_eq!(
            table.bucket_of(&key(&app)),
            Table::new(&store, &settings(10)).bucket_of(&key(&app))
        );
        assert!(
            store.keys().iter().all(|k| !k.contains("key-")),
            "no credential in keys"
        );
    }

    #[test]
    fn garbage_in_the_store_is_an_empty_bucket() {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(1));
        store.force(&bucket_key(0), b"\xFF{not json");
        let alice = user("alice");
        assert_eq!(table.lookup(&key(&alice), &hits(1), NOW, 0), Lookup::Miss);
        let doc = limited(5, 1);
        assert!(
            table
                .fill(
                    &key(&alice),
                    Answer::Authorized(&doc),
                    &hits(1),
                    NOW,
                    TTL,
                    true
                )
                .stored
        );
        assert!(matches!(
            table.lookup(&key(&alice), &hits(1), NOW, 0),
            Lookup::Hit(_)
        ));
    }

    #[test]
    fn claim_drops_entries_past_any_use() {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(4));
        let alice = user("alice");
        table.fill(&key(&alice), Answer::Denied, &hits(1), NOW, TTL, true);
        assert_eq!(table.claim(0, NOW + TTL, 5), Some(vec![]));
        assert_ne!(store.read(&bucket_key(0)).unwrap().bytes, b"[]".to_vec());
        assert_eq!(table.claim(0, NOW + TTL + 5, 5), Some(vec![]));
        assert_eq!(store.read(&bucket_key(0)).unwrap().bytes, b"[]".to_vec());
    }
}
