//! One System fetcher per Envoy instead of one per worker VM: the plugins of a
//! VM id share, per service fetch, a lease and the last good answer through
//! the shared store.
//!
//! Every tick each plugin tries to hold the lease of each service ([`SharedFetch::hold`]):
//! a lease held by another plugin and not expired is left alone; a free or
//! expired one is taken with a versioned write, so one plugin wins. The holder
//! renews it while it runs and fetches when its schedule says so; it
//! publishes each good answer ([`SharedFetch::publish`]) and the others take it
//! ([`SharedFetch::published_after`]), through the same parsing and checks as
//! their own fetch would. When the holder stops (its configuration replaced,
//! its VM gone), its lease runs out after [`LEASE_MS`] and another plugin takes
//! over. A store that refuses writes makes every plugin fetch on its own, as
//! before.

use crate::cache::{Store, WriteError};
use crate::io::HttpCall;

/// How long a lease lasts unless renewed.
pub const LEASE_MS: u64 = 5_000;
const KEY_PREFIX: &str = "threescale-wasm-auth.system.";

/// The shared state of one service's fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFetch {
    lease_key: String,
    stamp_key: String,
    answer_key: String,
}

/// A lease: who holds it, until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lease {
    owner: u64,
    until_ms: u64,
}

impl Lease {
    fn encode(self) -> [u8; 16] {
        let mut bytes = [0; 16];
        let (owner, until) = bytes.split_at_mut(8);
        owner.copy_from_slice(&self.owner.to_le_bytes());
        until.copy_from_slice(&self.until_ms.to_le_bytes());
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Lease> {
        let (owner, until) = bytes.split_first_chunk::<8>()?;
        let until: [u8; 8] = until.try_into().ok()?;
        Some(Lease {
            owner: u64::from_le_bytes(*owner),
            until_ms: u64::from_le_bytes(until),
        })
    }
}

impl SharedFetch {
    /// The shared state of the fetch `call` (keyed by its cluster, authority and
    /// path without the query, so the access token is not part of the key).
    pub fn for_call(call: &HttpCall) -> Self {
        let path = call.header(":path").unwrap_or_default();
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        let mut hash = 0xcbf2_9ce4_8422_2325_u64;
        for part in [
            &call.cluster,
            call.header(":authority").unwrap_or_default(),
            path,
        ] {
            for byte in part.bytes().chain([0]) {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        let base = format!("{KEY_PREFIX}{hash:016x}");
        SharedFetch {
            lease_key: format!("{base}.lease"),
            stamp_key: format!("{base}.stamp"),
            answer_key: format!("{base}.answer"),
        }
    }

    /// Whether `owner` holds the lease at `now_ms`, taking or renewing it when
    /// it may (renewed once half of it has run).
    pub fn hold(&self, store: &dyn Store, owner: u64, now_ms: u64) -> bool {
        let read = store.read(&self.lease_key);
        let current = read.as_ref().and_then(|value| Lease::decode(&value.bytes));
        match current {
            Some(lease) if lease.owner != owner && lease.until_ms > now_ms => return false,
            Some(lease)
                if lease.owner == owner && lease.until_ms > now_ms.saturating_add(LEASE_MS / 2) =>
            {
                return true;
            }
            _ => {}
        }
        let lease = Lease {
            owner,
            until_ms: now_ms.saturating_add(LEASE_MS),
        };
        let creating = read.is_none();
        let cas = read.and_then(|value| value.cas);
        match store.write(&self.lease_key, &lease.encode(), cas) {
            // Creating a key cannot be conditional: another plugin may have
            // created it in the same instant, and the last write won.
            Ok(()) if creating => self.holder(store) == Some(owner),
            Ok(()) => true,
            Err(WriteError::Conflict) => false,
            // No shared store to agree through: fetch alone, as without one.
            Err(WriteError::Failed) => true,
        }
    }

    fn holder(&self, store: &dyn Store) -> Option<u64> {
        let read = store.read(&self.lease_key)?;
        Lease::decode(&read.bytes).map(|lease| lease.owner)
    }

    /// Gives the lease up if `owner` holds it (its configuration ends), so that
    /// another plugin takes over at once.
    pub fn release(&self, store: &dyn Store, owner: u64) {
        let Some(read) = store.read(&self.lease_key) else {
            return;
        };
        if Lease::decode(&read.bytes).is_some_and(|lease| lease.owner == owner) {
            let free = Lease { owner, until_ms: 0 };
            // Lost to another plugin already: nothing to give up.
            let _ = store.write(&self.lease_key, &free.encode(), read.cas);
        }
    }

    /// Publishes a good answer's body, fetched at `now_ms`.
    pub fn publish(&self, store: &dyn Store, now_ms: u64, body: &[u8]) {
        let mut answer = Vec::with_capacity(body.len() + 8);
        answer.extend_from_slice(&now_ms.to_le_bytes());
        answer.extend_from_slice(body);
        // The answer first: a stamp never announces an answer not yet there.
        if store.write(&self.answer_key, &answer, None).is_ok() {
            let _ = store.write(&self.stamp_key, &now_ms.to_le_bytes(), None);
        }
    }

    /// The body of the last published answer and when it was fetched, if
    /// that was after `seen_ms`.
    pub fn published_after(&self, store: &dyn Store, seen_ms: u64) -> Option<(u64, Vec<u8>)> {
        let stamp = store.read(&self.stamp_key)?;
        let stamp = u64::from_le_bytes(stamp.bytes.as_slice().try_into().ok()?);
        if stamp <= seen_ms {
            return None;
        }
        let answer = store.read(&self.answer_key)?;
        let (fetched_at, body) = answer.bytes.split_first_chunk::<8>()?;
        let fetched_at = u64::from_le_bytes(*fetched_at);
        (fetched_at > seen_ms).then(|| (fetched_at, body.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::MemoryStore;

    const NOW: u64 = 1_700_000_000_000;

    fn fetch(path: &str) -> SharedFetch {
        SharedFetch::for_call(&HttpCall {
            cluster: "system".into(),
            headers: vec![
                (":path", path.to_owned().into()),
                (":authority", "sys".into()),
            ],
            body: Vec::new(),
            timeout_ms: 1000,
        })
    }

    #[test]
    fn one_holder_at_a_time_until_it_stops_renewing() {
        let store = MemoryStore::default();
        let shared = fetch("/a?access_token=x");
        assert!(shared.hold(&store, 1, NOW));
        assert!(!shared.hold(&store, 2, NOW + 1));
        // The holder renews; the other still waits.
        assert!(shared.hold(&store, 1, NOW + LEASE_MS - 1));
        assert!(!shared.hold(&store, 2, NOW + LEASE_MS + 1));
        // The holder stopped: its lease runs out and the other takes over.
        assert!(shared.hold(&store, 2, NOW + 2 * LEASE_MS));
        assert!(!shared.hold(&store, 1, NOW + 2 * LEASE_MS + 1));
        shared.release(&store, 1);
        assert!(
            !shared.hold(&store, 1, NOW + 2 * LEASE_MS + 2),
            "not its lease"
        );
        shared.release(&store, 2);
        assert!(shared.hold(&store, 1, NOW + 2 * LEASE_MS + 3), "released");
    }

    #[test]
    fn of_two_plugins_creating_the_lease_at_once_the_last_writer_holds_it() {
        let store = MemoryStore::default();
        let shared = fetch("/a");
        let key = shared.lease_key.clone();
        // Another plugin, which also found no lease, creates it right after.
        *store.follower.borrow_mut() = Some(Box::new(move |store: &MemoryStore| {
            let lease = Lease {
                owner: 2,
                until_ms: NOW + LEASE_MS,
            };
            store.force(&key, &lease.encode());
        }));
        assert!(!shared.hold(&store, 1, NOW), "the other write came last");
        *store.follower.borrow_mut() = None;
        assert!(shared.hold(&store, 2, NOW + 1));
        assert!(!shared.hold(&store, 1, NOW + 2));
    }

    #[test]
    fn a_lost_race_or_a_broken_store() {
        let store = MemoryStore::default();
        let shared = fetch("/a");
        store.force(
            &shared.lease_key,
            &Lease {
                owner: 9,
                until_ms: 0,
            }
            .encode(),
        );
        store.conflicts.set(1);
        assert!(!shared.hold(&store, 1, NOW), "another plugin wrote first");
        store.broken.set(true);
        assert!(shared.hold(&store, 1, NOW), "no store: fetch alone");
    }

    #[test]
    fn answers_are_published_once_per_fetch() {
        let store = MemoryStore::default();
        let shared = fetch("/a?access_token=x");
        assert_eq!(shared.published_after(&store, 0), None);
        shared.publish(&store, NOW, b"{\"body\":1}");
        let (at, body) = shared.published_after(&store, 0).unwrap();
        assert_eq!((at, body.as_slice()), (NOW, &b"{\"body\":1}"[..]));
        assert_eq!(shared.published_after(&store, NOW), None, "seen already");
        // The token is not part of the key; the service's path is.
        assert_eq!(fetch("/a?access_token=y"), shared);
        assert_ne!(fetch("/b"), shared);
        store.force(&shared.stamp_key, b"short");
        assert_eq!(shared.published_after(&store, 0), None);
    }
}
