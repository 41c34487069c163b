//! A fleet simulated in memory: several proxies (each a store shared by its
//! workers) in front of one counting 3scale, with authreps, answers, reports
//! and their acknowledgements delivered in random orders. Whatever the
//! interleaving, the usage the fleet allows in a period exceeds the limit by
//! at most 1 %, and 3scale ends up counting exactly what was allowed.

use serde_json::json;

use super::entry::ALONE_FLOOR;
use super::{Answer, AppKey, CacheAccess, HitOutcome, Lookup, MemoryStore, Record, Table, Worker};
use crate::backend::{StatusDocument, UsageReport};
use crate::config::{self, CacheSettings, Config};
use crate::fetched::Fetched;
use crate::model::{Credential, Usages};
use crate::test_rng::XorShift;

const SERVICE: &str = "42";
const START_MS: u64 = 1_700_000_000_000;
/// The filter's timer period (`src/filter/root.rs`): reports leave on a tick.
const TICK_MS: u64 = 500;

/// 3scale: one application's `hits` in one period, counted atomically.
struct Backend {
    max: i64,
    count: i64,
}

impl Backend {
    /// An authrep of `delta` hits: counted if within the limit.
    fn authrep(&mut self, delta: i64) -> (bool, StatusDocument) {
        let authorized = self.count.saturating_add(delta) <= self.max;
        if authorized {
            self.count = self.count.saturating_add(delta);
        }
        let document = StatusDocument {
            authorized,
            reports: vec![UsageReport {
                metric: "hits".into(),
                period: "day".into(),
                period_end: Some(START_MS / 1000 + 86_400),
                max_value: self.max,
                current_value: self.count,
            }],
            ..StatusDocument::default()
        };
        (authorized, document)
    }

    /// A report: counted whatever the limit.
    fn report(&mut self, records: &[Record]) {
        for record in records {
            for (_, delta) in &record.usages.0 {
                self.count = self
                    .count
                    .saturating_add(i64::try_from(*delta).unwrap_or(i64::MAX));
            }
        }
    }
}

/// Something on the wire between a proxy's worker and 3scale.
enum Message {
    /// An authrep 3scale has not processed yet.
    Authrep { ticket: Option<u64> },
    /// 3scale's answer to an authrep, on its way back.
    Answer {
        ticket: Option<u64>,
        authorized: bool,
        document: StatusDocument,
    },
    /// A report 3scale has not processed yet.
    Report { records: Vec<Record> },
    /// 3scale's 202 to a report, on its way back.
    Accepted { records: Vec<Record> },
}

/// A message and the worker (proxy, worker) it belongs to.
struct InFlight {
    proxy: usize,
    worker: usize,
    message: Message,
}

struct Proxy {
    store: MemoryStore,
    workers: Vec<Worker>,
}

struct Fleet {
    config: Config,
    backend: Backend,
    proxies: Vec<Proxy>,
    wire: Vec<InFlight>,
    now_ms: u64,
    allowed: i64,
    calls: u64,
}

fn config() -> Config {
    let document = json!({
        "api": "v1",
        "backend": {"upstream": {"name": "be", "url": "https://be", "timeout": 5000}},
        "services": [{
            "id": SERVICE,
            "token": "tok",
            "credentials": {"user_key": [{"header": {"keys": ["x-api-key"]}}]},
            "mapping_rules": [
                {"method": "GET", "pattern": "/", "usages": [{"name": "hits", "delta": 1}]}
            ]
        }],
        "cache": {"enabled": true, "ttl": 60, "flush_interval": 1}
    });
    config::parse(document.to_string().as_bytes()).unwrap()
}

fn one_hit() -> Usages {
    Usages(vec![("hits".into(), 1)])
}

impl Fleet {
    fn new(proxies: usize, workers: usize, max: i64) -> Fleet {
        let config = config();
        let settings = config.cache_enabled().unwrap().clone();
        Fleet {
            proxies: (0..proxies)
                .map(|_| Proxy {
                    store: MemoryStore::default(),
                    workers: (0..workers)
                        .map(|seed| {
                            let mut worker = Worker::new(&settings);
                            worker.seed_tickets(seed as u32);
                            worker
                        })
                        .collect(),
                })
                .collect(),
            config,
            backend: Backend { max, count: 0 },
            wire: Vec::new(),
            now_ms: START_MS,
            allowed: 0,
            calls: 0,
        }
    }

    fn settings(&self) -> CacheSettings {
        self.config.cache_enabled().unwrap().clone()
    }

