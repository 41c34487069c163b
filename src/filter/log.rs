//! The `log` crate, forwarded to the host at the host's own level.

use proxy_wasm::hostcalls;

/// Sets the `log` crate's maximum level to the host's, so that messages the
/// host would drop are never formatted.
pub fn follow_host_level() {
    if cfg!(feature = "ablate-log") {
        proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Critical);
        return;
    }
    if let Ok(level) = hostcalls::get_log_level() {
        proxy_wasm::set_log_level(level);
    }
}
