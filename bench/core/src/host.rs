//! A host made of plain data for [`Plugin`](threescale_wasm_auth::plugin::Plugin):
//! a clock that advances only when told, shared data in a map, and a 3scale that
//! answers every call at once (an authorization without limits, a report taken).

use std::time::Duration;

use threescale_wasm_auth::cache::{LocalStore, Store};
use threescale_wasm_auth::io::HttpCall;
use threescale_wasm_auth::io::pairs::OwnedHeaderPairs;
use threescale_wasm_auth::metrics::Metric;
use threescale_wasm_auth::plugin::{DispatchRefused, Host};

/// What 3scale answers an authorization (`open-app` of examples/sim.yaml: a plan
/// without limits).
const AUTHORIZED: &str = "<status><authorized>true</authorized><plan>Unlimited</plan></status>";

/// The host of one plugin.
#[derive(Debug)]
pub struct BenchHost {
    now: Duration,
    store: LocalStore,
    /// Calls sent and not answered yet: their tokens.
    sent: Vec<u32>,
    next_token: u32,
    /// The answer being handed to the plugin: its status and body.
    answer: (&'static str, &'static str),
    /// Calls sent so far (to show how many requests the cache decided).
    pub calls: u64,
}

impl BenchHost {
    /// A host whose clock starts at `now`.
    pub fn new(now: Duration) -> Self {
        BenchHost {
            now,
            store: LocalStore::default(),
            sent: Vec::new(),
            next_token: 0,
            answer: ("200", ""),
            calls: 0,
        }
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    /// Takes the tokens of the calls sent since the last time.
    pub fn take_sent(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.sent)
    }

    /// From now on, calls are answered as 3scale answers an authorization; the
    /// length of that answer's body.
    pub fn answer_authorization(&mut self) -> usize {
        self.answer = ("200", AUTHORIZED);
        AUTHORIZED.len()
    }

    /// From now on, calls are answered as 3scale answers a report.
    pub fn answer_report(&mut self) {
        self.answer = ("202", "");
    }
}

impl Host for BenchHost {
    fn now(&self) -> Duration {
        self.now
    }

    fn store(&self) -> &dyn Store {
        &self.store
    }

    fn dispatch(&mut self, _call: &HttpCall) -> Result<u32, DispatchRefused> {
        self.next_token = self.next_token.wrapping_add(1);
        self.sent.push(self.next_token);
        self.calls += 1;
        Ok(self.next_token)
    }

    fn call_response_headers(&mut self) -> OwnedHeaderPairs {
        let (status, _) = self.answer;
        if status == "202" {
            return OwnedHeaderPairs::of(&[(":status", status), ("content-length", "0")]);
        }
        // What the simulator and apisonator send an authorization with
        // `limit_headers=1` (an application without limits).
        OwnedHeaderPairs::of(&[
            (":status", status),
            ("content-type", "application/vnd.3scale-v2.0+xml"),
            ("3scale-limit-remaining", "-1"),
            ("3scale-limit-reset", "-1"),
            ("content-length", "0"),
        ])
    }

    fn call_response_body(&mut self, max: usize) -> Vec<u8> {
        let body = self.answer.1.as_bytes();
        body.get(..max.min(body.len())).unwrap_or_default().to_vec()
    }

    fn count(&mut self, _metric: Metric, _by: u64) {}

    fn record(&mut self, _metric: Metric, _value: u64) {}
}
