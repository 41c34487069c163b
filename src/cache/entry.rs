//! One application's cached state, the local decision on a hit, and the merge
//! of a fresh authrep answer into what was cached.

use crate::backend::StatusDocument;
use crate::model::Limits;
use crate::model::Usages;
use crate::model::{Credential, Secret};

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

/// A credential as kept in shared data (see `codec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredCredential {
    /// A user key.
    UserKey(Secret),
    /// An application id and its key, if the request gave one.
    AppId(String, Option<Secret>),
}

impl StoredCredential {
    /// The stored form of a request's credential.
    pub fn of(credential: &Credential) -> Self {
        match credential {
            Credential::UserKey(key) => StoredCredential::UserKey(key.clone()),
            Credential::AppId { app_id, app_key } => {
                StoredCredential::AppId(app_id.clone(), app_key.clone())
            }
        }
    }

    /// Whether this is the same credential, compared without allocating.
    pub fn is(&self, credential: &Credential) -> bool {
        match (self, credential) {
            (StoredCredential::UserKey(stored), Credential::UserKey(key)) => stored == key,
            (
                StoredCredential::AppId(stored_id, stored_key),
                Credential::AppId { app_id, app_key },
            ) => stored_id == app_id && stored_key == app_key,
            _ => false,
        }
    }

    /// Back to the request form, for a report.
    pub fn credential(&self) -> Credential {
        match self {
            StoredCredential::UserKey(key) => Credential::UserKey(key.clone()),
            StoredCredential::AppId(app_id, app_key) => Credential::AppId {
                app_id: app_id.clone(),
                app_key: app_key.clone(),
            },
        }
    }
}

/// Which application an entry is about: a service and a credential.
#[derive(Debug, Clone, Copy)]
pub struct AppKey<'a> {
    /// The 3scale service id.
    pub service_id: &'a str,
    /// The credential the request presents (with its key: a wrong key is
    /// another entry, so a cached denial never hides a right one).
    pub credential: &'a Credential,
}

/// What 3scale said about the application, apart from limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    /// Authorized, or denied only for limits (the limits then decide).
    Authorized,
    /// Denied for another reason (unknown key, suspended application, …).
    Denied,
}

/// A limit on a metric for a period, with the value 3scale last gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The metric.
    pub metric: String,
    /// The period's name.
    pub period: String,
    /// The limit.
    pub max: i64,
    /// The metric's value in the period, as far as this entry knows, excluding
    /// the entry's `used`: the larger of `local` and `seen`.
    pub current: i64,
    /// When the period ends, in Unix milliseconds (`None`: eternity).
    pub ends_ms: Option<u64>,
    /// `base` plus every unit this filter has allowed since (hits, and
    /// authreps not counted in `base`), excluding `used`: exact as long as
    /// this filter is 3scale's only client.
    pub local: i64,
    /// The value 3scale gave in the first answer of the period that this
    /// entry knows: an authrep whose own answer is not above it was counted
    /// in it (3scale counts up), any other was not.
    pub base: i64,
    /// The largest value 3scale has given for the period: what it counted,
    /// from every client, as far as this entry knows.
    pub seen: i64,
    /// What 3scale had counted from other clients (or before this entry)
    /// when this entry got the period's first answer.
    pub foreign: i64,
    /// This proxy's share of the counter, in [`SHARE_ONE`]ths: of what
    /// 3scale counted in the period, how much this proxy allowed. It
    /// sizes the usage the proxy may allow before 3scale confirms it
    /// ([`Entry::within_budget`]); [`SHARE_ONE`] (alone) until an answer
    /// shows other clients.
    pub share: u32,
}

/// A share of the whole ([`Limit::share`]): 1 in fixed point.
pub const SHARE_ONE: u32 = 1 << 16;

/// A lease takes at most this fraction (its inverse) of what is left under a
/// limit ([`Entry::lease_size`]).
const LEASE_SHARE: i64 = 8;

/// The units left under a limit that a proxy which has seen no other client
/// decides alone ([`budget`]): a small limit is decided from one answer.
pub(super) const ALONE_FLOOR: i64 = 10;

/// Usage held for a while: an authrep sent to 3scale and not answered yet
/// (3scale will count its usage, or has, so hits count it too until its
/// answer is merged), or a worker's lease of quota (`super::lease`: usage a
/// worker may allow on its own, so others count it until it is returned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flight {
    /// Which authrep or lease (a worker's ticket: unique among the application's).
    pub ticket: u64,
    /// Its usage.
    pub usage: Vec<(String, u64)>,
    /// When to forget it if no answer comes, or the lease is not returned
    /// (Unix ms): past the backend timeout, or the lease's end, so that a lost
    /// request or worker cannot hold the application's quota.
    pub until_ms: u64,
}

impl Flight {
    fn is_active(&self, now_ms: u64) -> bool {
        self.until_ms > now_ms
    }
}

impl Limit {
    fn is_active(&self, now_ms: u64) -> bool {
        self.ends_ms.is_none_or(|ends| ends > now_ms)
    }

    fn same_period(&self, other: &Limit) -> bool {
        self.metric == other.metric && self.period == other.period && self.ends_ms == other.ends_ms
    }

    /// Seconds until the period ends, rounded up; `-1` for eternity.
    fn reset_seconds(&self, now_ms: u64) -> i64 {
        self.ends_ms.map_or(-1, |ends| {
            i64::try_from(ends.saturating_sub(now_ms).div_ceil(1000)).unwrap_or(i64::MAX)
        })
    }
}

/// One application's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The service id.
    pub service_id: String,
    /// The credential.
    pub credential: StoredCredential,
    /// Authorized or denied.
    pub authorization: Authorization,
    /// Until when (Unix ms) the entry answers on its own.
    pub fresh_until_ms: u64,
    /// When a request last used the entry (Unix ms), for eviction.
    pub last_used_ms: u64,
    /// The application's limits.
    pub limits: Vec<Limit>,
    /// (child, parent) metric pairs: a child's usage also counts for its parent.
    pub parents: Vec<(String, String)>,
    /// Usage allowed locally since the last authrep (reported or not), per metric.
    pub used: Vec<(String, u64)>,
    /// The part of `used` no flush has claimed yet.
    pub unreported: Vec<(String, u64)>,
    /// Usage claimed for a report that 3scale has not acknowledged yet: with
    /// `unreported`, what this proxy allowed and 3scale may not have counted.
    pub reporting: Vec<(String, u64)>,
    /// Authreps for the application in flight.
    pub flights: Vec<Flight>,
    /// Whether this proxy has had several authreps for the application in
    /// flight at once: it serves concurrent load, so a share of 1 may just
    /// mean that it was the first of a fleet to reach 3scale ([`budget`]).
    pub busy: bool,
    /// Metrics 3scale has accepted for the application: named in the usage of
    /// an authrep it authorized or limited, or in an answer's limits or
    /// hierarchy. A usage naming another metric is not decided locally
    /// ([`Entry::confirms`]): 3scale would refuse an unknown metric, and a
    /// report carrying one makes it drop the whole batch.
    pub metrics: Vec<String>,
    /// Quota leased to workers (`super::lease`): usage each may allow without
    /// reading the entry until it returns the lease with what it used. Counted
    /// against the limits and the budget like usage allowed.
    pub leases: Vec<Flight>,
}

