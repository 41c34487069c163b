//! Redaction of secrets for debug logs (SPEC section 10).

/// How many characters a secret must have before its first two are shown: a shorter
/// secret would be mostly given away by its prefix and length.
const SHOWN_PREFIX_MIN_LENGTH: usize = 8;

/// A secret as it may appear in a debug log: its first two characters, an ellipsis and its
/// length in characters (`ab…(32)`). Secrets shorter than eight characters show no
/// prefix (`…(5)`).
pub fn redact(secret: &str) -> String {
    let length = secret.chars().count();
    let prefix: String = if length >= SHOWN_PREFIX_MIN_LENGTH {
        secret.chars().take(2).collect()
    } else {
        String::new()
    };
    format!("{prefix}…({length})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_secrets_show_two_characters_and_the_length() {
        assert_eq!(redact("abcdef0123456789abcdef0123456789"), "ab…(32)");
        assert_eq!(redact("12345678"), "12…(8)");
    }

    #[test]
    fn short_secrets_show_only_the_length() {
        assert_eq!(redact(""), "…(0)");
        assert_eq!(redact("abc"), "…(3)");
        assert_eq!(redact("1234567"), "…(7)");
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(redact("ñandú-ñandú"), "ña…(11)");
    }
}
