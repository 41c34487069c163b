//! The request flow with the cache (README, "Cache"): a fresh entry decides
//! locally; a miss calls 3scale and the answer fills the cache; while 3scale is
//! unreachable a stale entry may still decide, up to `stale_ttl`.

use log::{debug, warn};

use super::{Call, Decision, Pending, call_out, local_reply, report};
use crate::backend::{self, BackendAnswer, Verdict};
use crate::cache::{Answer, AppKey, CacheAccess, HitOutcome, Lookup};
use crate::config::Config;
use crate::io::{Forward, ReplyKind};

/// How long past the backend timeout an authrep's flight still counts when
/// no answer came (its request went away): the answer cannot arrive later,
/// as the host ends the call at the timeout.
const FLIGHT_MARGIN_MS: u64 = 1000;

/// Decides from the cache, or calls 3scale with an authrep whose answer fills it.
pub(super) fn decide(config: &Config, cache: &mut CacheAccess<'_>, call: Call<'_>) -> Decision {
    let key = AppKey {
        service_id: &call.service.id,
        credential: &call.resolved.credential,
    };
    match cache.decide(&key, &call.usages) {
        Lookup::Hit(outcome) => {
            debug!("service {}: decided from the cache", call.service.id);
            if matches!(outcome, HitOutcome::LimitsExceeded(_)) {
                report::queue_limited_usage(config, call.service, cache, &key, &call.usages);
            }
            from_cache(config, outcome, call.forward)
        }
        Lookup::Miss | Lookup::OverBudget => {
            let service_id = call.service.id.as_str();
            let mut decision = call_out(config, call, true);
            if let Decision::CallOut(call_out) = &mut decision
                && let Some(credential) = &call_out.pending.credential
            {
                let key = AppKey {
                    service_id,
                    credential,
                };
                let until_ms = cache
                    .now_ms
                    .saturating_add(config.backend.upstream.timeout)
                    .saturating_add(FLIGHT_MARGIN_MS);
                let ticket = cache.depart(&key, &call_out.pending.usages, until_ms);
                call_out.pending.ticket = ticket;
            }
            decision
        }
    }
}

/// Takes in the answer to a request that missed the cache: the answer fills the
/// cache (the body, `<status>`, has the limits), and the caller then decides as
/// without a cache; when 3scale is unreachable, a stale entry decides if there
/// is one (the decision returned).
pub(super) fn learn(
    config: &Config,
    pending: &Pending,
    answer: &BackendAnswer,
    body: &[u8],
    cache: &mut CacheAccess<'_>,
) -> Option<Decision> {
    let (Some(credential), Some(service)) = (
        &pending.credential,
        config.services.get(pending.service_index),
    ) else {
        return None;
    };
    let key = AppKey {
        service_id: &service.id,
        credential,
    };
    let use_hierarchy = !config
        .backend
        .extensions
        .iter()
        .any(|name| name == "flat_usage");
    let verdict = backend::verdict(answer);
    let ticket = pending.ticket;
    if matches!(verdict, Verdict::LimitsExceeded(_)) {
        report::queue_limited_usage(config, service, cache, &key, &pending.usages);
    }
    match &verdict {
        Verdict::Authorized(_) | Verdict::LimitsExceeded(_) => match backend::parse_status(body) {
            Some(document) => {
                let answer = if matches!(verdict, Verdict::Authorized(_)) {
                    Answer::Authorized(&document)
                } else {
                    Answer::LimitsExceeded(&document)
                };
                cache.learn(&key, ticket, answer, &pending.usages, use_hierarchy);
            }
            None => {
                warn!(
                    "service {}: the 3scale answer has no readable <status> body; not cached",
                    service.id
                );
                abandon(cache, &key, ticket);
            }
        },
        // An unknown metric or a bad value judges this request's usage, not
        // the application: caching it as a denial would refuse the
        // application's valid requests for the whole ttl (issue 15).
        Verdict::Denied { .. } if backend::is_usage_error(body) => {
            debug!(
                "service {}: 3scale refused the usage of the request; not cached",
                service.id
            );
            abandon(cache, &key, ticket);
        }
        Verdict::Denied { .. } => {
            cache.learn(&key, ticket, Answer::Denied, &pending.usages, use_hierarchy);
        }
        Verdict::Unreachable(why) => {
            abandon(cache, &key, ticket);
            if let Lookup::Hit(outcome) = cache.decide_stale(&key, &pending.usages) {
                if matches!(outcome, HitOutcome::LimitsExceeded(_)) {
                    report::queue_limited_usage(config, service, cache, &key, &pending.usages);
                }
                warn!(
                    "service {}: {why}; decided from a stale cache entry (stale_ttl)",
                    service.id
                );
                return Some(from_cache(config, outcome, pending.forward.clone()));
            }
        }
    }
    None
}

