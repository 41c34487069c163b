//! The sort of configuration-time code: the positions of a list in sorted order.
//!
//! The standard library's sorts are generic, so each sorted type brought its own copy
//! (about 6 KB of module each). This one is written once for positions, with the
//! comparison passed in: a bottom-up merge sort, O(n log n) comparisons, stable. The
//! request path keeps the standard sort (`mapping::index` sorts rule positions with it).

/// The positions `0..len`, ordered so that `less(a, b)` never holds for a position `b`
/// before a position `a`; positions that compare equal keep their order.
pub fn sorted_positions(len: usize, less: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut merged = vec![0; len];
    let mut width = 1;
    while width < len {
        let runs = width.saturating_mul(2);
        for (pair, out) in order.chunks(runs).zip(merged.chunks_mut(runs)) {
            let (left, right) = pair.split_at(width.min(pair.len()));
            merge(left, right, out, less);
        }
        std::mem::swap(&mut order, &mut merged);
        width = runs;
    }
    order
}

/// Merges two sorted runs into `out` (as long as both); on a tie the left one first.
fn merge(left: &[usize], right: &[usize], out: &mut [usize], less: &dyn Fn(usize, usize) -> bool) {
    let (mut left, mut right) = (left.iter().peekable(), right.iter().peekable());
    for slot in out {
        let from_right = match (left.peek(), right.peek()) {
            (Some(&&a), Some(&&b)) => less(b, a),
            (None, _) => true,
            (Some(_), None) => false,
        };
        let next = if from_right {
            right.next()
        } else {
            left.next()
        };
        *slot = next.copied().unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_as_the_standard_stable_sort() {
        let mut state = 0x1234_5678_9abc_def1u64;
        for len in (0..70).chain([255, 256, 257, 1000]) {
            let values: Vec<u64> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state % 17
                })
                .collect();
            let order = sorted_positions(values.len(), &|a, b| values[a] < values[b]);
            let mut expected: Vec<usize> = (0..values.len()).collect();
            expected.sort_by_key(|&position| values[position]);
            assert_eq!(order, expected, "{values:?}");
        }
    }
}
