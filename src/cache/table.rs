//! Entries in the shared store: a fixed set of buckets, each a small LRU.
//!
//! An application hashes to one of `ceil(max_entries / WAYS)` buckets; each
//! bucket is one store key holding at most [`WAYS`] entries in the binary form of
//! [`super::codec`]. So the
//! store never holds more than that many keys, whatever the number of
//! credentials seen (Proxy-Wasm shared data has no delete), and eviction is
//! least-recently-used within a bucket. Every change is a read, a change, and
//! a versioned write, retried on conflict: workers never lose each other's
//! updates. A bucket's first write, which cannot be versioned, is made only by
//! the worker that claimed the bucket ([`super::created`]).

use std::cell::RefCell;

use super::codec::{decode_bucket, encode_bucket_into};
use super::created;
pub use super::entry::Record;
use super::entry::{Answer, AppKey, Authorization, Entry, Flight, HitOutcome};
use super::lease::{Grant, Held, LEASE_MS, MOST_REQUESTS};
use super::store::{MAX_ATTEMPTS, Store, WriteError};
use crate::config::CacheSettings;
use crate::io::percent::push_decimal;
use crate::model::Credential;
use crate::model::Usages;

/// Entries per bucket.
pub const WAYS: u32 = 4;
const KEY_PREFIX: &str = "threescale-wasm-auth.cache.";

/// The result of a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The entry decided; an allowed request's usage is recorded in it.
    Hit(HitOutcome),
    /// No usable entry (or the store would not cooperate): ask 3scale.
    Miss,
    /// The entry would allow the request, but this proxy already holds its
    /// budget of usage 3scale has not confirmed: ask 3scale.
    OverBudget,
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

/// What recording an authrep in flight did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Departed {
    /// Whether the flight was written (else hits will not know about it).
    pub recorded: bool,
    /// The unreported usage of an entry evicted to make room: the caller
    /// must report it.
    pub evicted: Option<Record>,
}

/// The buckets, as seen through one store.
pub struct Table<'a> {
    store: &'a dyn Store,
    buckets: u32,
    ttl_ms: u64,
    /// The last bucket written through a table of this worker, if it keeps one.
    last: Option<&'a LastBucket>,
}

/// The last bucket a worker wrote, with its entries: a worker serving one
/// application most of the time reads back the bytes it wrote itself, and
/// comparing them is much cheaper than decoding them again (a cache hit's
/// largest share of work in the VM). Equal bytes decode to these entries,
/// since decoding an encoding gives back what was encoded.
#[derive(Default)]
pub struct LastBucket(RefCell<Option<Written>>);

/// A bucket as written: its number, bytes and entries.
struct Written {
    bucket: u32,
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

impl LastBucket {
    /// The entries of `bytes` read from `bucket`, if they are the bytes last
    /// written (taken: the caller changes them), with the buffer of those bytes
    /// for the next encoding.
    fn take_if_unchanged(&self, bucket: u32, bytes: &[u8]) -> Option<(Vec<Entry>, Vec<u8>)> {
        let mut last = self.0.try_borrow_mut().ok()?;
        last.take_if(|last| last.bucket == bucket && last.bytes == bytes)
            .map(|last| (last.entries, last.bytes))
    }

    fn remember(&self, bucket: u32, bytes: Vec<u8>, entries: Vec<Entry>) {
        if let Ok(mut last) = self.0.try_borrow_mut() {
            *last = Some(Written {
                bucket,
                bytes,
                entries,
            });
        }
    }
}

/// The bucket's number only: its bytes hold credentials.
impl std::fmt::Debug for LastBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bucket = self
            .0
            .try_borrow()
            .ok()
            .and_then(|last| last.as_ref().map(|last| last.bucket));
        f.debug_tuple("LastBucket").field(&bucket).finish()
    }
}

impl<'a> Table<'a> {
    /// The table sized by the settings.
    pub fn new(store: &'a dyn Store, settings: &CacheSettings) -> Self {
        Table {
            store,
            buckets: bucket_count(settings),
            ttl_ms: settings.ttl.saturating_mul(1000),
            last: None,
        }
    }

