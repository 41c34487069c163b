//! The plugin's bookkeeping with a fake host: which calls go out, which answer goes
//! where, what each hook returns, what is counted.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::cache::MemoryStore;
use crate::io::HttpCall;
use crate::mapping::RuleSet;
use crate::request::PlainRequest;

const NOW: Duration = Duration::from_secs(1_700_000_000);

/// A host made of plain data: calls are recorded and get tokens 1, 2, 3…; the answer
/// being handled is whatever the test puts in `answer`.
#[derive(Default)]
struct FakeHost {
    now: Duration,
    store: MemoryStore,
    refuse: bool,
    sent: Vec<(u32, HttpCall)>,
    answer: (Vec<(String, Vec<u8>)>, Vec<u8>),
    body_reads: Vec<usize>,
    counts: Vec<(Metric, u64)>,
    recorded: Vec<Metric>,
}

impl FakeHost {
    fn new() -> Self {
        FakeHost {
            now: NOW,
            ..FakeHost::default()
        }
    }

    fn answer_with(&mut self, status: &str, headers: &[(&str, &str)], body: &str) {
        let mut all = vec![(":status".to_owned(), status.as_bytes().to_vec())];
        all.extend(
            headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.as_bytes().to_vec())),
        );
        self.answer = (all, body.as_bytes().to_vec());
    }

    fn count_of(&self, metric: Metric) -> u64 {
        self.counts
            .iter()
            .filter(|(counted, _)| *counted == metric)
            .map(|(_, by)| by)
            .sum()
    }

    fn last_token(&self) -> u32 {
        self.sent.last().map(|(token, _)| *token).unwrap()
    }

    fn last_path(&self) -> &str {
        self.sent.last().unwrap().1.header(":path").unwrap()
    }
}

impl Host for FakeHost {
    fn now(&self) -> Duration {
        self.now
    }

    fn store(&self) -> &dyn crate::cache::Store {
        &self.store
    }

    fn dispatch(&mut self, call: &HttpCall) -> Result<u32, DispatchRefused> {
        if self.refuse {
            return Err(DispatchRefused);
        }
        let token = u32::try_from(self.sent.len()).unwrap() + 1;
        self.sent.push((token, call.clone()));
        Ok(token)
    }

    fn call_response_headers(&mut self) -> OwnedHeaderPairs {
        OwnedHeaderPairs::of(&self.answer.0)
    }

    fn call_response_body(&mut self, max: usize) -> Vec<u8> {
        self.body_reads.push(max);
        self.answer.1.iter().copied().take(max).collect()
    }

    fn count(&mut self, metric: Metric, by: u64) {
        self.counts.push((metric, by));
    }

    fn record(&mut self, metric: Metric, _value: u64) {
        self.recorded.push(metric);
    }
}

fn config(extra: Value) -> Config {
    let mut document = json!({
        "api": "v1",
        "backend": {"upstream": {"name": "backend", "url": "https://backend/", "timeout": 100}},
        "services": [{
            "id": "42",
            "token": "st0ken",
            "credentials": {"user_key": [{"header": {"keys": ["x-key"]}}]},
            "mapping_rules": [{"method": "any", "pattern": "/", "usages": [{"name": "hits", "delta": 1}]}]
        }]
    });
    if let (Some(target), Value::Object(extra)) = (document.as_object_mut(), extra) {
        target.extend(extra);
    }
    crate::config::parse(document.to_string().as_bytes()).unwrap()
}

/// The headers the plugin adds to the upstream's response, in order.
fn response_headers(plugin: &Plugin, exchange: &Exchange) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    plugin.response_headers(exchange, &mut |name, value, _| {
        headers.push((name.to_owned(), value.to_owned()));
    });
    headers
}

fn request(key: &str) -> PlainRequest {
    PlainRequest::new("GET", "api.test", "/").with_header("x-key", key)
}

fn status_body(max: i64, current: i64) -> String {
    format!(
        r#"<status><authorized>true</authorized><plan>P</plan><usage_reports><usage_report metric="hits" period="eternity"><max_value>{max}</max_value><current_value>{current}</current_value></usage_report></usage_reports></status>"#
    )
}

