//! Running ops on a stack of values (SPEC section 5).
//!
//! The stack's bottom is index 0. Each op takes the stack and returns a new one or
//! fails; after any op an empty stack is a failure. One file per category of op;
//! this file holds the sequencing, the failure type and the size limits.
//!
//! Choices SPEC leaves open (documented on the ops themselves too):
//! - `run` with an empty starting stack fails (the source gave no values).
//! - An empty op list leaves a non-empty stack unchanged.
//! - A stack may hold at most [`MAX_VALUES`] values and [`MAX_BYTES`] bytes of text;
//!   an op whose result would exceed that fails, so that configuration (nested
//!   `cloned`, `indexes` repeating a large value, `replace` with a long replacement)
//!   cannot exhaust the Wasm VM's memory.

mod check;
mod control;
mod decode;
mod format;
mod stack;
mod string;

#[cfg(test)]
mod tests;

use std::fmt;

use super::op::{Op, Placement};
use super::trace::{NoTrace, Trace};

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
    fn here(op: &'static str, reason: Reason) -> Self {
        OpFailure {
            index: 0,
            op,
            reason,
            path: Vec::new(),
        }
    }

    /// The same failure seen from the sequence that holds the op at `index`.
    fn under(mut self, index: usize, name: &'static str) -> Self {
        self.index = index;
        self.path
            .splice(0..0, [Segment::Index(index), Segment::Key(name)]);
        self
    }

    /// The same failure seen from the op whose parameter `field` holds the sequence.
    fn within(mut self, field: &'static str) -> Self {
        self.path.insert(0, Segment::Key(field));
        self
    }
}

/// Runs ops in sequence on the values a source gave.
///
/// Fails when the source gave no values, when an op fails, or when an op leaves
/// the stack empty. With no ops the values are returned as they are.
pub fn run(ops: &[Op], stack: Stack) -> Result<Stack, OpFailure> {
    run_traced(ops, stack, &mut NoTrace)
}

/// [`run`], telling `trace` the stack each top-level op leaves.
pub fn run_traced<T: Trace + ?Sized>(
    ops: &[Op],
    stack: Stack,
    trace: &mut T,
) -> Result<Stack, OpFailure> {
    let reason = if stack.is_empty() {
        Some(Reason::NoInput)
    } else if !within_limits(&stack) {
        Some(Reason::StackLimit)
    } else {
        None
    };
    match reason {
        Some(reason) => Err(OpFailure::here("source", reason)),
        None => run_sequence_traced(ops, stack, trace),
    }
}

/// Runs ops in sequence; failures carry their position.
fn run_sequence(ops: &[Op], stack: Stack) -> Result<Stack, OpFailure> {
    run_sequence_traced(ops, stack, &mut NoTrace)
}

/// [`run_sequence`], telling `trace` the stack each op leaves.
fn run_sequence_traced<T: Trace + ?Sized>(
    ops: &[Op],
    mut stack: Stack,
    trace: &mut T,
) -> Result<Stack, OpFailure> {
    for (index, op) in ops.iter().enumerate() {
        stack = apply_checked(op, stack).map_err(|failure| failure.under(index, op.name()))?;
        trace.op(index, op, &stack);
    }
    Ok(stack)
}

/// Runs one op and enforces the rules that hold after every op.
fn apply_checked(op: &Op, stack: Stack) -> Result<Stack, OpFailure> {
    let stack = apply(op, stack)?;
    if stack.is_empty() {
        return Err(OpFailure::here(op.name(), Reason::EmptyStack));
    }
    if !within_limits(&stack) {
        return Err(OpFailure::here(op.name(), Reason::StackLimit));
    }
    Ok(stack)
}

/// Whether a stack respects [`MAX_VALUES`] and [`MAX_BYTES`].
fn within_limits(stack: &[String]) -> bool {
    stack.len() <= MAX_VALUES && total_bytes(stack) <= MAX_BYTES
}

