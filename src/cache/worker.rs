//! One worker's (VM's) part of reporting: which buckets it wrote usage to,
//! the usage it claimed and has yet to report, and how much of it is in flight
//! (the reports themselves are in the plugin's registry of calls, `crate::plugin`).
//!
//! Every bucket a worker adds usage to is remembered until that worker has
//! claimed it, so all unreported usage is claimed by some worker; a claim is a
//! versioned write, so each unit by exactly one. A new worker claims every
//! bucket once (what a configuration it replaces left there). Claimed usage
//! stays in this worker until 3scale has accepted its report (retried with a
//! backoff otherwise), within `max_pending_reports` records: beyond it records
//! are first merged per application, then the oldest dropped and counted.
//!
//! Reports go every `flush_interval`, and also [`QUIET_MS`] after the last
//! usage this worker added, so that usage does not wait for the interval when
//! traffic stops (a proxy that is drained, then stopped, has reported it all).

use std::collections::VecDeque;

use log::warn;

use super::bucket_set::BucketSet;
use super::entry::AppKey;
use super::events::{CacheEvent, Events};
use super::lease::Leases;
use super::orphans::merge_per_application;
use super::table::{LastBucket, Record, Table};
use crate::backend::{self, Report};
use crate::config::{CacheSettings, Config};
use crate::fetched::Fetched;
use crate::io::HttpCall;
use crate::model::Credential;
use crate::model::{Limits, Usages};

/// Transactions per report call.
const MAX_TRANSACTIONS: usize = 100;
/// How long after the last usage it added a worker reports whatever the interval.
pub const QUIET_MS: u64 = 1_000;
/// The delay before retrying after a failed report, doubling with each
/// failure in a row up to [`MAX_RETRY_MS`] (and the flush interval).
const FIRST_RETRY_MS: u64 = 1_000;
/// The longest delay between retries while 3scale fails.
pub const MAX_RETRY_MS: u64 = 8_000;

/// A report call and the usage it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The `POST transactions.xml` call.
    pub call: HttpCall,
    /// The usage, to queue again if the report fails.
    pub records: Vec<Record>,
}

/// One worker's reporting state.
#[derive(Debug, Default)]
pub struct Worker {
    touched: BucketSet,
    queue: VecDeque<Record>,
    /// Records in reports sent and not yet answered.
    in_flight_records: usize,
    next_flush_ms: u64,
    flush_interval_ms: u64,
    /// When this worker last added usage, if it has not been flushed since.
    unflushed_since_ms: Option<u64>,
    /// The current retry delay after failed reports (0: the last one succeeded).
    retry_ms: u64,
    staleness_ms: u64,
    max_pending: usize,
    events: Events,
    /// The counts [`Worker::new_events`] last handed out.
    published: Events,
    /// The high half of this worker's authrep tickets (see [`Worker::seed_tickets`]).
    ticket_seed: u32,
    /// The low half of the last ticket handed out.
    last_ticket: u32,
    /// Parts of a report 3scale refused, each to be sent in a call of its own
    /// until the offending transaction is alone (see [`Worker::answered`]).
    isolated: VecDeque<Vec<Record>>,
    /// The bucket this worker's requests last wrote, decoded.
    last_bucket: LastBucket,
    /// The leases of quota this worker holds (`super::lease`).
    pub(super) leases: Leases,
}

impl Worker {
    /// A worker with nothing to report.
    pub fn new(settings: &CacheSettings) -> Self {
        Worker {
            flush_interval_ms: settings.flush_interval.saturating_mul(1000),
            staleness_ms: settings.stale_ttl.saturating_mul(1000),
            max_pending: usize::try_from(settings.max_pending_reports).unwrap_or(usize::MAX),
            ..Worker::default()
        }
    }

    /// Makes this worker's tickets differ from other workers': `seed` should
    /// differ between VMs (the filter derives it from the clock).
    pub fn seed_tickets(&mut self, seed: u32) {
        self.ticket_seed = seed;
    }

    /// A new ticket for an authrep in flight: unique among this worker's
    /// recent ones, and unlikely to equal another worker's.
    pub fn next_ticket(&mut self) -> u64 {
        self.last_ticket = self.last_ticket.wrapping_add(1);
        (u64::from(self.ticket_seed) << 32) | u64::from(self.last_ticket)
    }

    /// The bucket this worker's requests last wrote (for [`Table::remembering`]).
    pub fn last_bucket(&self) -> &LastBucket {
        &self.last_bucket
    }