/// What the cache says about a request on a hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HitOutcome {
    /// Allowed; the limits are those after this request, for `RateLimit-*`.
    Allow(Limits),
    /// A limit would be exceeded: 429 until its period ends.
    LimitsExceeded(Limits),
    /// Denied for another reason: 403.
    Denied,
}

/// The part of a fresh authrep answer the cache keeps.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// 200, with its document: the request was counted.
    Authorized(&'a StatusDocument),
    /// 409 `limits_exceeded`, with its document: nothing was counted.
    LimitsExceeded(&'a StatusDocument),
    /// Any other 4xx.
    Denied,
}

impl Entry {
    /// An entry that only holds flights: the application has no answer yet.
    /// It never decides a request ([`Entry::usable`] is false).
    pub fn placeholder(key: &AppKey<'_>, now_ms: u64) -> Entry {
        Entry {
            service_id: key.service_id.to_owned(),
            credential: StoredCredential::of(key.credential),
            authorization: Authorization::Authorized,
            fresh_until_ms: 0,
            last_used_ms: now_ms,
            limits: Vec::new(),
            parents: Vec::new(),
            used: Vec::new(),
            unreported: Vec::new(),
            reporting: Vec::new(),
            flights: Vec::new(),
            busy: false,
            metrics: Vec::new(),
            leases: Vec::new(),
        }
    }

    /// Whether 3scale has accepted every metric of `usages` for the application.
    pub fn confirms(&self, usages: &Usages) -> bool {
        usages
            .0
            .iter()
            .all(|(metric, _)| self.metrics.iter().any(|known| **known == **metric))
    }

    /// Whether the entry is a placeholder (see [`Entry::placeholder`]).
    pub fn is_placeholder(&self) -> bool {
        self.fresh_until_ms == 0
    }

    /// Records an authrep sent for the application (expired flights go).
    pub fn depart(&mut self, flight: Flight, now_ms: u64) {
        self.flights.retain(|known| known.is_active(now_ms));
        self.busy |= !self.flights.is_empty();
        self.flights.push(flight);
        self.last_used_ms = self.last_used_ms.max(now_ms);
    }

    /// Forgets an authrep (answered, failed or abandoned) and the expired
    /// ones; whether anything changed.
    pub fn land(&mut self, ticket: u64, now_ms: u64) -> bool {
        let before = self.flights.len();
        self.flights
            .retain(|known| known.ticket != ticket && known.is_active(now_ms));
        self.flights.len() != before
    }

    /// Whether an authrep for the application may still be in flight.
    pub fn has_flights(&self, now_ms: u64) -> bool {
        self.flights.iter().any(|flight| flight.is_active(now_ms))
    }

    /// Whether the entry is about this application.
    pub fn is_for(&self, key: &AppKey<'_>) -> bool {
        self.service_id == key.service_id && self.credential.is(key.credential)
    }

    /// Whether the entry may answer at `now_ms`, up to `staleness_ms` past expiry.
    pub fn usable(&self, now_ms: u64, staleness_ms: u64) -> bool {
        now_ms < self.fresh_until_ms.saturating_add(staleness_ms)
    }

    /// The local decision for a request with these usages (nothing changes).
    pub fn check(&self, usages: &Usages, now_ms: u64) -> HitOutcome {
        if self.authorization == Authorization::Denied {
            return HitOutcome::Denied;
        }
        let mut tightest: Option<(i64, &Limit)> = None;
        let mut exceeded: Option<&Limit> = None;
        for limit in self.limits.iter().filter(|limit| limit.is_active(now_ms)) {
            let delta = self.effective(pairs(&usages.0), &limit.metric);
            if delta == 0 {
                continue;
            }
            let left = self.left_under(limit, now_ms);
            if left < delta {
                let later = exceeded
                    .is_none_or(|seen| limit.reset_seconds(now_ms) > seen.reset_seconds(now_ms));
                if later {
                    exceeded = Some(limit);
                }
                continue;
            }
            let remaining = left.saturating_sub(delta) / delta;
            if tightest.is_none_or(|(least, _)| remaining < least) {
                tightest = Some((remaining, limit));
            }
        }
        if let Some(limit) = exceeded {
            return HitOutcome::LimitsExceeded(Limits {
                max_value: Some(limit.max),
                remaining: Some(0),
                reset: Some(limit.reset_seconds(now_ms)),
            });
        }
        HitOutcome::Allow(match tightest {
            Some((remaining, limit)) => Limits {
                max_value: Some(limit.max),
                remaining: Some(remaining),
                reset: Some(limit.reset_seconds(now_ms)),
            },
            None => Limits {
                max_value: None,
                remaining: Some(-1),
                reset: Some(-1),
            },
        })
    }

    /// Counts an allowed request: its usage is used and waits for a report.
    pub fn add_usage(&mut self, usages: &Usages, now_ms: u64) {
        for (metric, delta) in usages.0.iter().filter(|(_, delta)| *delta > 0) {
            add(&mut self.used, metric, *delta);
            add(&mut self.unreported, metric, *delta);
        }
        self.last_used_ms = self.last_used_ms.max(now_ms);
    }

    /// Takes the usage no flush has claimed (it stays in `used` for
    /// decisions, and is `reporting` until 3scale acknowledges its report).
    pub fn take_unreported(&mut self) -> Vec<(String, u64)> {
        let claimed = std::mem::take(&mut self.unreported);
        for (metric, delta) in &claimed {
            add(&mut self.reporting, metric, *delta);
        }
        claimed
    }

    /// 3scale acknowledged a report of this usage: it is counted now.
    /// Whether anything changed.
    pub fn acknowledge(&mut self, usages: &Usages) -> bool {
        let mut changed = false;
        for (metric, delta) in &usages.0 {
            if let Some((_, value)) = self
                .reporting
                .iter_mut()
                .find(|(name, _)| **name == **metric)
                && *delta > 0
            {
                *value = value.saturating_sub(*delta);
                changed = true;
            }
        }
        self.reporting.retain(|(_, value)| *value > 0);
        changed
    }

    /// Whether a request allowed by [`Entry::check`] may also be allowed
    /// without asking 3scale: for every limit it counts for, this proxy's
    /// usage that the last answer may not have counted, this request's
    /// included, stays within the proxy's budget. The budget
    /// is the room 3scale last showed (less this proxy's authreps in flight)
    /// times `share / (2 - share)`: all of it for a proxy alone, about half
    /// its share of it in a fleet, so that the proxies' budgets together
    /// never exceed the room, and shrink with it to nothing near the limit,
    /// where every request goes to 3scale (README, "Cache").
    pub fn within_budget(&self, usages: &Usages, now_ms: u64) -> bool {
        self.limits
            .iter()
            .filter(|limit| limit.is_active(now_ms))
            .all(|limit| {
                let delta = self.effective(pairs(&usages.0), &limit.metric);
                if delta == 0 {
                    return true;
                }
                let (unconfirmed, budget) = self.unconfirmed_budget(limit, now_ms);
                unconfirmed.saturating_add(delta) <= budget
            })
    }

    /// The units left under `limit`: its value, less what this proxy allowed
    /// since, has in flight and has leased to workers.
    fn left_under(&self, limit: &Limit, now_ms: u64) -> i64 {
        let held = self
            .effective(pairs(&self.used), &limit.metric)
            .saturating_add(self.in_flight(&limit.metric, now_ms))
            .saturating_add(self.leased(&limit.metric, now_ms));
        limit.max.saturating_sub(limit.current.saturating_add(held))
    }

    /// For a limit: this proxy's usage the last answer may not have counted
    /// (allowed since it, in a report not acknowledged before it, or leased
    /// to a worker: a unit both in `used` and `reporting` counts twice,
    /// erring on the side of asking), and its budget for such usage.
    fn unconfirmed_budget(&self, limit: &Limit, now_ms: u64) -> (i64, i64) {
        let unconfirmed = self
            .effective(pairs(&self.used), &limit.metric)
            .saturating_add(self.effective(pairs(&self.reporting), &limit.metric))
            .saturating_add(self.leased(&limit.metric, now_ms));
        let room = limit
            .max
            .saturating_sub(limit.seen)
            .saturating_sub(self.in_flight(&limit.metric, now_ms));
        (unconfirmed, self.budget(limit, room))
    }

    /// How many more requests with these usages a worker may allow on its
    /// own (at most `most`), once this one is counted: for every limit they
    /// count for, an eighth of what is left under both the limit and this
    /// proxy's budget. They are counted as if allowed now, so a lease never
    /// lets more through; but until it is returned its unused part is not
    /// available to other requests, hence the eighth: near a limit there is
    /// no lease and every request reads the entry, as without leases.
    pub fn lease_size(&self, usages: &Usages, now_ms: u64, most: u64) -> u64 {
        self.limits
            .iter()
            .filter(|limit| limit.is_active(now_ms))
            .fold(most, |size, limit| {
                let delta = self.effective(pairs(&usages.0), &limit.metric);
                if delta == 0 {
                    return size;
                }
                let left = self.left_under(limit, now_ms);
                let (unconfirmed, budget) = self.unconfirmed_budget(limit, now_ms);
                let spare = left.min(budget.saturating_sub(unconfirmed));
                let fits = spare / delta.saturating_mul(LEASE_SHARE);
                size.min(u64::try_from(fits).unwrap_or(0))
            })
    }

    /// Records a lease (expired ones go). The entry counts as used until
    /// the lease's end, so that eviction spares an application served from
    /// leases.
    pub fn lease(&mut self, lease: Flight, serve_until_ms: u64, now_ms: u64) {
        self.leases.retain(|known| known.is_active(now_ms));
        self.leases.push(lease);
        self.last_used_ms = self.last_used_ms.max(serve_until_ms);
    }

    /// A worker returns the lease `ticket` with the usage it allowed from it.
    pub fn end_lease(&mut self, ticket: u64, used: &Usages, now_ms: u64) {
        self.leases
            .retain(|known| known.ticket != ticket && known.is_active(now_ms));
        self.add_usage(used, now_ms);
    }

    /// Whether a worker may still hold a lease of the entry.
    pub fn has_leases(&self, now_ms: u64) -> bool {
        self.leases.iter().any(|lease| lease.is_active(now_ms))
    }

    /// The usage this proxy may allow unconfirmed under `limit` with `room`
    /// left: [`budget`] for its share; when it has seen no other client and
    /// has never had concurrent authreps (a single client, one request at a
    /// time), as much again as 3scale has counted from it, at least
    /// [`ALONE_FLOOR`] units, so that it asks again each time its usage
    /// doubles.
    fn budget(&self, limit: &Limit, room: i64) -> i64 {
        if limit.share >= SHARE_ONE && !self.busy {
            let confirmed = limit.seen.saturating_sub(limit.foreign).max(0);
            return room.min(confirmed.saturating_mul(2).max(ALONE_FLOOR));
        }
        budget(room, limit.max, limit.share)
    }

    /// Whether some limit has learned that other clients use the application
    /// (worth keeping the entry past its freshness, for its next answer).
    pub fn has_learned_shares(&self, now_ms: u64) -> bool {
        self.limits
            .iter()
            .any(|limit| limit.is_active(now_ms) && limit.share < SHARE_ONE)
    }

    /// The entry after an authrep answer for `key`, made for `request` at
    /// `now_ms`, merged with what was cached (`old`, for the same application).
    ///
    /// Unreported usage and the other authreps in flight are carried over (so
    /// usage is never lost nor reported twice). For each limit of the same
    /// period, the value kept is the larger of two lower bounds of the truth:
    /// the largest value 3scale gave plus the unreported usage, and the local
    /// count (the period's first answer plus every unit allowed since, this
    /// request included unless that first answer counted it). The second
    /// covers reports still in flight and answers that arrive out of order
    /// from several workers, without counting any unit twice.
    pub fn from_answer(
        key: &AppKey<'_>,
        answer: Answer<'_>,
        old: Option<&Entry>,
        request: &Usages,
        now_ms: u64,
        ttl_ms: u64,
        use_hierarchy: bool,
    ) -> Entry {
        let carried = old.map(|old| old.unreported.clone()).unwrap_or_default();
        let reporting = old.map(|old| old.reporting.clone()).unwrap_or_default();
        let (authorization, document, counted) = match answer {
            Answer::Authorized(document) => (Authorization::Authorized, Some(document), true),
            Answer::LimitsExceeded(document) => (Authorization::Authorized, Some(document), false),
            Answer::Denied => (Authorization::Denied, None, false),
        };
        let mut entry = Entry {
            service_id: key.service_id.to_owned(),
            credential: StoredCredential::of(key.credential),
            authorization,
            fresh_until_ms: now_ms.saturating_add(ttl_ms),
            last_used_ms: now_ms,
            limits: document.map(limits_of).unwrap_or_default(),
            parents: document
                .filter(|_| use_hierarchy)
                .map(parents_of)
                .unwrap_or_default(),
            used: carried.clone(),
            unreported: carried,
            reporting,
            flights: old.map(|old| old.flights.clone()).unwrap_or_default(),
            busy: old.is_some_and(|old| old.busy),
            metrics: old.map(|old| old.metrics.clone()).unwrap_or_default(),
            leases: old.map(|old| old.leases.clone()).unwrap_or_default(),
        };
        if let Some(document) = document {
            entry.confirm(request, document);
        }
        entry.raise_to_known(old, request, counted);
        if let Some(first_end) = entry.limits.iter().filter_map(|limit| limit.ends_ms).min() {
            entry.fresh_until_ms = entry.fresh_until_ms.min(first_end);
        }
        entry
    }

    /// Adds the metrics an answer with a `<status>` document shows 3scale
    /// knows: the request's (it validates metrics before it judges limits)
    /// and those of the document's limits and hierarchy.
    fn confirm(&mut self, request: &Usages, document: &StatusDocument) {
        let named = request
            .0
            .iter()
            .map(|(metric, _)| &**metric)
            .chain(document.reports.iter().map(|report| report.metric.as_str()))
            .chain(document.hierarchy.iter().flat_map(|(parent, children)| {
                std::iter::once(parent.as_str()).chain(children.iter().map(String::as_str))
            }));
        for metric in named {
            if !self.metrics.iter().any(|known| known == metric) {
                self.metrics.push(metric.to_owned());
            }
        }
    }

    fn raise_to_known(&mut self, old: Option<&Entry>, request: &Usages, counted: bool) {
        let raised: Vec<Limit> = self
            .limits
            .iter()
            .map(|limit| {
                let previous = old.and_then(|old| {
                    old.limits
                        .iter()
                        .find(|known| known.same_period(limit))
                        .map(|previous| (old, previous))
                });
                match previous {
                    Some((old, previous)) => self.merged(limit, old, previous, request, counted),
                    None => self.first(limit, old, request, counted),
                }
            })
            .collect();
        self.limits = raised;
    }

    /// A limit from the period's first answer this entry knows. The value
    /// 3scale gives is this request (if counted) or other clients' usage
    /// (`foreign`): this proxy's own authreps still in flight may be in it
    /// too, but counting them as other clients' only makes the proxy ask
    /// more (at the start of a period under concurrent load, which is also
    /// when the first proxies of a fleet reach 3scale together). The share
    /// is at most the one learned in the last period.
    fn first(&self, limit: &Limit, old: Option<&Entry>, request: &Usages, counted: bool) -> Limit {
        let this = if counted {
            self.effective(pairs(&request.0), &limit.metric)
        } else {
            0
        };
        let own = this;
        let foreign = limit.current.saturating_sub(own).max(0);
        let prior = old
            .and_then(|old| {
                old.limits
                    .iter()
                    .find(|known| known.metric == limit.metric && known.period == limit.period)
            })
            .map_or(SHARE_ONE, |known| known.share);
        let shown = if limit.current > 0 {
            share_of(limit.current.saturating_sub(foreign), limit.current)
        } else {
            SHARE_ONE
        };
        Limit {
            foreign,
            share: prior.min(shown),
            ..limit.clone()
        }
    }

    /// A limit of the same period as `previous` (of `old`), raised to what
    /// is known (see [`Entry::from_answer`]), and this proxy's share of what
    /// 3scale counted in the period: what it allowed (less the reports 3scale
    /// has not acknowledged) over 3scale's value, other clients' usage
    /// before the first answer (`foreign`) left out of its part.
    fn merged(
        &self,
        limit: &Limit,
        old: &Entry,
        previous: &Limit,
        request: &Usages,
        counted: bool,
    ) -> Limit {
        let answered = limit.current;
        // Counted in `base` unless 3scale's answer to it is above `base`.
        let this = if counted && answered > previous.base {
            self.effective(pairs(&request.0), &limit.metric)
        } else {
            0
        };
        let carried = self.effective(pairs(&self.unreported), &limit.metric);
        let local = previous
            .local
            .saturating_add(old.effective(pairs(&old.used), &limit.metric))
            .saturating_add(this)
            .saturating_sub(carried);
        let seen = previous.seen.max(answered);
        let own = local
            .saturating_sub(self.effective(pairs(&self.reporting), &limit.metric))
            .saturating_sub(previous.foreign);
        let share = if seen > 0 {
            share_of(own, seen)
        } else {
            previous.share
        };
        Limit {
            current: local.max(seen),
            local,
            base: previous.base,
            seen,
            foreign: previous.foreign,
            share,
            ..limit.clone()
        }
    }

    /// The usage of `metric` that authreps in flight will add.
    fn in_flight(&self, metric: &str, now_ms: u64) -> i64 {
        self.held(&self.flights, metric, now_ms)
    }

    /// The usage of `metric` leased to workers.
    fn leased(&self, metric: &str, now_ms: u64) -> i64 {
        self.held(&self.leases, metric, now_ms)
    }

    /// The usage of `metric` in the active ones of `holds`.
    fn held(&self, holds: &[Flight], metric: &str, now_ms: u64) -> i64 {
        holds
            .iter()
            .filter(|hold| hold.is_active(now_ms))
            .fold(0i64, |sum, hold| {
                sum.saturating_add(self.effective(pairs(&hold.usage), metric))
            })
    }

    /// The amount of `metric` in a usage list, children included.
    fn effective<'a>(&self, usage: impl Iterator<Item = (&'a str, u64)>, metric: &str) -> i64 {
        let total = usage
            .filter(|(name, _)| *name == metric || self.parent_of(name) == Some(metric))
            .fold(0u64, |sum, (_, delta)| sum.saturating_add(delta));
        i64::try_from(total).unwrap_or(i64::MAX)
    }

    fn parent_of(&self, metric: &str) -> Option<&str> {
        self.parents
            .iter()
            .find(|(child, _)| child == metric)
            .map(|(_, parent)| parent.as_str())
    }
}

