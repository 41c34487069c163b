//! Ruby-style stack indexes (docs/behaviour.md §5): `0` is the bottom value, `-1` the top,
//! `-2` the one below it; anything outside the stack is out of range.

/// The position that `index` designates in a stack of `len` values, if any.
pub fn resolve(index: i64, len: usize) -> Option<usize> {
    if index >= 0 {
        usize::try_from(index)
            .ok()
            .filter(|&position| position < len)
    } else {
        let from_top = usize::try_from(index.unsigned_abs()).ok()?;
        len.checked_sub(from_top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_ruby_style_indexes() {
        let cases: &[(i64, usize, Option<usize>)] = &[
            (0, 3, Some(0)),
            (2, 3, Some(2)),
            (3, 3, None),
            (-1, 3, Some(2)),
            (-3, 3, Some(0)),
            (-4, 3, None),
            (0, 0, None),
            (-1, 0, None),
            (i64::MAX, 3, None),
            (i64::MIN, 3, None),
        ];
        for &(index, len, expected) in cases {
            assert_eq!(resolve(index, len), expected, "index {index} in {len}");
        }
    }
}