    /// What happened so far.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// What happened since the last call: the metrics layer moves its counters
    /// by these amounts.
    pub fn new_events(&mut self) -> Events {
        let new = self.events.since(&self.published);
        self.published = self.events;
        new
    }

    /// Counts an event.
    pub fn record(&mut self, event: CacheEvent) {
        self.events.record(event);
    }

    /// Remembers that this worker added usage to `bucket` at `now_ms`.
    pub fn touch(&mut self, bucket: u32, now_ms: u64) {
        self.touched.insert(bucket);
        self.unflushed_since_ms = Some(now_ms);
    }

    /// Allows a request from this worker's lease for its application and
    /// usage, if one has room: the limits to answer with.
    pub fn serve_lease(
        &mut self,
        key: &AppKey<'_>,
        usages: &Usages,
        now_ms: u64,
    ) -> Option<Limits> {
        let limits = self.leases.serve(key, usages, now_ms)?;
        // The usage waits in the lease: the quiet report returns it.
        self.unflushed_since_ms = Some(now_ms);
        Some(limits)
    }

    /// Leases held.
    pub fn leases(&self) -> usize {
        self.leases.len()
    }

    /// Makes the next flush claim every one of `buckets` buckets: a new
    /// configuration takes over the usage an older one left in the store.
    pub fn touch_all(&mut self, buckets: u32) {
        self.touched.insert_below(buckets);
        self.flush_soon();
    }

