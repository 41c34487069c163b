//! What the flow decides for a request: data, never host calls.

use crate::io::{Forward, HttpCall, LocalReply};
use crate::model::{Credential, Origin, Usages};

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
