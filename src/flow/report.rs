//! `mode: report` and `debug_headers` (docs/behaviour.md §9, v2), applied to the
//! decisions the flow makes.
//!
//! The flow decides as in `enforce` mode and notes on the way what these two need
//! ([`Notes`]); [`finish`] then turns a would-be denial into a pass in `report`
//! mode (counted as [`Admission::WouldDeny`], logged at info without secrets) and
//! puts the debug headers on whatever the request gets. Usage of a known
//! application over its limits is still reported to 3scale, exactly once: without
//! the cache by a report call made before the request goes on (the authrep that
//! said `limits_exceeded` counted nothing), with the cache in its next batch.

use log::info;

use super::{CallOut, Decision, Pending};
use crate::cache::{AppKey, CacheAccess};
use crate::config::{Config, Mode, Service};
use crate::debug::{self, DebugReport};
use crate::io::{Admission, Forward, HttpCall, ReplyKind};
use crate::lookup::ResolvedCredentials;
use crate::mapping::MappingRule;
use crate::model::{Secret, Usages};
use crate::request::RequestView;

/// What the flow learned about a request that report mode and debug headers need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// The selected service's position in `services`.
    pub(super) service: Option<usize>,
    /// In report mode, the changes made to the request so far (credential
    /// stripping), for a would-be denial that goes on.
    pub(super) forward: Forward,
    /// The debug report, when the request asked for one with the right token.
    pub(super) debug: Option<DebugReport>,
    /// Report mode without the cache: the report call that counts the request's
    /// usage if 3scale answers `limits_exceeded`.
    pub(super) report_if_limited: Option<HttpCall>,
    /// Set on that report call: the request goes on as this would-be denial,
    /// whatever the report's answer.
    pub(super) reporting: Option<ReplyKind>,
}

impl Notes {
    /// Notes the selected service, and starts a debug report when `debug_headers`
    /// is on and the request's `X-3scale-Debug` equals the service's token.
    pub(super) fn service(
        &mut self,
        config: &Config,
        index: usize,
        service: &Service,
        token: Option<&Secret>,
        request: &dyn RequestView,
    ) {
        self.service = Some(index);
        if !config.debug_headers {
            return;
        }
        let presented = request.header(debug::REQUEST_HEADER);
        let asked = match (presented, token) {
            (Some(presented), Some(token)) => {
                debug::token_matches(&presented, token.expose().as_bytes())
            }
            _ => false,
        };
        if asked {
            self.debug = Some(DebugReport::new(&service.id));
        }
    }

    /// Keeps the request changes made so far, for a would-be denial that report
    /// mode lets through (in enforce mode nobody needs them).
    pub(super) fn keep_forward(&mut self, config: &Config, service: &Service, forward: &Forward) {
        if config.mode_of(Some(service)) == Mode::Report {
            self.forward = forward.clone();
        }
    }

    /// Notes the credential (its kind and origins, for the debug report).
    pub(super) fn credential(&mut self, resolved: &ResolvedCredentials) {
        if let Some(report) = self.debug.as_mut() {
            report.credential(&resolved.credential, &resolved.origins);
        }
    }

    /// Notes the rules that matched (for the debug report; only then are they
    /// looked for one by one).
    pub(super) fn rules<'a>(
        &mut self,
        rules: impl IntoIterator<Item = &'a MappingRule>,
        method: &str,
        matched_path: &str,
        usages: &Usages,
    ) {
        if let Some(report) = self.debug.as_mut() {
            report.rules(debug::matching_rules(rules, method, matched_path), usages);
        }
    }
}

/// Report mode for a request that will call 3scale without the cache: the report
/// call that counts its usage if 3scale refuses it for its limits.
pub(super) fn prepare_report(
    config: &Config,
    service: &Service,
    token: &Secret,
    resolved: &ResolvedCredentials,
    usages: &Usages,
) -> Option<HttpCall> {
    (config.mode_of(Some(service)) == Mode::Report).then(|| {
        let report = crate::backend::Report {
            credential: &resolved.credential,
            usages,
        };
        crate::backend::report(&config.backend, &service.id, token.expose(), &[report])
    })
}

/// Report mode with the cache: queues the usage of a request over its limits for
/// the next batched report (the cache did not count it, nor did 3scale).
pub(super) fn queue_limited_usage(
    config: &Config,
    service: &Service,
    cache: &mut CacheAccess<'_>,
    key: &AppKey<'_>,
    usages: &Usages,
) {
    if config.mode_of(Some(service)) == Mode::Report {
        cache.report_anyway(key, usages);
    }
}

