//! What the core needs of the host, as a trait: the filter implements it over
//! Proxy-Wasm calls, tests with plain data.

use std::time::Duration;

use crate::cache::Store;
use crate::io::HttpCall;
use crate::io::pairs::OwnedHeaderPairs;
use crate::metrics::Metric;

/// The host refused to send a call (an unknown cluster, for instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchRefused;

/// The host, as the core sees it.
pub trait Host {
    /// Now, by the host's clock (time since the Unix epoch).
    fn now(&self) -> Duration;
    /// The data shared by every VM of the plugin (the cache's store).
    fn store(&self) -> &dyn Store;
    /// Sends a call; the token its answer will come back with.
    fn dispatch(&mut self, call: &HttpCall) -> Result<u32, DispatchRefused>;
    /// The headers of the call answer being handled.
    fn call_response_headers(&mut self) -> OwnedHeaderPairs;
    /// Up to `max` bytes of the body of the call answer being handled.
    fn call_response_body(&mut self, max: usize) -> Vec<u8>;
    /// Adds to a counter.
    fn count(&mut self, metric: Metric, by: u64);
    /// Records a value in a histogram.
    fn record(&mut self, metric: Metric, value: u64);
}
