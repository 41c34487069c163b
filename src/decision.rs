//! What the core tells the filter to do with a request: data, never host calls.

use crate::backend::Limits;
use crate::flow::ReplyKind;
use crate::lookup::{Credential, Origin};
use crate::mapping::Usages;

/// The outcome of one step of the request flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Let the request go upstream, after these changes.
    Continue(Forward),
    /// Answer the client directly; the request never reaches the upstream.
    Reply(LocalReply),
    /// Ask 3scale first; pause the request until the answer arrives.
    CallOut(CallOut),
}

/// Changes to a request that goes upstream, and what its response needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// An HTTP call to an Envoy cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// Envoy cluster name.
    pub cluster: String,
    /// Request headers, pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`) first.
    pub headers: Vec<(String, String)>,
    /// Request body (empty for `GET`).
    pub body: Vec<u8>,
    /// Milliseconds before the call counts as failed.
    pub timeout_ms: u64,
}

impl HttpCall {
    /// The value of a call header, by exact name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A call to 3scale, and what the answer step needs to finish the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOut {
    /// The call to make.
    pub call: HttpCall,
    /// Kept by the filter until the answer arrives.
    pub pending: Pending,
}

/// The state of a request paused on a call to 3scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Position of the selected service in `services`.
    pub service_index: usize,
    /// The usages the call reported.
    pub usages: Usages,
    /// Where the credentials were read from.
    pub origins: Vec<Origin>,
    /// The changes to apply when the request may continue.
    pub forward: Forward,
    /// With the cache: the credential, to store the answer under.
    pub credential: Option<Credential>,
    /// With the cache: the ticket of this authrep's flight (its usage counts
    /// for hits until the answer is merged).
    pub ticket: Option<u64>,
}
