//! Decode ops: `base64_standard` and `base64_urlsafe` (docs/behaviour.md §5).
//!
//! Both ops behave the same: padding is optional and either alphabet's
//! characters 62/63 (`+`/`-` and `/`/`_`) are accepted, because the documented
//! Basic-auth pipeline runs `base64_urlsafe` on standard-alphabet data and JWT
//! segments come unpadded (incomplete padding such as `YQ=` is accepted too). Bits left over after the last full byte are ignored
//! (a lenient reading of non-canonical encoders). The result must be UTF-8.

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use super::{Reason, Stack, pop_top};

/// Standard alphabet, padding optional, trailing bits ignored.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Pops the top value, decodes it as base64 and pushes the text.
#[inline(never)]
pub(super) fn base64(mut stack: Stack) -> Result<Stack, Reason> {
    let encoded = pop_top(&mut stack)?;
    stack.push(decode_text(&encoded)?);
    Ok(stack)
}

/// Decodes base64 in either alphabet into UTF-8 text.
fn decode_text(encoded: &str) -> Result<String, Reason> {
    let standard: String = encoded
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    let bytes = LENIENT
        .decode(standard)
        .map_err(|_| Reason::InvalidBase64)?;
    String::from_utf8(bytes).map_err(|_| Reason::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(input: &str) -> Result<String, Reason> {
        decode_text(input)
    }

    #[test]
    fn decodes_padded_and_unpadded() {
        let cases = [
            ("YWxhZGRpbjpvcGVuc2VzYW1l", "aladdin:opensesame"),
            ("YQ==", "a"),
            ("YQ", "a"),
            // Short padding counts as optional padding.
            ("YQ=", "a"),
            ("YWI=", "ab"),
            ("YWI", "ab"),
            ("YWJj", "abc"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(decode(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn accepts_both_alphabets_even_mixed() {
        // 0xfb 0xff 0xbf encodes as "+/+/" (standard) or "-_-_" (URL-safe).
        let expected_bytes = [0xfb_u8, 0xff, 0xbf];
        for input in ["+/+/", "-_-_", "+_-/"] {
            let bytes = LENIENT.decode(input.replace('-', "+").replace('_', "/"));
            assert_eq!(bytes.as_deref(), Ok(&expected_bytes[..]), "{input}");
            // Those bytes are not UTF-8, so the op itself refuses them.
            assert_eq!(decode(input), Err(Reason::NotUtf8), "{input}");
        }
        // "é?" = c3 a9 3f → "w6k/" standard, "w6k_" URL-safe.
        assert_eq!(decode("w6k/").as_deref(), Ok("é?"));
        assert_eq!(decode("w6k_").as_deref(), Ok("é?"));
    }

    #[test]
    fn rejects_invalid_input_without_panicking() {
        for input in [
            "Y", "Y===", "YQ===", "!!!!", "YQ==YQ==", "YW Jj", "é", "YQ=\n", "=", "====",
        ] {
            assert!(decode(input).is_err(), "{input:?} must fail");
        }
    }

    #[test]
    fn ignores_trailing_bits() {
        // "YR" carries bits beyond the single byte 'a'; a strict decoder refuses it.
        assert_eq!(decode("YR").as_deref(), Ok("a"));
    }

    #[test]
    fn rejects_non_utf8_results() {
        // 0xff 0xfe
        assert_eq!(decode("//4"), Err(Reason::NotUtf8));
    }

    #[test]
    fn op_replaces_the_top_value_only() {
        let stack = vec!["keep".to_owned(), "YQ".to_owned()];
        assert_eq!(base64(stack), Ok(vec!["keep".to_owned(), "a".to_owned()]));
        assert_eq!(
            base64(Vec::new()),
            Err(Reason::NotEnoughValues { needed: 1, len: 0 })
        );
    }
}
