//! The filter's metrics as data: their names and types, and what a request's
//! decision, a backend answer or a cache event counts as. The shell
//! (`filter::metrics`) defines them with the host and moves the numbers.
//!
//! Every name starts with [`PREFIX`]. Envoy files metrics defined by Wasm code
//! under its `wasmcustom.` namespace, so `/stats` shows
//! `wasmcustom.threescale_wasm_auth.requests.authorized`, and `/stats/prometheus`
//! (which drops that namespace and turns `.` into `_`) shows
//! `threescale_wasm_auth_requests_authorized`.

use crate::backend::{self, BackendAnswer, Verdict};
use crate::cache::Events;
use crate::flow::Decision;
use crate::io::Admission;
use crate::io::ReplyKind;

/// The prefix of every metric name.
pub const PREFIX: &str = "threescale_wasm_auth.";

/// How a metric accumulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// A count that only goes up.
    Counter,
    /// A distribution of recorded values.
    Histogram,
}

/// Declares [`Metric`] with each variant's name (without [`PREFIX`]), type and
/// meaning, so that the list, the names and the docs cannot drift apart.
macro_rules! metrics {
    ($($variant:ident => $name:literal, $kind:ident, $meaning:literal;)+) => {
        /// Every metric the filter defines.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Metric {
            $(
                #[doc = $meaning]
                $variant,
            )+
        }

        impl Metric {
            /// Every metric, in definition order (the order of [`Metric::index`]).
            pub const ALL: &'static [Metric] = &[$(Metric::$variant),+];

            /// The full name the filter defines, [`PREFIX`] included.
            pub fn name(self) -> &'static str {
                match self {
                    $(Metric::$variant => concat!("threescale_wasm_auth.", $name),)+
                }
            }

            /// How the metric accumulates.
            pub fn metric_type(self) -> MetricType {
                match self {
                    $(Metric::$variant => MetricType::$kind,)+
                }
            }

            /// What the metric counts, for operators.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Metric::$variant => $meaning,)+
                }
            }
        }
    };
}