/// The decision a request gets once the flow has decided (after its headers, or
/// after 3scale's answer): report mode and debug headers applied.
pub(super) fn finish(config: &Config, notes: Notes, decision: Decision) -> Decision {
    let service = notes.service.and_then(|index| config.services.get(index));
    let mode = config.mode_of(service);
    let service_id = service.map(|service| service.id.as_str());
    match decision {
        Decision::Reply(reply) if mode == Mode::Report => {
            log_would_deny(service_id, reply.kind);
            if reply.kind == ReplyKind::LimitsExceeded
                && let Some(call) = notes.report_if_limited.clone()
            {
                return report_first(config, notes, call);
            }
            let forward = Forward {
                admission: Admission::WouldDeny(reply.kind),
                ..notes.forward.clone()
            };
            go_on(config, forward, notes.debug, Some(reply.kind))
        }
        Decision::Reply(mut reply) => {
            if let Some(report) = &notes.debug {
                reply.headers.extend(report.headers());
            }
            Decision::Reply(reply)
        }
        Decision::Continue(forward) => go_on(config, forward, notes.debug, None),
        Decision::CallOut(mut call_out) => {
            if config.debug_headers {
                remove_debug_header(&mut call_out.pending.forward);
            }
            call_out.pending.notes = notes;
            Decision::CallOut(call_out)
        }
    }
}

/// The answer to a report-mode report call: the request goes on as noted.
pub(super) fn after_report(config: &Config, pending: Pending, kind: ReplyKind) -> Decision {
    let forward = Forward {
        admission: Admission::WouldDeny(kind),
        ..pending.forward
    };
    go_on(config, forward, pending.notes.debug, Some(kind))
}

/// Sends the report that counts a request over its limits before it goes on.
fn report_first(config: &Config, notes: Notes, call: HttpCall) -> Decision {
    let mut forward = notes.forward.clone();
    if config.debug_headers {
        remove_debug_header(&mut forward);
    }
    Decision::CallOut(Box::new(CallOut {
        call,
        pending: Pending {
            service_index: notes.service.unwrap_or_default(),
            usages: Usages::default(),
            origins: Vec::new(),
            forward,
            credential: None,
            ticket: None,
            notes: Notes {
                report_if_limited: None,
                reporting: Some(ReplyKind::LimitsExceeded),
                ..notes
            },
        },
    }))
}

/// A request that goes upstream: the debug header removed (whatever its value,
/// so that the token never leaves), the debug report on the response.
fn go_on(
    config: &Config,
    mut forward: Forward,
    report: Option<DebugReport>,
    would_deny: Option<ReplyKind>,
) -> Decision {
    if config.debug_headers {
        remove_debug_header(&mut forward);
    }
    if let Some(mut report) = report {
        report.would_deny = would_deny.map(ReplyKind::name);
        forward.response_headers.extend(report.headers());
    }
    Decision::Continue(forward)
}

fn remove_debug_header(forward: &mut Forward) {
    if !forward
        .remove_headers
        .iter()
        .any(|name| name == debug::REQUEST_HEADER)
    {
        forward
            .remove_headers
            .push(debug::REQUEST_HEADER.to_owned());
    }
}