#[test]
fn an_uncached_request_waits_for_its_authrep_and_continues_on_200() {
    let mut plugin = Plugin::new(config(json!({})), NOW);
    let mut host = FakeHost::new();
    let mut exchange = Exchange::default();
    let step = plugin.on_request_headers(&mut exchange, &request("k"), &mut host);
    assert_eq!(step, Step::Wait);
    assert!(exchange.is_waiting());
    assert!(host.last_path().starts_with("/transactions/authrep.xml?"));
    host.answer_with("200", &[], "");
    host.now = NOW + Duration::from_millis(7);
    let step = plugin.on_authrep_answer(&mut exchange, 10, &mut host);
    assert!(matches!(step, Some(Step::Continue(_))), "{step:?}");
    // Without the cache the body is never read.
    assert!(host.body_reads.is_empty());
    assert_eq!(host.count_of(Metric::BackendCalls), 1);
    assert_eq!(host.count_of(Metric::RequestsAuthorized), 1);
    assert_eq!(host.recorded, vec![Metric::BackendLatencyMs]);
    // A second answer (none is expected) changes nothing.
    assert_eq!(plugin.on_authrep_answer(&mut exchange, 0, &mut host), None);
    assert_eq!(
        response_headers(&plugin, &exchange),
        vec![("powered-by".to_owned(), "3scale".to_owned())]
    );
}

#[test]
fn a_refused_dispatch_follows_the_failure_policy_and_the_reply_gets_no_response_headers() {
    let mut plugin = Plugin::new(config(json!({})), NOW);
    let mut host = FakeHost {
        refuse: true,
        ..FakeHost::new()
    };
    let mut exchange = Exchange::default();
    let Step::Reply(reply) = plugin.on_request_headers(&mut exchange, &request("k"), &mut host)
    else {
        panic!("expected a reply");
    };
    assert_eq!(reply.status, 503);
    assert!(!exchange.is_waiting());
    assert!(response_headers(&plugin, &exchange).is_empty());
    assert_eq!(host.count_of(Metric::BackendErrors), 1);
    assert_eq!(host.count_of(Metric::RequestsUnavailable), 1);
}

#[test]
fn system_fetches_go_out_on_the_tick_and_their_answers_reach_the_fetcher() {
    let mut config = config(json!({
        "system": {"upstream": {"name": "system", "url": "https://system/"}, "token": "at0ken", "ttl": 60}
    }));
    config.services[0].mapping_rules = RuleSet::default();
    config.services[0].token = None;
    let mut plugin = Plugin::new(config, NOW);
    let mut host = FakeHost::new();
    let mut exchange = Exchange::default();
    // Nothing fetched yet: 3scale counts as unreachable.
    let Step::Reply(reply) = plugin.on_request_headers(&mut exchange, &request("k"), &mut host)
    else {
        panic!("expected a reply");
    };
    assert_eq!(reply.status, 503);
    plugin.on_tick(&mut host);
    assert_eq!(host.sent.len(), 1);
    assert!(
        host.last_path()
            .contains("/proxy/configs/production/latest.json")
    );
    let fetch = host.last_token();
    // An answer to a call the plugin never sent is ignored.
    plugin.on_call_answer(fetch + 100, 0, &mut host);
    let answer = json!({"proxy_config": {"content": {
        "backend_authentication_type": "service_token",
        "backend_authentication_value": "fetched-token",
        "proxy": {"proxy_rules": [{"http_method": "GET", "pattern": "/", "metric_system_name": "hits", "delta": 1}]}
    }}})
    .to_string();
    host.answer_with("200", &[], &answer);
    plugin.on_call_answer(fetch, answer.len(), &mut host);
    assert_eq!(host.body_reads, vec![answer.len()]);
    let mut exchange = Exchange::default();
    assert_eq!(
        plugin.on_request_headers(&mut exchange, &request("k"), &mut host),
        Step::Wait
    );
    assert!(host.last_path().contains("service_token=fetched-token"));
    assert_eq!(host.count_of(Metric::SystemFetches), 1);
    assert_eq!(host.count_of(Metric::SystemFetchFailures), 0);
    // The same token again is no longer a fetch.
    plugin.on_call_answer(fetch, answer.len(), &mut host);
    assert_eq!(host.body_reads.len(), 1);
}