metrics! {
    RequestsAuthorized => "requests.authorized", Counter,
        "Requests 3scale authorized, which went upstream.";
    RequestsDenied => "requests.denied", Counter,
        "Requests refused with `auth_failed`: 3scale denied the credentials (a 4xx other than `limits_exceeded`), or the request could not be authenticated (no authority or path; with `passthrough_metadata`, credentials that cannot be sent in a header).";
    RequestsLimited => "requests.limited", Counter,
        "Requests refused because 3scale answered `limits_exceeded`.";
    RequestsUnknownService => "requests.unknown_service", Counter,
        "Requests whose authority matches no service.";
    RequestsNoCredentials => "requests.no_credentials", Counter,
        "Requests without credentials.";
    RequestsNoRule => "requests.no_rule", Counter,
        "Requests no mapping rule matches.";
    RequestsUnavailable => "requests.unavailable", Counter,
        "Requests refused because 3scale could not be reached (`failure_policy: deny`).";
    RequestsAllowedByFailurePolicy => "requests.allowed_by_failure_policy", Counter,
        "Requests let through although 3scale could not be reached (`failure_policy: allow`).";
    RequestsPassthrough => "requests.passthrough", Counter,
        "Requests handed on with `passthrough_metadata`, without asking 3scale.";
    WouldDenyUnknownService => "requests.would_deny.unknown_service", Counter,
        "`mode: report`: requests let through whose authority matches no service.";
    WouldDenyAuthMissing => "requests.would_deny.auth_missing", Counter,
        "`mode: report`: requests let through without credentials.";
    WouldDenyAuthFailed => "requests.would_deny.auth_failed", Counter,
        "`mode: report`: requests let through that 3scale (or the cache) refused with `auth_failed`, or that could not be authenticated.";
    WouldDenyNoMatch => "requests.would_deny.no_match", Counter,
        "`mode: report`: requests let through that no mapping rule matches.";
    WouldDenyLimitsExceeded => "requests.would_deny.limits_exceeded", Counter,
        "`mode: report`: requests let through over their limits (their usage is still reported to 3scale).";
    WouldDenyUnavailable => "requests.would_deny.unavailable", Counter,
        "`mode: report`: requests let through while 3scale could not be reached (`failure_policy: deny`).";
    BackendCalls => "backend.calls", Counter,
        "Authorization calls to 3scale's backend the filter tried to make.";
    BackendErrors => "backend.errors", Counter,
        "Backend calls without a usable answer: not dispatched, no status, a 5xx (Envoy's 503 when it cannot connect and 504 on timeout included), or a status that is neither 2xx nor 4xx.";
    BackendLatencyMs => "backend.latency_ms", Histogram,
        "Milliseconds from sending a backend call to its answer (timeouts included; calls the host refused to send excluded).";
    CacheHits => "cache.hits", Counter,
        "Requests the authorization cache answered without calling 3scale.";
    CacheStaleHits => "cache.stale_hits", Counter,
        "Requests answered from an expired cache entry (within `stale_ttl`) because 3scale could not be reached.";
    CacheMisses => "cache.misses", Counter,
        "Requests the authorization cache could not answer, which went to 3scale.";
    CacheEvictions => "cache.evictions", Counter,
        "Entries the authorization cache dropped to stay within its size.";
    ReportsSent => "reports.sent", Counter,
        "Batched report calls 3scale accepted.";
    ReportsFailed => "reports.failed", Counter,
        "Batched report calls that failed (their usage is retried).";
    ReportsDropped => "reports.dropped", Counter,
        "Unreported usage records dropped: over `max_pending_reports`, or for a service no longer configured.";
    ReportsMerged => "reports.merged", Counter,
        "Unreported usage records merged into one per application because more than `max_pending_reports` were waiting.";
    ReportsHandedOver => "reports.handed_over", Counter,
        "Unreported usage records a configuration that ended left in shared data for the next one to report.";
    SystemFetches => "system.fetches", Counter,
        "Proxy-configuration fetches from System the filter tried to make.";
    SystemFetchFailures => "system.fetch_failures", Counter,
        "System fetches that failed (not sent, not 200, or an unusable answer).";
}

impl Metric {
    /// The metric's position in [`Metric::ALL`], for tables of per-metric ids.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What became of a request, from the filter's point of view: each request is
/// counted under exactly one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 3scale authorized it.
    Authorized,
    /// Refused with `auth_failed`.
    Denied,
    /// Refused with `limits_exceeded`.
    Limited,
    /// No service for its authority.
    UnknownService,
    /// No credentials.
    NoCredentials,
    /// No mapping rule matched.
    NoRule,
    /// 3scale unreachable, refused.
    Unavailable,
    /// 3scale unreachable, let through.
    AllowedByFailurePolicy,
    /// Handed on with `passthrough_metadata`.
    Passthrough,
    /// `mode: report`: let through instead of this reply.
    WouldDeny(ReplyKind),
}

impl Outcome {
    /// The outcome a decision settles, or `None` while the request waits for 3scale.
    pub fn of(decision: &Decision) -> Option<Outcome> {
        match decision {
            Decision::Continue(forward) => Some(match forward.admission {
                Admission::Authorized => Outcome::Authorized,
                Admission::Passthrough => Outcome::Passthrough,
                Admission::FailurePolicy => Outcome::AllowedByFailurePolicy,
                Admission::WouldDeny(kind) => Outcome::WouldDeny(kind),
            }),
            Decision::Reply(reply) => Some(match reply.kind {
                ReplyKind::AuthFailed => Outcome::Denied,
                ReplyKind::LimitsExceeded => Outcome::Limited,
                ReplyKind::UnknownService => Outcome::UnknownService,
                ReplyKind::AuthMissing => Outcome::NoCredentials,
                ReplyKind::NoMatch => Outcome::NoRule,
                ReplyKind::Unavailable => Outcome::Unavailable,
            }),
            Decision::CallOut(_) => None,
        }
    }

