//! A reply the filter sends itself, and its kinds.

/// A response the filter sends itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    /// HTTP status.
    pub status: u16,
    /// Response headers (lowercase names), `content-type` first.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
    /// Which of the filter's replies this is (what the metrics count it as).
    pub kind: ReplyKind,
}

impl LocalReply {
    /// The value of a reply header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// The kinds of local reply (the keys of `errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// No service matches the authority.
    UnknownService,
    /// No credentials found.
    AuthMissing,
    /// 3scale refused the credentials, or the request cannot be authenticated.
    AuthFailed,
    /// No mapping rule matched.
    NoMatch,
    /// Usage limits exceeded.
    LimitsExceeded,
    /// 3scale unreachable under `failure_policy: deny`.
    Unavailable,
}

impl ReplyKind {
    /// The status of the default reply.
    pub fn default_status(self) -> u16 {
        match self {
            ReplyKind::UnknownService | ReplyKind::AuthMissing | ReplyKind::AuthFailed => 403,
            ReplyKind::NoMatch => 404,
            ReplyKind::LimitsExceeded => 429,
            ReplyKind::Unavailable => 503,
        }
    }

    /// The body text of the default reply (without its newline).
    pub fn default_text(self) -> &'static str {
        match self {
            ReplyKind::UnknownService => "Unknown service",
            ReplyKind::AuthMissing => "Authentication parameters missing",
            ReplyKind::AuthFailed => "Authentication failed",
            ReplyKind::NoMatch => "No Mapping Rule matched",
            ReplyKind::LimitsExceeded => "Usage limit exceeded",
            ReplyKind::Unavailable => "Service Unavailable",
        }
    }
}
