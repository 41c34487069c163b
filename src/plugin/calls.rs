//! The registry of the calls the plugin sent itself (System fetches, cache reports),
//! by the token the host gave each: the one place an answer is matched to its call.

use std::collections::HashMap;

use crate::cache::Record;

/// What a call the plugin sent was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCall {
    /// A System fetch of the service at this position in `services`.
    Fetch {
        /// The service's position.
        service: usize,
    },
    /// A cache report carrying these records (queued again if it fails).
    Report {
        /// The usage the report carries.
        records: Vec<Record>,
    },
}

/// Calls in flight, by host token.
#[derive(Debug, Default)]
pub struct Calls {
    by_token: HashMap<u32, RootCall>,
}

impl Calls {
    /// Remembers a call the host accepted under `token`.
    pub fn insert(&mut self, token: u32, call: RootCall) {
        self.by_token.insert(token, call);
    }

    /// The call `token` answers, forgotten from now on.
    pub fn take(&mut self, token: u32) -> Option<RootCall> {
        self.by_token.remove(&token)
    }
}