    /// Records sent and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight_records
    }

    /// Takes every queued record out, isolated parts of refused reports
    /// included (to hand it over to another plugin).
    pub fn take_queued(&mut self) -> Vec<Record> {
        let isolated = std::mem::take(&mut self.isolated).into_iter().flatten();
        self.queue.drain(..).chain(isolated).collect()
    }

    /// Makes the next [`Worker::flush`] run whatever the interval (after an
    /// eviction or a refresh).
    pub fn flush_soon(&mut self) {
        self.next_flush_ms = 0;
    }

    /// Queues claimed usage for a report.
    pub fn enqueue(&mut self, record: Record) {
        self.queue.push_back(record);
        self.enforce_bound();
    }

    /// Records waiting to be sent (not counting those in flight).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// When due, claims the usage of the buckets this worker touched and
    /// returns the report calls to send (then [`Worker::sent`] or
    /// [`Worker::unsent`] for each).
    pub fn flush(
        &mut self,
        table: &Table<'_>,
        config: &Config,
        fetched: &Fetched,
        now_ms: u64,
    ) -> Vec<Batch> {
        let quiet = self
            .unflushed_since_ms
            .is_some_and(|since| now_ms >= since.saturating_add(QUIET_MS));
        let due = now_ms >= self.next_flush_ms || quiet;
        // Every lease goes back before a report, so that it carries their usage.
        self.return_leases(table, now_ms, due);
        if !due {
            return Vec::new();
        }
        self.next_flush_ms = now_ms.saturating_add(self.flush_interval_ms);
        self.unflushed_since_ms = None;
        let touched = std::mem::take(&mut self.touched);
        for bucket in touched.iter() {
            match table.claim(bucket, now_ms, self.staleness_ms) {
                Some(records) => records.into_iter().for_each(|record| self.enqueue(record)),
                // The store would not cooperate: claim it at the next flush.
                None => {
                    self.touched.insert(bucket);
                }
            }
        }
        self.batches(config, fetched)
    }

    /// Returns the spent leases (`all`: every lease) with the usage allowed
    /// from them; what the store cannot take back, or whose entry is gone, is
    /// queued for a report.
    fn return_leases(&mut self, table: &Table<'_>, now_ms: u64, all: bool) {
        for held in self.leases.take_due(now_ms, all) {
            match table.end_lease(&held, now_ms) {
                Some(None) => self.touch(held.bucket, now_ms),
                Some(Some(record)) => self.enqueue(record),
                None => {
                    if let Some(record) = held.record() {
                        self.enqueue(record);
                    }
                }
            }
        }
    }

    /// A batch was dispatched; its records come back through [`Worker::answered`].
    pub fn sent(&mut self, batch: &Batch) {
        self.in_flight_records = self.in_flight_records.saturating_add(batch.records.len());
    }

    /// A batch could not be dispatched at `now_ms`: its usage is retried.
    pub fn unsent(&mut self, batch: Batch, now_ms: u64) {
        self.record(CacheEvent::ReportFailed {
            transactions: batch.records.len(),
        });
        self.requeue(batch.records);
        self.retry_later(now_ms);
    }

    /// The answer to the report of these records (its status, `None` when the
    /// call failed without one), at `now_ms`; the entries in `table` learn
    /// which of their usage 3scale has counted.
    pub fn answered(
        &mut self,
        table: &Table<'_>,
        records: Vec<Record>,
        status: Option<u16>,
        now_ms: u64,
    ) {
        self.in_flight_records = self.in_flight_records.saturating_sub(records.len());
        let transactions = records.len();
        if status.is_some_and(|status| (200..300).contains(&status)) {
            self.record(CacheEvent::ReportSent { transactions });
            self.retry_ms = 0;
            table.acknowledge(&records);
        } else if let Some(status) = status.filter(|status| refuses_a_transaction(*status)) {
            self.record(CacheEvent::ReportFailed { transactions });
            self.isolate(table, records, status);
        } else {
            self.retry_later(now_ms);
            warn!(
                "3scale report of {transactions} transactions failed ({}); retrying in {} ms",
                status.map_or_else(|| "no status".to_owned(), |status| status.to_string()),
                self.next_flush_ms.saturating_sub(now_ms)
            );
            self.record(CacheEvent::ReportFailed { transactions });
            self.requeue(records);
        }
    }

    /// A report 3scale refused for what it carries: its halves are sent
    /// apart, so that the other transactions get through and the offending
    /// one ends up alone, when it is dropped (counted, warned).
    fn isolate(&mut self, table: &Table<'_>, mut records: Vec<Record>, status: u16) {
        if records.len() <= 1 {
            // Never counted: no longer waiting to be either.
            table.acknowledge(&records);
            for record in &records {
                warn!(
                    "3scale refused ({status}) the report of one application of service {}; its usage is dropped",
                    record.service_id
                );
            }
            self.record(CacheEvent::Dropped {
                records: records.len(),
            });
            return;
        }
        let second = records.split_off(records.len() / 2);
        self.isolated.push_back(records);
        self.isolated.push_back(second);
        self.flush_soon();
    }

    /// Brings the next flush forward to the retry delay, which doubles with
    /// each failure in a row.
    fn retry_later(&mut self, now_ms: u64) {
        let cap = MAX_RETRY_MS.min(self.flush_interval_ms).max(FIRST_RETRY_MS);
        self.retry_ms = match self.retry_ms {
            0 => FIRST_RETRY_MS,
            delay => delay.saturating_mul(2).min(cap),
        };
        self.next_flush_ms = self.next_flush_ms.min(now_ms.saturating_add(self.retry_ms));
    }

    /// Failed usage goes back in front (it is the oldest).
    fn requeue(&mut self, records: Vec<Record>) {
        for record in records.into_iter().rev() {
            self.queue.push_front(record);
        }
        self.enforce_bound();
    }

    /// At the bound, merges the queue per application; drops the oldest
    /// records only if that is not enough.
    fn enforce_bound(&mut self) {
        if self.queue.len() <= self.max_pending {
            return;
        }
        let before = self.queue.len();
        self.queue = merge_per_application(self.queue.drain(..)).into();
        let merged = before.saturating_sub(self.queue.len());
        if merged > 0 {
            warn!(
                "more than max_pending_reports ({}) usage records were waiting: {before} merged into {} (one per application)",
                self.max_pending,
                self.queue.len()
            );
            self.record(CacheEvent::Merged { records: merged });
        }
        let over = self.queue.len().saturating_sub(self.max_pending);
        if over == 0 {
            return;
        }
        self.queue.drain(..over);
        warn!(
            "the cache dropped {over} unreported usage records: more than max_pending_reports ({}) applications were waiting",
            self.max_pending
        );
        self.record(CacheEvent::Dropped { records: over });
    }

    /// Report calls for the queued usage: one application once per batch, at
    /// most [`MAX_TRANSACTIONS`] per call, one service per call. Usage of a
    /// service whose token is not known yet stays queued; usage of a service
    /// no longer configured is dropped.
    fn batches(&mut self, config: &Config, fetched: &Fetched) -> Vec<Batch> {
        let mut batches = Vec::new();
        let mut kept = VecDeque::new();
        let mut dropped = 0;
        let mut groups: Vec<(String, Vec<Record>)> = Vec::new();
        let in_flight_before = self.in_flight_records;
        while let Some(record) = self.queue.pop_front() {
            if self.in_flight_records >= self.max_pending {
                kept.push_back(record);
                continue;
            }
            match service_token(config, fetched, &record.service_id) {
                Token::Known(_) => {
                    self.in_flight_records = self.in_flight_records.saturating_add(1);
                    merge_into(&mut groups, record);
                }
                Token::Unknown => kept.push_back(record),
                Token::NoService => dropped += 1,
            }
        }
        // Counted again when each batch is marked sent.
        self.in_flight_records = in_flight_before;
        self.queue = kept;
        if dropped > 0 {
            warn!("the cache dropped {dropped} usage records of services no longer configured");
            self.record(CacheEvent::Dropped { records: dropped });
        }
        self.isolated_batches(config, fetched, &mut batches);
        for (service_id, records) in groups {
            let Token::Known(token) = service_token(config, fetched, &service_id) else {
                continue;
            };
            let mut records = records.into_iter().peekable();
            while records.peek().is_some() {
                let chunk: Vec<Record> = records.by_ref().take(MAX_TRANSACTIONS).collect();
                let call = report_call(config, &service_id, token, &chunk);
                batches.push(Batch {
                    call,
                    records: chunk,
                });
            }
        }
        batches
    }
}

