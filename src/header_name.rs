//! Header names compared the way the host hands them over.

/// Whether header `name` is `lowercase` (a lowercase name) in any case: compared
/// byte for byte first, since the host's names are lowercase (Envoy lowercases
/// every name it parses), and without regard to case only when that fails.
pub fn is_named(name: &[u8], lowercase: &str) -> bool {
    name == lowercase.as_bytes() || name.eq_ignore_ascii_case(lowercase.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_in_any_case_and_only_whole() {
        assert!(is_named(b"3scale-limit-reset", "3scale-limit-reset"));
        assert!(is_named(b"3Scale-Limit-RESET", "3scale-limit-reset"));
        assert!(!is_named(b"3scale-limit-rese", "3scale-limit-reset"));
        assert!(!is_named(
            b"3scale-limit-remaining",
            "3scale-limit-max-value"
        ));
        assert!(!is_named(b"\xFF", "x"));
    }
}
