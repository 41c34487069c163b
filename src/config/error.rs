//! Configuration errors with a field path and, for text input, a position.

/// Why a configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid plugin configuration at `{path}`: {message}")]
pub struct ConfigError {
    /// Field path, e.g. `services[0].credentials.app_id[1].header.ops[3]`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// An error without a position.
    pub fn plain(path: &str, message: &str) -> Self {
        ConfigError {
            path: path.to_owned(),
            message: message.to_owned(),
        }
    }
}
