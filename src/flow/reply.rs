//! The filter's own replies, with the operator's `errors` overrides applied.

use crate::config::{Config, ErrorReplies, ReplyOverride};
use crate::io::{LocalReply, ReplyKind};
use crate::model::Limits;

/// The operator's override of a reply kind, if `errors` has one.
fn configured(kind: ReplyKind, errors: &ErrorReplies) -> Option<&ReplyOverride> {
    match kind {
        ReplyKind::UnknownService => errors.unknown_service.as_ref(),
        ReplyKind::AuthMissing => errors.auth_missing.as_ref(),
        ReplyKind::AuthFailed => errors.auth_failed.as_ref(),
        ReplyKind::NoMatch => errors.no_match.as_ref(),
        ReplyKind::LimitsExceeded => errors.limits_exceeded.as_ref(),
        ReplyKind::Unavailable => errors.unavailable.as_ref(),
    }
}

const PLAIN_TEXT: &str = "text/plain; charset=utf-8";

/// The `Powered-By` header (name, value), added unless `powered_by: false`.
pub const POWERED_BY: (&str, &str) = ("powered-by", "3scale");

/// The `Powered-By` header, unless `powered_by: false`.
fn powered_by(config: &Config) -> Option<(String, String)> {
    config
        .powered_by
        .then(|| (POWERED_BY.0.to_owned(), POWERED_BY.1.to_owned()))
}

/// Builds a local reply: the default, then the kind's override, plus
/// `Powered-By` and, for 429 with `rate_limit_headers`, the limit headers.
pub fn local_reply(config: &Config, kind: ReplyKind, limits: Option<&Limits>) -> LocalReply {
    let configured = configured(kind, &config.errors);
    let status = configured
        .and_then(|o| o.status)
        .unwrap_or_else(|| kind.default_status());
    let body = match configured.and_then(|o| o.body.as_deref()) {
        // A configured body is sent exactly as written.
        Some(body) => body.as_bytes().to_vec(),
        None => format!("{}\n", kind.default_text()).into_bytes(),
    };
    let content_type = configured
        .and_then(|o| o.content_type.clone())
        .unwrap_or_else(|| PLAIN_TEXT.to_owned());
    let mut headers = vec![("content-type".to_owned(), content_type)];
    if let (ReplyKind::LimitsExceeded, true, Some(limits)) =
        (kind, config.rate_limit_headers, limits)
    {
        headers.extend(limits.rate_limit_headers());
        headers.extend(limits.retry_after());
    }
    headers.extend(powered_by(config));
    for (name, value) in configured.iter().flat_map(|o| o.headers.iter()) {
        set_header(&mut headers, name, value);
    }
    LocalReply {
        status,
        headers,
        body,
        kind,
    }
}

/// Sets a header, replacing any of the same (case-insensitive) name.
fn set_header(headers: &mut Vec<(String, String)>, name: &str, value: &str) {
    let lower = name.to_ascii_lowercase();
    match headers.iter_mut().find(|(key, _)| *key == lower) {
        Some((_, old)) => *old = value.to_owned(),
        None => headers.push((lower, value.to_owned())),
    }
}

/// The reply when the filter has no valid configuration (the host should have
/// refused it; this keeps the filter closed rather than open).
pub fn unconfigured() -> LocalReply {
    LocalReply {
        status: 503,
        headers: vec![
            ("content-type".to_owned(), PLAIN_TEXT.to_owned()),
            (POWERED_BY.0.to_owned(), POWERED_BY.1.to_owned()),
        ],
        body: format!("{}\n", ReplyKind::Unavailable.default_text()).into_bytes(),
        kind: ReplyKind::Unavailable,
    }
}
