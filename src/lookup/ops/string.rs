//! String ops: they work on the top value (docs/behaviour.md §5).
//!
//! Choices the contract (docs/behaviour.md) leaves open: `strlen` bounds are inclusive; `strrev` reverses
//! Unicode scalar values (not grapheme clusters); `split`/`rsplit` and `replace`
//! reject an empty separator or pattern when the configuration is loaded; a
//! `glob` op with no patterns always fails.

use super::{MAX_BYTES, MAX_VALUES, Reason, Stack, pop_top, top};
use crate::glob::Glob;
use crate::lookup::op::{Replace, Split, Strlen, StrlenMode};

/// Checks that a length lies within inclusive bounds.
pub(super) fn check_bounds(
    len: usize,
    min: Option<usize>,
    max: Option<usize>,
) -> Result<(), Reason> {
    if let Some(min) = min.filter(|&min| len < min) {
        return Err(Reason::TooShort { len, min });
    }
    if let Some(max) = max.filter(|&max| len > max) {
        return Err(Reason::TooLong { len, max });
    }
    Ok(())
}

/// `strlen`: the top value's length in characters or bytes lies within the bounds.
#[inline(never)]
pub(super) fn strlen(params: &Strlen, stack: Stack) -> Result<Stack, Reason> {
    let value = top(&stack)?;
    let len = match params.mode {
        StrlenMode::Utf8 => value.chars().count(),
        StrlenMode::Bytes => value.len(),
    };
    check_bounds(len, params.min, params.max)?;
    Ok(stack)
}

/// `strrev`: reverses the characters of the top value.
#[inline(never)]
pub(super) fn strrev(mut stack: Stack) -> Result<Stack, Reason> {
    let value = pop_top(&mut stack)?;
    stack.push(value.chars().rev().collect());
    Ok(stack)
}

/// `split`: pops the top value and pushes its pieces from left to right.
#[inline(never)]
pub(super) fn split(params: &Split, mut stack: Stack) -> Result<Stack, Reason> {
    let value = pop_top(&mut stack)?;
    let separator = params.separator.as_str();
    match params.max {
        0 => push_pieces(&mut stack, value.split(separator))?,
        max => push_pieces(&mut stack, value.splitn(max, separator))?,
    }
    Ok(stack)
}

/// `rsplit`: pops the top value and pushes its pieces from right to left.
#[inline(never)]
pub(super) fn rsplit(params: &Split, mut stack: Stack) -> Result<Stack, Reason> {
    let value = pop_top(&mut stack)?;
    let separator = params.separator.as_str();
    match params.max {
        0 => push_pieces(&mut stack, value.rsplit(separator))?,
        max => push_pieces(&mut stack, value.rsplitn(max, separator))?,
    }
    Ok(stack)
}

/// Pushes pieces one by one, failing as soon as the stack would hold too many.
fn push_pieces<'a>(stack: &mut Stack, pieces: impl Iterator<Item = &'a str>) -> Result<(), Reason> {
    for piece in pieces {
        if stack.len() >= MAX_VALUES {
            return Err(Reason::StackLimit);
        }
        stack.push(piece.to_owned());
    }
    Ok(())
}

/// `replace`: replaces up to `max` occurrences (0: all), from the left.
#[inline(never)]
pub(super) fn replace(params: &Replace, mut stack: Stack) -> Result<Stack, Reason> {
    let value = pop_top(&mut stack)?;
    let limit = match params.max {
        0 => usize::MAX,
        max => max,
    };
    // A short pattern and a long replacement can multiply the size: measure first.
    let count = value.matches(params.pattern.as_str()).take(limit).count();
    let kept = value
        .len()
        .saturating_sub(count.saturating_mul(params.pattern.len()));
    let replaced_len = kept.saturating_add(count.saturating_mul(params.with.len()));
    if replaced_len > MAX_BYTES {
        return Err(Reason::StackLimit);
    }
    stack.push(value.replacen(params.pattern.as_str(), &params.with, limit));
    Ok(stack)
}

/// `prefix`: the top value starts with the string.
#[inline(never)]
pub(super) fn prefix(prefix: &str, stack: Stack) -> Result<Stack, Reason> {
    check_top(stack, |value| value.starts_with(prefix), Reason::NoPrefix)
}

/// `suffix`: the top value ends with the string.
#[inline(never)]
pub(super) fn suffix(suffix: &str, stack: Stack) -> Result<Stack, Reason> {
    check_top(stack, |value| value.ends_with(suffix), Reason::NoSuffix)
}

/// `substr`: the top value contains the string.
#[inline(never)]
pub(super) fn substr(part: &str, stack: Stack) -> Result<Stack, Reason> {
    check_top(stack, |value| value.contains(part), Reason::NoSubstring)
}

/// `glob`: any pattern matches the whole top value.
#[inline(never)]
pub(super) fn glob(patterns: &[Glob], stack: Stack) -> Result<Stack, Reason> {
    check_top(
        stack,
        |value| patterns.iter().any(|pattern| pattern.matches(value)),
        Reason::NoGlobMatch,
    )
}

/// Keeps the stack when `holds` is true of the top value, fails with `reason` otherwise.
fn check_top(stack: Stack, holds: impl Fn(&str) -> bool, reason: Reason) -> Result<Stack, Reason> {
    if holds(top(&stack)?) {
        Ok(stack)
    } else {
        Err(reason)
    }
}
