//! The buckets a worker wrote usage to since it last claimed them: one bit per bucket.
//!
//! A request that adds usage marks its bucket, so this is on the request path: setting a
//! bit costs no allocation once the words exist, and a flush reads the buckets in
//! ascending order. A configuration of `n` buckets needs `n / 8` bytes at most.

/// A set of bucket numbers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BucketSet {
    words: Vec<u64>,
}

impl BucketSet {
    /// Adds `bucket`.
    pub fn insert(&mut self, bucket: u32) {
        let word = (bucket / 64) as usize;
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        if let Some(bits) = self.words.get_mut(word) {
            *bits |= 1 << (bucket % 64);
        }
    }

    /// Adds every bucket below `count`.
    pub fn insert_below(&mut self, count: u32) {
        let full = (count / 64) as usize;
        if self.words.len() < full {
            self.words.resize(full, 0);
        }
        self.words
            .iter_mut()
            .take(full)
            .for_each(|bits| *bits = u64::MAX);
        let rest = count % 64;
        if rest > 0 {
            let last = (1u64 << rest) - 1;
            match self.words.get_mut(full) {
                Some(bits) => *bits |= last,
                None => self.words.push(last),
            }
        }
    }

    /// The buckets, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0u32..).zip(&self.words).flat_map(|(word, &bits)| {
            let mut rest = bits;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                Some(word * 64 + bit)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn holds_what_a_sorted_set_holds() {
        let mut set = BucketSet::default();
        let mut reference = BTreeSet::new();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bucket = u32::try_from(state % 700).unwrap();
            if round % 97 == 0 {
                set.insert_below(bucket);
                reference.extend(0..bucket);
            } else {
                set.insert(bucket);
                reference.insert(bucket);
            }
            assert_eq!(
                set.iter().collect::<Vec<_>>(),
                reference.iter().copied().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn word_edges() {
        let mut set = BucketSet::default();
        for bucket in [0, 63, 64, 127, 128, 4095, 4096] {
            set.insert(bucket);
        }
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [0, 63, 64, 127, 128, 4095, 4096]
        );
        for count in [0, 1, 63, 64, 65, 128] {
            let mut below = BucketSet::default();
            below.insert_below(count);
            assert_eq!(
                below.iter().collect::<Vec<_>>(),
                (0..count).collect::<Vec<_>>()
            );
        }
        assert_eq!(BucketSet::default().iter().next(), None);
    }
}
