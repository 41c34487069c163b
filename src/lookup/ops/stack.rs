//! Stack ops (docs/behaviour.md §5).
//!
//! Choices the contract (docs/behaviour.md) leaves open: `length` bounds are inclusive; a bare `join` joins
//! with no separator; `pop` of more values than the stack holds fails (and popping
//! all of them leaves it empty, which fails too), `pop: 0` changes nothing;
//! `swap`, `dup` and `indexes` fail on an index outside the stack, and `indexes`
//! may repeat a position; `take`/`drop` counts larger than the stack are
//! clamped; `values` shows values in full only at `trace` level and redacted
//! (`ab…(32)`) at any other level, because the op cannot know whether they are
//! secrets (docs/behaviour.md §10).

use std::fmt;

use super::{MAX_BYTES, MAX_VALUES, OpFailure, Reason, Stack, run_sequence, string};
use crate::lookup::op::{Ends, Length, Op, Swap, Values};
use crate::lookup::stack_index;

/// `length`: the number of values lies within inclusive bounds.
#[inline(never)]
pub(super) fn length(params: &Length, stack: Stack) -> Result<Stack, Reason> {
    string::check_bounds(stack.len(), params.min, params.max)?;
    Ok(stack)
}

/// `join`: one value made of all values, bottom to top, with the separator between them.
#[inline(never)]
pub(super) fn join(separator: &str, stack: Stack) -> Result<Stack, Reason> {
    let separators = stack
        .len()
        .saturating_sub(1)
        .saturating_mul(separator.len());
    if super::total_bytes(&stack).saturating_add(separators) > MAX_BYTES {
        return Err(Reason::StackLimit);
    }
    Ok(vec![stack.join(separator)])
}

/// `reverse`: the top becomes the bottom.
#[inline(never)]
pub(super) fn reverse(mut stack: Stack) -> Stack {
    stack.reverse();
    stack
}

/// `contains`: some value equals the string.
#[inline(never)]
pub(super) fn contains(value: &str, stack: Stack) -> Result<Stack, Reason> {
    if stack.iter().any(|candidate| candidate == value) {
        Ok(stack)
    } else {
        Err(Reason::NotContained)
    }
}

/// `push`: adds the string on top.
#[inline(never)]
pub(super) fn push(value: &str, mut stack: Stack) -> Stack {
    stack.push(value.to_owned());
    stack
}

/// `pop`: removes `count` values from the top.
#[inline(never)]
pub(super) fn pop(count: usize, mut stack: Stack) -> Result<Stack, Reason> {
    let len = stack.len();
    let kept = len
        .checked_sub(count)
        .ok_or(Reason::NotEnoughValues { needed: count, len })?;
    stack.truncate(kept);
    Ok(stack)
}

/// The position of a Ruby-style index, or a failure naming it.
fn position(index: i64, len: usize) -> Result<usize, Reason> {
    stack_index::resolve(index, len).ok_or(Reason::IndexOutOfRange { index, len })
}

/// The value at a Ruby-style index, or a failure naming the index.
fn value_at(stack: &[String], index: i64) -> Result<&String, Reason> {
    stack
        .get(position(index, stack.len())?)
        .ok_or(Reason::IndexOutOfRange {
            index,
            len: stack.len(),
        })
}

/// `dup`: pushes a copy of the value at the index.
#[inline(never)]
pub(super) fn dup(index: i64, mut stack: Stack) -> Result<Stack, Reason> {
    let copy = value_at(&stack, index)?.clone();
    stack.push(copy);
    Ok(stack)
}

/// `xchg`: replaces the top value with the string.
#[inline(never)]
pub(super) fn xchg(value: &str, mut stack: Stack) -> Result<Stack, Reason> {
    let last = stack
        .last_mut()
        .ok_or(Reason::NotEnoughValues { needed: 1, len: 0 })?;
    value.clone_into(last);
    Ok(stack)
}

/// `swap`: exchanges the values at two indexes.
#[inline(never)]
pub(super) fn swap(params: &Swap, mut stack: Stack) -> Result<Stack, Reason> {
    let from = position(params.from, stack.len())?;
    let to = position(params.to, stack.len())?;
    // Both positions were checked against the length just above.
    stack.swap(from, to);
    Ok(stack)
}

