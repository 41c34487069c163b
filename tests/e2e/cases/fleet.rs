//! Several Envoys (two workers each) with the same cache settings in front of
//! one 3scale (README, "Cache"): the usage the fleet allows in a limit period
//! exceeds the limit by at most 1 % (and the 10 units of the README's known
//! limit (1)), 3scale counts exactly what was allowed,
//! and an application far from its limits is still decided locally.

use std::time::Duration;

use serde_json::json;

use super::cache::{enable_cache, send_from};
use crate::envoy_config::Bootstrap;
use crate::harness::{Envoy, Scratch, Sim, artifacts, fixture, poll};
use crate::http::Response;
use crate::sim::SimAdmin;

/// The simulator model of these cases.
const FLEET_MODEL: &str = "fleet.yaml";
/// Envoys in the fleet.
const ENVOYS: usize = 3;
/// Concurrent clients per Envoy (each request on its own connection).
const CLIENTS: usize = 4;
/// The daily limit of `fleet-limited`.
const LIMIT: u64 = 300;
/// What a proxy that has seen no other client may hold before it asks 3scale
/// again (`ALONE_FLOOR` in src/cache/entry.rs).
const ALONE_FLOOR: u64 = 10;
/// How long reports may take to arrive (several flush intervals).
const REPORT_LIMIT: Duration = Duration::from_secs(15);

/// A simulator and `ENVOYS` Envoys in front of it, each with its own scratch
/// directory (field order is drop order: the Envoys go first).
struct Fleet {
    envoys: Vec<Envoy>,
    sim: Sim,
    _scratches: Vec<Scratch>,
}

impl Fleet {
    fn start(test: &str) -> Fleet {
        let artifacts = artifacts();
        let sim_scratch = Scratch::new(test);
        let sim = Sim::start(&sim_scratch, &fixture(FLEET_MODEL));
        let mut scratches = vec![sim_scratch];
        let mut envoys = Vec::new();
        for at in 0..ENVOYS {
            let scratch = Scratch::new(&format!("{test}-envoy{at}"));
            let mut bootstrap = Bootstrap::new(&artifacts.wasm, sim.backend, sim.upstream);
            bootstrap.concurrency = 2;
            enable_cache(&mut bootstrap, json!({}));
            envoys.push(Envoy::start(&scratch, &bootstrap));
            scratches.push(scratch);
        }
        Fleet {
            envoys,
            sim,
            _scratches: scratches,
        }
    }

    /// Sends `per_envoy` requests for `user_key` to each Envoy at once, from
    /// `CLIENTS` clients per Envoy.
    fn send_everywhere(&self, user_key: &str, per_envoy: usize) -> Vec<Response> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .envoys
                .iter()
                .map(|envoy| scope.spawn(move || send_from(envoy, user_key, per_envoy, CLIENTS)))
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| handle.join().unwrap())
                .collect()
        })
    }

    fn admin(&self) -> SimAdmin {
        self.sim.admin()
    }

    fn assert_healthy(&mut self) {
        for envoy in &mut self.envoys {
            envoy.assert_healthy();
        }
        self.sim.assert_running();
    }
}

/// The application's `hits` today, as the simulator counts them.
fn hits_today(admin: &SimAdmin, user_key: &str) -> u64 {
    admin.counted(&format!("user_key:{user_key}"), "hits", "day")
}

/// Waits until 3scale's count for the application stops moving (every
/// Envoy has reported), then gives it.
fn settled_count(admin: &SimAdmin, user_key: &str, at_least: u64) -> u64 {
    let reached = poll(REPORT_LIMIT, || {
        (hits_today(admin, user_key) >= at_least).then_some(())
    });
    assert!(
        reached.is_some(),
        "3scale counted {} hits for {user_key}, at least {at_least} expected",
        hits_today(admin, user_key)
    );
    std::thread::sleep(Duration::from_millis(2500));
    hits_today(admin, user_key)
}

fn backend_calls(admin: &SimAdmin) -> usize {
    admin.requests_to("/transactions/authrep.xml").len()
        + admin.requests_to("/transactions.xml").len()
}

fn count_status(responses: &[Response], status: u16) -> u64 {
    responses.iter().filter(|r| r.status == status).count() as u64
}

#[test]
fn fleet_allows_little_over_a_limit_and_reports_it_exactly() {
    let mut fleet = Fleet::start("fleet_limited");
    // Four times the limit, sent to the three Envoys at once.
    let per_envoy = (4 * LIMIT as usize).div_ceil(ENVOYS);
    let responses = fleet.send_everywhere("fleet-limited", per_envoy);
    let allowed = count_status(&responses, 200);
    let limited = count_status(&responses, 429);
    assert_eq!(
        allowed + limited,
        responses.len() as u64,
        "only 200s and 429s expected"
    );
    // README "Cache", known limit (1): a proxy whose first answer came before any
    // other request for the application was sent (or answered) may hold up to
    // ALONE_FLOOR units on its own; seen once in CI, 310 of 300.
    let bound = LIMIT + LIMIT.div_ceil(100) + ALONE_FLOOR;
    assert!(
        allowed <= bound,
        "{allowed} allowed by {ENVOYS} Envoys with a limit of {LIMIT} (at most {bound})"
    );
    assert!(
        allowed >= LIMIT - LIMIT.div_ceil(100),
        "{allowed} allowed: the fleet refused what the limit allows"
    );
    let admin = fleet.admin();
    assert_eq!(
        settled_count(&admin, "fleet-limited", allowed),
        allowed,
        "3scale counted other than what the fleet allowed"
    );
    fleet.assert_healthy();
}

#[test]
fn fleet_decides_locally_far_from_the_limits() {
    let mut fleet = Fleet::start("fleet_open");
    let per_envoy = 400;
    let responses = fleet.send_everywhere("fleet-open", per_envoy);
    let total = (per_envoy * ENVOYS) as u64;
    assert_eq!(count_status(&responses, 200), total, "all allowed");
    let admin = fleet.admin();
    assert_eq!(settled_count(&admin, "fleet-open", total), total);
    // The first requests of each worker miss while its first answer is on
    // the way; then the cache decides, and reports go once a second or so.
    let calls = backend_calls(&admin);
    assert!(
        calls <= 2 * ENVOYS * CLIENTS + 10 * ENVOYS,
        "{calls} calls to 3scale for {total} requests"
    );
    fleet.assert_healthy();
}