/// `own / moved` in [`SHARE_ONE`]ths, at most [`SHARE_ONE`] (`moved > 0`).
fn share_of(own: i64, moved: i64) -> u32 {
    let ratio = i128::from(own.max(0)) * i128::from(SHARE_ONE) / i128::from(moved.max(1));
    u32::try_from(ratio.clamp(0, i128::from(SHARE_ONE))).unwrap_or(SHARE_ONE)
}

/// The usage a proxy with this share may allow unconfirmed, out of `room`
/// left under the limit `max`: at most the proxy's share of half of 1 % of
/// the limit, and `room * share / (2 - share)`. 3scale does not see this
/// usage until it is reported, so authreps from other proxies may take the
/// room meanwhile: what the fleet holds unconfirmed is what the limit may be
/// exceeded by, and with shares adding up to 1 it stays under half of 1 %
/// (twice that if each proxy overestimates its share twofold). A proxy that
/// has seen no other client (share 1) also decides the last [`ALONE_FLOOR`]
/// units alone, as a single proxy always did.
fn budget(room: i64, max: i64, share: u32) -> i64 {
    if share >= SHARE_ONE && room <= ALONE_FLOOR {
        return room;
    }
    let share = i128::from(share.min(SHARE_ONE));
    let one = i128::from(SHARE_ONE);
    let of_room = i128::from(room.max(0)) * share / (2 * one - share);
    let percent = (i128::from(max.max(0)) + 99) / 100;
    let of_limit = percent * share / (2 * one);
    i64::try_from(of_room.min(of_limit)).unwrap_or(i64::MAX)
}