/// `indexes`: keeps the values at those positions, in that order (none given: unchanged).
#[inline(never)]
pub(super) fn indexes(indexes: &[i64], stack: Stack) -> Result<Stack, Reason> {
    if indexes.is_empty() {
        return Ok(stack);
    }
    if indexes.len() > MAX_VALUES {
        return Err(Reason::StackLimit);
    }
    let mut bytes: usize = 0;
    let mut picked = Vec::with_capacity(indexes.len());
    for &index in indexes {
        let value = value_at(&stack, index)?;
        // Repeated positions copy a value again: bound the total before copying.
        bytes = bytes.saturating_add(value.len());
        if bytes > MAX_BYTES {
            return Err(Reason::StackLimit);
        }
        picked.push(value.clone());
    }
    Ok(picked)
}

/// Counts of `take`/`drop` clamped so that no value is counted twice.
fn clamp_ends(ends: &Ends, len: usize) -> (usize, usize) {
    let head = ends.head.unwrap_or(0).min(len);
    let tail = ends.tail.unwrap_or(0).min(len - head);
    (head, tail)
}

/// `take`: keeps the first `head` and the last `tail` values (neither: nothing).
#[inline(never)]
pub(super) fn take(ends: &Ends, mut stack: Stack) -> Stack {
    let len = stack.len();
    let (head, tail) = clamp_ends(ends, len);
    // head + tail <= len by construction of clamp_ends.
    stack.drain(head..len - tail);
    stack
}

/// `drop`: removes the first `head` and the last `tail` values.
#[inline(never)]
pub(super) fn drop(ends: &Ends, mut stack: Stack) -> Stack {
    let len = stack.len();
    let (head, tail) = clamp_ends(ends, len);
    stack.truncate(len - tail);
    stack.drain(..head);
    stack
}

/// `flat_map`: runs the ops on each value alone, bottom first, and concatenates the outputs.
#[inline(never)]
pub(super) fn flat_map(ops: &[Op], stack: Stack) -> Result<Stack, OpFailure> {
    let mut output = Vec::with_capacity(stack.len());
    let mut bytes: usize = 0;
    for value in stack {
        let piece = run_sequence(ops, vec![value])?;
        bytes = bytes.saturating_add(super::total_bytes(&piece));
        if output.len().saturating_add(piece.len()) > MAX_VALUES || bytes > MAX_BYTES {
            return Err(OpFailure::here("flat_map", Reason::StackLimit));
        }
        output.extend(piece);
    }
    Ok(output)
}

/// `select`: keeps the values on which the ops, run on that value alone, succeed.
#[inline(never)]
pub(super) fn select(ops: &[Op], stack: Stack) -> Stack {
    stack
        .into_iter()
        .filter(|value| run_sequence(ops, vec![value.clone()]).is_ok())
        .collect()
}

/// `values`: logs the stack at the configured level; never changes it.
#[inline(never)]
pub(super) fn values(params: &Values, stack: Stack) -> Stack {
    let level = params.level.to_log();
    if log::log_enabled!(level) {
        let shown = Shown {
            values: &stack,
            reveal: level == log::Level::Trace,
        };
        log::log!(level, "ops values [{}]: {shown}", params.id);
    }
    stack
}

/// Values as logged: in full, or redacted as first two characters and length.
struct Shown<'a> {
    values: &'a [String],
    reveal: bool,
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (position, value) in self.values.iter().enumerate() {
            if position > 0 {
                f.write_str(", ")?;
            }
            if self.reveal {
                write!(f, "{value:?}")?;
            } else {
                let start: String = value.chars().take(2).collect();
                write!(f, "{start}…({})", value.chars().count())?;
            }
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|&v| v.to_owned()).collect()
    }

    #[test]
    fn shown_redacts_unless_revealed() {
        let values = strings(&["opensesame", "é", ""]);
        let redacted = Shown {
            values: &values,
            reveal: false,
        };
        assert_eq!(redacted.to_string(), "[op…(10), é…(1), …(0)]");
        let revealed = Shown {
            values: &values,
            reveal: true,
        };
        assert_eq!(revealed.to_string(), r#"["opensesame", "é", ""]"#);
    }

    #[test]
    fn clamp_ends_never_counts_a_value_twice() {
        let cases = [
            (None, None, 3, (0, 0)),
            (Some(1), None, 3, (1, 0)),
            (None, Some(2), 3, (0, 2)),
            (Some(2), Some(2), 3, (2, 1)),
            (Some(5), Some(5), 3, (3, 0)),
            (Some(0), Some(0), 0, (0, 0)),
        ];
        for (head, tail, len, expected) in cases {
            assert_eq!(clamp_ends(&Ends { head, tail }, len), expected);
        }
    }
}
