//! Unreported usage a plugin could not report before it ended (a configuration
//! replaced, a VM going away, 3scale down at that moment), handed over through
//! the shared store to whichever plugin of the VM id adopts it next.
//!
//! One store key holds the records, merged per application so that it stays
//! small; handing over and adopting are versioned writes, retried on conflict,
//! so each unit is adopted by exactly one plugin. A versioned write needs the key
//! to exist (Proxy-Wasm cannot create a key only if it is absent), so every plugin
//! with the cache creates it when it starts ([`prepare`]): before any plugin of
//! the VM id can end and hand usage over.

use super::codec::{decode_records, encode_records};
use super::store::{MAX_ATTEMPTS, Store, WriteError, create_if_absent};
use super::table::Record;

/// The store key of the orphaned usage (no secret in it: it may be logged).
pub const ORPHANS_KEY: &str = "threescale-wasm-auth.cache.orphans";

/// What handing records over did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandedOver {
    /// Records now in the store (merged with those already there).
    pub kept: usize,
    /// Records dropped: beyond the bound even once merged per application, or
    /// the store would not take them.
    pub dropped: usize,
}

/// Creates the orphaned usage's key, empty, if it is absent (a plugin with the
/// cache starts). Without it, the first two plugins to end at once (one per
/// worker, when a configuration is replaced) would each find no key and create
/// it unconditionally, the second erasing the records of the first. Plugins that
/// start at once may both create it here: both write the empty list, and no
/// plugin can have handed anything over yet, since each created the key when it
/// started.
pub fn prepare(store: &dyn Store) {
    // Left absent by a failed write: hand_over then writes it unconditionally,
    // as before this existed.
    create_if_absent(store, ORPHANS_KEY, &encode_records(&[]));
}

/// Adds `records` to the orphaned usage, merged per application; at most
/// `bound` records are kept (the oldest first dropped beyond it).
pub fn hand_over(store: &dyn Store, records: Vec<Record>, bound: usize) -> HandedOver {
    if records.is_empty() {
        return HandedOver::default();
    }
    let count = records.len();
    for _ in 0..MAX_ATTEMPTS {
        let read = store.read(ORPHANS_KEY);
        let cas = read.as_ref().and_then(|value| value.cas);
        let mut all = read
            .and_then(|value| decode_records(&value.bytes).ok())
            .unwrap_or_default();
        all.extend(records.iter().cloned());
        let mut merged = merge_per_application(all);
        let dropped = merged.len().saturating_sub(bound);
        merged.drain(..dropped);
        match store.write(ORPHANS_KEY, &encode_records(&merged), cas) {
            Ok(()) => {
                return HandedOver {
                    kept: merged.len(),
                    dropped,
                };
            }
            Err(WriteError::Conflict) => continue,
            Err(WriteError::Failed) => break,
        }
    }
    HandedOver {
        kept: 0,
        dropped: count,
    }
}

/// Takes every orphaned record (none when there are none, or the store would
/// not cooperate: they stay for a later attempt).
pub fn adopt(store: &dyn Store) -> Vec<Record> {
    for _ in 0..MAX_ATTEMPTS {
        let Some(read) = store.read(ORPHANS_KEY) else {
            return Vec::new();
        };
        let records = decode_records(&read.bytes).unwrap_or_default();
        if records.is_empty() {
            return Vec::new();
        }
        match store.write(ORPHANS_KEY, &encode_records(&[]), read.cas) {
            Ok(()) => return records,
            Err(WriteError::Conflict) => continue,
            Err(WriteError::Failed) => break,
        }
    }
    Vec::new()
}

