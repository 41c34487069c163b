//! The request flow of docs/behaviour.md §3 as pure decisions: one path, with the
//! cache (§9, README "Cache") as an option of it.
//!
//! [`on_request`] looks at a request and decides; [`on_backend_answer`] finishes
//! a request that waited for 3scale; [`on_response_headers`] gives the headers
//! added to the upstream's response. None of them touches the host.

mod cached;
pub mod decision;
mod passthrough;
pub mod reply;
mod report;
mod strip;
pub mod target;
#[cfg(test)]
pub(crate) mod tests;

use log::{debug, warn};

use crate::backend::{self, BackendAnswer, Transaction, Unreachable, Verdict};
use crate::cache::CacheAccess;
use crate::config::{Config, FailurePolicy, Service};
use crate::fetched::Fetched;
use crate::io::{Admission, Forward, HeaderWrite, LocalReply, ReplyKind, query};
use crate::lookup::{self, ResolvedCredentials};
use crate::mapping;
use crate::model::{Credential, Limits, Secret, Usages};
use crate::path;
use crate::request::RequestView;

pub use cached::abandon_pending;
pub use decision::{CallOut, Decision, Pending};
pub use reply::local_reply;
use report::Notes;
pub use target::Target;

/// Decides what to do with a request from its headers (steps 1 to 6, in order);
/// with the cache, a fresh entry decides without calling 3scale, and otherwise the
/// call's answer will fill it.
pub fn on_request(
    config: &Config,
    fetched: &Fetched,
    request: &dyn RequestView,
    cache: Option<&mut CacheAccess<'_>>,
) -> Decision {
    let mut notes = Notes::default();
    let decision = decide(config, fetched, request, cache, &mut notes)
        .unwrap_or_else(|kind| local_reply(config, kind, None).into());
    report::finish(config, notes, decision)
}

/// Finishes a request paused on a call to 3scale, from the call's answer and, when
/// the answer is to fill the cache, its body (`<status>`). The request's pending
/// state is taken: its changes and notes become the decision's.
pub fn on_backend_answer(
    config: &Config,
    pending: Pending,
    answer: &BackendAnswer,
    body: &[u8],
    cache: Option<&mut CacheAccess<'_>>,
) -> Decision {
    if let Some(kind) = pending.notes.reporting {
        return report::after_report(config, pending, kind);
    }
    let learned = cache.and_then(|cache| cached::learn(config, &pending, answer, body, cache));
    let Pending {
        service_index,
        forward,
        notes,
        ..
    } = pending;
    let decision = match learned {
        Some(decision) => decision,
        None => settle(config, service_index, forward, answer),
    };
    report::finish(config, notes, decision)
}

/// The decision 3scale's answer makes for a request paused with these changes.
fn settle(
    config: &Config,
    service_index: usize,
    forward: Forward,
    answer: &BackendAnswer,
) -> Decision {
    let service_id = config
        .services
        .get(service_index)
        .map_or("?", |service| service.id.as_str());
    match backend::verdict(answer) {
        Verdict::Authorized(limits) => {
            debug!("service {service_id}: 3scale authorized the request");
            Decision::Continue(Forward {
                limits: Some(limits),
                admission: Admission::Authorized,
                ..forward
            })
        }
        Verdict::LimitsExceeded(limits) => {
            debug!("service {service_id}: 3scale denied the request: limits_exceeded");
            local_reply(config, ReplyKind::LimitsExceeded, Some(&limits)).into()
        }
        Verdict::Denied { status, reason } => {
            debug!(
                "service {service_id}: 3scale denied the request with {status} ({})",
                reason.as_deref().unwrap_or("no reason given")
            );
            local_reply(config, ReplyKind::AuthFailed, None).into()
        }
        Verdict::Unreachable(why) => unreachable(config, service_id, why, forward),
    }
}

/// The headers to add to an upstream response, each handed to `add` with how
/// it is written: with `rate_limit_headers`, the `RateLimit-*` headers of the
/// backend's last answer (replacing the upstream's), then `Powered-By`
/// (appended). Handed over rather than collected, so that the usual case
/// (`Powered-By` alone) allocates nothing.
pub fn on_response_headers(
    config: &Config,
    limits: Option<&Limits>,
    add: &mut dyn FnMut(&str, &str, HeaderWrite),
) {
    if let (true, Some(limits)) = (config.rate_limit_headers, limits) {
        for (name, value) in limits.rate_limit_headers() {
            add(&name, &value, HeaderWrite::Replace);
        }
    }
    if config.powered_by {
        add(
            reply::POWERED_BY.0,
            reply::POWERED_BY.1,
            HeaderWrite::Append,
        );
    }
}

impl From<LocalReply> for Decision {
    fn from(reply: LocalReply) -> Self {
        Decision::Reply(reply)
    }
}

