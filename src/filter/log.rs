//! The `log` crate, forwarded to the host at the host's own level.

use log::{Level, LevelFilter, Log, Metadata, Record};

use super::abi;

/// Hands every message `log` lets through to the host.
struct HostLog;

impl Log for HostLog {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            // Nothing to do if the host refuses a message: there is nowhere else to say so.
            let _refused = abi::log(host_level(record.level()), &record.args().to_string());
        }
    }

    fn flush(&self) {}
}

static HOST_LOG: HostLog = HostLog;

/// Installs the logger, at info until the host's level is read (`on_configure`),
/// and a panic hook that logs the panic (the VM then stops: a panic is a bug).
pub fn install() {
    if log::set_logger(&HOST_LOG).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
    std::panic::set_hook(Box::new(|panic| {
        let _refused = abi::log(CRITICAL, &panic.to_string());
    }));
}

/// Sets the `log` crate's maximum level to the host's, so that messages the
/// host would drop are never formatted.
pub fn follow_host_level() {
    if cfg!(feature = "ablate-log") {
        log::set_max_level(LevelFilter::Off);
        return;
    }
    if let Ok(level) = abi::log_level() {
        log::set_max_level(level_filter(level));
    }
}

/// The host's critical level, above `log`'s error.
const CRITICAL: u32 = 5;

/// A `log` level as the host numbers its levels (0 trace to 5 critical).
fn host_level(level: Level) -> u32 {
    match level {
        Level::Trace => 0,
        Level::Debug => 1,
        Level::Info => 2,
        Level::Warn => 3,
        Level::Error => 4,
    }
}

/// The host's level as `log`'s filter (critical: nothing `log` can say).
fn level_filter(host_level: u32) -> LevelFilter {
    match host_level {
        0 => LevelFilter::Trace,
        1 => LevelFilter::Debug,
        2 => LevelFilter::Info,
        3 => LevelFilter::Warn,
        4 => LevelFilter::Error,
        _ => LevelFilter::Off,
    }
}
