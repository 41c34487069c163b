//! The backend's `3scale-limit-*` answer headers.

use crate::header_name::is_named;

/// Limits the backend reported with `limit_headers=1`; `-1` means unlimited
/// (remaining) or never (reset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// `3scale-limit-max-value`: the limit of the most constrained period.
    pub max_value: Option<i64>,
    /// `3scale-limit-remaining`: calls of this size left in that period.
    pub remaining: Option<i64>,
    /// `3scale-limit-reset`: seconds until that period ends.
    pub reset: Option<i64>,
}

impl Limits {
    /// Reads the limit headers of an answer; values that are not integers are ignored.
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let mut limits = Limits::default();
        for (name, value) in headers {
            limits.take_header(name.as_bytes(), value);
        }
        limits
    }

    /// Takes one answer header: `true` when it is a limit header (whose value
    /// counts when it is an integer; a later one replaces an earlier one).
    pub fn take_header(&mut self, name: &[u8], value: &[u8]) -> bool {
        // By length first: most headers have none of these lengths, and are
        // passed over without comparing their bytes.
        let slot = match name.len() {
            18 if is_named(name, "3scale-limit-reset") => &mut self.reset,
            22 if is_named(name, "3scale-limit-remaining") => &mut self.remaining,
            22 if is_named(name, "3scale-limit-max-value") => &mut self.max_value,
            _ => return false,
        };
        if let Some(number) = integer(value) {
            *slot = Some(number);
        }
        true
    }

    /// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`, or nothing
    /// when the limit is unlimited or unknown.
    pub fn rate_limit_headers(&self) -> Vec<(String, String)> {
        let Some(remaining) = self.remaining.filter(|value| *value >= 0) else {
            return Vec::new();
        };
        let mut headers = Vec::with_capacity(3);
        if let Some(max_value) = self.max_value.filter(|value| *value >= 0) {
            headers.push(("ratelimit-limit".to_owned(), max_value.to_string()));
        }
        headers.push(("ratelimit-remaining".to_owned(), remaining.to_string()));
        if let Some(reset) = self.known_reset() {
            headers.push(("ratelimit-reset".to_owned(), reset.to_string()));
        }
        headers
    }

    /// `Retry-After` for a 429 reply: the seconds until the limit resets, when known.
    pub fn retry_after(&self) -> Option<(String, String)> {
        self.remaining.filter(|value| *value >= 0)?;
        let reset = self.known_reset()?;
        Some(("retry-after".to_owned(), reset.to_string()))
    }

    fn known_reset(&self) -> Option<i64> {
        self.reset.filter(|value| *value >= 0)
    }
}

fn integer(value: &[u8]) -> Option<i64> {
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(headers: &[(&str, &str)]) -> Limits {
        Limits::from_headers(
            headers
                .iter()
                .map(|(name, value)| (*name, value.as_bytes())),
        )
    }

    #[test]
    fn reads_the_three_headers() {
        let parsed = limits(&[
            ("3scale-limit-max-value", "100"),
            ("3scale-limit-remaining", "7"),
            ("3scale-limit-reset", "42"),
            ("other", "1"),
        ]);
        assert_eq!(
            parsed,
            Limits {
                max_value: Some(100),
                remaining: Some(7),
                reset: Some(42)
            }
        );
        assert_eq!(
            parsed.rate_limit_headers(),
            vec![
                ("ratelimit-limit".to_owned(), "100".to_owned()),
                ("ratelimit-remaining".to_owned(), "7".to_owned()),
                ("ratelimit-reset".to_owned(), "42".to_owned()),
            ]
        );
        assert_eq!(
            parsed.retry_after(),
            Some(("retry-after".to_owned(), "42".to_owned()))
        );
    }

    #[test]
    fn garbage_values_are_ignored() {
        let parsed = limits(&[
            ("3scale-limit-max-value", "lots"),
            ("3scale-limit-remaining", "1.5"),
            ("3scale-limit-reset", "99999999999999999999999"),
        ]);
        assert_eq!(parsed, Limits::default());
        assert!(parsed.rate_limit_headers().is_empty());
        let bytes = Limits::from_headers([("3scale-limit-remaining", &[0xFF, 0xFE][..])]);
        assert_eq!(bytes, Limits::default());
    }

    #[test]
    fn unlimited_gives_no_headers() {
        let parsed = limits(&[
            ("3scale-limit-max-value", "-1"),
            ("3scale-limit-remaining", "-1"),
            ("3scale-limit-reset", "-1"),
        ]);
        assert!(parsed.rate_limit_headers().is_empty());
        assert_eq!(parsed.retry_after(), None);
    }

    #[test]
    fn a_limit_that_never_resets_has_no_reset_headers() {
        let parsed = limits(&[
            ("3scale-limit-max-value", "5"),
            ("3scale-limit-remaining", "0"),
            ("3scale-limit-reset", "-1"),
        ]);
        assert_eq!(parsed.rate_limit_headers().len(), 2);
        assert_eq!(parsed.retry_after(), None);
    }
}