/// Bytes of text in `values`.
fn total_bytes(values: &[String]) -> usize {
    values
        .iter()
        .fold(0, |total: usize, value| total.saturating_add(value.len()))
}

/// Runs one op, whatever its category.
fn apply(op: &Op, stack: Stack) -> Result<Stack, OpFailure> {
    let leaf = |result: Result<Stack, Reason>| result.map_err(|r| OpFailure::here(op.name(), r));
    match op {
        Op::Base64Standard | Op::Base64Urlsafe => leaf(decode::base64(stack)),
        Op::Strlen(params) => leaf(string::strlen(params, stack)),
        Op::Strrev => leaf(string::strrev(stack)),
        Op::Split(params) => leaf(string::split(params, stack)),
        Op::Rsplit(params) => leaf(string::rsplit(params, stack)),
        Op::Replace(params) => leaf(string::replace(params, stack)),
        Op::Prefix(prefix) => leaf(string::prefix(prefix, stack)),
        Op::Suffix(suffix) => leaf(string::suffix(suffix, stack)),
        Op::Substr(part) => leaf(string::substr(part, stack)),
        Op::Glob(patterns) => leaf(string::glob(patterns, stack)),
        Op::Length(params) => leaf(stack::length(params, stack)),
        Op::Join(separator) => leaf(stack::join(separator, stack)),
        Op::Reverse => leaf(Ok(stack::reverse(stack))),
        Op::Contains(value) => leaf(stack::contains(value, stack)),
        Op::Push(value) => leaf(Ok(stack::push(value, stack))),
        Op::Pop(count) => leaf(stack::pop(*count, stack)),
        Op::Dup(index) => leaf(stack::dup(*index, stack)),
        Op::Xchg(value) => leaf(stack::xchg(value, stack)),
        Op::Swap(params) => leaf(stack::swap(params, stack)),
        Op::Indexes(indexes) => leaf(stack::indexes(indexes, stack)),
        Op::Take(ends) => leaf(Ok(stack::take(ends, stack))),
        Op::Drop(ends) => leaf(Ok(stack::drop(ends, stack))),
        Op::FlatMap(ops) => stack::flat_map(ops, stack),
        Op::Select(ops) => Ok(stack::select(ops, stack)),
        Op::Values(params) => Ok(stack::values(params, stack)),
        Op::Ok => Ok(stack),
        Op::Fail => leaf(Err(Reason::Fail)),
        Op::Any(ops) => leaf(check::any(ops, stack)),
        Op::OneOf(ops) => leaf(check::one_of(ops, stack)),
        Op::All(ops) => check::all(ops, stack),
        Op::None(ops) => leaf(check::none(ops, stack)),
        Op::Assert(ops) => check::assert(ops, stack),
        Op::Refute(ops) => leaf(check::refute(ops, stack)),
        Op::Test(params) => control::test(params, stack),
        Op::And(ops) => run_sequence(ops, stack),
        Op::Or(ops) => leaf(control::or(ops, stack)),
        Op::Xor(ops) => leaf(control::xor(ops, stack)),
        Op::Cloned(params) => control::cloned(params, stack),
        Op::Partial(params) => control::partial(params.result, params.max, &params.ops, stack)
            .map_err(|failure| failure.within("ops")),
        Op::Top(ops) => control::partial(Placement::Append, 1, ops, stack),
        Op::Log(params) => Ok(control::log(params, stack)),
        Op::Json(document) => leaf(format::json(document, stack)),
        Op::Protobuf(document) => leaf(format::protobuf(document, stack)),
    }
}

/// The top value, or a failure if there is none.
fn top(stack: &[String]) -> Result<&String, Reason> {
    stack
        .last()
        .ok_or(Reason::NotEnoughValues { needed: 1, len: 0 })
}

/// Removes and returns the top value, or fails if there is none.
fn pop_top(stack: &mut Stack) -> Result<String, Reason> {
    stack
        .pop()
        .ok_or(Reason::NotEnoughValues { needed: 1, len: 0 })
}