/// The records with one per application (service and credential), usage
/// summed, in the order each application first appears.
pub fn merge_per_application(records: impl IntoIterator<Item = Record>) -> Vec<Record> {
    let mut merged: Vec<Record> = Vec::new();
    for record in records {
        match merged.iter_mut().find(|known| {
            known.service_id == record.service_id && known.credential == record.credential
        }) {
            Some(known) => {
                for (metric, delta) in &record.usages.0 {
                    known.usages.add(metric, *delta);
                }
            }
            None => merged.push(record),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::entry::StoredCredential;
    use crate::cache::store::MemoryStore;
    use crate::model::Usages;

    fn record(user: &str, hits: u64) -> Record {
        Record {
            service_id: "42".into(),
            credential: StoredCredential::UserKey(user.into()),
            usages: Usages(vec![("hits".into(), hits)]),
        }
    }

    #[test]
    fn handed_over_usage_is_adopted_once_and_merged_per_application() {
        let store = MemoryStore::default();
        assert!(adopt(&store).is_empty());
        let first = hand_over(&store, vec![record("a", 1), record("b", 2)], 10);
        assert_eq!(
            first,
            HandedOver {
                kept: 2,
                dropped: 0
            }
        );
        let second = hand_over(&store, vec![record("a", 4)], 10);
        assert_eq!(
            second,
            HandedOver {
                kept: 2,
                dropped: 0
            }
        );
        assert_eq!(adopt(&store), vec![record("a", 5), record("b", 2)]);
        assert!(adopt(&store).is_empty(), "adopted once");
    }

    /// Two plugins end at once: the second reads the key between the first's
    /// read and write. With the key prepared, the first's write conflicts and is
    /// retried on top of the second's; without it, the first erases the second's.
    #[test]
    fn concurrent_hand_overs_keep_every_record_once_the_key_is_prepared() {
        let concurrent = |prepared: bool| {
            let store = MemoryStore::default();
            if prepared {
                prepare(&store);
                prepare(&store);
                assert!(adopt(&store).is_empty(), "prepared empty");
            }
            let mut other_worker = Some(record("b", 2));
            *store.interloper.borrow_mut() = Some(Box::new(move |store: &MemoryStore| {
                if let Some(record) = other_worker.take() {
                    hand_over(store, vec![record], 10);
                }
            }));
            hand_over(&store, vec![record("a", 1)], 10);
            *store.interloper.borrow_mut() = None;
            adopt(&store)
        };
        assert_eq!(concurrent(true), vec![record("b", 2), record("a", 1)]);
        assert_eq!(
            concurrent(false),
            vec![record("a", 1)],
            "the race it prevents"
        );
    }

    #[test]
    fn preparing_keeps_what_is_there() {
        let store = MemoryStore::default();
        hand_over(&store, vec![record("a", 1)], 10);
        prepare(&store);
        assert_eq!(adopt(&store), vec![record("a", 1)]);
    }

    #[test]
    fn beyond_the_bound_the_oldest_applications_are_dropped_and_counted() {
        let store = MemoryStore::default();
        hand_over(&store, vec![record("a", 1), record("b", 1)], 2);
        let over = hand_over(&store, vec![record("b", 1), record("c", 1)], 2);
        assert_eq!(
            over,
            HandedOver {
                kept: 2,
                dropped: 1
            }
        );
        assert_eq!(adopt(&store), vec![record("b", 2), record("c", 1)]);
    }

    #[test]
    fn conflicts_are_retried_and_a_broken_store_drops_with_a_count() {
        let store = MemoryStore::default();
        store.conflicts.set(3);
        assert_eq!(hand_over(&store, vec![record("a", 1)], 5).kept, 1);
        store.conflicts.set(3);
        assert_eq!(adopt(&store), vec![record("a", 1)]);
        store.broken.set(true);
        assert_eq!(
            hand_over(&store, vec![record("a", 1), record("b", 1)], 5),
            HandedOver {
                kept: 0,
                dropped: 2
            }
        );
        store.broken.set(false);
        store.force(ORPHANS_KEY, b"garbage");
        assert!(adopt(&store).is_empty(), "garbage is no usage");
        assert_eq!(hand_over(&store, vec![record("c", 1)], 5).kept, 1);
        assert_eq!(adopt(&store), vec![record("c", 1)]);
    }
}
