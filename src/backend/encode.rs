//! Percent-encoding of query and form parameters for the 3scale backend.
//!
//! Every byte outside the unreserved set `A-Z a-z 0-9 - . _ ~` becomes `%XX`
//! with uppercase hex digits. Encoding keys and values this strictly means a
//! credential holding `&`, `=`, `%`, a space or non-ASCII text can never add or
//! change a parameter of the call.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes text for use as a query or form key or value.
pub fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if is_unreserved(byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push('%');
            encoded.push(hex_digit(byte >> 4));
            encoded.push(hex_digit(byte & 0x0F));
        }
    }
    encoded
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn hex_digit(nibble: u8) -> char {
    HEX.get(usize::from(nibble))
        .map_or('0', |digit| char::from(*digit))
}

/// Builds `key=value&key=value…` with every key and value encoded.
#[derive(Debug, Clone, Default)]
pub struct Params {
    text: String,
}

impl Params {
    /// An empty parameter list.
    pub fn new() -> Self {
        Params::default()
    }

    /// Appends one parameter, encoding the key and the value.
    pub fn push(&mut self, key: &str, value: &str) -> &mut Self {
        if !self.text.is_empty() {
            self.text.push('&');
        }
        self.text.push_str(&encode(key));
        self.text.push('=');
        self.text.push_str(&encode(value));
        self
    }

    /// The encoded parameters.
    pub fn finish(self) -> String {
        self.text
    }
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
    fn params_join_encoded_pairs() {
        let mut params = Params::new();
        params.push("a", "1").push("b&c", "x=y");
        assert_eq!(params.finish(), "a=1&b%26c=x%3Dy");
    }
}
