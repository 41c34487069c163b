//! Per-worker leases of quota (README, "Cache", "Leases").
//!
//! A hit that reads and writes its bucket makes two shared-data calls, which
//! cost Envoy more than the whole decision. So when a hit is allowed from the
//! shared entry, the worker may also take a lease in the same write: room for
//! up to [`MOST_REQUESTS`] more requests of the same application with the same
//! usage, for [`LEASE_MS`]. The entry counts the leased usage as allowed (other
//! workers' checks and this proxy's budget see it), and the worker then
//! decides those requests in its own memory. It returns the lease, with the
//! usage it allowed from it, when the lease is spent (in the write of the next
//! shared hit), when it ends (the next timer tick), and at every report flush,
//! so that usage waits in a worker at most about a second longer than before.
//!
//! A lease is sized by [`super::Entry::lease_size`]: an eighth of what is left
//! under every limit its usage counts for and under the proxy's budget, so near
//! a limit there is no lease and every request reads the entry as before. A
//! worker that dies with a lease loses the usage it allowed from it (as it
//! loses the usage it had claimed for a report); the entry forgets the lease
//! [`LEASE_GRACE_MS`] after its end.

use std::sync::Arc;

use super::entry::{AppKey, Flight, Record, StoredCredential};
use crate::model::{Limits, Usages};

/// How long a worker decides from a lease.
pub const LEASE_MS: u64 = 1_000;
/// How long past its end the entry keeps counting a lease that was not
/// returned: the timer (500 ms) returns it well within that, and a lease
/// whose worker has gone stops holding quota then.
pub const LEASE_GRACE_MS: u64 = 2_000;
/// The most requests a lease lets a worker allow on its own.
pub const MOST_REQUESTS: u64 = 64;
/// The most leases a worker holds at once.
pub const MOST_LEASES: usize = 64;

/// A lease a worker holds: which application and usage it is for, and how
/// much of it the worker used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The application's bucket.
    pub bucket: u32,
    /// The service id.
    pub service_id: String,
    /// The application.
    pub credential: StoredCredential,
    /// The usage of each request the lease is for.
    pub usages: Usages,
    /// The lease's ticket in the entry.
    pub ticket: u64,
    /// Requests the lease allows.
    granted: u64,
    /// Requests allowed from it so far.
    taken: u64,
    /// When the worker stops deciding from it (Unix ms).
    serve_until_ms: u64,
    /// When it was granted, and the limits after the request that took it
    /// (for `RateLimit-*`).
    granted_ms: u64,
    limits: Limits,
}

/// A lease granted in a hit's write: what the worker keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The lease's ticket.
    pub ticket: u64,
    /// Requests it allows.
    pub requests: u64,
    /// When the worker stops deciding from it (Unix ms).
    pub serve_until_ms: u64,
}

impl Grant {
    /// The lease as the entry keeps it: `requests` times `usages`, counted
    /// until [`LEASE_GRACE_MS`] past its end.
    pub fn reservation(&self, usages: &Usages) -> Flight {
        Flight {
            ticket: self.ticket,
            usage: times(usages, self.requests)
                .map(|(metric, total)| (metric.to_string(), total))
                .collect(),
            until_ms: self.serve_until_ms.saturating_add(LEASE_GRACE_MS),
        }
    }
}

impl Held {
    /// The lease a worker keeps for `grant`, taken by a request of `key`
    /// with `usages` allowed with `limits` at `now_ms`.
    pub fn new(
        grant: Grant,
        bucket: u32,
        key: &AppKey<'_>,
        usages: &Usages,
        limits: Limits,
        now_ms: u64,
    ) -> Held {
        Held {
            bucket,
            service_id: key.service_id.to_owned(),
            credential: StoredCredential::of(key.credential),
            usages: usages.clone(),
            ticket: grant.ticket,
            granted: grant.requests,
            taken: 0,
            serve_until_ms: grant.serve_until_ms,
            granted_ms: now_ms,
            limits,
        }
    }