impl Worker {
    /// One call per isolated part (its records are of one service, as the
    /// refused report's were).
    fn isolated_batches(&mut self, config: &Config, fetched: &Fetched, batches: &mut Vec<Batch>) {
        for records in std::mem::take(&mut self.isolated) {
            let Some(service_id) = records.first().map(|record| record.service_id.clone()) else {
                continue;
            };
            match service_token(config, fetched, &service_id) {
                Token::Known(token) => batches.push(Batch {
                    call: report_call(config, &service_id, token, &records),
                    records,
                }),
                Token::Unknown => self.isolated.push_back(records),
                Token::NoService => self.record(CacheEvent::Dropped {
                    records: records.len(),
                }),
            }
        }
    }
}

/// Whether a report's answer says 3scale refused something in the
/// transactions (a malformed or invalid one: 400, 404, 409, 422...) rather
/// than the call itself: 403 is the service's token or id (every report of
/// the service would get it, so its usage waits), 5xx and no answer are
/// 3scale's trouble (retried whole).
fn refuses_a_transaction(status: u16) -> bool {
    (400..500).contains(&status) && status != 403 && status != 408 && status != 429
}

enum Token<'a> {
    Known(&'a str),
    Unknown,
    NoService,
}

fn service_token<'a>(config: &'a Config, fetched: &'a Fetched, service_id: &str) -> Token<'a> {
    let Some((index, service)) = config.service_by_id(service_id) else {
        return Token::NoService;
    };
    fetched
        .effective_token(index, service)
        .map_or(Token::Unknown, |token| Token::Known(token.expose()))
}

/// Adds a record to its service's group, summed with the same application's.
fn merge_into(groups: &mut Vec<(String, Vec<Record>)>, record: Record) {
    let group = match groups
        .iter_mut()
        .position(|(id, _)| *id == record.service_id)
    {
        Some(at) => groups.get_mut(at),
        None => {
            groups.push((record.service_id.clone(), Vec::new()));
            groups.last_mut()
        }
    };
    let Some((_, records)) = group else {
        return;
    };
    match records
        .iter_mut()
        .find(|known| known.credential == record.credential)
    {
        Some(known) => {
            for (metric, delta) in &record.usages.0 {
                known.usages.add(metric, *delta);
            }
        }
        None => records.push(record),
    }
}

