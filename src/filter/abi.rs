//! The Proxy-Wasm ABI (0.2.1) calls the shell makes into the host, each wrapped
//! in a safe function that returns the host's status as an error.
//!
//! Our own rather than the Proxy-Wasm SDK's: the SDK keeps a filter's contexts as
//! trait objects, so every default method of its traits (gRPC, queues, body and
//! trailer accessors: 180 functions, none of which the filter calls) stays in the
//! module and V8 compiles them at every load (README "The benchmark", "Hooks,
//! ninth pass"), and its wrappers panic on statuses they do not expect.
//!
//! A value the host returns is written into memory it asks the module for
//! (`proxy_on_memory_allocate`, in `exports.rs`): a boxed slice of exactly the
//! size asked, which the wrappers here take back as a `Vec` of that capacity.
// The only unsafe code of the crate, with the exports: the host's imports, called
// with pointers to live buffers and their lengths.
#![allow(unsafe_code)]

use std::ptr::{null, null_mut};

/// A Proxy-Wasm status the host returned instead of `Ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u32);

impl Status {
    /// `NotFound`: no such value.
    pub const NOT_FOUND: Status = Status(1);
    /// `CasMismatch`: shared data changed since it was read.
    #[cfg(not(feature = "ablate-shared-data"))]
    pub const CAS_MISMATCH: Status = Status(8);
}

/// The header maps the filter reads or writes.
#[derive(Debug, Clone, Copy)]
#[repr(u32)]
pub enum HeaderMap {
    Request = 0,
    Response = 2,
    CallResponse = 6,
}

/// The buffers the filter reads.
#[derive(Debug, Clone, Copy)]
#[repr(u32)]
pub enum BufferType {
    CallResponseBody = 4,
    PluginConfiguration = 7,
}

/// The kinds of metrics the filter defines.
#[derive(Debug, Clone, Copy)]
#[repr(u32)]
pub enum MetricType {
    Counter = 0,
    Histogram = 2,
}

/// What a header hook tells the host: go on, or hold the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Action {
    Continue = 0,
    Pause = 1,
}

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_log_level(return_level: *mut u32) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_buffer_data: *mut *mut u8,
        return_buffer_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_add_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    #[cfg(not(feature = "ablate-shared-data"))]
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    #[cfg(not(feature = "ablate-shared-data"))]
    fn proxy_set_shared_data(
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    fn proxy_continue_stream(stream_type: u32) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        status_code_details_data: *const u8,
        status_code_details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_http_call(
        upstream_data: *const u8,
        upstream_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        body_data: *const u8,
        body_size: usize,
        trailers_data: *const u8,
        trailers_size: usize,
        timeout: u32,
        return_token: *mut u32,
    ) -> u32;
    fn proxy_set_effective_context(context_id: u32) -> u32;
    fn proxy_done() -> u32;
    fn proxy_define_metric(
        metric_type: u32,
        name_data: *const u8,
        name_size: usize,
        return_id: *mut u32,
    ) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
}

/// `Ok(())` for the host's `Ok` (0), the status otherwise.
fn checked(status: u32) -> Result<(), Status> {
    match status {
        0 => Ok(()),
        other => Err(Status(other)),
    }
}

/// Takes back a buffer the host filled through `proxy_on_memory_allocate`:
/// `None` when the host returned none.
fn returned(data: *mut u8, size: usize) -> Option<Vec<u8>> {
    if data.is_null() {
        return None;
    }
    // SAFETY: a non-null pointer the host returns is one `proxy_on_memory_allocate`
    // gave it for exactly `size` bytes (a boxed slice of u8, which is the layout of
    // a `Vec<u8>` of that capacity), filled by the host and not used by it after.
    Some(unsafe { Vec::from_raw_parts(data, size, size) })
}

/// Logs `message` at `level` (0 trace to 5 critical).
pub fn log(level: u32, message: &str) -> Result<(), Status> {
    // SAFETY: the pointer and length describe `message`, alive for the call.
    checked(unsafe { proxy_log(level, message.as_ptr(), message.len()) })
}

/// The host's log level (0 trace to 5 critical).
pub fn log_level() -> Result<u32, Status> {
    let mut level = 0;
    // SAFETY: the host writes one u32 into `level`.
    checked(unsafe { proxy_get_log_level(&mut level) })?;
    Ok(level)
}

/// The host's clock, in nanoseconds since the Unix epoch.
pub fn current_time_nanos() -> Result<u64, Status> {
    let mut time = 0;
    // SAFETY: the host writes one u64 into `time`.
    checked(unsafe { proxy_get_current_time_nanoseconds(&mut time) })?;
    Ok(time)
}

/// Asks the host to call `proxy_on_tick` every `period_ms` milliseconds.
pub fn set_tick_period(period_ms: u32) -> Result<(), Status> {
    // SAFETY: no pointers.
    checked(unsafe { proxy_set_tick_period_milliseconds(period_ms) })
}

/// Up to `max` bytes of a buffer (empty when the host has none).
pub fn buffer(buffer: BufferType, max: usize) -> Result<Vec<u8>, Status> {
    let mut data = null_mut();
    let mut size = 0;
    // SAFETY: the host writes a pointer and a length into the two out-parameters.
    checked(unsafe { proxy_get_buffer_bytes(buffer as u32, 0, max, &mut data, &mut size) })?;
    Ok(returned(data, size).unwrap_or_default())
}

/// A whole header map as the host serialized it (`crate::io::pairs` reads it).
pub fn header_map_pairs(map: HeaderMap) -> Result<Vec<u8>, Status> {
    let mut data = null_mut();
    let mut size = 0;
    // SAFETY: the host writes a pointer and a length into the two out-parameters.
    checked(unsafe { proxy_get_header_map_pairs(map as u32, &mut data, &mut size) })?;
    Ok(returned(data, size).unwrap_or_default())
}