#[test]
fn a_plugin_with_the_cache_creates_the_keys_of_orphaned_usage_and_created_buckets_when_it_starts() {
    let mut host = FakeHost::new();
    Plugin::new(config(json!({})), NOW).on_start(&mut host);
    assert!(host.store.keys().is_empty(), "no cache, no key");
    let cached = config(json!({"cache": {"enabled": true, "ttl": 60}}));
    Plugin::new(cached, NOW).on_start(&mut host);
    assert_eq!(
        host.store.keys(),
        vec![
            format!("{}0", crate::cache::CREATED_PREFIX),
            crate::cache::ORPHANS_KEY.to_owned()
        ]
    );
}

#[test]
fn with_the_cache_a_miss_reads_a_bounded_body_then_hits_and_reports_are_flushed_and_retried() {
    let config = config(json!({"cache": {"enabled": true, "ttl": 60, "flush_interval": 1}}));
    let mut plugin = Plugin::new(config, NOW);
    let mut host = FakeHost::new();
    let mut exchange = Exchange::default();
    assert_eq!(
        plugin.on_request_headers(&mut exchange, &request("k"), &mut host),
        Step::Wait
    );
    host.answer_with("200", &[], &status_body(100, 1));
    let huge = MAX_STATUS_BODY * 4;
    assert!(matches!(
        plugin.on_authrep_answer(&mut exchange, huge, &mut host),
        Some(Step::Continue(_))
    ));
    assert_eq!(host.body_reads, vec![MAX_STATUS_BODY]);
    for _ in 0..3 {
        let mut exchange = Exchange::default();
        assert!(matches!(
            plugin.on_request_headers(&mut exchange, &request("k"), &mut host),
            Step::Continue(_)
        ));
    }
    assert_eq!(host.count_of(Metric::BackendCalls), 1);
    // The report of the three hits goes out on the tick; a failed one is sent again.
    host.now = NOW + Duration::from_secs(2);
    plugin.on_tick(&mut host);
    // The cache's counts are handed over at the tick too.
    assert_eq!(host.count_of(Metric::CacheHits), 3);
    assert_eq!(host.count_of(Metric::CacheMisses), 1);
    assert_eq!(host.sent.len(), 2);
    assert!(host.last_path().ends_with("/transactions.xml"));
    let report = host.last_token();
    host.answer_with("503", &[], "");
    plugin.on_call_answer(report, 0, &mut host);
    assert_eq!(host.count_of(Metric::ReportsFailed), 1);
    host.now = NOW + Duration::from_secs(4);
    plugin.on_tick(&mut host);
    assert_eq!(host.sent.len(), 3);
    let body = String::from_utf8(host.sent.last().unwrap().1.body.clone()).unwrap();
    assert!(
        body.ends_with("transactions%5B0%5D%5Busage%5D%5Bhits%5D=3"),
        "{body}"
    );
    let retry = host.last_token();
    host.answer_with("202", &[], "");
    plugin.on_call_answer(retry, 0, &mut host);
    assert_eq!(host.count_of(Metric::ReportsSent), 1);
    host.now = NOW + Duration::from_secs(6);
    plugin.on_tick(&mut host);
    assert_eq!(host.sent.len(), 3, "nothing left to report");
}

#[test]
fn a_request_that_ends_while_waiting_frees_its_flight() {
    let config = config(json!({"cache": {"enabled": true, "ttl": 60}}));
    let mut plugin = Plugin::new(config, NOW);
    let mut host = FakeHost::new();
    // One application state in the cache: 2 of 3 used.
    let mut exchange = Exchange::default();
    plugin.on_request_headers(&mut exchange, &request("k"), &mut host);
    host.answer_with("200", &[], &status_body(3, 2));
    plugin.on_authrep_answer(&mut exchange, 1000, &mut host);
    // An expired entry sends a refresh; its request goes away before the answer.
    host.now = NOW + Duration::from_secs(61);
    let mut gone = Exchange::default();
    assert_eq!(
        plugin.on_request_headers(&mut gone, &request("k"), &mut host),
        Step::Wait
    );
    plugin.on_request_done(&mut gone, &mut host);
    assert!(!gone.is_waiting());
    // Done twice (the host may call it again): nothing more happens.
    plugin.on_request_done(&mut gone, &mut host);
    assert_eq!(host.sent.len(), 2);
}

