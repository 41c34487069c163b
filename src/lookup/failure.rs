//! The value stack of the ops machine and why a sequence of ops fails: the data that
//! ops, sources, resolution and tracing all share (a leaf of `lookup`).

use std::fmt;

/// The value stack; index 0 is the bottom.
pub type Stack = Vec<String>;

/// Most values a stack may hold (a 60 KiB header split at every byte still fits).
pub const MAX_VALUES: usize = 65_536;

/// Most bytes of text a stack may hold (Envoy's largest allowed header block).
pub const MAX_BYTES: usize = 8 * 1024 * 1024;

/// Why a sequence of ops failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpFailure {
    /// Position, in the outermost sequence, of the op that failed or holds the failing op.
    pub index: usize,
    /// Name of the innermost failing op.
    pub op: &'static str,
    /// What went wrong.
    pub reason: Reason,
    /// Where the failing op sits, from the outermost sequence inwards (`[3].test.then[0].strlen`).
    pub path: Vec<Segment>,
}

impl fmt::Display for OpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            // Nothing ran: the failure concerns the input itself.
            write!(f, "{}", self.reason)
        } else {
            let location = Location(&self.path);
            write!(f, "op `{}` at {location} failed: {}", self.op, self.reason)
        }
    }
}

impl std::error::Error for OpFailure {}

/// One step of an [`OpFailure`] path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// A position in a list of ops.
    Index(usize),
    /// An op name or a parameter name.
    Key(&'static str),
}

/// Shows a path the way configuration errors do: `[3].test.then[0].strlen`.
struct Location<'a>(&'a [Segment]);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in self.0 {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => write!(f, ".{key}")?,
            }
        }
        Ok(())
    }
}

/// What made an op fail. Never holds a stack value: values may be secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// The source gave no values to start with.
    #[error("the source gave no values")]
    NoInput,
    /// The op left the stack empty.
    #[error("the stack is empty afterwards")]
    EmptyStack,
    /// A Ruby-style index points outside the stack.
    #[error("index {index} is out of range for a stack of {len} values")]
    IndexOutOfRange {
        /// The index as configured.
        index: i64,
        /// Size of the stack.
        len: usize,
    },
    /// The op needs more values than the stack holds.
    #[error("needs {needed} values but the stack holds {len}")]
    NotEnoughValues {
        /// Values needed.
        needed: usize,
        /// Size of the stack.
        len: usize,
    },
    /// The value is not base64.
    #[error("the value is not valid base64")]
    InvalidBase64,
    /// The decoded value is not UTF-8 text.
    #[error("the decoded value is not UTF-8")]
    NotUtf8,
    /// A length is below its minimum.
    #[error("length {len} is below the minimum {min}")]
    TooShort {
        /// Measured length.
        len: usize,
        /// Configured minimum.
        min: usize,
    },
    /// A length is above its maximum.
    #[error("length {len} is above the maximum {max}")]
    TooLong {
        /// Measured length.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// `prefix` did not match.
    #[error("the value does not start with the prefix")]
    NoPrefix,
    /// `suffix` did not match.
    #[error("the value does not end with the suffix")]
    NoSuffix,
    /// `substr` did not match.
    #[error("the value does not contain the substring")]
    NoSubstring,
    /// No `glob` pattern matched.
    #[error("no glob pattern matches the value")]
    NoGlobMatch,
    /// `contains` found no equal value.
    #[error("no value equals the string")]
    NotContained,
    /// The `fail` op.
    #[error("`fail` always fails")]
    Fail,
    /// `any` or `or`: every alternative failed.
    #[error("no alternative succeeded")]
    NoneSucceeded,
    /// `one_of` or `xor`: other than exactly one alternative succeeded.
    #[error("{succeeded} alternatives succeeded, exactly one must")]
    NotExactlyOne {
        /// How many succeeded (`one_of` stops counting at 2).
        succeeded: usize,
    },
    /// `none`: an alternative succeeded.
    #[error("alternative #{index} succeeded, none may")]
    OneSucceeded {
        /// Position of the first alternative that succeeded.
        index: usize,
    },
    /// `refute`: the ops succeeded.
    #[error("the refuted ops succeeded")]
    RefuteSucceeded,
    /// `json`/`protobuf`: nothing usable at that path and keys.
    #[error("the document holds no string or list of strings at that path and keys")]
    NoDocumentValue,
    /// The result would exceed the stack limits.
    #[error("the result would exceed the stack limit of {MAX_VALUES} values or {MAX_BYTES} bytes")]
    StackLimit,
}

impl OpFailure {
    /// A failure of the op named `op` itself.
    pub(crate) fn here(op: &'static str, reason: Reason) -> Self {
        OpFailure {
            index: 0,
            op,
            reason,
            path: Vec::new(),
        }
    }

    /// The same failure seen from the sequence that holds the op at `index`.
    pub(crate) fn under(mut self, index: usize, name: &'static str) -> Self {
        self.index = index;
        self.path
            .splice(0..0, [Segment::Index(index), Segment::Key(name)]);
        self
    }

    /// The same failure seen from the op whose parameter `field` holds the sequence.
    pub(crate) fn within(mut self, field: &'static str) -> Self {
        self.path.insert(0, Segment::Key(field));
        self
    }
}