    /// The usage allowed from the lease: what its return adds to the entry.
    pub fn used(&self) -> Usages {
        Usages(
            times(&self.usages, self.taken)
                .filter(|(_, total)| *total > 0)
                .collect(),
        )
    }

    /// The usage allowed from the lease as a record to report directly, for
    /// when its entry is gone or the store cannot take it back.
    pub fn record(&self) -> Option<Record> {
        let usages = self.used();
        (!usages.0.is_empty()).then(|| Record {
            service_id: self.service_id.clone(),
            credential: self.credential.clone(),
            usages,
        })
    }

    fn is_for(&self, key: &AppKey<'_>, usages: &Usages) -> bool {
        self.service_id == key.service_id
            && self.credential.is(key.credential)
            && self.usages == *usages
    }

    fn is_spent(&self, now_ms: u64) -> bool {
        self.taken >= self.granted || now_ms >= self.serve_until_ms
    }

    /// The limits after the `taken`-th request: the remaining requests go
    /// down by one each, the reset counts down from the grant (rounded up,
    /// as the entry rounds it).
    fn limits_now(&self, now_ms: u64) -> Limits {
        let taken = i64::try_from(self.taken).unwrap_or(i64::MAX);
        let elapsed = i64::try_from(now_ms.saturating_sub(self.granted_ms) / 1000).unwrap_or(0);
        Limits {
            max_value: self.limits.max_value,
            remaining: self.limits.remaining.map(|remaining| {
                if remaining < 0 {
                    remaining
                } else {
                    remaining.saturating_sub(taken).max(0)
                }
            }),
            reset: self.limits.reset.map(|reset| {
                if reset < 0 {
                    reset
                } else {
                    reset.saturating_sub(elapsed).max(0)
                }
            }),
        }
    }
}

/// `usages` of `requests` requests, metric by metric.
fn times(usages: &Usages, requests: u64) -> impl Iterator<Item = (Arc<str>, u64)> + '_ {
    usages
        .0
        .iter()
        .map(move |(metric, delta)| (Arc::clone(metric), delta.saturating_mul(requests)))
}

/// The leases a worker holds.
#[derive(Debug, Default)]
pub struct Leases(Vec<Held>);

impl Leases {
    /// Allows a request from a lease for its application and usage, if one
    /// has room left at `now_ms`: the limits to answer with.
    pub fn serve(&mut self, key: &AppKey<'_>, usages: &Usages, now_ms: u64) -> Option<Limits> {
        let held = self.0.iter_mut().find(|held| held.is_for(key, usages))?;
        if held.is_spent(now_ms) {
            return None;
        }
        held.taken = held.taken.saturating_add(1);
        Some(held.limits_now(now_ms))
    }

    /// Takes out the spent lease for this application and usage, if there is
    /// one: the hit that reads the entry returns it in its write.
    pub fn take_spent(&mut self, key: &AppKey<'_>, usages: &Usages, now_ms: u64) -> Option<Held> {
        let at = self
            .0
            .iter()
            .position(|held| held.is_for(key, usages) && held.is_spent(now_ms))?;
        Some(self.0.swap_remove(at))
    }

    /// Takes out the leases to return: every one when `all`, else the spent ones.
    pub fn take_due(&mut self, now_ms: u64, all: bool) -> Vec<Held> {
        let (due, kept) = std::mem::take(&mut self.0)
            .into_iter()
            .partition(|held| all || held.is_spent(now_ms));
        self.0 = kept;
        due
    }

    /// Whether the worker may take one more lease.
    pub fn has_room(&self) -> bool {
        self.0.len() < MOST_LEASES
    }

    /// Keeps a lease just granted.
    pub fn insert(&mut self, held: Held) {
        self.0.push(held);
    }

    /// Leases held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the worker holds no lease.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Credential, Secret};

    fn hits(n: u64) -> Usages {
        let mut usages = Usages::default();
        usages.add(&"hits".into(), n);
        usages
    }

