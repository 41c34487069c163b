//! 3scale API Management for Envoy and Istio, as a Proxy-Wasm filter.
//!
//! Everything outside `filter` is plain Rust with no host ABI: it turns the
//! configuration and a view of the request into data that says what to do.

pub mod backend;
pub mod cache;
pub mod config;
pub mod decision;
pub mod explain;
pub mod fetched;
pub mod filter;
pub mod flow;
pub mod glob;
pub mod integer;
pub mod lookup;
pub mod mapping;
pub mod metrics;
pub mod redact;
pub mod request;
pub mod service_index;
pub mod system;
#[cfg(test)]
mod test_rng;
#[cfg(test)]
mod vectors;
