//! 3scale API Management for Envoy and Istio, as a Proxy-Wasm filter.
//!
//! Everything outside `filter` is plain Rust with no host ABI: it turns the
//! configuration and a view of the request into data that says what to do.
//! `docs/architecture.md` gives the layers and the order of their dependencies;
//! `docs/behaviour.md` is the behaviour contract the `§N` references point at.

pub mod backend;
pub mod cache;
pub mod config;
pub mod de;
pub mod debug;
pub mod explain;
pub mod fetched;
#[cfg(feature = "filter")]
pub mod filter;
pub mod flow;
pub mod glob;
pub mod header_name;
pub mod integer;
pub mod io;
pub mod json_text;
pub mod lookup;
pub mod mapping;
pub mod metrics;
pub mod model;
pub mod path;
pub mod plugin;
pub mod request;
pub mod service_index;
pub mod sort;
pub mod system;
#[cfg(test)]
mod test_rng;
pub mod text_index;
#[cfg(test)]
mod vectors;
pub mod yaml;
