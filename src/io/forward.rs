//! Changes to a request that goes upstream, and why it may go.

use std::fmt;

use super::ReplyKind;
use crate::model::Limits;
use crate::model::secret::redact_header;

/// Changes to a request that goes upstream, and what its response needs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Forward {
    /// Request headers to remove, by lowercase name.
    pub remove_headers: Vec<String>,
    /// Remove every request header whose lowercase name starts with one of these.
    pub remove_header_prefixes: Vec<String>,
    /// Request headers to set (replacing any value), applied after the removals.
    pub set_headers: Vec<(String, String)>,
    /// A new `:path`, when query parameters were removed.
    pub new_path: Option<String>,
    /// The backend's limits, for `RateLimit-*` headers on the upstream response.
    pub limits: Option<Limits>,
    /// Why the request may go on (what the metrics count it as).
    pub admission: Admission,
    /// Headers to add to the upstream's response (`debug_headers`).
    pub response_headers: Vec<(String, String)>,
}

/// Why a request goes upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Admission {
    /// 3scale authorized it. The default, because a `Forward` is built before the
    /// call and applied as it is once 3scale says yes.
    #[default]
    Authorized,
    /// `passthrough_metadata`: handed to a later filter without asking 3scale.
    Passthrough,
    /// 3scale could not be reached and `failure_policy: allow` let it through.
    FailurePolicy,
    /// `mode: report`: the request would have had this reply, and goes on.
    WouldDeny(ReplyKind),
}

impl Forward {
    /// Whether a request header of this name is to be removed.
    pub fn removes(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        self.remove_headers.contains(&lower)
            || self
                .remove_header_prefixes
                .iter()
                .any(|prefix| lower.starts_with(prefix.as_str()))
    }

    /// Applies the header changes and the new path to a plain header list
    /// (what the filter does through host calls, for tests and native tools).
    pub fn apply(&self, headers: &mut Vec<(String, Vec<u8>)>) {
        headers.retain(|(name, _)| !self.removes(name));
        let new_path = self.new_path.iter().map(|path| (":path", path.as_str()));
        let set = self
            .set_headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()));
        for (name, value) in set.chain(new_path) {
            match headers.iter_mut().find(|(key, _)| key == name) {
                Some((_, old)) => *old = value.as_bytes().to_vec(),
                None => headers.push((name.to_owned(), value.as_bytes().to_vec())),
            }
        }
    }
}

/// Header values the filter sets may be secrets (`passthrough_metadata`): printed
/// redacted.
impl fmt::Debug for Forward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set: Vec<(&str, String)> = self
            .set_headers
            .iter()
            .map(|(name, value)| (name.as_str(), redact_header(name, value)))
            .collect();
        f.debug_struct("Forward")
            .field("remove_headers", &self.remove_headers)
            .field("remove_header_prefixes", &self.remove_header_prefixes)
            .field("set_headers", &set)
            .field("new_path", &self.new_path)
            .field("limits", &self.limits)
            .field("admission", &self.admission)
            .field("response_headers", &self.response_headers)
            .finish()
    }
}

/// How a header the filter adds to the upstream's response is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderWrite {
    /// In place of any header of that name the upstream sent (`RateLimit-*`:
    /// only the filter's figures make sense to the client).
    Replace,
    /// After any the upstream sent (`Powered-By`: the upstream's own stays;
    /// Envoy also does less for an added header than for a replaced one,
    /// which it first looks for and removes).
    Append,
}
