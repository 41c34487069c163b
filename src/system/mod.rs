//! 3scale System (Porta): each service's proxy configuration, its parsing and
//! the refresh timing (SPEC section 8).

pub mod proxy_config;
pub mod schedule;

pub use proxy_config::{ProxyConfig, ProxyConfigError};
pub use schedule::Schedule;
