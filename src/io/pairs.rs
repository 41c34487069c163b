//! Proxy-Wasm's serialized header map, read where it lies.
//!
//! The host hands a whole header map over as one buffer: the number of pairs
//! (u32, little-endian), then each pair's name and value lengths (u32 each),
//! then each name and value followed by a NUL byte. Reading the request's
//! headers this way costs one host call for all of them; looking a header up in
//! the buffer costs no allocation (the SDK's reader makes a `String` and a `Vec`
//! per pair, which costs a request with a dozen headers more than the host call).

/// A serialized header map whose layout has been checked: every length stays
/// within the buffer, so reading it again cannot fail halfway.
#[derive(Debug, Clone, Copy)]
pub struct HeaderPairs<'a> {
    bytes: &'a [u8],
    count: usize,
}

impl<'a> HeaderPairs<'a> {
    /// Checks `bytes`' layout; `None` when it is not a serialized header map. An
    /// empty buffer is an empty map (what the host gives for one without pairs).
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        if bytes.is_empty() {
            return Some(HeaderPairs { bytes, count: 0 });
        }
        let count = usize::try_from(read_u32(bytes, 0)?).ok()?;
        let pairs = HeaderPairs { bytes, count };
        let mut end = pairs.data_start()?;
        for index in 0..count {
            let (name, value) = pairs.lengths(index)?;
            end = end.checked_add(name)?.checked_add(value)?.checked_add(2)?;
        }
        (end <= bytes.len()).then_some(pairs)
    }

    /// The value of the first pair named `name` (names compared as bytes: the
    /// host's names are lowercase, and so are the ones the filter asks for).
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.iter()
            .find(|(present, _)| *present == name.as_bytes())
            .map(|(_, value)| value)
    }

    /// The pairs, in the host's order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        let mut offset = self.data_start().unwrap_or(usize::MAX);
        (0..self.count).map_while(move |index| {
            let (name_length, value_length) = self.lengths(index)?;
            let name = self.bytes.get(offset..offset.checked_add(name_length)?)?;
            let value_start = offset.checked_add(name_length)?.checked_add(1)?;
            let value = self
                .bytes
                .get(value_start..value_start.checked_add(value_length)?)?;
            offset = value_start.checked_add(value_length)?.checked_add(1)?;
            Some((name, value))
        })
    }

    /// Where the names and values begin: after the count and the lengths.
    fn data_start(&self) -> Option<usize> {
        self.count.checked_mul(8)?.checked_add(4)
    }

    /// The name and value lengths of pair `index`.
    fn lengths(&self, index: usize) -> Option<(usize, usize)> {
        let at = index.checked_mul(8)?.checked_add(4)?;
        let name = usize::try_from(read_u32(self.bytes, at)?).ok()?;
        let value = usize::try_from(read_u32(self.bytes, at.checked_add(4)?)?).ok()?;
        Some((name, value))
    }
}

/// A serialized header map kept with its checked layout: checked once when
/// taken, then read as often as needed (a request looks up several headers).
/// The default is the empty map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedHeaderPairs {
    bytes: Vec<u8>,
    count: usize,
}

impl OwnedHeaderPairs {
    /// Checks `bytes`' layout as [`HeaderPairs::new`] does.
    pub fn new(bytes: Vec<u8>) -> Option<Self> {
        let count = HeaderPairs::new(&bytes)?.count;
        Some(OwnedHeaderPairs { bytes, count })
    }

    /// `pairs` serialized and kept (for stand-ins of the host).
    pub fn of<N: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(N, V)]) -> Self {
        let bytes = serialize(pairs);
        let count = pairs.len();
        OwnedHeaderPairs { bytes, count }
    }

    /// The pairs, read without checking the layout again.
    pub fn pairs(&self) -> HeaderPairs<'_> {
        HeaderPairs {
            bytes: &self.bytes,
            count: self.count,
        }
    }
}

/// `pairs` serialized as the host takes and hands over a header map: what
/// [`HeaderPairs`] reads (the shell's calls and replies, and stand-ins of the host:
/// tests, fuzzing, bench-only builds).
pub fn serialize<N: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(N, V)]) -> Vec<u8> {
    serialize_each(
        pairs
            .iter()
            .map(|(name, value)| (name.as_ref(), value.as_ref())),
    )
}

/// [`serialize`] for pairs as they come, without collecting them first: the
/// iterator is walked twice (the sizes, then the bytes), so that the buffer is
/// allocated once at its final size. It starts zeroed, which writes the NUL
/// after each name and value; each length and text is then copied into place.
pub fn serialize_each<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone) -> Vec<u8> {
    let length = |bytes: &[u8]| u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes();
    let (count, texts) = pairs
        .clone()
        .fold((0usize, 0usize), |(count, texts), (name, value)| {
            let pair = name.len().saturating_add(value.len()).saturating_add(2);
            (count.saturating_add(1), texts.saturating_add(pair))
        });
    let data_start = count.saturating_mul(8).saturating_add(4);
    let mut bytes = vec![0; data_start.saturating_add(texts)];
    put(
        &mut bytes,
        0,
        &u32::try_from(count).unwrap_or(u32::MAX).to_le_bytes(),
    );
    let (mut lengths_at, mut text_at) = (4, data_start);
    for (name, value) in pairs {
        lengths_at = put(&mut bytes, lengths_at, &length(name));
        lengths_at = put(&mut bytes, lengths_at, &length(value));
        text_at = put(&mut bytes, text_at, name).saturating_add(1);
        text_at = put(&mut bytes, text_at, value).saturating_add(1);
    }
    bytes
}