    /// The same table, keeping the last bucket it writes in `last` and
    /// decoding a bucket only when its bytes differ from those.
    pub fn remembering(self, last: &'a LastBucket) -> Self {
        Table {
            last: Some(last),
            ..self
        }
    }

    /// The bucket an application lives in.
    pub fn bucket_of(&self, key: &AppKey<'_>) -> u32 {
        let mut hash = Fnv::default();
        hash.write(key.service_id.as_bytes());
        match key.credential {
            Credential::UserKey(user_key) => {
                hash.write(b"\0u\0");
                hash.write(user_key.expose().as_bytes());
            }
            Credential::AppId { app_id, app_key } => {
                hash.write(b"\0a\0");
                hash.write(app_id.as_bytes());
                if let Some(app_key) = app_key {
                    hash.write(b"\0k\0");
                    hash.write(app_key.expose().as_bytes());
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
        self.lookup_in(self.bucket_of(key), key, usages, now_ms, staleness_ms)
    }

    /// [`Table::lookup`] for a caller that knows the bucket of `key` already.
    pub(super) fn lookup_in(
        &self,
        bucket: u32,
        key: &AppKey<'_>,
        usages: &Usages,
        now_ms: u64,
        staleness_ms: u64,
    ) -> Lookup {
        self.lookup_leasing(
            bucket,
            key,
            usages,
            now_ms,
            staleness_ms,
            LeaseAsk::default(),
        )
        .map_or(Lookup::Miss, |decided| decided.lookup)
    }

    /// [`Table::lookup_in`] that also returns a spent lease of the worker and
    /// takes a new one in the same write (`super::lease`); `None` when the
    /// store would not cooperate (the request is a miss, the lease not returned).
    pub(super) fn lookup_leasing(
        &self,
        bucket: u32,
        key: &AppKey<'_>,
        usages: &Usages,
        now_ms: u64,
        staleness_ms: u64,
        lease: LeaseAsk<'_>,
    ) -> Option<Decided> {
        self.update(bucket, |entries| {
            let unmerged = lease
                .returning
                .and_then(|held| give_back(entries, held, now_ms));
            let returned = lease.returning.is_some();
            let decided = |lookup| Decided {
                lookup,
                grant: None,
                unmerged: unmerged.clone(),
            };
            let Some(entry) = entries
                .iter_mut()
                .find(|entry| entry.is_for(key) && entry.usable(now_ms, staleness_ms))
            else {
                return (decided(Lookup::Miss), returned);
            };
            // A metric 3scale has not accepted for this application yet goes
            // to 3scale, which refuses it if it does not know it (issue 15).
            if entry.authorization == Authorization::Authorized && !entry.confirms(usages) {
                return (decided(Lookup::Miss), returned);
            }
            let outcome = entry.check(usages, now_ms);
            // Past this proxy's budget of unconfirmed usage, 3scale decides
            // (a fresh entry only: a stale one decides because 3scale cannot).
            if matches!(outcome, HitOutcome::Allow(_))
                && staleness_ms == 0
                && !entry.within_budget(usages, now_ms)
            {
                return (decided(Lookup::OverBudget), returned);
            }
            let allowed = matches!(outcome, HitOutcome::Allow(_));
            let mut grant = None;
            if allowed {
                entry.add_usage(usages, now_ms);
                grant = lease
                    .ticket
                    .filter(|_| staleness_ms == 0)
                    .and_then(|ticket| lease_from(entry, ticket, usages, now_ms));
            }
            let decided = Decided {
                grant,
                ..decided(Lookup::Hit(outcome))
            };
            (decided, allowed || returned)
        })
    }

    /// Returns a worker's lease with the usage it allowed from it; `None`
    /// when the store would not cooperate, else the usage to report directly
    /// if the entry is gone.
    pub fn end_lease(&self, held: &Held, now_ms: u64) -> Option<Option<Record>> {
        self.update(held.bucket, |entries| {
            (give_back(entries, held, now_ms), true)
        })
    }

    /// Records an authrep about to be sent for `key`, in its entry or, for an
    /// application without one, in a placeholder (a full bucket evicts its
    /// least recently used entry, as [`Table::fill`] would for the answer).
    pub fn depart(&self, key: &AppKey<'_>, flight: &Flight, now_ms: u64) -> Departed {
        let bucket = self.bucket_of(key);
        self.update(bucket, |entries| {
            let mut evicted = None;
            match entries.iter_mut().find(|entry| entry.is_for(key)) {
                Some(entry) => entry.depart(flight.clone(), now_ms),
                None => {
                    let mut placeholder = Entry::placeholder(key, now_ms);
                    placeholder.depart(flight.clone(), now_ms);
                    evicted = place(entries, placeholder);
                }
            }
            (
                Departed {
                    recorded: true,
                    evicted,
                },
                true,
            )
        })
        .unwrap_or_default()
    }

    /// Forgets an authrep that will not be merged (it failed, its answer
    /// could not be read, or its request went away).
    pub fn abandon(&self, key: &AppKey<'_>, ticket: u64, now_ms: u64) {
        let bucket = self.bucket_of(key);
        self.update(bucket, |entries| {
            let changed = entries
                .iter_mut()
                .find(|entry| entry.is_for(key))
                .is_some_and(|entry| entry.land(ticket, now_ms));
            ((), changed)
        });
    }

    /// Stores what the authrep `ticket` answered for `key`, merged with its old
    /// entry (the flight is over); a full bucket evicts its least recently
    /// used entry.
    pub fn fill(
        &self,
        key: &AppKey<'_>,
        ticket: Option<u64>,
        answer: Answer<'_>,
        request: &Usages,
        now_ms: u64,
        use_hierarchy: bool,
    ) -> Filled {
        let bucket = self.bucket_of(key);
        self.update(bucket, |entries| {
            let position = entries.iter().position(|entry| entry.is_for(key));
            if let (Some(entry), Some(ticket)) =
                (position.and_then(|at| entries.get_mut(at)), ticket)
            {
                entry.land(ticket, now_ms);
            }
            let old = position.and_then(|at| entries.get(at));
            let refreshed = old.is_some_and(|old| !old.is_placeholder());
            let fresh = Entry::from_answer(
                key,
                answer,
                old,
                request,
                now_ms,
                self.ttl_ms,
                use_hierarchy,
            );
            let evicted = match position.and_then(|at| entries.get_mut(at)) {
                Some(slot) => {
                    *slot = fresh;
                    None
                }
                None => place(entries, fresh),
            };
            (
                Filled {
                    stored: true,
                    refreshed,
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
            // An expired entry that learned its share of a fleet stays (until
            // evicted), so that its next answer does not start from trust.
            entries.retain(|entry| {
                entry.usable(now_ms, staleness_ms)
                    || entry.has_flights(now_ms)
                    || entry.has_leases(now_ms)
                    || entry.has_learned_shares(now_ms)
            });
            let changed = !records.is_empty() || entries.len() != before;
            (records, changed)
        })
    }

    /// 3scale acknowledged the report of these records: their usage no
    /// longer counts as unconfirmed in their entries.
    pub fn acknowledge(&self, records: &[Record]) {
        for record in records {
            let bucket = self.bucket_of(&AppKey {
                service_id: &record.service_id,
                credential: &record.credential.credential(),
            });
            self.update(bucket, |entries| {
                let entry = entries.iter_mut().find(|entry| {
                    entry.service_id == record.service_id && entry.credential == record.credential
                });
                let changed = entry.is_some_and(|entry| entry.acknowledge(&record.usages));
                ((), changed)
            });
        }
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
            let (mut entries, buffer) =
                self.entries_of(bucket, read.as_ref().map(|value| &*value.bytes));
            let (result, write) = change(&mut entries);
            if !write {
                return Some(result);
            }
            if read.is_none() && !created::may_create(self.store, bucket) {
                // Another worker is creating the bucket: change what it wrote.
                continue;
            }
            let bytes = encode_bucket_into(&entries, buffer);
            match self.store.write(&key, &bytes, cas) {
                Ok(()) => {
                    if let Some(last) = self.last {
                        last.remember(bucket, bytes, entries);
                    }
                    return Some(result);
                }
                Err(WriteError::Conflict) => continue,
                Err(WriteError::Failed) => return None,
            }
        }
        None
    }
}

impl Table<'_> {
    /// The entries of a bucket read as `bytes`, and a buffer for its next
    /// encoding (the last bucket's, when these are its bytes). A bucket that
    /// cannot be decoded (empty, or from another version of the filter) is
    /// treated as empty and overwritten.
    fn entries_of(&self, bucket: u32, bytes: Option<&[u8]>) -> (Vec<Entry>, Vec<u8>) {
        let Some(bytes) = bytes else {
            return (Vec::new(), Vec::new());
        };
        if let Some(taken) = self
            .last
            .and_then(|last| last.take_if_unchanged(bucket, bytes))
        {
            return taken;
        }
        let entries = decode_bucket(bytes).ok().unwrap_or_default();
        (entries, Vec::with_capacity(bytes.len() + 64))
    }
}

/// What a hit's read-change-write does with the worker's leases.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeaseAsk<'a> {
    /// A spent lease of the worker to return in the write.
    pub returning: Option<&'a Held>,
    /// The ticket of a new lease, when the worker may take one.
    pub ticket: Option<u64>,
}

/// What [`Table::lookup_leasing`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// The decision.
    pub lookup: Lookup,
    /// A lease taken in the write.
    pub grant: Option<Grant>,
    /// The returned lease's usage when its entry is gone: to report directly.
    pub unmerged: Option<Record>,
}

/// A lease for more requests like this allowed one, recorded in its entry,
/// if the entry has room for one.
fn lease_from(entry: &mut Entry, ticket: u64, usages: &Usages, now_ms: u64) -> Option<Grant> {
    let requests = entry.lease_size(usages, now_ms, MOST_REQUESTS);
    if requests == 0 {
        return None;
    }
    let grant = Grant {
        ticket,
        requests,
        // The entry decides nothing past its freshness (which also ends at
        // its first limit period's end): neither does its lease.
        serve_until_ms: now_ms.saturating_add(LEASE_MS).min(entry.fresh_until_ms),
    };
    entry.lease(grant.reservation(usages), grant.serve_until_ms, now_ms);
    Some(grant)
}

/// Returns a lease to its entry; the usage allowed from it as a record when
/// the entry is gone (evicted, or dropped past any use).
fn give_back(entries: &mut [Entry], held: &Held, now_ms: u64) -> Option<Record> {
    let entry = entries
        .iter_mut()
        .find(|entry| entry.service_id == held.service_id && entry.credential == held.credential);
    match entry {
        Some(entry) => {
            entry.end_lease(held.ticket, &held.used(), now_ms);
            None
        }
        None => held.record(),
    }
}

/// The number of buckets for the settings.
pub fn bucket_count(settings: &CacheSettings) -> u32 {
    settings.max_entries.div_ceil(WAYS).max(1)
}

/// The store key of a bucket (no secret in it: it may be logged).
pub fn bucket_key(bucket: u32) -> String {
    // Sized once: `format!` would grow the string while writing the number.
    let mut key = String::with_capacity(KEY_PREFIX.len() + 10);
    key.push_str(KEY_PREFIX);
    push_decimal(&mut key, u64::from(bucket));
    key
}

/// Adds a new entry to a bucket, evicting the least recently used one when
/// the bucket is full; the evicted entry's unreported usage.
fn place(entries: &mut Vec<Entry>, entry: Entry) -> Option<Record> {
    if entries.len() < WAYS as usize {
        entries.push(entry);
        return None;
    }
    let oldest = entries.iter_mut().min_by_key(|known| known.last_used_ms)?;
    let mut gone = std::mem::replace(oldest, entry);
    record_of(&mut gone)
}

fn record_of(entry: &mut Entry) -> Option<Record> {
    let usages = entry.take_unreported();
    (!usages.is_empty()).then(|| Record {
        service_id: entry.service_id.clone(),
        credential: entry.credential.clone(),
        usages: Usages::from(usages),
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
    use crate::cache::codec::encode_bucket;
    use crate::cache::entry::StoredCredential;
    use crate::cache::store::MemoryStore;

    const NOW: u64 = 1_700_000_000_000;

    #[test]
    fn bucket_keys_are_the_prefix_and_the_number() {
        for bucket in [0, 7, 10, 99, 1_234, u32::MAX] {
            assert_eq!(bucket_key(bucket), format!("{KEY_PREFIX}{bucket}"));
        }
    }

    #[test]
    fn a_worker_encodes_into_the_buffer_of_its_last_bucket() {
        let settings = settings(100);
        let store = MemoryStore::default();
        let last = LastBucket::default();
        let table = Table::new(&store, &settings).remembering(&last);
        let key = AppKey {
            service_id: "42",
            credential: &Credential::UserKey("u".into()),
        };
        table.fill(&key, None, Answer::Denied, &Usages::default(), NOW, true);
        let (bucket, buffer) = {
            let held = last.0.borrow();
            let written = held.as_ref().unwrap();
            (written.bucket, written.bytes.as_ptr())
        };
        table.fill(
            &key,
            None,
            Answer::Denied,
            &Usages::default(),
            NOW + 1,
            true,
        );
        let held = last.0.borrow();
        let written = held.as_ref().unwrap();
        assert_eq!(written.bucket, bucket);
        assert_eq!(written.bytes.as_ptr(), buffer, "the same buffer again");
        let stored = store.read(&bucket_key(bucket)).unwrap().bytes;
        assert_eq!(stored, written.bytes);
        assert_eq!(decode_bucket(&stored).unwrap(), written.entries);
    }
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
            None,
            Answer::Authorized(&doc),
            &hits(1),
            NOW,
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
            None,
            Answer::Authorized(&doc),
            &hits(1),
            NOW,
            true,
        );
        // Another worker adds one hit between every read and write, 5 times.
        let other = std::rc::Rc::new(std::cell::Cell::new(5));
        let counter = other.clone();
        *store.interloper.borrow_mut() = Some(Box::new(move |store: &MemoryStore| {
            if counter.get() > 0 {
                counter.set(counter.get() - 1);
                let bytes = store.read(&bucket_key(0)).unwrap().bytes;
                let mut entries: Vec<Entry> = decode_bucket(&bytes).unwrap();
                entries[0].add_usage(&hits(1), NOW);
                store.force(&bucket_key(0), &encode_bucket(&entries));
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
    fn two_workers_creating_a_bucket_at_once_keep_both_entries_once_its_shard_is_prepared() {
        let concurrent = |prepared: bool| {
            let store = MemoryStore::default();
            let four = settings(4);
            if prepared {
                crate::cache::prepare(&store, &four);
            }
            let doc = limited(1000, 1);
            // The other worker fills its entry while this one is between reading
            // the bucket (absent) and writing it.
            let mut other_worker = Some(user("bob"));
            *store.interloper.borrow_mut() = Some(Box::new(move |store: &MemoryStore| {
                if let Some(bob) = other_worker.take() {
                    let other = Table::new(store, &settings(4));
                    let doc = limited(1000, 1);
                    let answer = Answer::Authorized(&doc);
                    assert!(
                        other
                            .fill(&key(&bob), None, answer, &hits(1), NOW, true)
                            .stored
                    );
                }
            }));
            let alice = user("alice");
            let table = Table::new(&store, &four);
            let answer = Answer::Authorized(&doc);
            assert!(
                table
                    .fill(&key(&alice), None, answer, &hits(1), NOW, true)
                    .stored
            );
            *store.interloper.borrow_mut() = None;
            let bytes = store.read(&bucket_key(0)).unwrap().bytes;
            decode_bucket(&bytes).unwrap().len()
        };
        assert_eq!(concurrent(true), 2, "alice's and bob's entries");
        assert_eq!(concurrent(false), 1, "the race it prevents");
    }

    #[test]
    fn endless_conflicts_or_a_broken_store_fall_back_to_3scale() {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(4));
        let alice = user("alice");
        let doc = limited(1000, 1);
        table.fill(
            &key(&alice),
            None,
            Answer::Authorized(&doc),
            &hits(1),
            NOW,
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
            table.fill(
                &key(&user("bob")),
                None,
                Answer::Denied,
                &hits(1),
                NOW,
                true
            ),
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
                None,
                Answer::Authorized(&doc),
                &hits(1),
                NOW + at as u64,
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
            None,
            Answer::Authorized(&doc),
            &hits(1),
            NOW + 30,
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
            table.fill(&key(&credential), None, Answer::Denied, &hits(1), NOW, true);
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
        // Noise, and a bucket in the JSON form of earlier versions.
        let old_json: &[u8] = br#"[{"s":"42","c":{"u":"alice"},"a":"ok","f":9999999999999,"t":1}]"#;
        for garbage in [&b"\xFF{not json"[..], old_json] {
            let store = MemoryStore::default();
            let table = Table::new(&store, &settings(1));
            store.force(&bucket_key(0), garbage);
            garbage_is_overwritten(&store, &table);
        }
    }

    fn garbage_is_overwritten(store: &MemoryStore, table: &Table<'_>) {
        let alice = user("alice");
        assert_eq!(table.lookup(&key(&alice), &hits(1), NOW, 0), Lookup::Miss);
        let doc = limited(5, 1);
        assert!(
            table
                .fill(
                    &key(&alice),
                    None,
                    Answer::Authorized(&doc),
                    &hits(1),
                    NOW,
                    true
                )
                .stored
        );
        assert!(matches!(
            table.lookup(&key(&alice), &hits(1), NOW, 0),
            Lookup::Hit(_)
        ));
        let stored = decode_bucket(&store.read(&bucket_key(0)).unwrap().bytes).unwrap();
        assert_eq!(stored.len(), 1, "the garbage was replaced");
    }

    #[test]
    fn claim_drops_entries_past_any_use() {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(4));
        let alice = user("alice");
        table.fill(&key(&alice), None, Answer::Denied, &hits(1), NOW, true);
        assert_eq!(table.claim(0, NOW + TTL, 5), Some(vec![]));
        assert_ne!(
            store.read(&bucket_key(0)).unwrap().bytes,
            encode_bucket(&[])
        );
        assert_eq!(table.claim(0, NOW + TTL + 5, 5), Some(vec![]));
        assert_eq!(
            store.read(&bucket_key(0)).unwrap().bytes,
            encode_bucket(&[])
        );
    }

    #[test]
    fn a_flight_is_recorded_in_a_placeholder_that_never_decides() {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(4));
        let alice = user("alice");
        let flight = Flight {
            ticket: 7,
            usage: vec![("hits".into(), 1)],
            until_ms: NOW + 2_000,
        };
        assert_eq!(
            table.depart(&key(&alice), &flight, NOW),
            Departed {
                recorded: true,
                evicted: None
            }
        );
        assert_eq!(table.lookup(&key(&alice), &hits(1), NOW, 0), Lookup::Miss);
        assert_eq!(table.claim(0, NOW, 0), Some(vec![]));
        let entries: Vec<Entry> =
            decode_bucket(&store.read(&bucket_key(0)).unwrap().bytes).unwrap();
        assert_eq!(entries.len(), 1, "kept while in flight");
        assert_eq!(entries[0].flights, vec![flight.clone()]);
        // Past its expiry a flight is forgotten, and so is the placeholder.
        assert_eq!(table.claim(0, NOW + 2_000, 0), Some(vec![]));
        assert_eq!(
            store.read(&bucket_key(0)).unwrap().bytes,
            encode_bucket(&[])
        );
        store.conflicts.set(3);
        assert!(table.depart(&key(&alice), &flight, NOW).recorded);
        store.broken.set(true);
        assert_eq!(
            table.depart(&key(&alice), &flight, NOW),
            Departed::default()
        );
    }

    #[test]
    fn hits_count_flights_until_their_answer_or_abandon() {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(4));
        let alice = user("alice");
        let flight = |ticket| Flight {
            ticket,
            usage: vec![("hits".into(), 1)],
            until_ms: NOW + 2_000,
        };
        for ticket in 1..=3 {
            table.depart(&key(&alice), &flight(ticket), NOW);
        }
        // The first answer: 3scale counted it (and maybe others) of a limit of 5.
        let doc = limited(5, 1);
        let filled = table.fill(
            &key(&alice),
            Some(1),
            Answer::Authorized(&doc),
            &hits(1),
            NOW,
            true,
        );
        assert!(!filled.refreshed, "a placeholder is not a refresh");
        // 1 counted + 2 in flight: 2 hits left.
        let allowed = |at| {
            (0..5)
                .filter(|_| {
                    matches!(
                        table.lookup(&key(&alice), &hits(1), at, 0),
                        Lookup::Hit(HitOutcome::Allow(_))
                    )
                })
                .count()
        };
        assert_eq!(allowed(NOW), 2);
        table.abandon(&key(&alice), 2, NOW);
        assert_eq!(allowed(NOW), 1, "an abandoned flight no longer counts");
        // An expired flight no longer counts either.
        assert_eq!(allowed(NOW + 2_000), 1);
    }

    /// 3scale for the model below: one application, one limit, counting
    /// authreps as it processes them and reports whatever the limit.
    #[derive(Default)]
    struct Backend {
        count: i64,
    }

    /// A small deterministic generator, so failures are reproducible by seed.
    struct Dice(u64);

    impl Dice {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    /// Runs one interleaving of requests on `workers` workers sharing the
    /// store against a limit of `max`: authreps in flight, processed by 3scale
    /// and answered in any order, hits in between, and (`with_reports`)
    /// reports claimed and processed at any time. Returns the requests
    /// allowed, then the requests allowed once everything has landed and more
    /// requests came one at a time.
    fn model(seed: u64, max: i64, with_reports: bool) -> (i64, i64) {
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings(4));
        let alice = user("alice");
        let mut dice = Dice(seed);
        let mut backend = Backend::default();
        let mut allowed = 0i64;
        let mut next_ticket = 0u64;
        let mut sent: Vec<u64> = Vec::new();
        let mut processed: Vec<(u64, bool, i64)> = Vec::new();
        let mut reports: Vec<i64> = Vec::new();
        let flight = |ticket| Flight {
            ticket,
            usage: vec![("hits".into(), 1)],
            until_ms: NOW + 60_000,
        };
        let mut request = |table: &Table<'_>, sent: &mut Vec<u64>, allowed: &mut i64| match table
            .lookup(&key(&alice), &hits(1), NOW, 0)
        {
            Lookup::Hit(HitOutcome::Allow(_)) => *allowed += 1,
            Lookup::Hit(_) => {}
            Lookup::Miss | Lookup::OverBudget => {
                next_ticket += 1;
                assert!(
                    table
                        .depart(&key(&alice), &flight(next_ticket), NOW)
                        .recorded
                );
                sent.push(next_ticket);
            }
        };
        let merge = |table: &Table<'_>, (ticket, counted, value): (u64, bool, i64)| {
            let doc = limited(max, value);
            let answer = if counted {
                Answer::Authorized(&doc)
            } else {
                Answer::LimitsExceeded(&doc)
            };
            table.fill(&key(&alice), Some(ticket), answer, &hits(1), NOW, true);
        };
        let process = |backend: &mut Backend, allowed: &mut i64| {
            let counted = backend.count < max;
            if counted {
                backend.count += 1;
                *allowed += 1;
            }
            (counted, backend.count)
        };
        for _ in 0..80 {
            match dice.below(if with_reports { 5 } else { 3 }) {
                0 => request(&table, &mut sent, &mut allowed),
                1 if !sent.is_empty() => {
                    let ticket = sent.remove(dice.below(sent.len()));
                    let (counted, value) = process(&mut backend, &mut allowed);
                    processed.push((ticket, counted, value));
                }
                2 if !processed.is_empty() => {
                    let answer = processed.remove(dice.below(processed.len()));
                    merge(&table, answer);
                }
                3 => {
                    let claimed: u64 = table
                        .claim(0, NOW, 0)
                        .unwrap()
                        .iter()
                        .flat_map(|record| record.usages.0.iter().map(|(_, n)| *n))
                        .sum();
                    reports.push(claimed as i64);
                }
                4 if !reports.is_empty() => {
                    backend.count += reports.remove(dice.below(reports.len()));
                }
                _ => {}
            }
        }
        // Everything lands: authreps are processed and answered, reports counted.
        while let Some(ticket) = sent.pop() {
            let (counted, value) = process(&mut backend, &mut allowed);
            processed.push((ticket, counted, value));
        }
        while let Some(answer) = processed.pop() {
            merge(&table, answer);
        }
        let during = allowed;
        for _ in 0..2 * max {
            request(&table, &mut sent, &mut allowed);
            while let Some(ticket) = sent.pop() {
                let (counted, value) = process(&mut backend, &mut allowed);
                merge(&table, (ticket, counted, value));
            }
        }
        let claimed: u64 = table
            .claim(0, NOW, 0)
            .unwrap()
            .iter()
            .flat_map(|record| record.usages.0.iter().map(|(_, n)| *n))
            .sum();
        let reported = backend.count + reports.iter().sum::<i64>() + claimed as i64;
        assert_eq!(reported, allowed, "seed {seed}: reported = allowed");
        (during, allowed)
    }

    #[test]
    fn concurrent_misses_and_reports_in_flight_never_overrun_the_limit() {
        for with_reports in [false, true] {
            for seed in 0..1000 {
                let (during, after) = model(seed, 6, with_reports);
                assert!(during <= 6, "seed {seed}: {during} allowed of 6");
                assert_eq!(after, 6, "seed {seed}: the limit is reached, not undercut");
            }
        }
    }

    /// Two workers on one bucket, one remembering its last bucket and one
    /// not, in a random order (the other worker's writes change the bytes
    /// under the first's memory): the store and every result are those of
    /// two workers that decode every bucket they read.
    #[test]
    fn remembering_the_last_bucket_changes_no_result() {
        let mut rng = crate::test_rng::XorShift::new(0x5eed);
        let doc = limited(100_000, 1);
        let (plain, remembered) = (MemoryStore::default(), MemoryStore::default());
        let last = LastBucket::default();
        let users = [user("alice"), user("bob")];
        let mut remembered_after = 0;
        for step in 0..400u64 {
            let credential = &users[rng.below(2)];
            let (first, now) = (rng.below(3) > 0, NOW + step * 7);
            let table = |store| Table::new(store, &settings(4));
            let mine = |store| table(store).remembering(&last);
            let fill = |table: Table| {
                let answer = Answer::Authorized(&doc);
                format!(
                    "{:?}",
                    table.fill(&key(credential), None, answer, &hits(1), now, true)
                )
            };
            let claim = |table: Table| format!("{:?}", table.claim(0, now, 0));
            let lookup =
                |table: Table| format!("{:?}", table.lookup(&key(credential), &hits(1), now, 0));
            let (a, b) = match (rng.below(8), first) {
                (0, _) => (fill(table(&plain)), fill(mine(&remembered))),
                (1, _) => (claim(table(&plain)), claim(table(&remembered))),
                (_, true) => (lookup(table(&plain)), lookup(mine(&remembered))),
                (_, false) => (lookup(table(&plain)), lookup(table(&remembered))),
            };
            assert_eq!(a, b, "step {step}");
            let bytes = |store: &MemoryStore| store.read(&bucket_key(0)).map(|value| value.bytes);
            assert_eq!(bytes(&plain), bytes(&remembered), "step {step}");
            remembered_after += usize::from(last.0.borrow().is_some());
        }
        assert!(remembered_after > 100, "{remembered_after} steps");
    }
}