    /// The counter of this outcome.
    pub fn metric(self) -> Metric {
        match self {
            Outcome::Authorized => Metric::RequestsAuthorized,
            Outcome::Denied => Metric::RequestsDenied,
            Outcome::Limited => Metric::RequestsLimited,
            Outcome::UnknownService => Metric::RequestsUnknownService,
            Outcome::NoCredentials => Metric::RequestsNoCredentials,
            Outcome::NoRule => Metric::RequestsNoRule,
            Outcome::Unavailable => Metric::RequestsUnavailable,
            Outcome::AllowedByFailurePolicy => Metric::RequestsAllowedByFailurePolicy,
            Outcome::Passthrough => Metric::RequestsPassthrough,
            Outcome::WouldDeny(kind) => match kind {
                ReplyKind::UnknownService => Metric::WouldDenyUnknownService,
                ReplyKind::AuthMissing => Metric::WouldDenyAuthMissing,
                ReplyKind::AuthFailed => Metric::WouldDenyAuthFailed,
                ReplyKind::NoMatch => Metric::WouldDenyNoMatch,
                ReplyKind::LimitsExceeded => Metric::WouldDenyLimitsExceeded,
                ReplyKind::Unavailable => Metric::WouldDenyUnavailable,
            },
        }
    }
}

/// Whether a backend answer counts as a backend error: exactly the answers the
/// failure policy handles.
pub fn is_backend_error(answer: &BackendAnswer) -> bool {
    matches!(backend::verdict(answer), Verdict::Unreachable(_))
}

/// The counters to move for the cache's events since the last time: one
/// `(metric, amount)` per kind of event.
pub fn cache_counts(events: &Events) -> [(Metric, u64); 9] {
    [
        (Metric::CacheHits, events.hits),
        (Metric::CacheStaleHits, events.stale_hits),
        (Metric::CacheMisses, events.misses),
        (Metric::CacheEvictions, events.evictions),
        (Metric::ReportsSent, events.reports_sent),
        (Metric::ReportsFailed, events.reports_failed),
        (Metric::ReportsDropped, events.dropped),
        (Metric::ReportsMerged, events.merged),
        (Metric::ReportsHandedOver, events.handed_over),
    ]
}

impl From<Outcome> for Metric {
    fn from(outcome: Outcome) -> Metric {
        outcome.metric()
    }
}

