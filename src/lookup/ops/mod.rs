//! Running ops on a stack of values (docs/behaviour.md §5).
//!
//! The stack's bottom is index 0. Each op takes the stack and returns a new one or
//! fails; after any op an empty stack is a failure. One file per category of op;
//! this file holds the sequencing, the failure type and the size limits.
//!
//! Choices the contract (docs/behaviour.md) leaves open (documented on the ops themselves too):
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

use super::op::{Op, Placement};
use super::trace::{NoTrace, Trace};

pub use super::failure::{MAX_BYTES, MAX_VALUES, OpFailure, Reason, Segment, Stack};

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
///
/// Each op's own function (in `check`, `control`, `decode`, `format`, `stack`,
/// `string`) is `#[inline(never)]`: called from here only, they were all merged into
/// this one, a 14.5 KB function of the module. V8 compiles every function with
/// TurboFan when Envoy loads the module, and the memory that takes grows faster than
/// the function; Envoy's allocator keeps it. Kept apart, Envoy with two workers is
/// about 3.5 MiB smaller (README "The benchmark", memory), for one call per op run.
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
