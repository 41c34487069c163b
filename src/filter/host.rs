//! Host calls the shell needs, with host errors logged instead of panicking, and the
//! core's [`Host`] over them.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};

use super::metrics::Metrics;
use crate::cache::Store;
use crate::io::pairs::OwnedHeaderPairs;
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
        hostcalls::get_property(vec!["metadata"])
            .ok()
            .flatten()
            .map(Cow::Owned)
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
    super::raw::header_map_pairs(MapType::HttpRequestHeaders)
}

/// Applies the request changes: removals first, then new values and `:path`.
pub fn forward(forward: &Forward) {
    for name in &forward.remove_headers {
        remove_request_header(name);
    }
    if !forward.remove_header_prefixes.is_empty() {
        let present = hostcalls::get_map_bytes(MapType::HttpRequestHeaders).unwrap_or_default();
        for (name, _) in present.iter().filter(|(name, _)| forward.removes(name)) {
            remove_request_header(name);
        }
    }
    let path = forward.new_path.iter().map(|path| (":path", path.as_str()));
    let set = forward
        .set_headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    for (name, value) in set.chain(path) {
        if let Err(status) =
            hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value))
        {
            log::warn!("could not set request header `{name}`: {status:?}");
        }
    }
}

fn remove_request_header(name: &str) {
    if let Err(status) = hostcalls::remove_map_value(MapType::HttpRequestHeaders, name) {
        log::warn!("could not remove request header `{name}`: {status:?}");
    }
}

/// Sends a local reply.
pub fn reply(reply: &LocalReply) {
    let headers: Vec<(&str, &str)> = reply
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    if let Err(status) =
        hostcalls::send_http_response(u32::from(reply.status), headers, Some(&reply.body))
    {
        log::error!(
            "could not send the local reply {}: {status:?}",
            reply.status
        );
    }
}

/// Dispatches a call and returns its token; `Err` when the host refuses it (e.g. an
/// unknown cluster).
pub fn dispatch(call: &HttpCall) -> Result<u32, ()> {
    let headers: Vec<(&str, &str)> = call
        .headers
        .iter()
        .map(|(name, value)| (*name, value.as_ref()))
        .collect();
    let body = (!call.body.is_empty()).then_some(call.body.as_slice());
    let timeout = Duration::from_millis(call.timeout_ms);
    hostcalls::dispatch_http_call(&call.cluster, headers, body, Vec::new(), timeout).map_err(
        |status| {
            log::warn!(
                "could not dispatch a call to cluster `{}`: {status:?}",
                call.cluster
            );
        },
    )
}

/// The headers of the answer to the call being handled.
pub fn call_response_headers() -> OwnedHeaderPairs {
    OwnedHeaderPairs::new(super::raw::header_map_pairs(
        MapType::HttpCallResponseHeaders,
    ))
    .unwrap_or_default()
}

/// The body of the answer to the call being handled.
pub fn call_response_body(size: usize) -> Vec<u8> {
    hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, size)
        .ok()
        .flatten()
        .unwrap_or_default()
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
    hostcalls::get_current_time()
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default()
}

/// Lets a paused request go on.
pub fn resume_request() {
    if let Err(status) = hostcalls::resume_http_request() {
        log::warn!("could not resume the request: {status:?}");
    }
}

/// Adds a header to the upstream response, in place of the upstream's or after it.
pub fn add_response_header(name: &str, value: &str, write: HeaderWrite) {
    let written = match write {
        HeaderWrite::Replace => {
            hostcalls::set_map_value(MapType::HttpResponseHeaders, name, Some(value))
        }
        HeaderWrite::Append => hostcalls::add_map_value(MapType::HttpResponseHeaders, name, value),
    };
    if let Err(status) = written {
        log::warn!("could not add response header `{name}`: {status:?}");
    }
}