fn pairs<N: AsRef<str>>(list: &[(N, u64)]) -> impl Iterator<Item = (&str, u64)> {
    list.iter().map(|(name, delta)| (name.as_ref(), *delta))
}

fn add(list: &mut Vec<(String, u64)>, metric: &str, delta: u64) {
    match list.iter_mut().find(|(name, _)| name == metric) {
        Some((_, value)) => *value = value.saturating_add(delta),
        None => list.push((metric.to_owned(), delta)),
    }
}

fn limits_of(document: &StatusDocument) -> Vec<Limit> {
    document
        .reports
        .iter()
        .map(|report| Limit {
            metric: report.metric.clone(),
            period: report.period.clone(),
            max: report.max_value,
            current: report.current_value,
            ends_ms: report.period_end.map(|end| end.saturating_mul(1000)),
            local: report.current_value,
            base: report.current_value,
            seen: report.current_value,
            foreign: 0,
            share: SHARE_ONE,
        })
        .collect()
}

fn parents_of(document: &StatusDocument) -> Vec<(String, String)> {
    document
        .hierarchy
        .iter()
        .flat_map(|(parent, children)| {
            children
                .iter()
                .filter(move |child| *child != parent)
                .map(move |child| (child.clone(), parent.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::UsageReport;

    const NOW: u64 = 1_700_000_000_000;
    const TTL: u64 = 60_000;

    fn usages(pairs: &[(&str, u64)]) -> Usages {
        Usages(pairs.iter().map(|(m, d)| ((*m).into(), *d)).collect())
    }

    fn document(reports: &[(&str, &str, i64, i64, Option<u64>)]) -> StatusDocument {
        StatusDocument {
            authorized: true,
            reason: None,
            reports: reports
                .iter()
                .map(|(metric, period, max, current, end)| UsageReport {
                    metric: (*metric).into(),
                    period: (*period).into(),
                    period_end: *end,
                    max_value: *max,
                    current_value: *current,
                })
                .collect(),
            hierarchy: vec![("hits".into(), vec!["products".into(), "sales".into()])],
        }
    }

    fn entry(document: &StatusDocument) -> Entry {
        let credential = Credential::UserKey("k".into());
        let key = AppKey {
            service_id: "1",
            credential: &credential,
        };
        Entry::from_answer(
            &key,
            Answer::Authorized(document),
            None,
            &usages(&[("hits", 1)]),
            NOW,
            TTL,
            true,
        )
    }

    #[test]
    fn allows_up_to_the_limit_then_exceeds() {
        let mut entry = entry(&document(&[("hits", "eternity", 3, 1, None)]));
        let one = usages(&[("hits", 1)]);
        assert_eq!(
            entry.check(&one, NOW),
            HitOutcome::Allow(Limits {
                max_value: Some(3),
                remaining: Some(1),
                reset: Some(-1)
            })
        );
        entry.add_usage(&one, NOW);
        assert!(matches!(entry.check(&one, NOW), HitOutcome::Allow(l) if l.remaining == Some(0)));
        entry.add_usage(&one, NOW);
        assert_eq!(
            entry.check(&one, NOW),
            HitOutcome::LimitsExceeded(Limits {
                max_value: Some(3),
                remaining: Some(0),
                reset: Some(-1)
            })
        );
        assert_eq!(entry.take_unreported(), vec![("hits".to_owned(), 2)]);
        assert_eq!(entry.used, vec![("hits".to_owned(), 2)]);
        assert!(matches!(
            entry.check(&one, NOW),
            HitOutcome::LimitsExceeded(_)
        ));
    }

    /// An entry far from a limit of 100,000 hits, 3scale having counted
    /// 50,000 of them from this proxy: its budget is large.
    fn far_from_the_limit() -> Entry {
        let mut entry = entry(&document(&[("hits", "eternity", 100_000, 50_000, None)]));
        entry.limits[0].foreign = 0;
        entry.limits[0].share = SHARE_ONE;
        entry
    }

    #[test]
    fn a_lease_is_counted_as_allowed_until_returned_or_expired() {
        let mut entry = far_from_the_limit();
        let sold = usages(&[("products", 2)]);
        assert_eq!(entry.lease_size(&sold, NOW, 64), 64);
        let before = entry.check(&sold, NOW);
        let lease = Flight {
            ticket: 5,
            usage: vec![("products".to_owned(), 128)],
            until_ms: NOW + 3_000,
        };
        entry.lease(lease, NOW + 1_000, NOW);
        assert_eq!(entry.last_used_ms, NOW + 1_000, "spared by eviction");
        let HitOutcome::Allow(after) = entry.check(&usages(&[("hits", 1)]), NOW) else {
            panic!("far from the limit");
        };
        let HitOutcome::Allow(before) = before else {
            panic!("far from the limit");
        };
        // 128 products count for hits: 64 requests of 2 fewer, or 128 hits.
        assert_eq!(before.remaining, Some((50_000 - 2) / 2));
        assert_eq!(after.remaining, Some(50_000 - 128 - 1));
        assert!(entry.has_leases(NOW + 2_999));
        assert!(!entry.has_leases(NOW + 3_000), "a lost lease expires");
        let HitOutcome::Allow(expired) = entry.check(&usages(&[("hits", 1)]), NOW + 3_000) else {
            panic!("far from the limit");
        };
        assert_eq!(expired.remaining, Some(50_000 - 1));
        entry.end_lease(5, &usages(&[("products", 20)]), NOW + 500);
        assert!(entry.leases.is_empty());
        assert_eq!(entry.used, vec![("products".to_owned(), 20)]);
        assert_eq!(entry.unreported, vec![("products".to_owned(), 20)]);
    }

    #[test]
    fn leases_count_against_the_budget_and_shrink_near_a_limit() {
        let mut entry = far_from_the_limit();
        let one = usages(&[("hits", 1)]);
        entry.limits[0].share = SHARE_ONE / 2;
        // Budget: half the share of 1 % of the limit = 250 units; an eighth of it.
        assert_eq!(entry.lease_size(&one, NOW, 64), 250 / 8);
        entry.lease(
            Flight {
                ticket: 1,
                usage: vec![("hits".to_owned(), 240)],
                until_ms: NOW + 3_000,
            },
            NOW + 1_000,
            NOW,
        );
        assert_eq!(entry.lease_size(&one, NOW, 64), 1);
        assert!(entry.within_budget(&usages(&[("hits", 10)]), NOW));
        assert!(!entry.within_budget(&usages(&[("hits", 11)]), NOW));
        let near = entry_near_the_limit();
        assert_eq!(near.lease_size(&one, NOW, 64), 0);
        // No limit on the usage: the most.
        assert_eq!(near.lease_size(&usages(&[("other", 1)]), NOW, 64), 64);
    }

    fn entry_near_the_limit() -> Entry {
        entry(&document(&[("hits", "eternity", 5, 1, None)]))
    }

    #[test]
    fn children_count_for_their_parent() {
        let mut entry = entry(&document(&[("hits", "eternity", 4, 1, None)]));
        let sold = usages(&[("sales", 1), ("products", 1)]);
        assert!(matches!(entry.check(&sold, NOW), HitOutcome::Allow(_)));
        entry.add_usage(&sold, NOW);
        assert!(matches!(
            entry.check(&sold, NOW),
            HitOutcome::LimitsExceeded(_)
        ));
        assert!(matches!(
            entry.check(&usages(&[("hits", 1)]), NOW),
            HitOutcome::Allow(_)
        ));
        assert!(
            matches!(entry.check(&usages(&[("other", 9)]), NOW), HitOutcome::Allow(l) if l.remaining == Some(-1))
        );
    }

    #[test]
    fn flat_usage_ignores_the_hierarchy() {
        let credential = Credential::UserKey("k".into());
        let key = AppKey {
            service_id: "1",
            credential: &credential,
        };
        let doc = document(&[("hits", "eternity", 1, 1, None)]);
        let entry = Entry::from_answer(
            &key,
            Answer::Authorized(&doc),
            None,
            &usages(&[]),
            NOW,
            TTL,
            false,
        );
        assert!(matches!(
            entry.check(&usages(&[("products", 5)]), NOW),
            HitOutcome::Allow(_)
        ));
    }

    #[test]
    fn the_tightest_limit_gives_the_headers_and_ended_periods_are_ignored() {
        let minute_end = NOW / 1000 + 30;
        let entry = entry(&document(&[
            ("hits", "minute", 10, 2, Some(minute_end)),
            ("hits", "day", 100, 95, Some(NOW / 1000 + 3600)),
            ("hits", "hour", 1, 5, Some(NOW / 1000 - 1)),
        ]));
        assert_eq!(entry.fresh_until_ms, (NOW / 1000 - 1) * 1000);
        assert_eq!(
            entry.check(&usages(&[("hits", 2)]), NOW),
            HitOutcome::Allow(Limits {
                max_value: Some(100),
                remaining: Some(1),
                reset: Some(3600)
            })
        );
        assert!(
            matches!(entry.check(&usages(&[("hits", 6)]), NOW), HitOutcome::LimitsExceeded(l) if l.reset == Some(3600))
        );
    }

    #[test]
    fn freshness_follows_ttl_and_period_end() {
        let entry = entry(&document(&[(
            "hits",
            "minute",
            10,
            1,
            Some(NOW / 1000 + 20),
        )]));
        assert_eq!(entry.fresh_until_ms, NOW + 20_000);
        assert!(entry.usable(NOW + 19_999, 0));
        assert!(!entry.usable(NOW + 20_000, 0));
        assert!(entry.usable(NOW + 20_000, 1));
        let plain = self::entry(&document(&[]));
        assert_eq!(plain.fresh_until_ms, NOW + TTL);
    }

    #[test]
    fn denied_entries_deny_and_keep_no_limits() {
        let credential = Credential::AppId {
            app_id: "a".into(),
            app_key: Some("wrong".into()),
        };
        let key = AppKey {
            service_id: "1",
            credential: &credential,
        };
        let entry = Entry::from_answer(
            &key,
            Answer::Denied,
            None,
            &usages(&[("hits", 1)]),
            NOW,
            TTL,
            true,
        );
        assert_eq!(
            entry.check(&usages(&[("hits", 1)]), NOW),
            HitOutcome::Denied
        );
        assert!(entry.is_for(&key));
        let right = Credential::AppId {
            app_id: "a".into(),
            app_key: Some("right".into()),
        };
        assert!(!entry.is_for(&AppKey {
            service_id: "1",
            credential: &right
        }));
        assert!(!entry.is_for(&AppKey {
            service_id: "2",
            credential: &credential
        }));
    }

    #[test]
    fn a_refresh_carries_unreported_usage_and_keeps_the_larger_lower_bound() {
        let credential = Credential::UserKey("k".into());
        let key = AppKey {
            service_id: "1",
            credential: &credential,
        };
        let one = usages(&[("hits", 1)]);
        let mut old = entry(&document(&[("hits", "eternity", 10, 1, None)]));
        for _ in 0..4 {
            old.add_usage(&one, NOW);
        }
        // A flush claimed 3 (in flight, not yet counted by 3scale); 1 is unreported.
        let _ = old.take_unreported();
        old.add_usage(&one, NOW);
        // 3scale counted the first call and this one only: 2.
        let stale_answer = document(&[("hits", "eternity", 10, 2, None)]);
        let merged = Entry::from_answer(
            &key,
            Answer::Authorized(&stale_answer),
            Some(&old),
            &one,
            NOW,
            TTL,
            true,
        );
        assert_eq!(merged.unreported, vec![("hits".to_owned(), 1)]);
        assert_eq!(merged.used, vec![("hits".to_owned(), 1)]);
        // Known: 1 + 5 allowed + this one = 7 in all, 1 of them unreported.
        assert_eq!(merged.limits[0].current, 6);
        // An answer that already counts everything wins.
        let fresh_answer = document(&[("hits", "eternity", 10, 8, None)]);
        let merged = Entry::from_answer(
            &key,
            Answer::Authorized(&fresh_answer),
            Some(&old),
            &one,
            NOW,
            TTL,
            true,
        );
        assert_eq!(merged.limits[0].current, 8);
        // A limits_exceeded answer did not count this request.
        let exceeded = document(&[("hits", "eternity", 10, 2, None)]);
        let merged = Entry::from_answer(
            &key,
            Answer::LimitsExceeded(&exceeded),
            Some(&old),
            &one,
            NOW,
            TTL,
            true,
        );
        assert_eq!(merged.limits[0].current, 5);
    }

    #[test]
    fn a_new_period_takes_the_answer_as_it_is() {
        let credential = Credential::UserKey("k".into());
        let key = AppKey {
            service_id: "1",
            credential: &credential,
        };
        let mut old = entry(&document(&[("hits", "minute", 10, 9, Some(NOW / 1000))]));
        old.add_usage(&usages(&[("hits", 1)]), NOW);
        let answer = document(&[("hits", "minute", 10, 1, Some(NOW / 1000 + 60))]);
        let merged = Entry::from_answer(
            &key,
            Answer::Authorized(&answer),
            Some(&old),
            &usages(&[("hits", 1)]),
            NOW,
            TTL,
            true,
        );
        // 3scale's 1 plus the carried 1 in all; the carried 1 stays in `used`.
        assert_eq!(merged.limits[0].current, 1);
        assert_eq!(merged.unreported, vec![("hits".to_owned(), 1)]);
    }

    #[test]
    fn flights_count_against_the_limits_until_they_land_or_expire() {
        let mut entry = entry(&document(&[("hits", "eternity", 5, 1, None)]));
        let one = usages(&[("hits", 1)]);
        for ticket in [1, 2] {
            entry.depart(
                Flight {
                    ticket,
                    usage: vec![("sales".into(), 1)],
                    until_ms: NOW + 100,
                },
                NOW,
            );
        }
        // 1 counted, 2 in flight (sales count for hits): 2 left.
        assert!(matches!(entry.check(&one, NOW), HitOutcome::Allow(l) if l.remaining == Some(1)));
        assert!(matches!(
            entry.check(&usages(&[("hits", 3)]), NOW),
            HitOutcome::LimitsExceeded(_)
        ));
        assert!(entry.has_flights(NOW));
        assert!(entry.land(1, NOW));
        assert!(!entry.land(1, NOW), "landed once");
        assert!(matches!(entry.check(&one, NOW), HitOutcome::Allow(l) if l.remaining == Some(2)));
        assert!(
            matches!(entry.check(&one, NOW + 100), HitOutcome::Allow(l) if l.remaining == Some(3))
        );
        assert!(!entry.has_flights(NOW + 100));
    }

    #[test]
    fn an_authrep_counted_in_the_first_answer_is_not_counted_twice() {
        let credential = Credential::UserKey("k".into());
        let key = AppKey {
            service_id: "1",
            credential: &credential,
        };
        let one = usages(&[("hits", 1)]);
        // Three authreps in flight; 3scale counted a, b, c in that order but
        // c's answer (3) arrives first, then a's (1), then b's (2).
        let first = document(&[("hits", "eternity", 10, 3, None)]);
        let mut merged = entry(&first);
        assert_eq!(merged.limits[0].current, 3);
        for value in [1, 2] {
            let answer = document(&[("hits", "eternity", 10, value, None)]);
            merged = Entry::from_answer(
                &key,
                Answer::Authorized(&answer),
                Some(&merged),
                &one,
                NOW,
                TTL,
                true,
            );
            assert_eq!(merged.limits[0].current, 3, "after the answer {value}");
        }
        // Two hits are reported but not counted yet when a later authrep is:
        // 3scale says 4, the local count knows 3 + 2 hits + this one.
        merged.add_usage(&one, NOW);
        merged.add_usage(&one, NOW);
        let _ = merged.take_unreported();
        let answer = document(&[("hits", "eternity", 10, 4, None)]);
        let later = Entry::from_answer(
            &key,
            Answer::Authorized(&answer),
            Some(&merged),
            &one,
            NOW,
            TTL,
            true,
        );
        assert_eq!(later.limits[0].current, 6);
        assert_eq!(later.limits[0].seen, 4);
    }

    /// An answer about `hits` per day (max, current) to the authrep of one hit.
    fn daily(max: i64, current: i64) -> StatusDocument {
        document(&[("hits", "day", max, current, Some(NOW / 1000 + 86_400))])
    }

    fn answered(old: Option<&Entry>, max: i64, current: i64) -> Entry {
        let credential = Credential::UserKey("k".into());
        let key = AppKey {
            service_id: "1",
            credential: &credential,
        };
        let doc = daily(max, current);
        Entry::from_answer(
            &key,
            Answer::Authorized(&doc),
            old,
            &usages(&[("hits", 1)]),
            NOW,
            TTL,
            true,
        )
    }

    /// How many one-hit requests the entry allows without asking 3scale.
    fn local_hits(entry: &mut Entry) -> usize {
        let one = usages(&[("hits", 1)]);
        let mut allowed = 0;
        while matches!(entry.check(&one, NOW), HitOutcome::Allow(_))
            && entry.within_budget(&one, NOW)
        {
            entry.add_usage(&one, NOW);
            allowed += 1;
        }
        allowed
    }

    #[test]
    fn a_proxy_alone_keeps_its_whole_share_and_a_small_limit_is_decided_locally() {
        let mut entry = answered(None, 10, 1);
        assert_eq!(entry.limits[0].share, SHARE_ONE);
        assert_eq!(local_hits(&mut entry), 9, "the room of a small limit");
        // A report of 4 of them is acknowledged; the next answer counts them all.
        let mut entry = answered(None, 1_000, 1);
        for _ in 0..4 {
            entry.add_usage(&usages(&[("hits", 1)]), NOW);
        }
        let claimed = entry.take_unreported();
        entry.acknowledge(&Usages::from(claimed));
        assert!(entry.reporting.is_empty());
        let next = answered(Some(&entry), 1_000, 6);
        assert_eq!(next.limits[0].share, SHARE_ONE);
    }

    #[test]
    fn a_proxy_alone_far_from_its_limit_asks_each_time_its_usage_doubles() {
        let mut entry = answered(None, 1_000_000, 1);
        assert_eq!(local_hits(&mut entry), 10, "the floor");
        // Reported and acknowledged, then the next answer counts them: 12.
        let claimed = entry.take_unreported();
        entry.acknowledge(&Usages::from(claimed));
        let mut next = answered(Some(&entry), 1_000_000, 12);
        assert_eq!(next.limits[0].share, SHARE_ONE);
        assert_eq!(local_hits(&mut next), 24, "as much again as 3scale counted");
    }

    #[test]
    fn a_first_answer_above_this_request_shows_other_clients() {
        // Authreps of this proxy in flight may be in 3scale's value too; they
        // count as other clients' (the proxy errs towards asking).
        let mut entry = answered(None, 1_000_000, 1);
        entry.flights = vec![Flight {
            ticket: 1,
            usage: vec![("hits".into(), 1)],
            until_ms: NOW + 1,
        }];
        let credential = Credential::UserKey("k".into());
        let key = AppKey {
            service_id: "1",
            credential: &credential,
        };
        let placeholder = Entry {
            flights: entry.flights.clone(),
            ..Entry::placeholder(&key, NOW)
        };
        let doc = daily(1_000_000, 2);
        let first = Entry::from_answer(
            &key,
            Answer::Authorized(&doc),
            Some(&placeholder),
            &usages(&[("hits", 1)]),
            NOW,
            TTL,
            true,
        );
        assert_eq!(first.limits[0].foreign, 1);
        assert_eq!(first.limits[0].share, SHARE_ONE / 2);
    }

    #[test]
    fn a_busy_proxy_that_has_seen_no_other_client_holds_half_a_percent() {
        // The first of a fleet to reach 3scale, under concurrent load: its
        // answers show only its own usage, yet others may be on their way.
        let mut entry = answered(None, 1_000, 1);
        for ticket in [1, 2] {
            entry.depart(
                Flight {
                    ticket,
                    usage: vec![("hits".into(), 1)],
                    until_ms: NOW + 1,
                },
                NOW,
            );
        }
        assert!(entry.busy);
        entry.flights.clear();
        assert_eq!(entry.limits[0].share, SHARE_ONE);
        assert_eq!(local_hits(&mut entry), 5, "half of 1 % of 1000");
        // Busy or not, the last units of a small limit are decided alone.
        let mut small = answered(None, 10, 1);
        small.busy = true;
        assert_eq!(local_hits(&mut small), 9);
    }

    #[test]
    fn other_clients_usage_lowers_the_share_and_the_budget() {
        let mut entry = answered(None, 300, 1);
        for _ in 0..2 {
            entry.add_usage(&usages(&[("hits", 1)]), NOW);
        }
        let claimed = entry.take_unreported();
        entry.acknowledge(&Usages::from(claimed));
        // 3scale counted 9: this proxy's 1 + 2 reported + this one, 5 others'.
        let mut next = answered(Some(&entry), 300, 9);
        assert_eq!(next.limits[0].share, SHARE_ONE * 4 / 9);
        // Half a percent of 300, times 4/9, is under one unit: every request asks.
        assert_eq!(local_hits(&mut next), 0);
        // Far from a large limit the same share allows much, but not all, locally.
        let mut entry = answered(None, 1_000_000, 1);
        entry.add_usage(&usages(&[("hits", 1)]), NOW);
        let claimed = entry.take_unreported();
        entry.acknowledge(&Usages::from(claimed));
        let mut next = answered(Some(&entry), 1_000_000, 9);
        let allowed = local_hits(&mut next);
        let share = f64::from(next.limits[0].share) / f64::from(SHARE_ONE);
        assert_eq!(allowed as f64, (10_000.0 * share / 2.0).floor());
    }

    #[test]
    fn the_first_answer_shows_other_clients_beyond_this_proxys_own() {
        let entry = answered(None, 300, 4);
        assert_eq!(entry.limits[0].foreign, 3);
        assert_eq!(entry.limits[0].share, SHARE_ONE / 4);
        // The next period starts from the share learned in this one.
        let credential = Credential::UserKey("k".into());
        let key = AppKey {
            service_id: "1",
            credential: &credential,
        };
        let tomorrow = document(&[("hits", "day", 300, 1, Some(NOW / 1000 + 2 * 86_400))]);
        let next = Entry::from_answer(
            &key,
            Answer::Authorized(&tomorrow),
            Some(&entry),
            &usages(&[("hits", 1)]),
            NOW,
            TTL,
            true,
        );
        assert_eq!(next.limits[0].share, SHARE_ONE / 4);
    }

    #[test]
    fn usage_being_reported_counts_against_the_budget_until_acknowledged() {
        let mut entry = answered(None, 300, 4);
        entry.add_usage(&usages(&[("hits", 1)]), NOW);
        let claimed = entry.take_unreported();
        assert_eq!(entry.reporting, vec![("hits".to_owned(), 1)]);
        entry.acknowledge(&usages(&[("hits", 1), ("other", 3)]));
        assert!(entry.reporting.is_empty());
        assert_eq!(claimed, vec![("hits".to_owned(), 1)]);
    }

    #[test]
    fn fleet_budgets_shrink_with_the_room_and_the_share() {
        let third = SHARE_ONE / 3;
        assert_eq!(budget(300, 300, third), 0);
        assert_eq!(budget(1_000_000, 1_000_000, third), 1_666);
        // A fifth of the room (a third is 21845 / 65536, a little less).
        assert_eq!(budget(900, 1_000_000, third), 179);
        assert_eq!(budget(-5, 1_000_000, third), 0);
        assert!(budget(i64::MAX, i64::MAX, SHARE_ONE - 1) > 0);
        assert_eq!(share_of(1, 3), third);
        assert_eq!(share_of(5, 3), SHARE_ONE);
        assert_eq!(share_of(-1, 3), 0);
    }
}
