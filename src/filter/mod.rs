//! The Proxy-Wasm shell: the only code that talks to the host. Each hook reads
//! what the core needs, asks the core, and carries out its decision.
//!
//! The hooks are in `exports.rs`, the host calls in `abi.rs` (the Proxy-Wasm ABI
//! 0.2.1, without an SDK). `exports.txt` lists what the module exports; `make
//! wasm` removes anything else a dependency exports: a hook added to `exports.rs`
//! must be listed there too.

mod abi;
#[cfg(any(
    feature = "ablate-headers",
    feature = "ablate-clock",
    feature = "ablate-shared-data"
))]
mod ablation;
mod exports;
mod host;
mod http;
mod log;
mod metrics;
mod root;
#[cfg(not(feature = "ablate-shared-data"))]
mod shared;
