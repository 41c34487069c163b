//! Control ops (docs/behaviour.md §5).
//!
//! Choices the contract (docs/behaviour.md) leaves open: `test` runs its single `if` op on a copy and a
//! missing `else` leaves the stack unchanged; `or` and `xor` with no ops fail;
//! `partial` needs `max` of at least 1 (checked when the configuration is loaded)
//! and detaches the whole stack when it holds fewer values; `log` writes only the
//! configured message, never stack values.

use super::{OpFailure, Reason, Stack, apply_checked, run_sequence};
use crate::lookup::op::{Cloned, Log, Op, Placement, Test};

/// `test`: runs `then` on the stack when `if` succeeds on a copy, `else` otherwise.
#[inline(never)]
pub(super) fn test(params: &Test, stack: Stack) -> Result<Stack, OpFailure> {
    if apply_checked(&params.condition, stack.clone()).is_ok() {
        run_sequence(&params.then, stack).map_err(|failure| failure.within("then"))
    } else {
        run_sequence(&params.otherwise, stack).map_err(|failure| failure.within("else"))
    }
}

/// `or`: each op on the current stack; the first success's result is kept.
#[inline(never)]
pub(super) fn or(ops: &[Op], stack: Stack) -> Result<Stack, Reason> {
    ops.iter()
        .find_map(|op| apply_checked(op, stack.clone()).ok())
        .ok_or(Reason::NoneSucceeded)
}

/// `xor`: every op is evaluated; exactly one must succeed and its result is kept.
#[inline(never)]
pub(super) fn xor(ops: &[Op], stack: Stack) -> Result<Stack, Reason> {
    let mut successes = ops
        .iter()
        .filter_map(|op| apply_checked(op, stack.clone()).ok());
    let first = successes.next();
    let others = successes.count();
    match (first, others) {
        (Some(result), 0) => Ok(result),
        (first, others) => Err(Reason::NotExactlyOne {
            succeeded: usize::from(first.is_some()) + others,
        }),
    }
}

/// Puts `output` above or below `rest`.
fn combine(placement: Placement, mut rest: Stack, mut output: Stack) -> Stack {
    match placement {
        Placement::Append => {
            rest.append(&mut output);
            rest
        }
        Placement::Prepend => {
            output.append(&mut rest);
            output
        }
    }
}

/// `cloned`: runs the ops on a copy and adds their output to the stack.
#[inline(never)]
pub(super) fn cloned(params: &Cloned, stack: Stack) -> Result<Stack, OpFailure> {
    let output =
        run_sequence(&params.ops, stack.clone()).map_err(|failure| failure.within("ops"))?;
    Ok(combine(params.result, stack, output))
}

/// `partial` (and `top`): detaches up to `max` top values, runs the ops on them
/// and puts the output back above or below the rest.
#[inline(never)]
pub(super) fn partial(
    placement: Placement,
    max: usize,
    ops: &[Op],
    mut stack: Stack,
) -> Result<Stack, OpFailure> {
    let split_at = stack.len().saturating_sub(max);
    let detached = stack.split_off(split_at);
    let output = run_sequence(ops, detached)?;
    Ok(combine(placement, stack, output))
}

/// `log`: writes the message at the configured level; never changes the stack.
#[inline(never)]
pub(super) fn log(params: &Log, stack: Stack) -> Stack {
    let level = params.level.to_log();
    if log::log_enabled!(level) {
        log::log!(level, "ops log: {}", params.msg);
    }
    stack
}
