//! 3scale System (Porta): fetching each service's proxy configuration, parsing it,
//! and the refresh timing (docs/behaviour.md §8).

pub mod fetcher;
pub mod proxy_config;
pub mod request;
pub mod schedule;

pub use fetcher::{FetchFailure, Fetcher, Outcome};
pub use proxy_config::{ProxyConfig, ProxyConfigError};
pub use schedule::Schedule;
