//! The Proxy-Wasm shell: the only code that talks to the host. Each hook reads
//! what the core needs, asks the core, and carries out its decision.
//!
//! The shipped module exports only the hooks listed in `exports.txt` (`make wasm`
//! removes the SDK's other exports, so Envoy does not call into the VM for them):
//! a hook implemented here must be listed there too.

#[cfg(any(
    feature = "ablate-headers",
    feature = "ablate-clock",
    feature = "ablate-shared-data"
))]
mod ablation;
mod host;
mod http;
mod log;
mod metrics;
mod raw;
mod root;
#[cfg(not(feature = "ablate-shared-data"))]
mod shared;

use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    // Until the host's level is read in `on_configure`, only info and above.
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(root::Root::default()));
}}