/// Copies `data` into `bytes` at `at`; where it ends. (The sizes were summed
/// first, so it always fits.)
fn put(bytes: &mut [u8], at: usize, data: &[u8]) -> usize {
    let end = at.saturating_add(data.len());
    if let Some(slot) = bytes.get_mut(at..end) {
        slot.copy_from_slice(data);
    }
    end
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(word.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift as Rng;

    #[test]
    fn finds_the_first_value_of_a_name() {
        let bytes = serialize(&[
            (":path", "/?app_id=a"),
            ("x-key", "first"),
            ("x-key", "second"),
            ("x-empty", ""),
        ]);
        let pairs = HeaderPairs::new(&bytes).unwrap();
        assert_eq!(pairs.get(":path"), Some(&b"/?app_id=a"[..]));
        assert_eq!(pairs.get("x-key"), Some(&b"first"[..]));
        assert_eq!(pairs.get("x-empty"), Some(&b""[..]));
        assert_eq!(pairs.get("x-missing"), None);
        assert_eq!(pairs.iter().count(), 4);
    }

    #[test]
    fn an_owned_map_is_checked_once_and_read_alike() {
        let bytes = serialize(&[(":authority", "web.app"), (":path", "/")]);
        let owned = OwnedHeaderPairs::new(bytes.clone()).unwrap();
        assert_eq!(owned.pairs().get(":path"), Some(&b"/"[..]));
        let borrowed: Vec<_> = HeaderPairs::new(&bytes).unwrap().iter().collect();
        assert_eq!(owned.pairs().iter().collect::<Vec<_>>(), borrowed);
        assert!(OwnedHeaderPairs::new(bytes[..bytes.len() - 1].to_vec()).is_none());
    }

    #[test]
    fn values_need_not_be_utf8() {
        let bytes = serialize(&[(&b"x-raw"[..], &[0xff, 0x00, 0xfe][..])]);
        let pairs = HeaderPairs::new(&bytes).unwrap();
        assert_eq!(pairs.get("x-raw"), Some(&[0xff, 0x00, 0xfe][..]));
    }

    #[test]
    fn an_empty_buffer_is_an_empty_map() {
        let pairs = HeaderPairs::new(&[]).unwrap();
        assert_eq!(pairs.get(":path"), None);
        assert_eq!(pairs.iter().count(), 0);
    }

    #[test]
    fn every_cut_of_a_map_is_refused() {
        let bytes = serialize(&[(":authority", "web.app"), (":path", "/")]);
        for cut in 1..bytes.len() {
            assert!(HeaderPairs::new(&bytes[..cut]).is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn lengths_past_the_buffer_are_refused() {
        let mut bytes = serialize(&[(b"a", b"b")]);
        bytes[8] = 0xff;
        assert!(HeaderPairs::new(&bytes).is_none());
        let huge_count = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert!(HeaderPairs::new(&huge_count).is_none());
    }

    /// Any bytes: checked or refused, never a panic; a checked map yields
    /// exactly its count of pairs.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut rng = Rng::new(0x9a1e);
        for _ in 0..20_000 {
            let length = rng.below(40);
            let mut bytes: Vec<u8> = (0..length).map(|_| rng.below(6) as u8).collect();
            if let Some(first) = bytes.first_mut() {
                *first %= 4;
            }
            if let Some(pairs) = HeaderPairs::new(&bytes) {
                assert_eq!(pairs.iter().count(), pairs.count);
                let _ = pairs.get("a");
            }
        }
    }

    /// The layout byte for byte: the count, each pair's two lengths, then each
    /// name and value with its NUL.
    #[test]
    fn serializes_the_hosts_layout() {
        let bytes = serialize(&[("a", "bc"), (":x", "")]);
        let expected = [
            2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, b'a', 0, b'b', b'c', 0,
            b':', b'x', 0, 0,
        ];
        assert_eq!(bytes, expected);
        assert_eq!(serialize::<&str, &str>(&[]), [0, 0, 0, 0]);
    }

    /// Whatever the host serializes reads back as it was.
    #[test]
    fn serialized_maps_read_back() {
        let mut rng = Rng::new(7);
        for _ in 0..2_000 {
            let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..rng.below(8))
                .map(|_| {
                    let name = (0..1 + rng.below(6))
                        .map(|_| b'a' + rng.below(3) as u8)
                        .collect();
                    let value = (0..rng.below(12)).map(|_| rng.below(256) as u8).collect();
                    (name, value)
                })
                .collect();
            let borrowed: Vec<(&[u8], &[u8])> = pairs
                .iter()
                .map(|(n, v)| (n.as_slice(), v.as_slice()))
                .collect();
            let bytes = serialize(&borrowed);
            let read = HeaderPairs::new(&bytes).unwrap();
            assert_eq!(read.iter().collect::<Vec<_>>(), borrowed);
        }
    }
}
