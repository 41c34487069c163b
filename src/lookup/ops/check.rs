//! Check ops: they succeed or fail and never change the stack (docs/behaviour.md §5).
//!
//! Each alternative of `any`, `one_of`, `all` and `none` is one op run on a copy
//! of the stack; `assert` and `refute` run their ops as one sequence on a copy.
//! `any` stops at the first success and `one_of` at the second; `all` with no ops
//! succeeds, `any`/`one_of` with no ops fail, `none` with no ops succeeds.

use super::{OpFailure, Reason, Stack, apply_checked, run_sequence};
use crate::lookup::op::Op;

/// Whether `op` succeeds on a copy of the stack.
fn succeeds(op: &Op, stack: &Stack) -> bool {
    apply_checked(op, stack.clone()).is_ok()
}

/// `any`: some op succeeds.
#[inline(never)]
pub(super) fn any(ops: &[Op], stack: Stack) -> Result<Stack, Reason> {
    if ops.iter().any(|op| succeeds(op, &stack)) {
        Ok(stack)
    } else {
        Err(Reason::NoneSucceeded)
    }
}

/// `one_of`: exactly one op succeeds.
#[inline(never)]
pub(super) fn one_of(ops: &[Op], stack: Stack) -> Result<Stack, Reason> {
    let succeeded = ops.iter().filter(|op| succeeds(op, &stack)).take(2).count();
    if succeeded == 1 {
        Ok(stack)
    } else {
        Err(Reason::NotExactlyOne { succeeded })
    }
}

/// `all`: every op succeeds; the first failure is reported from inside.
#[inline(never)]
pub(super) fn all(ops: &[Op], stack: Stack) -> Result<Stack, OpFailure> {
    for (index, op) in ops.iter().enumerate() {
        apply_checked(op, stack.clone()).map_err(|failure| failure.under(index, op.name()))?;
    }
    Ok(stack)
}

/// `none`: no op succeeds.
#[inline(never)]
pub(super) fn none(ops: &[Op], stack: Stack) -> Result<Stack, Reason> {
    match ops.iter().position(|op| succeeds(op, &stack)) {
        Some(index) => Err(Reason::OneSucceeded { index }),
        None => Ok(stack),
    }
}

/// `assert`: the ops, as one sequence on a copy, succeed; the failure is reported from inside.
#[inline(never)]
pub(super) fn assert(ops: &[Op], stack: Stack) -> Result<Stack, OpFailure> {
    run_sequence(ops, stack.clone())?;
    Ok(stack)
}

/// `refute`: the ops, as one sequence on a copy, fail.
#[inline(never)]
pub(super) fn refute(ops: &[Op], stack: Stack) -> Result<Stack, Reason> {
    match run_sequence(ops, stack.clone()) {
        Ok(_) => Err(Reason::RefuteSucceeded),
        Err(_) => Ok(stack),
    }
}
