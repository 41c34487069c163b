//! Bench-only Proxy-Wasm filters: the reference points of `make bench`
//! (scripts/bench.sh). One module, two behaviours chosen by the plugin
//! configuration (see [`mode`]):
//!
//! - `header <name>`: read one request header and continue: what any Wasm
//!   filter costs before it does real work;
//! - `callout <cluster> <authority> <path>`: one `dispatch_http_call` per
//!   request, continue on the answer: what any filter that asks a service per
//!   request costs.
//!
//! Like the real filter, they never panic: every host call's error is logged
//! and the request continues.

mod mode;

use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType};

use crate::mode::{Callout, Mode};

/// How long a callout may take before Envoy answers it with a failure.
const CALLOUT_TIMEOUT: Duration = Duration::from_secs(5);

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| Box::new(Root::default()));
}}

/// Logs a warning; a failing log call has nowhere else to go, so it is dropped.
fn warn(message: &str) {
    let _ = hostcalls::log(LogLevel::Warn, message);
}

/// The root context: holds the mode read from the plugin configuration.
#[derive(Default)]
struct Root {
    mode: Option<Rc<Mode>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        match Mode::parse(&String::from_utf8_lossy(&bytes)) {
            Ok(mode) => {
                self.mode = Some(Rc::new(mode));
                true
            }
            Err(error) => {
                warn(&format!("bench-filters configuration: {error}"));
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    // Always a context: proxy-wasm panics on `None`. Without a mode (Envoy
    // refuses a plugin whose `on_configure` failed, so never in practice) the
    // stream just continues.
    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Stream {
            mode: self.mode.clone(),
        }))
    }
}

/// One HTTP stream.
struct Stream {
    mode: Option<Rc<Mode>>,
}

impl Stream {
    /// Dispatches the callout; pauses the request until it is answered, or
    /// continues at once when Envoy refuses to send it.
    fn dispatch(callout: &Callout) -> Action {
        let headers = vec![
            (":method", "GET"),
            (":path", callout.path.as_str()),
            (":authority", callout.authority.as_str()),
        ];
        match hostcalls::dispatch_http_call(
            &callout.cluster,
            headers,
            None,
            Vec::new(),
            CALLOUT_TIMEOUT,
        ) {
            Ok(_token) => Action::Pause,
            Err(status) => {
                warn(&format!(
                    "bench-filters: callout to {} refused: {status:?}",
                    callout.cluster
                ));
                Action::Continue
            }
        }
    }
}

impl Context for Stream {
    fn on_http_call_response(
        &mut self,
        _token: u32,
        _headers: usize,
        _body: usize,
        _trailers: usize,
    ) {
        if let Err(status) = hostcalls::resume_http_request() {
            warn(&format!(
                "bench-filters: cannot resume the request: {status:?}"
            ));
        }
    }
}

impl HttpContext for Stream {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        match self.mode.as_deref() {
            Some(Mode::Header { name }) => {
                if let Err(status) =
                    hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, name)
                {
                    warn(&format!("bench-filters: cannot read {name}: {status:?}"));
                }
                Action::Continue
            }
            Some(Mode::Callout(callout)) => Stream::dispatch(callout),
            None => Action::Continue,
        }
    }
}