#[test]
fn decisions_and_the_exchange_print_no_token_or_key() {
    let mut config = config(json!({"passthrough_metadata": false}));
    config.services[0].token = Some("service-token-0123456789".into());
    let mut plugin = Plugin::new(config, NOW);
    let mut host = FakeHost::new();
    let mut exchange = Exchange::default();
    plugin.on_request_headers(&mut exchange, &request("user-key-0123456789"), &mut host);
    let printed = format!("{exchange:?} {:?} {plugin:?}", host.sent);
    for secret in ["service-token-0123456789", "user-key-0123456789"] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
    // The call itself carries them.
    assert!(host.last_path().contains("user_key=user-key-0123456789"));
}

#[test]
fn an_unconfigured_plugin_answers_503_and_counts_it() {
    let mut host = FakeHost::new();
    let Step::Reply(reply) = unconfigured(&mut host) else {
        panic!("expected a reply");
    };
    assert_eq!(reply.status, 503);
    assert_eq!(host.count_of(Metric::RequestsUnavailable), 1);
}

/// A plugin with the cache on and a flush interval longer than any test, and
/// the host it runs on, after one miss (its authrep answered) and `hits` hits
/// of the application `k`, all at `NOW`.
fn cached_with_hits(hits: usize) -> (Plugin, FakeHost) {
    let config = config(json!({"cache": {"enabled": true, "ttl": 600, "flush_interval": 300}}));
    let mut plugin = Plugin::new(config, NOW);
    let mut host = FakeHost::new();
    // The first tick claims whatever an older configuration left: nothing.
    plugin.on_tick(&mut host);
    assert!(host.sent.is_empty());
    let mut exchange = Exchange::default();
    plugin.on_request_headers(&mut exchange, &request("k"), &mut host);
    host.answer_with("200", &[], &status_body(1000, 1));
    plugin.on_authrep_answer(&mut exchange, 1000, &mut host);
    for _ in 0..hits {
        let mut exchange = Exchange::default();
        assert!(matches!(
            plugin.on_request_headers(&mut exchange, &request("k"), &mut host),
            Step::Continue(_)
        ));
    }
    (plugin, host)
}

fn body_of_last_call(host: &FakeHost) -> String {
    String::from_utf8(host.sent.last().unwrap().1.body.clone()).unwrap()
}

fn reports_sent(host: &FakeHost) -> usize {
    host.sent
        .iter()
        .filter(|(_, call)| call.header(":path") == Some("/transactions.xml"))
        .count()
}

#[test]
fn usage_is_reported_once_the_worker_has_been_quiet_whatever_the_interval() {
    let (mut plugin, mut host) = cached_with_hits(3);
    host.now = NOW + Duration::from_millis(cache::QUIET_MS - 1);
    plugin.on_tick(&mut host);
    assert_eq!(reports_sent(&host), 0, "not quiet yet");
    host.now = NOW + Duration::from_millis(cache::QUIET_MS);
    plugin.on_tick(&mut host);
    assert_eq!(reports_sent(&host), 1);
    assert!(body_of_last_call(&host).ends_with("%5Bhits%5D=3"));
}

#[test]
fn an_ended_configuration_reports_what_it_owes_and_waits_for_the_answer() {
    let (mut plugin, mut host) = cached_with_hits(3);
    assert!(!plugin.on_end(&mut host), "a report is on its way");
    assert_eq!(reports_sent(&host), 1);
    assert!(body_of_last_call(&host).ends_with("%5Bhits%5D=3"));
    assert!(!plugin.is_finished());
    // Ended: the timer does nothing any more.
    host.now = NOW + Duration::from_secs(600);
    plugin.on_tick(&mut host);
    assert_eq!(host.sent.len(), 2);
    host.answer_with("202", &[], "");
    plugin.on_call_answer(host.last_token(), 0, &mut host);
    assert!(plugin.is_finished());
    assert_eq!(host.count_of(Metric::ReportsHandedOver), 0);
    assert!(cache::adopt(&host.store).is_empty());
}