    /// A request for the application at a worker of a proxy.
    fn request(&mut self, proxy: usize, worker: usize) {
        let settings = self.settings();
        let credential = Credential::UserKey("k".into());
        let key = AppKey {
            service_id: SERVICE,
            credential: &credential,
        };
        let now_ms = self.now_ms;
        let at = &mut self.proxies[proxy];
        let mut access = CacheAccess {
            settings: &settings,
            store: &at.store,
            worker: &mut at.workers[worker],
            now_ms,
        };
        match access.decide(&key, &one_hit()) {
            Lookup::Hit(HitOutcome::Allow(_)) => self.allowed += 1,
            Lookup::Hit(_) => {}
            Lookup::Miss | Lookup::OverBudget => {
                let ticket = access.depart(&key, &one_hit(), now_ms + 6_000);
                self.calls += 1;
                self.wire.push(InFlight {
                    proxy,
                    worker,
                    message: Message::Authrep { ticket },
                });
            }
        }
    }

    /// Moves one message a step along.
    fn deliver(&mut self, at: usize) {
        let InFlight {
            proxy,
            worker,
            message,
        } = self.wire.swap_remove(at);
        let next = match message {
            Message::Authrep { ticket } => {
                let (authorized, document) = self.backend.authrep(1);
                Some(Message::Answer {
                    ticket,
                    authorized,
                    document,
                })
            }
            Message::Answer {
                ticket,
                authorized,
                document,
            } => {
                self.learn(proxy, worker, ticket, authorized, &document);
                None
            }
            Message::Report { records } => {
                self.backend.report(&records);
                Some(Message::Accepted { records })
            }
            Message::Accepted { records } => {
                let settings = self.settings();
                let at = &mut self.proxies[proxy];
                let table = Table::new(&at.store, &settings);
                at.workers[worker].answered(&table, records, Some(202), self.now_ms);
                None
            }
        };
        if let Some(message) = next {
            self.wire.push(InFlight {
                proxy,
                worker,
                message,
            });
        }
    }

    fn learn(
        &mut self,
        proxy: usize,
        worker: usize,
        ticket: Option<u64>,
        authorized: bool,
        document: &StatusDocument,
    ) {
        let settings = self.settings();
        let credential = Credential::UserKey("k".into());
        let key = AppKey {
            service_id: SERVICE,
            credential: &credential,
        };
        let at = &mut self.proxies[proxy];
        let mut access = CacheAccess {
            settings: &settings,
            store: &at.store,
            worker: &mut at.workers[worker],
            now_ms: self.now_ms,
        };
        let answer = if authorized {
            self.allowed += 1;
            Answer::Authorized(document)
        } else {
            Answer::LimitsExceeded(document)
        };
        access.learn(&key, ticket, answer, &one_hit(), true);
    }

    /// A worker's flush, when due: its reports go on the wire.
    fn flush(&mut self, proxy: usize, worker: usize) {
        let settings = self.settings();
        let at = &mut self.proxies[proxy];
        let table = Table::new(&at.store, &settings);
        let batches = at.workers[worker].flush(&table, &self.config, &Fetched::new(), self.now_ms);
        for batch in batches {
            at.workers[worker].sent(&batch);
            self.calls += 1;
            self.wire.push(InFlight {
                proxy,
                worker,
                message: Message::Report {
                    records: batch.records,
                },
            });
        }
    }

    /// The (proxy, worker) of each request waiting for 3scale.
    fn blocked(&self) -> Vec<(usize, usize)> {
        self.wire
            .iter()
            .filter(|in_flight| {
                matches!(
                    in_flight.message,
                    Message::Authrep { .. } | Message::Answer { .. }
                )
            })
            .map(|in_flight| (in_flight.proxy, in_flight.worker))
            .collect()
    }

    /// Delivers everything and reports every unit, so that 3scale's count
    /// is final.
    fn settle(&mut self) {
        for _ in 0..20 {
            while !self.wire.is_empty() {
                self.deliver(0);
            }
            self.now_ms += 2_000;
            for proxy in 0..self.proxies.len() {
                for worker in 0..self.proxies[proxy].workers.len() {
                    self.flush(proxy, worker);
                }
            }
        }
    }
}

/// Runs `requests` requests from `connections[p]` clients at proxy `p`, each a
/// closed loop as a load generator's connection is (its next request waits
/// for the answer to the last one, and a request that missed the cache waits
/// for 3scale): at each step a random free client sends, or a random message
/// moves on; reports leave on the timer. `together`: every client sends its
/// first request at once.
fn run(
    seed: u64,
    proxies: usize,
    workers: usize,
    max: i64,
    requests: usize,
    connections: &[usize],
    together: bool,
) -> Fleet {
    let mut rng = XorShift::new(seed);
    let mut fleet = Fleet::new(proxies, workers, max);
    let clients: Vec<(usize, usize)> = (0..proxies)
        .flat_map(|proxy| {
            let clients = connections.get(proxy).copied().unwrap_or(1);
            (0..clients).map(move |client| (proxy, client % workers))
        })
        .collect();
    let mut sent = 0;
    // A load generator opens its connections at once: every client's first
    // request is sent before any answer comes back.
    if together {
        for &(proxy, worker) in &clients {
            fleet.request(proxy, worker);
            sent += 1;
        }
    }
    let mut next_tick_ms = fleet.now_ms;
    while sent < requests {
        fleet.now_ms += rng.below(2) as u64;
        // The host's timer: every worker may flush each TICK_MS.
        if fleet.now_ms >= next_tick_ms {
            next_tick_ms = fleet.now_ms + TICK_MS;
            for proxy in 0..proxies {
                for worker in 0..workers {
                    fleet.flush(proxy, worker);
                }
            }
        }
        let waiting = fleet.blocked();
        let free: Vec<(usize, usize)> = clients
            .iter()
            .copied()
            .filter(|client| {
                let busy = waiting.iter().filter(|waiting| *waiting == client).count();
                let total = clients.iter().filter(|other| *other == client).count();
                busy < total
            })
            .collect();
        let pick = rng.below(free.len() + fleet.wire.len());
        match free.get(pick) {
            Some(&(proxy, worker)) => {
                fleet.request(proxy, worker);
                sent += 1;
            }
            None => fleet.deliver(pick - free.len()),
        }
    }
    fleet.settle();
    fleet
}

