//! Interpreting the backend's answer to an authorization call.

use crate::header_name::is_named;
use crate::io::pairs::OwnedHeaderPairs;
use crate::model::Limits;

/// What came back from a call to the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendAnswer {
    /// The host could not dispatch the call at all.
    DispatchFailed,
    /// An answer arrived (Envoy answers 503 or 504 itself when it cannot connect
    /// or the call times out), with what its headers say.
    Received {
        /// `:status`, when present and a valid HTTP status.
        status: Option<u16>,
        /// `3scale-rejection-reason`, when present as text.
        reason: Option<String>,
        /// The `3scale-limit-*` headers.
        limits: Limits,
    },
}

impl BackendAnswer {
    /// An answer from its raw headers, read in one pass: the first `:status`
    /// and `3scale-rejection-reason` count, and the last of each limit header.
    pub fn from_headers(headers: OwnedHeaderPairs) -> Self {
        let mut status = None;
        let mut reason = None;
        let mut limits = Limits::default();
        for (name, value) in headers.pairs().iter() {
            if limits.take_header(name, value) {
                continue;
            }
            if name == b":status" {
                status.get_or_insert(parse_status(value));
            } else if is_named(name, REJECTION_REASON) {
                reason.get_or_insert_with(|| rejection_reason(value));
            }
        }
        BackendAnswer::Received {
            status: status.flatten(),
            reason: reason.flatten(),
            limits,
        }
    }
}

fn parse_status(value: &[u8]) -> Option<u16> {
    let status: u16 = std::str::from_utf8(value).ok()?.trim().parse().ok()?;
    (100..=599).contains(&status).then_some(status)
}

fn rejection_reason(value: &[u8]) -> Option<String> {
    Some(std::str::from_utf8(value).ok()?.trim().to_owned())
}

/// What an answer means for the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 200: the request may go on.
    Authorized(Limits),
    /// 409 with `limits_exceeded`.
    LimitsExceeded(Limits),
    /// Any other 4xx: credentials or service refused.
    Denied {
        /// The backend's status.
        status: u16,
        /// `3scale-rejection-reason`, when given as text.
        reason: Option<String>,
    },
    /// 3scale could not be reached or did not answer usefully.
    Unreachable(Unreachable),
}

/// Why 3scale counts as unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unreachable {
    /// The call could not be dispatched.
    #[error("the call to the 3scale backend could not be dispatched")]
    DispatchFailed,
    /// The answer had no valid `:status`.
    #[error("the 3scale backend answer has no valid :status")]
    NoStatus,
    /// A 5xx (Envoy's own 503 on connection failure, 504 on timeout, or the backend's).
    #[error("the 3scale backend answered {0}")]
    ServerError(u16),
    /// A status that is neither 200, 4xx nor 5xx.
    #[error("the 3scale backend answered an unexpected status {0}")]
    UnexpectedStatus(u16),
    /// The service's token or rules are not known yet (System has not answered).
    #[error("the service's token or mapping rules are not known yet")]
    ConfigurationUnknown,
}

const REJECTION_REASON: &str = "3scale-rejection-reason";

/// Interprets an answer.
pub fn verdict(answer: &BackendAnswer) -> Verdict {
    let (status, reason, limits) = match answer {
        BackendAnswer::DispatchFailed => return Verdict::Unreachable(Unreachable::DispatchFailed),
        BackendAnswer::Received { status: None, .. } => {
            return Verdict::Unreachable(Unreachable::NoStatus);
        }
        BackendAnswer::Received {
            status: Some(status),
            reason,
            limits,
        } => (*status, reason, *limits),
    };
    match status {
        200 => Verdict::Authorized(limits),
        409 if reason.as_deref() == Some("limits_exceeded") => Verdict::LimitsExceeded(limits),
        400..=499 => Verdict::Denied {
            status,
            reason: reason.clone(),
        },
        500..=599 => Verdict::Unreachable(Unreachable::ServerError(status)),
        other => Verdict::Unreachable(Unreachable::UnexpectedStatus(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(headers: &[(&str, &[u8])]) -> BackendAnswer {
        BackendAnswer::from_headers(OwnedHeaderPairs::of(headers))
    }

    #[test]
    fn reads_the_headers_in_one_pass() {
        let read = answer(&[
            (":status", b"200"),
            ("3Scale-Limit-Remaining", b"5"),
            (":status", b"500"),
            ("3scale-limit-remaining", b"4"),
            ("3scale-rejection-reason", b" first "),
            ("3scale-rejection-reason", b"second"),
            ("3scale-limit-max-value", b"10"),
            ("3scale-limit-reset", b"soon"),
        ]);
        let limits = Limits {
            max_value: Some(10),
            remaining: Some(4),
            reset: None,
        };
        assert_eq!(
            read,
            BackendAnswer::Received {
                status: Some(200),
                reason: Some("first".to_owned()),
                limits,
            }
        );
    }

    #[test]
    fn status_200_authorizes_with_limits() {
        let verdict = verdict(&answer(&[
            (":status", b"200"),
            ("3scale-limit-remaining", b"3"),
        ]));
        let Verdict::Authorized(limits) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(limits.remaining, Some(3));
    }

    #[test]
    fn status_409_with_limits_exceeded_is_its_own_verdict() {
        let verdict = verdict(&answer(&[
            (":status", b"409"),
            ("3scale-rejection-reason", b"limits_exceeded"),
            ("3scale-limit-reset", b"30"),
        ]));
        assert!(matches!(verdict, Verdict::LimitsExceeded(l) if l.reset == Some(30)));
    }

    #[test]
    fn other_4xx_are_denials() {
        for (status, reason) in [
            (&b"409"[..], &b"application_key_invalid"[..]),
            (b"403", b"user_key_invalid"),
            (b"404", b"application_not_found"),
            (b"400", b""),
            (b"422", b"x"),
        ] {
            let verdict = verdict(&answer(&[
                (":status", status),
                ("3scale-rejection-reason", reason),
            ]));
            assert!(matches!(verdict, Verdict::Denied { .. }), "{verdict:?}");
        }
        assert!(matches!(
            verdict(&answer(&[(":status", b"409")])),
            Verdict::Denied {
                status: 409,
                reason: None
            }
        ));
    }

    #[test]
    fn unreachable_cases() {
        let cases = [
            (answer(&[]), Unreachable::NoStatus),
            (answer(&[(":status", b"abc")]), Unreachable::NoStatus),
            (answer(&[(":status", b"\xFF")]), Unreachable::NoStatus),
            (answer(&[(":status", b"42")]), Unreachable::NoStatus),
            (
                answer(&[(":status", b"503")]),
                Unreachable::ServerError(503),
            ),
            (
                answer(&[(":status", b"504")]),
                Unreachable::ServerError(504),
            ),
            (
                answer(&[(":status", b"302")]),
                Unreachable::UnexpectedStatus(302),
            ),
            (BackendAnswer::DispatchFailed, Unreachable::DispatchFailed),
        ];
        for (answer, expected) in cases {
            assert_eq!(verdict(&answer), Verdict::Unreachable(expected));
        }
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let noise: Vec<u8> = (0..=255).collect();
        let answer = BackendAnswer::from_headers(OwnedHeaderPairs::of(&[
            (":status", &noise),
            ("3scale-rejection-reason", &noise),
            ("3scale-limit-reset", &noise),
        ]));
        assert_eq!(
            verdict(&answer),
            Verdict::Unreachable(Unreachable::NoStatus)
        );
    }
}