fn report_call(config: &Config, service_id: &str, token: &str, records: &[Record]) -> HttpCall {
    let credentials: Vec<(Credential, &Usages)> = records
        .iter()
        .map(|record| (record.credential.credential(), &record.usages))
        .collect();
    let reports: Vec<Report<'_>> = credentials
        .iter()
        .map(|(credential, usages)| Report { credential, usages })
        .collect();
    backend::report(&config.backend, service_id, token, &reports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{StatusDocument, UsageReport};
    use crate::cache::entry::{Answer, AppKey, StoredCredential};
    use crate::cache::store::MemoryStore;
    use crate::cache::table::Lookup;

    const NOW: u64 = 1_700_000_000_000;

    fn config(yaml_tokens: bool) -> Config {
        let token = if yaml_tokens { "    token: tok\n" } else { "" };
        let system = if yaml_tokens {
            ""
        } else {
            "system:\n  upstream: {name: sys, url: \"https://sys\"}\n  token: t\n"
        };
        let text = format!(
            "api: v1\n{system}backend:\n  upstream: {{name: be, url: \"https://backend\"}}\nservices:\n  - id: \"42\"\n{token}    credentials:\n      user_key:\n        - query_string: {{keys: [user_key]}}\n    mapping_rules:\n      - {{method: GET, pattern: /, usages: [{{name: hits, delta: 1}}]}}\ncache:\n  enabled: true\n  flush_interval: 2\n  max_pending_reports: 3\n"
        );
        crate::config::parse(text.as_bytes()).unwrap()
    }

    fn hits(n: u64) -> Usages {
        Usages(vec![("hits".into(), n)])
    }

    fn record(user: &str, n: u64) -> Record {
        Record {
            service_id: "42".into(),
            credential: StoredCredential::UserKey(user.into()),
            usages: hits(n),
        }
    }

    fn body(batch: &Batch) -> String {
        String::from_utf8(batch.call.body.clone()).unwrap()
    }

    #[test]
    fn flush_claims_touched_buckets_and_batches_per_application() {
        let config = config(true);
        let settings = config.cache_enabled().unwrap().clone();
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings);
        let mut worker = Worker::new(&settings);
        let alice = Credential::UserKey("alice".into());
        let key = AppKey {
            service_id: "42",
            credential: &alice,
        };
        let doc = StatusDocument {
            authorized: true,
            reports: vec![UsageReport {
                metric: "hits".into(),
                period: "eternity".into(),
                period_end: None,
                max_value: 100,
                current_value: 1,
            }],
            ..StatusDocument::default()
        };
        table.fill(&key, None, Answer::Authorized(&doc), &hits(1), NOW, true);
        for _ in 0..3 {
            assert!(matches!(
                table.lookup(&key, &hits(1), NOW, 0),
                Lookup::Hit(_)
            ));
        }
        worker.touch(table.bucket_of(&key), NOW);
        worker.enqueue(record("alice", 2));
        let batches = worker.flush(&table, &config, &Fetched::new(), NOW);
        assert_eq!(batches.len(), 1);
        assert_eq!(
            body(&batches[0]),
            "service_token=tok&service_id=42&transactions%5B0%5D%5Buser_key%5D=alice&transactions%5B0%5D%5Busage%5D%5Bhits%5D=5"
        );
        assert!(
            worker
                .flush(&table, &config, &Fetched::new(), NOW + 1999)
                .is_empty(),
            "not due"
        );
        for batch in batches {
            worker.sent(&batch);
            worker.answered(&table, batch.records, Some(202), NOW);
        }
        assert_eq!(worker.events().reports_sent, 1);
        assert!(
            worker
                .flush(&table, &config, &Fetched::new(), NOW + 2000)
                .is_empty(),
            "nothing left"
        );
    }

    #[test]
    fn failed_reports_are_retried_and_the_queue_is_bounded() {
        let config = config(true);
        let settings = config.cache_enabled().unwrap().clone();
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings);
        let mut worker = Worker::new(&settings);
        worker.enqueue(record("a", 1));
        let batch = worker
            .flush(&table, &config, &Fetched::new(), NOW)
            .remove(0);
        worker.sent(&batch);
        worker.answered(&table, batch.records, Some(503), NOW);
        assert_eq!(worker.events().reports_failed, 1);
        assert_eq!(worker.queued(), 1);
        let batch = worker
            .flush(&table, &config, &Fetched::new(), NOW + 2000)
            .remove(0);
        worker.unsent(batch, NOW + 2000);
        assert_eq!(worker.queued(), 1);
        for user in ["b", "c", "d"] {
            worker.enqueue(record(user, 1));
        }
        assert_eq!(worker.queued(), 3);
        assert_eq!(worker.events().dropped, 1);
        let batch = worker
            .flush(&table, &config, &Fetched::new(), NOW + 4000)
            .remove(0);
        assert!(
            !body(&batch).contains("%5D=a&"),
            "the oldest (a) was dropped: {}",
            body(&batch)
        );
        assert_eq!(batch.records.len(), 3);
    }

    #[test]
    fn a_refused_report_is_split_until_the_offending_transaction_is_alone() {
        let config = config(true);
        let settings = config.cache_enabled().unwrap().clone();
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings);
        let mut worker = Worker::new(&settings);
        let mut now = NOW;
        for user in ["a", "bad", "c"] {
            worker.enqueue(record(user, 1));
        }
        let mut delivered = Vec::new();
        let mut calls = 0;
        loop {
            now += 2000;
            let batches = worker.flush(&table, &config, &Fetched::new(), now);
            if batches.is_empty() {
                break;
            }
            for batch in batches {
                calls += 1;
                let refused = body(&batch).contains("%5D=bad&");
                let users: Vec<String> = batch
                    .records
                    .iter()
                    .map(|r| format!("{:?}", r.credential))
                    .collect();
                worker.sent(&batch);
                let status = if refused { 422 } else { 202 };
                worker.answered(&table, batch.records, Some(status), now);
                if !refused {
                    delivered.extend(users);
                }
            }
        }
        delivered.sort();
        assert_eq!(
            delivered,
            vec![
                format!("{:?}", StoredCredential::UserKey("a".into())),
                format!("{:?}", StoredCredential::UserKey("c".into())),
            ]
        );
        assert_eq!(worker.events().dropped, 1, "only the offending one");
        assert_eq!(worker.queued(), 0);
        assert!(calls <= 5, "{calls} calls");
    }

    #[test]
    fn a_report_refused_for_its_token_or_by_a_failing_3scale_is_retried_whole() {
        for status in [403, 500, 503] {
            let config = config(true);
            let settings = config.cache_enabled().unwrap().clone();
            let store = MemoryStore::default();
            let table = Table::new(&store, &settings);
            let mut worker = Worker::new(&settings);
            worker.enqueue(record("a", 1));
            worker.enqueue(record("b", 1));
            let batch = worker
                .flush(&table, &config, &Fetched::new(), NOW)
                .remove(0);
            worker.sent(&batch);
            worker.answered(&table, batch.records, Some(status), NOW);
            assert_eq!(worker.queued(), 2, "{status}");
            assert_eq!(worker.events().dropped, 0, "{status}");
        }
    }

    #[test]
    fn at_the_bound_records_are_merged_per_application_before_any_is_dropped() {
        let config = config(true);
        let settings = config.cache_enabled().unwrap().clone();
        let mut worker = Worker::new(&settings);
        for (user, hits) in [("a", 1), ("b", 2), ("a", 3), ("c", 1), ("b", 1), ("a", 1)] {
            worker.enqueue(record(user, hits));
        }
        assert_eq!(worker.queued(), 3);
        assert_eq!(worker.events().dropped, 0, "nothing dropped");
        assert!(worker.events().merged > 0);
        let queued = worker.take_queued();
        assert_eq!(queued, vec![record("a", 5), record("b", 3), record("c", 1)]);
    }

    #[test]
    fn usage_waits_for_a_token_from_system() {
        let config = config(false);
        let settings = config.cache_enabled().unwrap().clone();
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings);
        let mut worker = Worker::new(&settings);
        worker.enqueue(record("a", 1));
        assert!(
            worker
                .flush(&table, &config, &Fetched::new(), NOW)
                .is_empty()
        );
        assert_eq!(worker.queued(), 1);
        let mut fetched = Fetched::new();
        fetched.set(
            0,
            crate::fetched::FetchedService {
                token: Some("from-system".into()),
                rules: Default::default(),
            },
        );
        worker.flush_soon();
        let batches = worker.flush(&table, &config, &fetched, NOW + 1);
        assert!(body(&batches[0]).starts_with("service_token=from-system&"));
        worker.enqueue(Record {
            service_id: "gone".into(),
            ..record("x", 1)
        });
        worker.flush_soon();
        assert!(worker.flush(&table, &config, &fetched, NOW + 2).is_empty());
        assert_eq!(worker.events().dropped, 1);
    }

    #[test]
    fn batches_hold_at_most_the_transaction_limit() {
        let mut config = config(true);
        if let Some(cache) = config.cache.as_mut() {
            cache.max_pending_reports = 1000;
        }
        let settings = config.cache_enabled().unwrap().clone();
        let store = MemoryStore::default();
        let table = Table::new(&store, &settings);
        let mut worker = Worker::new(&settings);
        for i in 0..250 {
            worker.enqueue(record(&format!("u{i}"), 1));
        }
        worker.enqueue(record("u0", 4));
        let batches = worker.flush(&table, &config, &Fetched::new(), NOW);
        let sizes: Vec<usize> = batches.iter().map(|b| b.records.len()).collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        assert_eq!(batches[0].records[0].usages, hits(5));
    }
}