#[test]
fn usage_an_ended_configuration_could_not_report_is_reported_by_the_next_one() {
    let (mut old, mut host) = cached_with_hits(3);
    assert!(!old.on_end(&mut host));
    host.answer_with("503", &[], "");
    old.on_call_answer(host.last_token(), 0, &mut host);
    assert!(old.is_finished(), "the failed usage was handed over");
    assert_eq!(host.count_of(Metric::ReportsHandedOver), 1);
    let config = config(json!({"cache": {"enabled": true, "flush_interval": 300}}));
    let mut new = Plugin::new(config, NOW);
    new.on_tick(&mut host);
    assert_eq!(reports_sent(&host), 2);
    assert!(body_of_last_call(&host).ends_with("%5Bhits%5D=3"));
    host.answer_with("202", &[], "");
    new.on_call_answer(host.last_token(), 0, &mut host);
    host.now = NOW + Duration::from_secs(1);
    new.on_tick(&mut host);
    assert_eq!(reports_sent(&host), 2, "reported once");
}

#[test]
fn usage_an_old_configuration_left_in_the_buckets_is_claimed_by_the_next_one() {
    // The old configuration went away without a word (its VM ended).
    let (old, mut host) = cached_with_hits(4);
    drop(old);
    let config = config(json!({"cache": {"enabled": true, "flush_interval": 300}}));
    let mut new = Plugin::new(config, NOW);
    new.on_tick(&mut host);
    assert_eq!(reports_sent(&host), 1);
    assert!(body_of_last_call(&host).ends_with("%5Bhits%5D=4"));
}

#[test]
fn failed_reports_are_retried_sooner_and_sooner_is_backed_off() {
    let (mut plugin, mut host) = cached_with_hits(2);
    let mut at = NOW + Duration::from_millis(cache::QUIET_MS);
    host.now = at;
    plugin.on_tick(&mut host);
    let mut delays = Vec::new();
    let mut last_sent = host.sent.len();
    for _ in 0..6 {
        host.answer_with("503", &[], "");
        plugin.on_call_answer(host.last_token(), 0, &mut host);
        let sent_at = at;
        while host.sent.len() == last_sent {
            at += Duration::from_millis(500);
            host.now = at;
            plugin.on_tick(&mut host);
        }
        last_sent = host.sent.len();
        delays.push((at - sent_at).as_millis());
    }
    assert_eq!(delays, vec![1000, 2000, 4000, 8000, 8000, 8000]);
    host.answer_with("202", &[], "");
    plugin.on_call_answer(host.last_token(), 0, &mut host);
    assert_eq!(host.count_of(Metric::ReportsSent), 1);
    assert!(body_of_last_call(&host).ends_with("%5Bhits%5D=2"));
}

fn system_config() -> Config {
    let mut config = config(json!({
        "system": {"upstream": {"name": "system", "url": "https://system/"}, "token": "at0ken", "ttl": 60}
    }));
    config.services[0].token = None;
    config
}

fn proxy_config_answer(token: &str) -> String {
    json!({"proxy_config": {"content": {
        "backend_authentication_type": "service_token",
        "backend_authentication_value": token,
        "proxy": {"proxy_rules": []}
    }}})
    .to_string()
}

fn fetches(host: &FakeHost) -> usize {
    host.sent
        .iter()
        .filter(|(_, call)| {
            call.header(":path")
                .is_some_and(|path| path.contains("/proxy/configs/"))
        })
        .count()
}