/// Sets header `name` of `map` to `value`, replacing any value it had.
pub fn replace_header(map: HeaderMap, name: &str, value: &str) -> Result<(), Status> {
    // SAFETY: the pointers and lengths describe `name` and `value`, alive for the call.
    checked(unsafe {
        proxy_replace_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

/// Adds a header `name: value` to `map`, after any it has.
pub fn add_header(map: HeaderMap, name: &str, value: &str) -> Result<(), Status> {
    // SAFETY: the pointers and lengths describe `name` and `value`, alive for the call.
    checked(unsafe {
        proxy_add_header_map_value(
            map as u32,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

/// Removes every header `name` of `map`.
pub fn remove_header(map: HeaderMap, name: &str) -> Result<(), Status> {
    // SAFETY: the pointer and length describe `name`, alive for the call.
    checked(unsafe { proxy_remove_header_map_value(map as u32, name.as_ptr(), name.len()) })
}

/// The value of a host property, by its path of names; `None` when it has none.
pub fn property(path: &[&str]) -> Result<Option<Vec<u8>>, Status> {
    let serialized = path.join("\0");
    let mut data = null_mut();
    let mut size = 0;
    // SAFETY: the pointer and length describe `serialized`; the host writes a
    // pointer and a length into the two out-parameters.
    let status =
        unsafe { proxy_get_property(serialized.as_ptr(), serialized.len(), &mut data, &mut size) };
    match checked(status) {
        Ok(()) => Ok(returned(data, size)),
        Err(Status::NOT_FOUND) => Ok(None),
        Err(status) => Err(status),
    }
}

/// Shared data at `key` with its version (`None` for either when there is none;
/// the host's version 0 is none).
#[cfg(not(feature = "ablate-shared-data"))]
pub fn shared_data(key: &str) -> Result<(Option<Vec<u8>>, Option<u32>), Status> {
    let mut data = null_mut();
    let mut size = 0;
    let mut cas = 0;
    // SAFETY: the pointer and length describe `key`; the host writes a pointer, a
    // length and a version into the three out-parameters.
    let status =
        unsafe { proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas) };
    match checked(status) {
        Ok(()) => Ok((returned(data, size), (cas != 0).then_some(cas))),
        Err(Status::NOT_FOUND) => Ok((None, None)),
        Err(status) => Err(status),
    }
}

/// Writes shared data at `key`, if its version is still `cas` (0: whatever it is).
#[cfg(not(feature = "ablate-shared-data"))]
pub fn set_shared_data(key: &str, value: &[u8], cas: u32) -> Result<(), Status> {
    // SAFETY: the pointers and lengths describe `key` and `value`, alive for the call.
    checked(unsafe {
        proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas)
    })
}

/// Lets the paused request of the current context go on.
pub fn resume_request() -> Result<(), Status> {
    // SAFETY: no pointers (0: the HTTP request stream).
    checked(unsafe { proxy_continue_stream(0) })
}

/// Answers the current request with a reply of the filter's own.
pub fn send_local_response(status: u32, headers: &[u8], body: &[u8]) -> Result<(), Status> {
    // SAFETY: the pointers and lengths describe `headers` (serialized pairs) and
    // `body`, alive for the call; no details (null, 0); no gRPC status (-1).
    checked(unsafe {
        proxy_send_local_response(
            status,
            null(),
            0,
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    })
}

/// Dispatches an HTTP call to `cluster` and returns its token.
pub fn http_call(
    cluster: &str,
    headers: &[u8],
    body: &[u8],
    timeout_ms: u32,
) -> Result<u32, Status> {
    let mut token = 0;
    // SAFETY: the pointers and lengths describe `cluster`, `headers` (serialized
    // pairs) and `body`, alive for the call; no trailers; the host writes the
    // token into `token`.
    checked(unsafe {
        proxy_http_call(
            cluster.as_ptr(),
            cluster.len(),
            headers.as_ptr(),
            headers.len(),
            if body.is_empty() {
                null()
            } else {
                body.as_ptr()
            },
            body.len(),
            null(),
            0,
            timeout_ms,
            &mut token,
        )
    })?;
    Ok(token)
}

/// Makes `context_id` the context later calls act on (the answer to a call is
/// handed to the context that made it, found by its token).
pub fn set_effective_context(context_id: u32) -> Result<(), Status> {
    // SAFETY: no pointers.
    checked(unsafe { proxy_set_effective_context(context_id) })
}

/// Tells the host a root context that was not done in `proxy_on_done` is now.
pub fn done() -> Result<(), Status> {
    // SAFETY: no pointers.
    checked(unsafe { proxy_done() })
}

/// Defines a metric and returns its id.
pub fn define_metric(metric_type: MetricType, name: &str) -> Result<u32, Status> {
    let mut id = 0;
    // SAFETY: the pointer and length describe `name`; the host writes the id into `id`.
    checked(unsafe {
        proxy_define_metric(metric_type as u32, name.as_ptr(), name.len(), &mut id)
    })?;
    Ok(id)
}

/// Adds `offset` to a counter.
pub fn increment_metric(id: u32, offset: i64) -> Result<(), Status> {
    // SAFETY: no pointers.
    checked(unsafe { proxy_increment_metric(id, offset) })
}

/// Records a value of a histogram.
pub fn record_metric(id: u32, value: u64) -> Result<(), Status> {
    // SAFETY: no pointers.
    checked(unsafe { proxy_record_metric(id, value) })
}