fn bound(max: i64) -> i64 {
    max + (max + 99) / 100
}

/// Runs random fleets and checks what each allowed against `slack` over the limit.
fn check_random_fleets(
    seeds: std::ops::RangeInclusive<u64>,
    together: bool,
    slack: impl Fn(i64) -> i64,
) {
    for seed in seeds {
        let mut dice = XorShift::new(seed * 7919);
        let proxies = 1 + dice.below(5);
        let workers = 1 + dice.below(2);
        let max = [300, 1000, 3000][dice.below(3)];
        // Some proxies busier than others: the shares differ.
        let connections: Vec<usize> = (0..proxies).map(|_| 2 + dice.below(7)).collect();
        let fleet = run(
            seed,
            proxies,
            workers,
            max,
            10 * max as usize,
            &connections,
            together,
        );
        let case = format!(
            "seed {seed}: {proxies} proxies x {workers} workers, limit {max}, {connections:?} clients"
        );
        assert!(
            fleet.allowed <= max + slack(max),
            "{case}: {} allowed",
            fleet.allowed
        );
        assert_eq!(fleet.backend.count, fleet.allowed, "{case}: counted");
    }
}

#[test]
fn a_fleet_allows_at_most_one_percent_over_the_limit_and_reports_exactly() {
    check_random_fleets(1..=24, true, |max| (max + 99) / 100);
}

/// README "Cache", known limits (1): a proxy that got its first answer before
/// its other clients sent anything has seen neither other proxies nor
/// concurrent authreps, and may hold up to 10 units before it asks again.
#[test]
fn clients_that_start_one_by_one_may_add_the_floor_of_a_proxy_alone() {
    check_random_fleets(1..=24, false, |max| (max + 99) / 100 + ALONE_FLOOR);
}

#[test]
fn a_fleet_far_from_its_limit_decides_locally() {
    for seed in 1..=5u64 {
        let fleet = run(seed, 3, 2, 1_000_000, 20_000, &[4, 4, 4], true);
        assert_eq!(fleet.allowed, 20_000, "seed {seed}");
        assert_eq!(fleet.backend.count, 20_000, "seed {seed}");
        let per_thousand = fleet.calls * 1000 / 20_000;
        assert!(per_thousand <= 10, "seed {seed}: {} calls", fleet.calls);
    }
}

#[test]
fn a_fleet_near_its_limit_asks_3scale_for_about_each_allowed_unit() {
    let fleet = run(3, 3, 2, 300, 30_000, &[4, 4, 4], true);
    assert!(
        fleet.allowed >= 290 && fleet.allowed <= bound(300),
        "{}",
        fleet.allowed
    );
    assert!(
        fleet.calls <= 600,
        "{} calls for 30000 requests",
        fleet.calls
    );
}

/// README "Cache", what is exact: one proxy, whatever its workers, lets
/// exactly the limit through, leases or not (a lease's units count as allowed
/// when it is taken, and its unused part comes back).
#[test]
fn one_proxy_lets_exactly_the_limit_through() {
    for seed in 1..=6u64 {
        for max in [300, 5_000] {
            let workers = 1 + (seed % 2) as usize;
            // Concurrent clients (a small budget), and a single one, whose
            // proxy sees no other client and decides most requests locally
            // (from the entry and from leases).
            for (clients, together) in [(6, true), (1, false)] {
                let fleet = run(
                    seed,
                    1,
                    workers,
                    max,
                    3 * max as usize,
                    &[clients],
                    together,
                );
                let case = format!("seed {seed}, limit {max}, {clients} clients");
                assert_eq!(fleet.allowed, max, "{case}");
                assert_eq!(fleet.backend.count, max, "{case}: counted");
                if clients == 1 && max > 1_000 {
                    assert!(
                        fleet.calls < max as u64 / 4,
                        "{case}: {} calls",
                        fleet.calls
                    );
                }
            }
        }
    }
}
