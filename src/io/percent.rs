//! Percent-encoding (calls to 3scale) and form-decoding (requests' query strings): the
//! only encoder and decoder of the crate.
//!
//! Encoding: every byte outside the unreserved set `A-Z a-z 0-9 - . _ ~` becomes `%XX`
//! with uppercase hex digits. Encoding keys and values this strictly means a
//! credential holding `&`, `=`, `%`, a space or non-ASCII text can never add or
//! change a parameter of the call.

use std::borrow::Cow;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes text for use as a query or form key or value.
pub fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    encode_into(&mut encoded, text);
    encoded
}

/// Appends `text` percent-encoded to `out`: runs of unreserved bytes are copied
/// as they are, in one piece each (an authorization call encodes a few hundred
/// bytes per request, nearly all unreserved). A run is ASCII and starts and ends
/// on character boundaries, so it is text of its own.
pub fn encode_into(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut run_start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        if is_unreserved(byte) {
            continue;
        }
        out.push_str(text.get(run_start..at).unwrap_or_default());
        out.push('%');
        out.push(hex_char(byte >> 4));
        out.push(hex_char(byte & 0x0F));
        run_start = at + 1;
    }
    out.push_str(text.get(run_start..).unwrap_or_default());
}

fn is_unreserved(byte: u8) -> bool {
    match byte {
        0..64 => (UNRESERVED_LOW >> byte) & 1 == 1,
        64..128 => (UNRESERVED_HIGH >> (byte - 64)) & 1 == 1,
        _ => false,
    }
}

/// The unreserved bytes below 64 (`-`, `.`, digits) as bits, and those from 64
/// to 127 (letters, `_`, `~`): encoding tests each byte with one shift instead
/// of against five classes.
const UNRESERVED_LOW: u64 = unreserved_bits(0);
const UNRESERVED_HIGH: u64 = unreserved_bits(64);

const fn unreserved_bits(first: u8) -> u64 {
    let mut bits = 0u64;
    let mut offset = 0u8;
    while offset < 64 {
        let byte = first + offset;
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            bits |= 1 << offset;
        }
        offset += 1;
    }
    bits
}

fn hex_char(nibble: u8) -> char {
    HEX.get(usize::from(nibble))
        .map_or('0', |digit| char::from(*digit))
}