#[test]
fn the_plugins_of_an_envoy_share_one_system_fetch_and_take_over_when_its_holder_ends() {
    let mut host = FakeHost::new();
    let mut first = Plugin::new(system_config(), NOW);
    let mut second = Plugin::new(system_config(), NOW + Duration::from_nanos(1));
    first.on_tick(&mut host);
    second.on_tick(&mut host);
    assert_eq!(fetches(&host), 1, "one fetch for both");
    let answer = proxy_config_answer("fetched-token");
    host.answer_with("200", &[], &answer);
    first.on_call_answer(host.last_token(), answer.len(), &mut host);
    host.now = NOW + Duration::from_millis(500);
    second.on_tick(&mut host);
    first.on_tick(&mut host);
    assert_eq!(fetches(&host), 1);
    // The second serves what the first fetched.
    let mut exchange = Exchange::default();
    assert_eq!(
        second.on_request_headers(&mut exchange, &request("k"), &mut host),
        Step::Wait
    );
    assert!(host.last_path().contains("service_token=fetched-token"));
    assert_eq!(host.count_of(Metric::SystemFetches), 1);
    // The first ends: its lease is given up; the second fetches at the ttl.
    assert!(first.on_end(&mut host));
    host.now = NOW + Duration::from_secs(30);
    second.on_tick(&mut host);
    assert_eq!(fetches(&host), 1, "not due yet");
    host.now = NOW + Duration::from_secs(61);
    second.on_tick(&mut host);
    assert_eq!(fetches(&host), 2);
}

#[test]
fn a_failed_shared_fetch_keeps_the_last_good_configuration_and_is_retried_sooner() {
    let mut host = FakeHost::new();
    let mut holder = Plugin::new(system_config(), NOW);
    let mut other = Plugin::new(system_config(), NOW + Duration::from_nanos(1));
    holder.on_tick(&mut host);
    let answer = proxy_config_answer("good");
    host.answer_with("200", &[], &answer);
    holder.on_call_answer(host.last_token(), answer.len(), &mut host);
    other.on_tick(&mut host);
    // At the ttl the holder's fetch fails: both keep the good one.
    host.now = NOW + Duration::from_secs(61);
    holder.on_tick(&mut host);
    other.on_tick(&mut host);
    assert_eq!(fetches(&host), 2);
    host.answer_with("500", &[], "");
    holder.on_call_answer(host.last_token(), 0, &mut host);
    for plugin in [&mut holder, &mut other] {
        let mut exchange = Exchange::default();
        assert_eq!(
            plugin.on_request_headers(&mut exchange, &request("k"), &mut host),
            Step::Wait
        );
        assert!(host.last_path().contains("service_token=good"));
    }
    // Retried within seconds, not a ttl, by the holder only.
    host.now = NOW + Duration::from_secs(63);
    holder.on_tick(&mut host);
    other.on_tick(&mut host);
    assert_eq!(fetches(&host), 3);
}

/// A plugin whose first request's answer has no limits, then 10 hits: the
/// first is written to the bucket and takes a lease, the nine others are
/// allowed from the lease, in the VM's memory only.
fn unlimited_with_leased_hits(config: &Config) -> (Plugin, FakeHost) {
    let mut plugin = Plugin::new(config.clone(), NOW);
    let mut host = FakeHost::new();
    plugin.on_tick(&mut host);
    let mut exchange = Exchange::default();
    plugin.on_request_headers(&mut exchange, &request("k"), &mut host);
    let unlimited = r#"<status><authorized>true</authorized><plan>P</plan></status>"#;
    host.answer_with("200", &[], unlimited);
    plugin.on_authrep_answer(&mut exchange, 1000, &mut host);
    for _ in 0..10 {
        let mut exchange = Exchange::default();
        let step = plugin.on_request_headers(&mut exchange, &request("k"), &mut host);
        assert!(matches!(step, Step::Continue(_)));
    }
    (plugin, host)
}

#[test]
fn an_ended_configuration_returns_its_leases_before_it_reports() {
    let config = config(json!({"cache": {"enabled": true, "ttl": 600, "flush_interval": 300}}));
    let (mut old, mut host) = unlimited_with_leased_hits(&config);
    assert!(!old.on_end(&mut host));
    assert!(body_of_last_call(&host).ends_with("%5Bhits%5D=10"));
}

#[test]
fn a_vm_that_ends_without_a_word_loses_only_what_its_leases_allowed() {
    let config = config(json!({"cache": {"enabled": true, "ttl": 600, "flush_interval": 300}}));
    let (old, mut host) = unlimited_with_leased_hits(&config);
    drop(old);
    let mut new = Plugin::new(config, NOW);
    new.on_tick(&mut host);
    assert!(body_of_last_call(&host).ends_with("%5Bhits%5D=1"));
}
