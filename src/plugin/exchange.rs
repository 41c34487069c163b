//! One request's state between hooks, kept by the shell and read only by the core.

use std::time::Duration;

use crate::flow::Pending;
use crate::model::Limits;

/// What the core remembers of a request from one hook to the next.
#[derive(Debug, Default)]
pub struct Exchange {
    /// Set while the request waits for 3scale.
    pub(super) pending: Option<Pending>,
    /// When its call to 3scale was sent, by the host clock.
    pub(super) sent_at: Option<Duration>,
    /// The limits 3scale (or the cache) reported, for the response's headers.
    pub(super) limits: Option<Limits>,
    /// The filter answered the request itself.
    pub(super) replied: bool,
}

impl Exchange {
    /// Whether the request waits for 3scale's answer.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }
}