/// One piece of a parameter's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart<'a> {
    /// Text, percent-encoded as it is appended.
    Text(&'a str),
    /// A constant of the 3scale protocol as encoding writes it (`service_id`,
    /// `usage%5B`): appended as it is, so the fixed names of every call are not
    /// encoded again per call.
    Encoded(&'static str),
}

/// Builds `key=value&key=value…` with every key and value encoded.
#[derive(Debug, Clone, Default)]
pub struct Params {
    text: String,
    /// Where the parameters start in `text` (after what [`Params::after`] kept).
    start: usize,
}

impl Params {
    /// An empty parameter list.
    pub fn new() -> Self {
        Params::default()
    }

    /// Parameters appended to `text` (the path of a call up to its `?`), so that
    /// the whole is built in one string.
    pub fn after(text: String) -> Self {
        Params {
            start: text.len(),
            text,
        }
    }

    /// Appends one parameter, encoding the key and the value.
    pub fn push(&mut self, key: &str, value: &str) -> &mut Self {
        self.push_parts(&[KeyPart::Text(key)], value)
    }

    /// Appends one parameter whose key is a constant written as it is already
    /// encoded ([`KeyPart::Encoded`]), encoding the value.
    pub fn push_encoded_key(&mut self, key: &'static str, value: &str) -> &mut Self {
        self.push_parts(&[KeyPart::Encoded(key)], value)
    }

    /// Appends one parameter whose key is `key_parts` one after the other (such
    /// as `usage%5B`, the metric, `%5D`), encoding the value.
    pub fn push_parts(&mut self, key_parts: &[KeyPart<'_>], value: &str) -> &mut Self {
        self.separate();
        for part in key_parts {
            match part {
                KeyPart::Text(text) => encode_into(&mut self.text, text),
                KeyPart::Encoded(encoded) => self.text.push_str(encoded),
            }
        }
        self.text.push('=');
        encode_into(&mut self.text, value);
        self
    }

    /// Appends one parameter with a number as its value (digits need no encoding).
    pub fn push_number(&mut self, key_parts: &[KeyPart<'_>], value: u64) -> &mut Self {
        self.push_parts(key_parts, "");
        push_decimal(&mut self.text, value);
        self
    }

    fn separate(&mut self) {
        if self.text.len() > self.start {
            self.text.push('&');
        }
    }

    /// The encoded parameters.
    pub fn finish(self) -> String {
        self.text
    }
}

/// Appends the decimal digits of `value` (without `core::fmt`, whose machinery
/// costs more than the digits of a usage delta or a cache bucket's number);
/// digits never need encoding.
pub fn push_decimal(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut first = digits.len();
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        first -= 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &digit in digits.get(first..).unwrap_or_default() {
        out.push(char::from(digit));
    }
}

/// Form-decodes one name or value of a query string: `+` is a space and `%XX` (two hex
/// digits) is that byte; a `%` not followed by two hex digits stays as it is (as browsers
/// and the WHATWG URL standard do). `None` when the bytes are not UTF-8.
pub fn decode_form(raw: &str) -> Option<String> {
    decode_form_borrowing(raw).map(Cow::into_owned)
}

/// [`decode_form`], borrowing `raw` when it has nothing to decode (no `+`, no `%`):
/// the usual name or value of a query string, compared or copied once by the caller
/// instead of copied here first.
pub fn decode_form_borrowing(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.bytes().any(|byte| byte == b'+' || byte == b'%') {
        return Some(Cow::Borrowed(raw));
    }
    decode_escapes(raw).map(Cow::Owned)
}

fn decode_escapes(raw: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => match tail {
                [high, low, after @ ..] => match (hex_digit(*high), hex_digit(*low)) {
                    (Some(high), Some(low)) => {
                        bytes.push(high << 4 | low);
                        rest = after;
                    }
                    _ => bytes.push(b'%'),
                },
                _ => bytes.push(b'%'),
            },
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_bytes_stay() {
        assert_eq!(encode("AZaz09-._~"), "AZaz09-._~");
    }

    #[test]
    fn reserved_and_non_ascii_bytes_become_uppercase_hex() {
        let cases = [
            ("a&b", "a%26b"),
            ("a=b", "a%3Db"),
            ("a b", "a%20b"),
            ("100%", "100%25"),
            ("é", "%C3%A9"),
            ("usage[hits]", "usage%5Bhits%5D"),
            ("+/?#", "%2B%2F%3F%23"),
            ("\n\0", "%0A%00"),
        ];
        for (input, expected) in cases {
            assert_eq!(encode(input), expected, "input {input:?}");
        }
    }

    #[test]
    fn encoding_into_a_string_appends_what_encode_returns() {
        for text in [
            "", "plain", "a b&c=d", "é~x", "%", "日本", "a\u{0}b", "--._~",
        ] {
            let mut out = String::from("x=");
            encode_into(&mut out, text);
            assert_eq!(out, format!("x={}", encode(text)), "{text:?}");
        }
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn params_after_a_path_and_from_parts() {
        let mut params = Params::after("/p?".to_owned());
        params
            .push_parts(
                &[
                    KeyPart::Text("usage"),
                    KeyPart::Encoded("%5B"),
                    KeyPart::Text("a b"),
                    KeyPart::Text("]"),
                ],
                "1",
            )
            .push_number(&[KeyPart::Text("n")], 42)
            .push_encoded_key("k%20", "v w");
        assert_eq!(params.finish(), "/p?usage%5Ba%20b%5D=1&n=42&k%20=v%20w");
        let mut bare = Params::new();
        bare.push_number(&[KeyPart::Encoded("k")], 0).push("v", "");
        assert_eq!(bare.finish(), "k=0&v=");
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for value in [0, 1, 9, 10, 42, 1_000_000, u64::MAX] {
            let mut out = String::new();
            push_decimal(&mut out, value);
            assert_eq!(out, value.to_string());
        }
    }

    #[test]
    fn exactly_the_unreserved_bytes_stay() {
        for byte in 0..=u8::MAX {
            let expected = byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
            assert_eq!(is_unreserved(byte), expected, "{byte:#04x}");
        }
    }

    #[test]
    fn params_join_encoded_pairs() {
        let mut params = Params::new();
        params.push("a", "1").push("b&c", "x=y");
        assert_eq!(params.finish(), "a=1&b%26c=x%3Dy");
    }

    #[test]
    fn form_decoding_borrows_what_has_nothing_to_decode() {
        let cases = [
            ("plain", "plain", true),
            ("", "", true),
            ("a+b", "a b", false),
            ("%41%zz", "A%zz", false),
            ("%", "%", false),
            ("\u{e9}t\u{e9}", "\u{e9}t\u{e9}", true),
        ];
        for (raw, expected, borrowed) in cases {
            let decoded = decode_form_borrowing(raw);
            assert_eq!(decoded.as_deref(), Some(expected), "{raw:?}");
            assert_eq!(
                matches!(decoded, Some(Cow::Borrowed(_))),
                borrowed,
                "{raw:?}"
            );
            assert_eq!(decode_form(raw).as_deref(), Some(expected), "{raw:?}");
        }
        assert_eq!(decode_form_borrowing("%FF"), None);
    }
}