fn decide(
    config: &Config,
    fetched: &Fetched,
    request: &dyn RequestView,
    cache: Option<&mut CacheAccess<'_>>,
    notes: &mut Notes,
) -> Result<Decision, ReplyKind> {
    let Some(target) = Target::of(request) else {
        debug!("request without a readable authority or path");
        return Err(ReplyKind::AuthFailed);
    };
    let Some((index, service)) = config.select_service(&target.authority) else {
        debug!("no service matches authority `{}`", target.authority);
        return Err(ReplyKind::UnknownService);
    };
    let token = fetched.effective_token(index, service);
    notes.service(config, index, service, token, request);
    let Some(resolved) = lookup::resolve(&service.credentials, request) else {
        debug!("service {}: no credentials found", service.id);
        return Err(ReplyKind::AuthMissing);
    };
    notes.credential(&resolved);
    let forward = if config.strip_credentials {
        strip::strip(&resolved.origins, &target.path)
    } else {
        Forward::default()
    };
    notes.keep_forward(config, service, &forward);
    let fetched_service = fetched.service(index);
    let rules_known = !service.mapping_rules.is_empty() || fetched_service.is_some();
    let Some(token) = token.filter(|_| rules_known) else {
        let why = Unreachable::ConfigurationUnknown;
        return Ok(unreachable(config, &service.id, why, forward));
    };
    let fetched_rules = fetched_service.map(|f| &f.rules);
    // Rules see the path's normal form; the path sent upstream stays as it was.
    let matched_path = path::normalize(&target.path);
    let usages = mapping::match_indexed(
        &service.mapping_rules,
        fetched_rules,
        &target.method,
        &matched_path,
    );
    let all_rules = service
        .mapping_rules
        .iter()
        .chain(fetched_rules.into_iter().flat_map(|rules| rules.iter()));
    notes.rules(all_rules, &target.method, &matched_path, &usages);
    if usages.0.is_empty() {
        // The path only: its query may hold credentials.
        debug!(
            "service {}: no mapping rule matches {} {}",
            service.id,
            target.method,
            query::split(&matched_path).path
        );
        return Err(ReplyKind::NoMatch);
    }
    if config.passthrough_metadata {
        let headers = passthrough::headers(config, service, token, &resolved.credential, &usages)
            .ok_or(ReplyKind::AuthFailed)?;
        return Ok(Decision::Continue(passthrough::forward(forward, headers)));
    }
    if cache.is_none() {
        notes.report_if_limited =
            report::prepare_report(config, service, token, &resolved, &usages);
    }
    let call = Call {
        service_index: index,
        service,
        token,
        resolved,
        usages,
        forward,
    };
    Ok(match cache {
        Some(cache) => cached::decide(config, cache, call),
        None => call_out(config, call, false),
    })
}

/// A request that needs 3scale's authorization, with what the call needs.
struct Call<'a> {
    service_index: usize,
    service: &'a Service,
    token: &'a Secret,
    resolved: ResolvedCredentials,
    usages: Usages,
    forward: Forward,
}

/// The authrep call for a request; `cached` asks for the body that fills the cache.
fn call_out(config: &Config, request: Call<'_>, cached: bool) -> Decision {
    let Call {
        service_index,
        service,
        token,
        resolved,
        usages,
        forward,
    } = request;
    let transaction = Transaction {
        service_id: &service.id,
        service_token: token,
        credential: &resolved.credential,
        usages: &usages,
    };
    // With the cache, the answer's body (usage reports, hierarchy) fills it.
    let (call, credential) = if cached {
        let call = backend::authrep_with_reports(&config.backend, &transaction);
        (call, Some(resolved.credential.clone()))
    } else {
        (backend::authrep(&config.backend, &transaction), None)
    };
    if log::log_enabled!(log::Level::Debug) {
        debug!(
            "service {}: authrep to cluster `{}` for {} with usages {:?}",
            service.id,
            call.cluster,
            describe(&resolved.credential),
            usages.0
        );
    }
    Decision::CallOut(Box::new(CallOut {
        call,
        pending: Pending {
            service_index,
            usages,
            origins: resolved.origins,
            forward,
            credential,
            ticket: None,
            notes: Notes::default(),
        },
    }))
}

/// A credential for debug logs: app ids as they are, keys redacted.
fn describe(credential: &Credential) -> String {
    match credential {
        Credential::UserKey(key) => format!("user_key {key}"),
        Credential::AppId { app_id, app_key } => match app_key {
            Some(key) => format!("app_id {app_id} app_key {key}"),
            None => format!("app_id {app_id}"),
        },
    }
}

/// 3scale cannot be reached: the failure policy decides.
fn unreachable(config: &Config, service_id: &str, why: Unreachable, forward: Forward) -> Decision {
    match config.failure_policy {
        FailurePolicy::Deny => {
            warn!("service {service_id}: {why}; denying the request (failure_policy: deny)");
            local_reply(config, ReplyKind::Unavailable, None).into()
        }
        FailurePolicy::Allow => {
            warn!(
                "service {service_id}: {why}; letting the request through (failure_policy: allow)"
            );
            Decision::Continue(Forward {
                admission: Admission::FailurePolicy,
                ..forward
            })
        }
    }
}