/// One info line per would-be denial: the service and the kind, nothing the
/// request carried (its path and query may hold credentials).
fn log_would_deny(service_id: Option<&str>, kind: ReplyKind) {
    match service_id {
        Some(id) => info!(
            "service {id}: mode: report: would reply {} ({}); letting the request through",
            kind.name(),
            kind.default_status()
        ),
        None => info!(
            "mode: report: would reply {} ({}); letting the request through",
            kind.name(),
            kind.default_status()
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::config;
    use crate::fetched::Fetched;
    use crate::flow::tests::answer;
    use crate::flow::{on_backend_answer, on_request};
    use crate::request::PlainRequest;

    const TOKEN: &str = "st0ken-for-42";

    fn config_with(patch: Value) -> Config {
        let mut document = json!({
            "api": "v1",
            "backend": {"upstream": {"name": "be", "url": "https://be.example", "timeout": 100}},
            "services": [{
                "id": "42",
                "token": TOKEN,
                "authorities": ["web.app"],
                "credentials": {"user_key": [{"header": {"keys": ["x-api-key"]}}]},
                "mapping_rules": [
                    {"method": "GET", "pattern": "/", "usages": [{"name": "hits", "delta": 1}]},
                    {"method": "GET", "pattern": "/p/{id}", "usages": [{"name": "p", "delta": 2}]}
                ]
            }]
        });
        if let (Some(target), Value::Object(patch)) = (document.as_object_mut(), patch) {
            target.extend(patch);
        }
        config::parse(document.to_string().as_bytes()).unwrap()
    }

    fn report() -> Config {
        config_with(json!({"mode": "report"}))
    }

    fn keyed(path: &str) -> PlainRequest {
        PlainRequest::new("GET", "web.app", path).with_header("x-api-key", "k3y")
    }

    fn posted(path: &str) -> PlainRequest {
        PlainRequest::new("POST", "web.app", path).with_header("x-api-key", "k3y")
    }

    fn decide(config: &Config, request: &PlainRequest) -> Decision {
        on_request(config, &Fetched::new(), request, None)
    }

    fn let_through(decision: Decision) -> (ReplyKind, Forward) {
        match decision {
            Decision::Continue(forward) => match forward.admission {
                Admission::WouldDeny(kind) => (kind, forward),
                other => panic!("expected a would-be denial, got {other:?}"),
            },
            other => panic!("expected to continue, got {other:?}"),
        }
    }

    fn call_out(decision: Decision) -> CallOut {
        match decision {
            Decision::CallOut(call_out) => *call_out,
            other => panic!("expected a call, got {other:?}"),
        }
    }

    #[test]
    fn report_mode_lets_every_denial_before_the_call_through() {
        let config = report();
        let cases = [
            (
                PlainRequest::new("GET", "other.app", "/"),
                ReplyKind::UnknownService,
            ),
            (
                PlainRequest::new("GET", "web.app", "/"),
                ReplyKind::AuthMissing,
            ),
            (posted("/"), ReplyKind::NoMatch),
            (
                PlainRequest::default().with_header(":path", "/"),
                ReplyKind::AuthFailed,
            ),
        ];
        for (request, kind) in cases {
            assert_eq!(
                let_through(decide(&config, &request)).0,
                kind,
                "{request:?}"
            );
        }
    }

    #[test]
    fn report_mode_lets_every_backend_denial_through() {
        let config = report();
        let pending = call_out(decide(&config, &keyed("/p/1"))).pending;
        for (status, reason, kind) in [
            ("403", Some("user_key_invalid"), ReplyKind::AuthFailed),
            ("404", Some("application_not_found"), ReplyKind::AuthFailed),
            ("503", None, ReplyKind::Unavailable),
        ] {
            let headers: Vec<(&str, &str)> = reason
                .map(|reason| ("3scale-rejection-reason", reason))
                .into_iter()
                .collect();
            let decision = on_backend_answer(
                &config,
                pending.clone(),
                &answer(status, &headers),
                &[],
                None,
            );
            assert_eq!(let_through(decision).0, kind, "{status}");
        }
        let authorized =
            on_backend_answer(&config, pending.clone(), &answer("200", &[]), &[], None);
        assert!(
            matches!(&authorized, Decision::Continue(forward) if forward.admission == Admission::Authorized),
            "{authorized:?}"
        );
    }

    #[test]
    fn report_mode_reports_the_usage_of_a_request_over_its_limits_once() {
        let config = report();
        let pending = call_out(decide(&config, &keyed("/p/1"))).pending;
        let limited = answer("409", &[("3scale-rejection-reason", "limits_exceeded")]);
        let report = call_out(on_backend_answer(
            &config,
            pending.clone(),
            &limited,
            &[],
            None,
        ));
        assert_eq!(report.call.header(":method"), Some("POST"));
        assert_eq!(report.call.header(":path"), Some("/transactions.xml"));
        let body = String::from_utf8(report.call.body.clone()).unwrap();
        assert!(body.contains("service_id=42"), "{body}");
        assert!(
            body.contains("transactions%5B0%5D%5Busage%5D%5Bhits%5D=1")
                && body.contains("transactions%5B0%5D%5Busage%5D%5Bp%5D=2"),
            "{body}"
        );
        // Whatever the report's answer, the request goes on, counted once as limited.
        for status in ["202", "500"] {
            let decision = on_backend_answer(
                &config,
                report.pending.clone(),
                &answer(status, &[]),
                &[],
                None,
            );
            assert_eq!(let_through(decision).0, ReplyKind::LimitsExceeded);
        }
    }

    #[test]
    fn enforce_mode_sends_no_report() {
        let config = config_with(json!({}));
        let pending = call_out(decide(&config, &keyed("/p/1"))).pending;
        assert_eq!(pending.notes.report_if_limited, None);
        let limited = answer("409", &[("3scale-rejection-reason", "limits_exceeded")]);
        let decision = on_backend_answer(&config, pending.clone(), &limited, &[], None);
        assert!(matches!(decision, Decision::Reply(reply) if reply.status == 429));
    }

    #[test]
    fn a_service_mode_wins_over_the_top_level_one() {
        let mut config = report();
        config.services[0].mode = Some(Mode::Enforce);
        let missing = decide(&config, &PlainRequest::new("GET", "web.app", "/"));
        assert!(matches!(missing, Decision::Reply(reply) if reply.status == 403));
        let unknown = decide(&config, &PlainRequest::new("GET", "other.app", "/"));
        assert_eq!(let_through(unknown).0, ReplyKind::UnknownService);
        let mut config = config_with(json!({}));
        config.services[0].mode = Some(Mode::Report);
        let missing = decide(&config, &PlainRequest::new("GET", "web.app", "/"));
        assert_eq!(let_through(missing).0, ReplyKind::AuthMissing);
        let unknown = decide(&config, &PlainRequest::new("GET", "other.app", "/"));
        assert!(matches!(unknown, Decision::Reply(reply) if reply.status == 403));
    }

    #[test]
    fn a_request_let_through_keeps_its_credential_stripping() {
        let config = config_with(json!({"mode": "report", "strip_credentials": true}));
        let (kind, forward) = let_through(decide(&config, &posted("/")));
        assert_eq!(kind, ReplyKind::NoMatch);
        assert_eq!(forward.remove_headers, ["x-api-key"]);
    }

    fn debug_on() -> Config {
        config_with(json!({"debug_headers": true}))
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn the_right_token_gets_debug_headers_after_the_answer() {
        let config = debug_on();
        let request = keyed("/p/7").with_header("x-3scale-debug", TOKEN);
        let pending = call_out(decide(&config, &request)).pending;
        assert!(pending.forward.removes("X-3scale-Debug"));
        let decision = on_backend_answer(&config, pending.clone(), &answer("200", &[]), &[], None);
        let Decision::Continue(forward) = decision else {
            panic!("{decision:?}")
        };
        let headers = &forward.response_headers;
        assert_eq!(header(headers, "x-3scale-service-id"), Some("42"));
        assert_eq!(
            header(headers, "x-3scale-credentials"),
            Some("user_key from header x-api-key")
        );
        assert_eq!(
            header(headers, "x-3scale-matched-rules"),
            Some("GET /, GET /p/{id}")
        );
        assert_eq!(
            header(headers, "x-3scale-usage"),
            Some("usage%5Bhits%5D=1&usage%5Bp%5D=2")
        );
        assert!(!format!("{headers:?}").contains("k3y"));
    }

    #[test]
    fn local_replies_get_debug_headers_too() {
        let config = debug_on();
        let request =
            PlainRequest::new("POST", "web.app", "/").with_header("x-3scale-debug", TOKEN);
        let Decision::Reply(reply) = decide(&config, &request) else {
            panic!("expected a reply")
        };
        assert_eq!(reply.header("x-3scale-credentials"), Some("none"));
        assert_eq!(reply.header("x-3scale-service-id"), Some("42"));
        let request = posted("/").with_header("x-3scale-debug", TOKEN);
        let Decision::Reply(reply) = decide(&config, &request) else {
            panic!("expected a reply")
        };
        assert_eq!(reply.status, 404);
        assert_eq!(reply.header("x-3scale-matched-rules"), Some("none"));
    }

    #[test]
    fn report_mode_debug_headers_name_the_would_be_reply() {
        let config = config_with(json!({"debug_headers": true, "mode": "report"}));
        let request = PlainRequest::new("GET", "web.app", "/").with_header("x-3scale-debug", TOKEN);
        let (_, forward) = let_through(decide(&config, &request));
        assert_eq!(
            header(&forward.response_headers, "x-3scale-would-deny"),
            Some("auth_missing")
        );
        assert!(forward.removes("x-3scale-debug"));
    }

    #[test]
    fn a_wrong_token_gets_nothing_and_the_header_is_removed_anyway() {
        let config = debug_on();
        for wrong in ["st0ken-for-4", "st0ken-for-42 ", "ST0KEN-FOR-42", ""] {
            let request = keyed("/").with_header("x-3scale-debug", wrong);
            let pending = call_out(decide(&config, &request)).pending;
            assert!(pending.forward.removes("x-3scale-debug"), "{wrong:?}");
            assert_eq!(pending.notes.debug, None, "{wrong:?}");
            let decision =
                on_backend_answer(&config, pending.clone(), &answer("200", &[]), &[], None);
            let Decision::Continue(forward) = decision else {
                panic!("{decision:?}")
            };
            assert!(forward.response_headers.is_empty(), "{wrong:?}");
        }
    }

    #[test]
    fn debug_headers_off_leave_the_header_alone() {
        let config = config_with(json!({}));
        let request = keyed("/").with_header("x-3scale-debug", TOKEN);
        let pending = call_out(decide(&config, &request)).pending;
        assert!(!pending.forward.removes("x-3scale-debug"));
        assert_eq!(pending.notes.debug, None);
    }
}
