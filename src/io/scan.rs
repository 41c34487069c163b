//! Scans of request text for one ASCII byte, written out as plain loops. Every cached
//! request reads its `:path`, query string and headers through them. `str`'s char
//! patterns (`find('#')`, `split('&')`, `trim()`) give the same answers, but in the
//! module they cost a searcher object, a `memchr` set up for long texts and several
//! calls per use, and at opt-level "z" none of that is inlined.
//!
//! Splitting at an ASCII byte always splits at a char boundary, so the pieces are
//! taken with `str::get` and never panic.

/// The position of the first `byte` in `text`; `byte` must be ASCII for the
/// position to be a char boundary. Eight bytes at a time, as one 64-bit word:
/// `word ^ pattern` has a zero byte where `text` has `byte`, and the classic
/// zero-byte test (`(x - 0x01…01) & !x & 0x80…80`) sets the top bit of the
/// lowest such byte (bits above it may be set too, never below it).
pub fn find(text: &str, byte: u8) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const TOPS: u64 = u64::from_le_bytes([0x80; 8]);
    let pattern = u64::from_le_bytes([byte; 8]);
    let mut chunks = text.as_bytes().chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(word) ^ pattern;
        let zero_bytes = x.wrapping_sub(ONES) & !x & TOPS;
        if zero_bytes != 0 {
            return Some(offset + (zero_bytes.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    for (at, &present) in chunks.remainder().iter().enumerate() {
        if present == byte {
            return Some(offset + at);
        }
    }
    None
}

/// `text` before and after the first `byte` (ASCII), which is in neither part.
pub fn split_once(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = find(text, byte)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// The parts of `text` between the `byte`s (ASCII), as `str::split` gives them:
/// `n` separators make `n + 1` parts, empty ones included.
pub fn pieces(text: &str, byte: u8) -> Pieces<'_> {
    Pieces {
        rest: Some(text),
        byte,
    }
}

/// The iterator of [`pieces`].
#[derive(Debug, Clone)]
pub struct Pieces<'a> {
    rest: Option<&'a str>,
    byte: u8,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match split_once(rest, self.byte) {
            Some((piece, after)) => {
                self.rest = Some(after);
                Some(piece)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// `text` without leading and trailing whitespace, as `str::trim` gives it. A
/// text that starts and ends with an ASCII byte that is not whitespace (nearly
/// every header value) is returned as it is without decoding it: Unicode
/// whitespace other than ASCII's is never a single byte, and the last byte of a
/// multi-byte char is never ASCII.
pub fn trim(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(&first), Some(&last)) if kept_at_an_end(first) && kept_at_an_end(last) => text,
        _ => text.trim(),
    }
}

fn kept_at_an_end(byte: u8) -> bool {
    byte.is_ascii() && !byte.is_ascii_whitespace() && byte != 0x0b
}

/// Whether `text` has two `/` in a row.
pub fn has_double_slash(text: &str) -> bool {
    let mut after_slash = false;
    for &byte in text.as_bytes() {
        let slash = byte == b'/';
        if slash && after_slash {
            return true;
        }
        after_slash = slash;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXTS: &[&str] = &[
        "",
        "a",
        "&",
        "&&",
        "a&b",
        "&a&",
        "a=b&c=d&&e",
        "é&ü=ß&",
        "/p?q#f",
        "/p#f?q",
        "??##",
        " x ",
        "\tx\u{a0}",
        "\u{a0}x",
        "\u{3000}",
        "x\u{b}",
        "\u{b}x",
        "\u{c}x\r\n",
        "x\u{85}",
        "\u{1c}x\u{1f}",
        "//",
        "/a//b",
        "/a/b/",
        "a/",
        "0123456&89abcdef&",
        "01234567&9abcdef",
        "012345678901234567890123#",
        "\u{80}\u{80}\u{80}\u{80}&=",
    ];

    #[test]
    fn scans_give_what_str_gives() {
        for text in TEXTS {
            for byte in [b'&', b'=', b'?', b'#', b'/', b'x'] {
                let c = char::from(byte);
                assert_eq!(find(text, byte), text.find(c), "{text:?} {c}");
                assert_eq!(split_once(text, byte), text.split_once(c), "{text:?} {c}");
                assert_eq!(
                    pieces(text, byte).collect::<Vec<_>>(),
                    text.split(c).collect::<Vec<_>>(),
                    "{text:?} {c}"
                );
            }
            assert_eq!(trim(text), text.trim(), "{text:?}");
            assert_eq!(has_double_slash(text), text.contains("//"), "{text:?}");
        }
    }

    #[test]
    fn scans_give_what_str_gives_on_every_short_text_of_a_small_alphabet() {
        let alphabet = ["a", "&", "/", " ", "\u{a0}", "\u{b}", "é"];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = texts
                .iter()
                .flat_map(|text| alphabet.iter().map(move |c| format!("{text}{c}")))
                .collect();
            texts.extend(longer);
        }
        for text in &texts {
            assert_eq!(trim(text), text.trim(), "{text:?}");
            assert_eq!(has_double_slash(text), text.contains("//"), "{text:?}");
            for byte in [b'&', b'/', b' ', 0x0b, 0x80, 0x7f, 0x01] {
                let expected = text.bytes().position(|present| present == byte);
                assert_eq!(find(text, byte), expected, "{text:?} {byte}");
            }
            assert_eq!(
                pieces(text, b'&').collect::<Vec<_>>(),
                text.split('&').collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn find_gives_the_first_place_of_every_ascii_byte_at_every_offset() {
        let filler = "a\u{1}\u{81}\u{7f}\u{ff}\u{100}~";
        for byte in 0..=0x7f_u8 {
            let c = char::from(byte);
            for length in 0..40 {
                let text: String = filler.chars().cycle().take(length).collect();
                let text = text.replace(c, "");
                assert_eq!(find(&text, byte), None, "{text:?} {byte}");
                for at in 0..=text.len() {
                    let Some((before, after)) = text.split_at_checked(at) else {
                        continue;
                    };
                    let with = format!("{before}{c}{after}{c}");
                    assert_eq!(find(&with, byte), Some(at), "{with:?} {byte}");
                }
            }
        }
    }
}