/// Ends the flight of a request that went away before 3scale answered (its
/// usage may or may not have been counted; the limits checked on the next
/// answer tell).
pub fn abandon_pending(config: &Config, pending: &Pending, cache: &mut CacheAccess<'_>) {
    let (Some(credential), Some(service), Some(ticket)) = (
        &pending.credential,
        config.services.get(pending.service_index),
        pending.ticket,
    ) else {
        return;
    };
    let key = AppKey {
        service_id: &service.id,
        credential,
    };
    cache.abandon(&key, ticket);
}

fn abandon(cache: &mut CacheAccess<'_>, key: &AppKey<'_>, ticket: Option<u64>) {
    if let Some(ticket) = ticket {
        cache.abandon(key, ticket);
    }
}

fn from_cache(config: &Config, outcome: HitOutcome, forward: Forward) -> Decision {
    match outcome {
        HitOutcome::Allow(limits) => Decision::Continue(Forward {
            limits: Some(limits),
            ..forward
        }),
        HitOutcome::LimitsExceeded(limits) => {
            local_reply(config, ReplyKind::LimitsExceeded, Some(&limits)).into()
        }
        HitOutcome::Denied => local_reply(config, ReplyKind::AuthFailed, None).into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cache::{MemoryStore, Worker};
    use crate::config;
    use crate::fetched::Fetched;
    use crate::flow::{on_backend_answer, on_request};
    use crate::request::PlainRequest;

    const NOW: u64 = 1_700_000_000_000;

    fn config(extra: serde_json::Value) -> Config {
        let mut document = json!({
            "api": "v1",
            "backend": {"upstream": {"name": "be", "url": "https://be", "timeout": 100}},
            "services": [{
                "id": "42",
                "token": "tok",
                "credentials": {"user_key": [{"header": {"keys": ["x-api-key"]}}]},
                "mapping_rules": [
                    {"method": "GET", "pattern": "/", "usages": [{"name": "hits", "delta": 1}]},
                    {"method": "GET", "pattern": "/p", "usages": [{"name": "products", "delta": 1}]}
                ]
            }],
            "rate_limit_headers": true,
            "cache": {"enabled": true, "ttl": 10, "stale_ttl": 30}
        });
        if let (Some(target), serde_json::Value::Object(extra)) = (document.as_object_mut(), extra)
        {
            target.extend(extra);
        }
        config::parse(document.to_string().as_bytes()).unwrap()
    }

    struct Harness {
        config: Config,
        store: MemoryStore,
        worker: Worker,
    }

    impl Harness {
        fn new(config: Config) -> Self {
            let worker = Worker::new(config.cache_enabled().unwrap());
            Harness {
                config,
                store: MemoryStore::default(),
                worker,
            }
        }

        fn request(&mut self, path: &str, key: &str, now_ms: u64) -> Decision {
            let request = PlainRequest::new("GET", "api", path).with_header("x-api-key", key);
            let mut access = CacheAccess {
                settings: self.config.cache_enabled().unwrap(),
                store: &self.store,
                worker: &mut self.worker,
                now_ms,
            };
            on_request(&self.config, &Fetched::new(), &request, Some(&mut access))
        }

        fn answer(
            &mut self,
            pending: &Pending,
            status: &str,
            reason: Option<&str>,
            body: &str,
            now_ms: u64,
        ) -> Decision {
            let mut headers = vec![(":status".to_owned(), status.as_bytes().to_vec())];
            if let Some(reason) = reason {
                headers.push((
                    "3scale-rejection-reason".to_owned(),
                    reason.as_bytes().to_vec(),
                ));
            }
            let mut access = CacheAccess {
                settings: self.config.cache_enabled().unwrap(),
                store: &self.store,
                worker: &mut self.worker,
                now_ms,
            };
            on_backend_answer(
                &self.config,
                pending.clone(),
                &BackendAnswer::from_headers(crate::io::pairs::OwnedHeaderPairs::of(&headers)),
                body.as_bytes(),
                Some(&mut access),
            )
        }
    }

    fn status(max: i64, current: i64) -> String {
        format!(
            r#"<status><authorized>true</authorized><plan>P</plan><usage_reports><usage_report metric="hits" period="eternity"><max_value>{max}</max_value><current_value>{current}</current_value></usage_report></usage_reports><hierarchy><metric name="hits" children="products"/></hierarchy></status>"#
        )
    }

    /// [`status`] naming only `hits`: no answer shows that 3scale knows `products`.
    fn status_without_hierarchy(max: i64, current: i64) -> String {
        status(max, current).replace(
            r#"<hierarchy><metric name="hits" children="products"/></hierarchy>"#,
            "",
        )
    }

    fn pending(decision: Decision) -> Pending {
        match decision {
            Decision::CallOut(call_out) => {
                let options = call_out.call.header("3scale-options").unwrap();
                assert!(
                    !options.contains("no_body") && options.contains("hierarchy=1"),
                    "{options}"
                );
                call_out.pending
            }
            other => panic!("expected a call to 3scale, got {other:?}"),
        }
    }

    #[test]
    fn a_miss_fills_the_cache_and_hits_decide_locally_up_to_the_limit() {
        let mut harness = Harness::new(config(json!({})));
        let first = pending(harness.request("/", "k", NOW));
        assert!(matches!(
            harness.answer(&first, "200", None, &status(4, 1), NOW),
            Decision::Continue(_)
        ));
        let Decision::Continue(forward) = harness.request("/", "k", NOW + 1) else {
            panic!("expected a hit");
        };
        assert_eq!(forward.limits.unwrap().remaining, Some(2));
        // `/p` matches both rules (hits 1, products 1); products also counts for hits.
        assert!(matches!(
            harness.request("/p", "k", NOW + 2),
            Decision::Continue(_)
        ));
        let Decision::Reply(reply) = harness.request("/", "k", NOW + 3) else {
            panic!("expected a 429");
        };
        assert_eq!(reply.status, 429);
        assert_eq!(reply.header("ratelimit-remaining"), Some("0"));
        assert_eq!(harness.worker.events().hits, 3);
        assert_eq!(harness.worker.events().misses, 1);
        // Expired: 3scale again.
        pending(harness.request("/", "k", NOW + 10_000));
    }

    #[test]
    fn denials_are_cached_for_the_ttl() {
        let mut harness = Harness::new(config(json!({})));
        let first = pending(harness.request("/", "bad", NOW));
        let decision = harness.answer(&first, "403", Some("user_key_invalid"), "", NOW);
        assert!(matches!(decision, Decision::Reply(ref r) if r.status == 403));
        assert!(
            matches!(harness.request("/", "bad", NOW + 9_999), Decision::Reply(ref r) if r.status == 403)
        );
        pending(harness.request("/", "bad", NOW + 10_000));
        pending(harness.request("/", "other", NOW));
    }

    #[test]
    fn unreachable_uses_a_stale_entry_within_stale_ttl_else_the_policy() {
        let mut harness = Harness::new(config(json!({})));
        let first = pending(harness.request("/", "k", NOW));
        harness.answer(&first, "200", None, &status(100, 1), NOW);
        let later = NOW + 20_000;
        let refresh = pending(harness.request("/", "k", later));
        assert!(matches!(
            harness.answer(&refresh, "503", None, "", later),
            Decision::Continue(_)
        ));
        assert_eq!(harness.worker.events().stale_hits, 1);
        let too_late = NOW + 40_000;
        let refresh = pending(harness.request("/", "k", too_late));
        assert!(
            matches!(harness.answer(&refresh, "503", None, "", too_late), Decision::Reply(ref r) if r.status == 503)
        );
        let mut allow = Harness::new(config(json!({"failure_policy": "allow"})));
        let first = pending(allow.request("/", "k", NOW));
        assert!(matches!(
            allow.answer(&first, "504", None, "", NOW),
            Decision::Continue(_)
        ));
    }

    #[test]
    fn an_unreadable_body_is_not_cached_but_the_request_is_decided() {
        let mut harness = Harness::new(config(json!({})));
        let first = pending(harness.request("/", "k", NOW));
        assert!(matches!(
            harness.answer(&first, "200", None, "garbage", NOW),
            Decision::Continue(_)
        ));
        pending(harness.request("/", "k", NOW + 1));
    }

    #[test]
    fn a_metric_not_confirmed_for_the_application_goes_to_3scale() {
        let mut harness = Harness::new(config(json!({})));
        let first = pending(harness.request("/", "k", NOW));
        let only_hits = status_without_hierarchy(100, 1);
        harness.answer(&first, "200", None, &only_hits, NOW);
        assert!(matches!(
            harness.request("/", "k", NOW + 1),
            Decision::Continue(_)
        ));
        // `/p` also names `products`, which no answer has shown 3scale knows.
        let unconfirmed = pending(harness.request("/p", "k", NOW + 2));
        assert_eq!(harness.worker.events().misses, 2);
        harness.answer(&unconfirmed, "200", None, &only_hits, NOW + 2);
        // Authorized with it: now confirmed, decided locally.
        assert!(matches!(
            harness.request("/p", "k", NOW + 3),
            Decision::Continue(_)
        ));
        assert_eq!(harness.worker.events().misses, 2);
    }

    #[test]
    fn a_metric_error_is_not_cached_as_a_denial_of_the_application() {
        let mut harness = Harness::new(config(json!({})));
        let first = pending(harness.request("/", "k", NOW));
        let only_hits = status_without_hierarchy(100, 1);
        harness.answer(&first, "200", None, &only_hits, NOW);
        let typo = pending(harness.request("/p", "k", NOW + 1));
        let error = r#"<?xml version="1.0" encoding="UTF-8"?><error code="metric_invalid">metric "products" is invalid</error>"#;
        let decision = harness.answer(&typo, "404", None, error, NOW + 1);
        assert!(matches!(decision, Decision::Reply(ref r) if r.status == 403));
        // The application's entry still allows its valid requests...
        assert!(matches!(
            harness.request("/", "k", NOW + 2),
            Decision::Continue(_)
        ));
        // ...and the refused metric still goes to 3scale.
        pending(harness.request("/p", "k", NOW + 3));
        // Another error is about the application: cached as a denial.
        let other = pending(harness.request("/", "other", NOW));
        let unknown = r#"<error code="user_key_invalid">user key "other" is invalid</error>"#;
        harness.answer(&other, "403", None, unknown, NOW);
        assert!(
            matches!(harness.request("/", "other", NOW + 1), Decision::Reply(ref r) if r.status == 403)
        );
    }

    #[test]
    fn a_limits_exceeded_answer_is_cached_as_429() {
        let mut harness = Harness::new(config(json!({})));
        let first = pending(harness.request("/", "k", NOW));
        let body = status(3, 3).replace(
            "<authorized>true</authorized>",
            "<authorized>false</authorized><reason>usage limits are exceeded</reason>",
        );
        let decision = harness.answer(&first, "409", Some("limits_exceeded"), &body, NOW);
        assert!(matches!(decision, Decision::Reply(ref r) if r.status == 429));
        assert!(
            matches!(harness.request("/", "k", NOW + 1), Decision::Reply(ref r) if r.status == 429)
        );
    }

    #[test]
    fn reported_usage_equals_allowed_hits() {
        let mut harness = Harness::new(config(json!({})));
        let first = pending(harness.request("/", "k", NOW));
        harness.answer(&first, "200", None, &status(1000, 1), NOW);
        for at in 1..=7 {
            assert!(matches!(
                harness.request("/", "k", NOW + at),
                Decision::Continue(_)
            ));
        }
        let settings = harness.config.cache_enabled().unwrap().clone();
        let table = crate::cache::Table::new(&harness.store, &settings);
        let batches = harness
            .worker
            .flush(&table, &harness.config, &Fetched::new(), NOW + 100);
        assert_eq!(batches.len(), 1);
        let body = String::from_utf8(batches[0].call.body.clone()).unwrap();
        assert!(
            body.ends_with("transactions%5B0%5D%5Busage%5D%5Bhits%5D=7"),
            "{body}"
        );
    }

    /// An answer without limits (the application's plan has none).
    fn status_unlimited() -> String {
        r#"<status><authorized>true</authorized><plan>P</plan><hierarchy><metric name="hits" children="products"/></hierarchy></status>"#.to_owned()
    }

    /// The entries of the store's only bucket.
    fn entries(store: &MemoryStore) -> Vec<crate::cache::Entry> {
        use crate::cache::Store;
        let keys = store.keys();
        assert_eq!(keys.len(), 1, "{keys:?}");
        let bytes = store.read(&keys[0]).unwrap().bytes;
        crate::cache::decode_bucket(&bytes).unwrap()
    }

    #[test]
    fn a_worker_decides_from_a_lease_without_the_store_and_reports_every_request() {
        use crate::cache::{MOST_REQUESTS, Store};
        let mut harness = Harness::new(config(json!({})));
        let first = pending(harness.request("/", "k", NOW));
        harness.answer(&first, "200", None, &status_unlimited(), NOW);
        // The first hit reads the entry and takes a lease in its write.
        assert!(matches!(
            harness.request("/", "k", NOW + 1),
            Decision::Continue(_)
        ));
        assert_eq!(harness.worker.leases(), 1);
        let key = harness.store.keys().remove(0);
        let written = harness.store.read(&key);
        for _ in 0..MOST_REQUESTS {
            let Decision::Continue(forward) = harness.request("/", "k", NOW + 2) else {
                panic!("expected a hit from the lease");
            };
            assert_eq!(forward.limits.unwrap().remaining, Some(-1));
        }
        assert_eq!(harness.store.read(&key), written, "the lease wrote nothing");
        // Another usage is decided from the entry.
        assert!(matches!(
            harness.request("/p", "k", NOW + 2),
            Decision::Continue(_)
        ));
        assert_ne!(harness.store.read(&key), written);
        // Spent: the next hit returns it, with its usage, and takes another.
        assert!(matches!(
            harness.request("/", "k", NOW + 3),
            Decision::Continue(_)
        ));
        let entry = entries(&harness.store).remove(0);
        // The first hit, the lease's, `/p` (both rules: hits 1, products 1), this one.
        let leased = 1 + MOST_REQUESTS + 1 + 1;
        assert_eq!(
            entry.used,
            vec![("hits".to_owned(), leased), ("products".to_owned(), 1)]
        );
        assert_eq!(entry.leases.len(), 2, "the /p request took one too");
        assert_eq!(harness.worker.leases(), 2);
        for _ in 0..5 {
            harness.request("/", "k", NOW + 4);
        }
        assert_eq!(harness.worker.events().hits, MOST_REQUESTS + 8);
        // A flush returns every lease first: the report counts every request.
        let settings = harness.config.cache_enabled().unwrap().clone();
        let table = crate::cache::Table::new(&harness.store, &settings);
        let batches = harness
            .worker
            .flush(&table, &harness.config, &Fetched::new(), NOW + 100);
        assert_eq!(harness.worker.leases(), 0);
        let body = String::from_utf8(batches[0].call.body.clone()).unwrap();
        let hits = format!("transactions%5B0%5D%5Busage%5D%5Bhits%5D={}", leased + 5);
        assert!(body.contains(&hits), "{body}");
        assert!(body.ends_with("%5Bproducts%5D=1"), "{body}");
        assert!(entries(&harness.store)[0].leases.is_empty());
    }

    #[test]
    fn a_lease_ends_with_its_time_and_a_tick_returns_it() {
        use crate::cache::LEASE_MS;
        let mut harness = Harness::new(config(
            json!({"cache": {"enabled": true, "ttl": 10, "flush_interval": 60}}),
        ));
        let first = pending(harness.request("/", "k", NOW));
        harness.answer(&first, "200", None, &status_unlimited(), NOW);
        let settings = harness.config.cache_enabled().unwrap().clone();
        // A first flush, so that the next is not due before the interval.
        harness.worker.flush(
            &crate::cache::Table::new(&harness.store, &settings),
            &harness.config,
            &Fetched::new(),
            NOW,
        );
        for _ in 0..3 {
            harness.request("/", "k", NOW + 1);
        }
        assert_eq!(harness.worker.leases(), 1);
        // Past its end, the lease decides nothing: the entry does (and leases again).
        harness.request("/", "k", NOW + 1 + LEASE_MS);
        assert_eq!(
            entries(&harness.store)[0].used,
            vec![("hits".to_owned(), 4)]
        );
        harness.request("/", "k", NOW + 2 + LEASE_MS);
        harness.request("/", "k", NOW + 500 + LEASE_MS);
        // The timer returns a lease past its end without waiting for a
        // report (the quiet report is due 1 s after the last request).
        let table = crate::cache::Table::new(&harness.store, &settings);
        let batches = harness.worker.flush(
            &table,
            &harness.config,
            &Fetched::new(),
            NOW + 1 + 2 * LEASE_MS,
        );
        assert!(batches.is_empty(), "no report due");
        assert_eq!(harness.worker.leases(), 0);
        let entry = entries(&harness.store).remove(0);
        assert_eq!(entry.used, vec![("hits".to_owned(), 6)]);
        assert!(entry.leases.is_empty());
    }

    #[test]
    fn near_a_limit_no_lease_is_taken() {
        let mut harness = Harness::new(config(json!({})));
        let first = pending(harness.request("/", "k", NOW));
        harness.answer(&first, "200", None, &status(5, 1), NOW);
        for _ in 0..4 {
            harness.request("/", "k", NOW + 1);
        }
        assert_eq!(harness.worker.leases(), 0);
        assert_eq!(
            entries(&harness.store)[0].used,
            vec![("hits".to_owned(), 4)]
        );
    }

    #[test]
    fn a_miss_counts_for_hits_until_its_answer_or_its_end() {
        let mut harness = Harness::new(config(json!({})));
        let first = pending(harness.request("/", "k", NOW));
        let second = pending(harness.request("/", "k", NOW));
        let third = pending(harness.request("/", "k", NOW));
        let tickets = [first.ticket, second.ticket, third.ticket];
        assert!(tickets.iter().all(Option::is_some));
        assert!(tickets[0] != tickets[1] && tickets[1] != tickets[2]);
        // 3scale counted the first (1 of 5); two more are in flight: 2 hits left.
        harness.answer(&first, "200", None, &status(5, 1), NOW);
        let hits = |harness: &mut Harness| {
            (0..5)
                .filter(|_| matches!(harness.request("/", "k", NOW + 1), Decision::Continue(_)))
                .count()
        };
        assert_eq!(hits(&mut harness), 2);
        // The second failed (not counted): the entry decides it instead.
        assert!(matches!(
            harness.answer(&second, "503", None, "", NOW + 2),
            Decision::Continue(_)
        ));
        assert_eq!(hits(&mut harness), 0);
        // The third's request went away: its flight ends.
        let mut access = CacheAccess {
            settings: harness.config.cache_enabled().unwrap(),
            store: &harness.store,
            worker: &mut harness.worker,
            now_ms: NOW + 3,
        };
        abandon_pending(&harness.config, &third, &mut access);
        assert_eq!(hits(&mut harness), 1);
    }
}
