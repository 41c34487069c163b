//! What a bench filter does, read from its plugin configuration: a plain line
//! of words, so that the filter needs no parser beyond `split_whitespace`.
//!
//! ```text
//! header <name>                          read that request header, continue
//! callout <cluster> <authority> <path>   one GET to that cluster, continue on the answer
//! ```

use std::fmt;

/// The work a bench filter does on each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Read one request header and continue at once.
    Header {
        /// The header to read (lowercase, as Envoy keeps them).
        name: String,
    },
    /// Pause, make one HTTP call, and continue when it is answered.
    Callout(Callout),
}

/// The HTTP call of [`Mode::Callout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    /// The Envoy cluster the call goes to.
    pub cluster: String,
    /// The `:authority` of the call.
    pub authority: String,
    /// The `:path` of the call.
    pub path: String,
}

/// Why a plugin configuration is not a [`Mode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeError {
    /// The first word is neither `header` nor `callout` (or there is none).
    UnknownMode(String),
    /// The mode has the wrong number of arguments.
    Arguments {
        /// The mode's name.
        mode: &'static str,
        /// What the mode expects after its name.
        expected: &'static str,
    },
}

impl fmt::Display for ModeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModeError::UnknownMode(word) => write!(
                f,
                "the configuration must start with `header` or `callout`, not {word:?}"
            ),
            ModeError::Arguments { mode, expected } => {
                write!(f, "`{mode}` expects: {mode} {expected}")
            }
        }
    }
}

impl Mode {
    /// Reads a plugin configuration such as `header :path` or
    /// `callout outbound|18181||backend.3scale.local backend.3scale.local /status`.
    pub fn parse(configuration: &str) -> Result<Mode, ModeError> {
        let mut words = configuration.split_whitespace();
        let mode = words.next().unwrap_or_default();
        let arguments: Vec<&str> = words.collect();
        match (mode, arguments.as_slice()) {
            ("header", [name]) => Ok(Mode::Header {
                name: name.to_ascii_lowercase(),
            }),
            ("header", _) => Err(ModeError::Arguments {
                mode: "header",
                expected: "<name>",
            }),
            ("callout", [cluster, authority, path]) => Ok(Mode::Callout(Callout {
                cluster: (*cluster).to_owned(),
                authority: (*authority).to_owned(),
                path: (*path).to_owned(),
            })),
            ("callout", _) => Err(ModeError::Arguments {
                mode: "callout",
                expected: "<cluster> <authority> <path>",
            }),
            (other, _) => Err(ModeError::UnknownMode(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_header_mode() {
        assert_eq!(
            Mode::parse("  header X-App-Id\n"),
            Ok(Mode::Header {
                name: "x-app-id".into()
            })
        );
    }

    #[test]
    fn reads_the_callout_mode() {
        assert_eq!(
            Mode::parse(
                "callout outbound|18181||backend.3scale.local backend.3scale.local /status"
            ),
            Ok(Mode::Callout(Callout {
                cluster: "outbound|18181||backend.3scale.local".into(),
                authority: "backend.3scale.local".into(),
                path: "/status".into(),
            }))
        );
    }

    #[test]
    fn refuses_anything_else() {
        assert_eq!(Mode::parse(""), Err(ModeError::UnknownMode(String::new())));
        assert_eq!(
            Mode::parse("headers :path"),
            Err(ModeError::UnknownMode("headers".into()))
        );
        assert_eq!(
            Mode::parse("header"),
            Err(ModeError::Arguments {
                mode: "header",
                expected: "<name>"
            })
        );
        let error = Mode::parse("callout cluster /status").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`callout` expects: callout <cluster> <authority> <path>"
        );
    }
}
