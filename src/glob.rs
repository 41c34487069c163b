//! Glob patterns for service authorities and the `glob` op (SPEC sections 3 and 5).
//! STUB: to be replaced by the real implementation.

use serde::{Deserialize, Deserializer};

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
}

/// Why a glob pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// The pattern ends with a lone `\`.
    #[error("glob pattern `{0}` ends with an escape character `\\` that escapes nothing")]
    TrailingEscape(String),
}

impl Glob {
    /// Compiles a pattern once; matching never fails afterwards.
    pub fn compile(pattern: &str) -> Result<Self, GlobError> {
        Ok(Glob {
            pattern: pattern.to_owned(),
        })
    }

    /// Whether the pattern matches the whole input.
    pub fn matches(&self, input: &str) -> bool {
        self.pattern == input
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pattern = String::deserialize(deserializer)?;
        Glob::compile(&pattern).map_err(serde::de::Error::custom)
    }
}