/// Milliseconds between two instants of the host clock (0 if the clock went back).
pub fn elapsed_ms(from: std::time::Duration, to: std::time::Duration) -> u64 {
    u64::try_from(to.saturating_sub(from).as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::config::{self, Config};
    use crate::fetched::Fetched;
    use crate::flow;
    use crate::flow::tests::answer;
    use crate::request::PlainRequest;

    #[test]
    fn names_are_prefixed_unique_and_prometheus_safe() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|metric| metric.name()).collect();
        for name in &names {
            let rest = name.strip_prefix(PREFIX).unwrap();
            assert!(
                rest.split('.').all(|part| !part.is_empty()
                    && part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')),
                "{name}: dot-separated lowercase words"
            );
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len(), "names are unique");
    }

    #[test]
    fn index_is_the_position_in_all() {
        for (position, metric) in Metric::ALL.iter().enumerate() {
            assert_eq!(metric.index(), position, "{metric:?}");
        }
    }

    #[test]
    fn documented_names_and_types() {
        let expected = [
            (
                "threescale_wasm_auth.requests.authorized",
                MetricType::Counter,
            ),
            ("threescale_wasm_auth.requests.denied", MetricType::Counter),
            ("threescale_wasm_auth.requests.limited", MetricType::Counter),
            (
                "threescale_wasm_auth.requests.unknown_service",
                MetricType::Counter,
            ),
            (
                "threescale_wasm_auth.requests.no_credentials",
                MetricType::Counter,
            ),
            ("threescale_wasm_auth.requests.no_rule", MetricType::Counter),
            (
                "threescale_wasm_auth.requests.unavailable",
                MetricType::Counter,
            ),
            (
                "threescale_wasm_auth.requests.allowed_by_failure_policy",
                MetricType::Counter,
            ),
            (
                "threescale_wasm_auth.requests.passthrough",
                MetricType::Counter,
            ),
            (
                "threescale_wasm_auth.requests.would_deny.unknown_service",
                MetricType::Counter,
            ),
            (
                "threescale_wasm_auth.requests.would_deny.auth_missing",
                MetricType::Counter,
            ),
            (
                "threescale_wasm_auth.requests.would_deny.auth_failed",
                MetricType::Counter,
            ),
            (
                "threescale_wasm_auth.requests.would_deny.no_match",
                MetricType::Counter,
            ),
            (
                "threescale_wasm_auth.requests.would_deny.limits_exceeded",
                MetricType::Counter,
            ),
            (
                "threescale_wasm_auth.requests.would_deny.unavailable",
                MetricType::Counter,
            ),
            ("threescale_wasm_auth.backend.calls", MetricType::Counter),
            ("threescale_wasm_auth.backend.errors", MetricType::Counter),
            (
                "threescale_wasm_auth.backend.latency_ms",
                MetricType::Histogram,
            ),
            ("threescale_wasm_auth.cache.hits", MetricType::Counter),
            ("threescale_wasm_auth.cache.stale_hits", MetricType::Counter),
            ("threescale_wasm_auth.cache.misses", MetricType::Counter),
            ("threescale_wasm_auth.cache.evictions", MetricType::Counter),
            ("threescale_wasm_auth.reports.sent", MetricType::Counter),
            ("threescale_wasm_auth.reports.failed", MetricType::Counter),
            ("threescale_wasm_auth.reports.dropped", MetricType::Counter),
            ("threescale_wasm_auth.reports.merged", MetricType::Counter),
            (
                "threescale_wasm_auth.reports.handed_over",
                MetricType::Counter,
            ),
            ("threescale_wasm_auth.system.fetches", MetricType::Counter),
            (
                "threescale_wasm_auth.system.fetch_failures",
                MetricType::Counter,
            ),
        ];
        let actual: Vec<(&str, MetricType)> = Metric::ALL
            .iter()
            .map(|metric| (metric.name(), metric.metric_type()))
            .collect();
        assert_eq!(actual, expected);
    }

    /// The README's metrics table lists every metric with its type and meaning,
    /// under the name `/stats` shows.
    #[test]
    fn readme_documents_every_metric() {
        let readme = include_str!("../README.md");
        for metric in Metric::ALL {
            let kind = match metric.metric_type() {
                MetricType::Counter => "counter",
                MetricType::Histogram => "histogram",
            };
            let row = format!(
                "| `wasmcustom.{}` | {kind} | {} |",
                metric.name(),
                metric.meaning()
            );
            assert!(readme.contains(&row), "README lacks the row\n{row}");
        }
    }

    #[test]
    fn cache_events_move_their_counters() {
        let events = Events {
            hits: 1,
            stale_hits: 2,
            misses: 3,
            evictions: 4,
            reports_sent: 5,
            reports_failed: 6,
            dropped: 7,
            merged: 8,
            handed_over: 9,
        };
        let names: Vec<(&str, u64)> = cache_counts(&events)
            .iter()
            .map(|(metric, count)| (metric.name(), *count))
            .collect();
        assert_eq!(
            names,
            [
                ("threescale_wasm_auth.cache.hits", 1),
                ("threescale_wasm_auth.cache.stale_hits", 2),
                ("threescale_wasm_auth.cache.misses", 3),
                ("threescale_wasm_auth.cache.evictions", 4),
                ("threescale_wasm_auth.reports.sent", 5),
                ("threescale_wasm_auth.reports.failed", 6),
                ("threescale_wasm_auth.reports.dropped", 7),
                ("threescale_wasm_auth.reports.merged", 8),
                ("threescale_wasm_auth.reports.handed_over", 9),
            ]
        );
    }

    fn config_with(patch: Value) -> Config {
        let mut document = json!({
            "api": "v1",
            "backend": {"upstream": {"name": "backend", "url": "http://backend"}},
            "services": [{
                "id": "1",
                "token": "t",
                "authorities": ["api.test"],
                "credentials": {"user_key": [{"header": {"keys": ["x-key"]}}]},
                "mapping_rules": [{"method": "GET", "pattern": "/", "usages": [{"name": "hits", "delta": 1}]}],
            }],
        });
        if let (Some(target), Value::Object(patch)) = (document.as_object_mut(), patch) {
            target.extend(patch);
        }
        config::parse(document.to_string().as_bytes()).unwrap()
    }

    fn request(method: &str, authority: &str, key: Option<&str>) -> PlainRequest {
        let request = PlainRequest::new(method, authority, "/");
        match key {
            Some(key) => request.with_header("x-key", key),
            None => request,
        }
    }

    /// The outcome of a request that 3scale answers with `answer`.
    fn after_answer(config: &Config, answer: &BackendAnswer) -> Option<Outcome> {
        let decision = flow::on_request(
            config,
            &Fetched::new(),
            &request("GET", "api.test", Some("k")),
            None,
        );
        let Decision::CallOut(call_out) = decision else {
            panic!("expected a call-out, got {decision:?}");
        };
        assert_eq!(Outcome::of(&Decision::CallOut(call_out.clone())), None);
        Outcome::of(&flow::tests::on_backend_answer(
            config,
            &call_out.pending,
            answer,
        ))
    }

    #[test]
    fn outcomes_before_any_call() {
        // An override changes the reply, not what it counts as.
        let config = config_with(json!({"errors": {"auth_missing": {"status": 401}}}));
        let cases = [
            (
                request("GET", "other.test", Some("k")),
                Outcome::UnknownService,
            ),
            (request("GET", "api.test", None), Outcome::NoCredentials),
            (request("POST", "api.test", Some("k")), Outcome::NoRule),
            (request("GET", "", Some("k")), Outcome::Denied),
        ];
        for (request, expected) in cases {
            let decision = flow::on_request(&config, &Fetched::new(), &request, None);
            assert_eq!(Outcome::of(&decision), Some(expected), "{request:?}");
        }
        let passthrough = config_with(json!({"passthrough_metadata": true}));
        let decision = flow::on_request(
            &passthrough,
            &Fetched::new(),
            &request("GET", "api.test", Some("k")),
            None,
        );
        assert_eq!(Outcome::of(&decision), Some(Outcome::Passthrough));
        let unsendable = request("GET", "api.test", Some("line\u{1}break"));
        let decision = flow::on_request(&passthrough, &Fetched::new(), &unsendable, None);
        assert_eq!(Outcome::of(&decision), Some(Outcome::Denied));
    }

    #[test]
    fn outcomes_after_the_backend_answer() {
        let config = config_with(json!({}));
        let cases = [
            (answer("200", &[]), Outcome::Authorized),
            (
                answer("409", &[("3scale-rejection-reason", "limits_exceeded")]),
                Outcome::Limited,
            ),
            (
                answer("403", &[("3scale-rejection-reason", "user_key_invalid")]),
                Outcome::Denied,
            ),
            (answer("409", &[]), Outcome::Denied),
            (answer("503", &[]), Outcome::Unavailable),
            (BackendAnswer::DispatchFailed, Outcome::Unavailable),
        ];
        for (backend_answer, expected) in cases {
            assert_eq!(
                after_answer(&config, &backend_answer),
                Some(expected),
                "{backend_answer:?}"
            );
        }
        let allow = config_with(json!({"failure_policy": "allow"}));
        assert_eq!(
            after_answer(&allow, &answer("504", &[])),
            Some(Outcome::AllowedByFailurePolicy)
        );
        assert_eq!(
            after_answer(&allow, &answer("200", &[])),
            Some(Outcome::Authorized)
        );
    }

    #[test]
    fn unknown_configuration_follows_the_failure_policy() {
        let system = json!({
            "system": {"upstream": {"name": "system", "url": "http://system"}, "token": "a"},
        });
        let mut without_token = config_with(system.clone());
        without_token
            .services
            .iter_mut()
            .for_each(|s| s.token = None);
        let keyed = request("GET", "api.test", Some("k"));
        let decision = flow::on_request(&without_token, &Fetched::new(), &keyed, None);
        assert_eq!(Outcome::of(&decision), Some(Outcome::Unavailable));

        let mut allow = system;
        allow["failure_policy"] = json!("allow");
        let mut allowing = config_with(allow);
        allowing.services.iter_mut().for_each(|s| s.token = None);
        let decision = flow::on_request(&allowing, &Fetched::new(), &keyed, None);
        assert_eq!(
            Outcome::of(&decision),
            Some(Outcome::AllowedByFailurePolicy)
        );
    }

    #[test]
    fn unconfigured_filter_counts_as_unavailable() {
        let decision = Decision::Reply(flow::reply::unconfigured());
        assert_eq!(Outcome::of(&decision), Some(Outcome::Unavailable));
    }

    #[test]
    fn every_outcome_has_its_own_requests_counter() {
        let outcomes = [
            Outcome::Authorized,
            Outcome::Denied,
            Outcome::Limited,
            Outcome::UnknownService,
            Outcome::NoCredentials,
            Outcome::NoRule,
            Outcome::Unavailable,
            Outcome::AllowedByFailurePolicy,
            Outcome::Passthrough,
            Outcome::WouldDeny(ReplyKind::UnknownService),
            Outcome::WouldDeny(ReplyKind::AuthMissing),
            Outcome::WouldDeny(ReplyKind::AuthFailed),
            Outcome::WouldDeny(ReplyKind::NoMatch),
            Outcome::WouldDeny(ReplyKind::LimitsExceeded),
            Outcome::WouldDeny(ReplyKind::Unavailable),
        ];
        let mut metrics: Vec<&str> = outcomes.iter().map(|o| o.metric().name()).collect();
        assert!(
            metrics
                .iter()
                .all(|name| name.starts_with("threescale_wasm_auth.requests."))
        );
        metrics.sort_unstable();
        metrics.dedup();
        assert_eq!(metrics.len(), outcomes.len());
        let requests_counters = Metric::ALL
            .iter()
            .filter(|m| m.name().starts_with("threescale_wasm_auth.requests."))
            .count();
        assert_eq!(
            requests_counters,
            outcomes.len(),
            "no requests counter without an outcome"
        );
    }

    #[test]
    fn backend_errors_are_the_unreachable_answers() {
        let errors = [
            BackendAnswer::DispatchFailed,
            BackendAnswer::Received {
                status: None,
                reason: None,
                limits: crate::model::Limits::default(),
            },
            answer("500", &[]),
            answer("503", &[]),
            answer("504", &[]),
            answer("302", &[]),
        ];
        for error in &errors {
            assert!(is_backend_error(error), "{error:?}");
        }
        for fine in [answer("200", &[]), answer("403", &[]), answer("409", &[])] {
            assert!(!is_backend_error(&fine), "{fine:?}");
        }
    }

    #[test]
    fn elapsed_milliseconds() {
        let ms = Duration::from_millis;
        assert_eq!(elapsed_ms(ms(1_000), ms(1_250)), 250);
        assert_eq!(elapsed_ms(ms(1_000), Duration::from_micros(1_000_999)), 0);
        assert_eq!(
            elapsed_ms(ms(2_000), ms(1_000)),
            0,
            "a clock that went back"
        );
    }
}
