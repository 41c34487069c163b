//! Host calls the shell needs, with host errors logged instead of panicking, and the
//! core's [`Host`] over them.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::time::Duration;

use super::abi::{self, BufferType, HeaderMap};
use super::metrics::Metrics;
use crate::cache::Store;
use crate::io::pairs::{self, OwnedHeaderPairs};
use crate::io::{Forward, HeaderWrite, HttpCall, LocalReply};
use crate::metrics::Metric;
use crate::plugin::{DispatchRefused, Host};
use crate::request::RequestView;

/// The core's view of the host: Proxy-Wasm calls, and the VM's metric ids.
pub struct ProxyHost<'a> {
    /// The metric ids of this VM.
    pub metrics: &'a Metrics,
}

impl Host for ProxyHost<'_> {
    fn now(&self) -> Duration {
        now()
    }

    fn store(&self) -> &dyn Store {
        store()
    }

    fn dispatch(&mut self, call: &HttpCall) -> Result<u32, DispatchRefused> {
        dispatch(call).map_err(|()| DispatchRefused)
    }

    fn call_response_headers(&mut self) -> OwnedHeaderPairs {
        call_response_headers()
    }

    fn call_response_body(&mut self, max: usize) -> Vec<u8> {
        call_response_body(max)
    }

    fn count(&mut self, metric: Metric, by: u64) {
        if !cfg!(feature = "ablate-metrics") {
            self.metrics.add(metric, by);
        }
    }

    fn record(&mut self, metric: Metric, value: u64) {
        if !cfg!(feature = "ablate-metrics") {
            self.metrics.record(metric, value);
        }
    }
}

/// The cache's store: the host's shared data.
#[cfg(not(feature = "ablate-shared-data"))]
fn store() -> &'static dyn Store {
    &super::shared::SharedData
}

/// The cache's store: a stand-in in the VM's memory (bench only).
#[cfg(feature = "ablate-shared-data")]
fn store() -> &'static dyn Store {
    super::ablation::local_store()
}

/// The current request, read through host calls as raw bytes (the string getters
/// of the SDK panic on values that are not UTF-8).
#[derive(Default)]
pub struct HostRequest {
    /// Every request header as the host serialized them, read in one host call
    /// at the first look-up (a hit reads three headers, and each host call that
    /// returns data costs the host a call into the VM to allocate it), its
    /// layout checked then; `None` if the host's bytes are not a header map.
    headers: OnceCell<Option<OwnedHeaderPairs>>,
}

impl RequestView for HostRequest {
    fn header(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        let headers = self
            .headers
            .get_or_init(|| OwnedHeaderPairs::new(request_headers()));
        headers.as_ref()?.pairs().get(name).map(Cow::Borrowed)
    }

    fn metadata(&self) -> Option<Cow<'_, [u8]>> {
        abi::property(&["metadata"]).ok().flatten().map(Cow::Owned)
    }
}

/// The request's headers, serialized, made up (bench only).
#[cfg(feature = "ablate-headers")]
fn request_headers() -> Vec<u8> {
    super::ablation::headers()
}

/// The request's headers, serialized, asked of the host.
#[cfg(not(feature = "ablate-headers"))]
fn request_headers() -> Vec<u8> {
    abi::header_map_pairs(HeaderMap::Request).unwrap_or_default()
}

/// Applies the request changes: removals first, then new values and `:path`.
pub fn forward(forward: &Forward) {
    for name in &forward.remove_headers {
        remove_request_header(name);
    }
    if !forward.remove_header_prefixes.is_empty() {
        let present = OwnedHeaderPairs::new(request_headers()).unwrap_or_default();
        let pairs = present.pairs();
        let names = pairs.iter().map(|(name, _)| name);
        for name in names.filter_map(|name| std::str::from_utf8(name).ok()) {
            if forward.removes(name) {
                remove_request_header(name);
            }
        }
    }
    let path = forward.new_path.iter().map(|path| (":path", path.as_str()));
    let set = forward
        .set_headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    for (name, value) in set.chain(path) {
        if let Err(status) = abi::replace_header(HeaderMap::Request, name, value) {
            log::warn!("could not set request header `{name}`: {status:?}");
        }
    }
}

fn remove_request_header(name: &str) {
    if let Err(status) = abi::remove_header(HeaderMap::Request, name) {
        log::warn!("could not remove request header `{name}`: {status:?}");
    }
}

/// Sends a local reply.
pub fn reply(reply: &LocalReply) {
    let headers = pairs::serialize(&reply.headers);
    if let Err(status) = abi::send_local_response(u32::from(reply.status), &headers, &reply.body) {
        log::error!(
            "could not send the local reply {}: {status:?}",
            reply.status
        );
    }
}

/// Dispatches a call and returns its token; `Err` when the host refuses it (e.g. an
/// unknown cluster).
pub fn dispatch(call: &HttpCall) -> Result<u32, ()> {
    let headers = call
        .headers
        .iter()
        .map(|(name, value)| (name.as_bytes(), value.as_bytes()));
    let timeout_ms = u32::try_from(call.timeout_ms).unwrap_or(u32::MAX);
    match abi::http_call(
        &call.cluster,
        &pairs::serialize_each(headers),
        &call.body,
        timeout_ms,
    ) {
        Ok(token) => {
            super::exports::register_call(token);
            Ok(token)
        }
        Err(status) => {
            log::warn!(
                "could not dispatch a call to cluster `{}`: {status:?}",
                call.cluster
            );
            Err(())
        }
    }
}

/// The headers of the answer to the call being handled.
pub fn call_response_headers() -> OwnedHeaderPairs {
    OwnedHeaderPairs::new(abi::header_map_pairs(HeaderMap::CallResponse).unwrap_or_default())
        .unwrap_or_default()
}

/// The body of the answer to the call being handled.
pub fn call_response_body(size: usize) -> Vec<u8> {
    abi::buffer(BufferType::CallResponseBody, size).unwrap_or_default()
}

/// The time since the Unix epoch, by the host's clock (0 if it has none).
#[cfg(not(feature = "ablate-clock"))]
pub fn now() -> Duration {
    host_now()
}

#[cfg(feature = "ablate-clock")]
pub use super::ablation::now;

/// The host's clock, read now.
pub(super) fn host_now() -> Duration {
    abi::current_time_nanos()
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// Lets a paused request go on.
pub fn resume_request() {
    if let Err(status) = abi::resume_request() {
        log::warn!("could not resume the request: {status:?}");
    }
}

/// Adds a header to the upstream response, in place of the upstream's or after it.
pub fn add_response_header(name: &str, value: &str, write: HeaderWrite) {
    let written = match write {
        HeaderWrite::Replace => abi::replace_header(HeaderMap::Response, name, value),
        HeaderWrite::Append => abi::add_header(HeaderMap::Response, name, value),
    };
    if let Err(status) = written {
        log::warn!("could not add response header `{name}`: {status:?}");
    }
}
