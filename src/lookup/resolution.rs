//! What resolving one lookup query gives: its values and origin, or why it failed.

use std::fmt;

use super::failure::{OpFailure, Stack};
use crate::model::Origin;

/// The values a lookup query resolved to and where they were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The stack after the ops: never empty; index 0 is the bottom.
    pub values: Stack,
    /// Where the source's value was read from.
    pub origin: Origin,
}

/// Why a lookup query did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// No key gave a usable value.
    NotFound,
    /// A `filter` query whose path has fewer than two segments.
    ShortPath,
    /// An op failed.
    OpFailed(OpFailure),
    /// The ops left an empty stack.
    EmptyStack,
}

/// An op failure shows the failing op's position and reason, which never quote stack
/// values (they can be secrets).
impl fmt::Display for Unresolved {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unresolved::NotFound => formatter.write_str("no key has a usable value"),
            Unresolved::ShortPath => {
                formatter.write_str("the filter path needs at least two segments")
            }
            Unresolved::OpFailed(failure) => write!(formatter, "{failure}"),
            Unresolved::EmptyStack => formatter.write_str("the ops left an empty stack"),
        }
    }
}