    fn key_of(credential: &Credential) -> AppKey<'_> {
        AppKey {
            service_id: "42",
            credential,
        }
    }

    fn held(requests: u64, limits: Limits) -> Held {
        let credential = Credential::UserKey(Secret::new("key"));
        let key = key_of(&credential);
        let grant = Grant {
            ticket: 7,
            requests,
            serve_until_ms: 2_000,
        };
        Held::new(grant, 3, &key, &hits(2), limits, 1_000)
    }

    #[test]
    fn a_lease_serves_its_application_and_usage_until_spent() {
        let credential = Credential::UserKey(Secret::new("key"));
        let other = Credential::UserKey(Secret::new("other"));
        let key = AppKey {
            service_id: "42",
            credential: &credential,
        };
        let mut leases = Leases::default();
        leases.insert(held(2, Limits::default()));
        let stranger = key_of(&other);
        assert_eq!(leases.serve(&stranger, &hits(2), 1_100), None);
        assert_eq!(leases.serve(&key, &hits(1), 1_100), None, "other usage");
        assert!(leases.serve(&key, &hits(2), 1_100).is_some());
        assert_eq!(leases.take_spent(&key, &hits(2), 1_100), None);
        assert!(leases.serve(&key, &hits(2), 1_200).is_some());
        assert_eq!(leases.serve(&key, &hits(2), 1_300), None, "spent");
        let spent = leases.take_spent(&key, &hits(2), 1_300).unwrap();
        assert_eq!(spent.used(), hits(4));
        assert!(leases.is_empty());
    }

    #[test]
    fn a_lease_ends_with_its_time_and_returns_only_what_was_used() {
        let credential = Credential::UserKey(Secret::new("key"));
        let key = key_of(&credential);
        let mut leases = Leases::default();
        leases.insert(held(10, Limits::default()));
        assert!(leases.serve(&key, &hits(2), 1_999).is_some());
        assert_eq!(leases.serve(&key, &hits(2), 2_000), None);
        assert!(leases.take_due(1_500, false).is_empty(), "not spent yet");
        let due = leases.take_due(2_000, false);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].used(), hits(2));
        assert_eq!(due[0].record().unwrap().usages, hits(2));
    }

    #[test]
    fn an_unused_lease_has_no_record_and_all_leases_go_at_a_flush() {
        let mut leases = Leases::default();
        leases.insert(held(10, Limits::default()));
        assert!(leases.take_due(1_500, false).is_empty());
        let due = leases.take_due(1_500, true);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].record(), None);
    }

    #[test]
    fn rate_limit_figures_count_down_from_the_grant() {
        let credential = Credential::UserKey(Secret::new("key"));
        let key = key_of(&credential);
        let mut leases = Leases::default();
        let limits = Limits {
            max_value: Some(100),
            remaining: Some(40),
            reset: Some(30),
        };
        leases.insert(held(10, limits));
        let first = leases.serve(&key, &hits(2), 1_200).unwrap();
        assert_eq!(first.remaining, Some(39));
        assert_eq!(first.reset, Some(30));
        let second = leases.serve(&key, &hits(2), 1_999).unwrap();
        assert_eq!(second.remaining, Some(38));
        assert_eq!(second.max_value, Some(100));
        let mut unlimited = Leases::default();
        unlimited.insert(held(
            10,
            Limits {
                max_value: None,
                remaining: Some(-1),
                reset: Some(-1),
            },
        ));
        let served = unlimited.serve(&key, &hits(2), 1_500).unwrap();
        assert_eq!((served.remaining, served.reset), (Some(-1), Some(-1)));
    }

    #[test]
    fn the_reservation_is_the_usage_of_every_request_granted() {
        let grant = Grant {
            ticket: 9,
            requests: 5,
            serve_until_ms: 4_000,
        };
        let reservation = grant.reservation(&hits(3));
        assert_eq!(reservation.ticket, 9);
        assert_eq!(reservation.usage, vec![("hits".to_owned(), 15)]);
        assert_eq!(reservation.until_ms, 4_000 + LEASE_GRACE_MS);
    }
}
