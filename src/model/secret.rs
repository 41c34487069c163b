//! Secrets (docs/behaviour.md §10): service tokens, System access tokens, user keys and
//! app keys. [`Secret`] holds one and never prints it: its `Debug` and `Display` show the
//! redacted form, so a `{:?}` of any type holding one cannot leak it. The redaction policy
//! lives here, once: [`redact`], and which call parameters carry secrets.

use std::fmt;

use serde::Deserialize;

/// A secret value. The raw text is reachable only through [`Secret::expose`], so every
/// use of it is visible in the code.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value, for the places that must send it (calls to 3scale, headers
    /// handed upstream) or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", redact(&self.0))
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// The query and form parameters of calls to 3scale (Service Management API and System)
/// whose values are secrets.
pub const SECRET_PARAMETERS: [&str; 4] = ["service_token", "user_key", "app_key", "access_token"];

/// Request headers the filter sets in `passthrough_metadata` mode whose whole value is a
/// secret; `x-3scale-app-id` carries one after its first `:` (see [`redact_header`]).
pub const SECRET_HEADERS: [&str; 2] = ["x-3scale-service-token", "x-3scale-user-key"];

/// A header value with its secret part redacted, by the policy above: whole values of
/// [`SECRET_HEADERS`], the key part of `x-3scale-app-id: id:key`, anything else as is.
pub fn redact_header(name: &str, value: &str) -> String {
    let name = name.to_ascii_lowercase();
    if SECRET_HEADERS.contains(&name.as_str()) {
        return redact(value);
    }
    match value.split_once(':') {
        Some((app_id, key)) if name == "x-3scale-app-id" => format!("{app_id}:{}", redact(key)),
        _ => value.to_owned(),
    }
}

/// Whether a (decoded) call parameter name carries a secret. Report bodies name the
/// credential inside brackets (`transactions[0][user_key]`), so the last bracketed part
/// counts too.
pub fn is_secret_parameter(name: &str) -> bool {
    let last = name
        .rsplit_once('[')
        .map_or(name, |(_, rest)| rest.trim_end_matches(']'));
    SECRET_PARAMETERS.contains(&last)
}

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
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("abcdef0123456789abcdef0123456789");
        assert_eq!(format!("{secret}"), "ab…(32)");
        assert_eq!(format!("{secret:?}"), "Secret(ab…(32))");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(ab…(32)))");
        assert_eq!(secret.expose(), "abcdef0123456789abcdef0123456789");
    }

    #[test]
    fn secret_headers_are_redacted_whole_or_after_the_app_id() {
        assert_eq!(
            redact_header("X-3scale-Service-Token", "0123456789"),
            "01…(10)"
        );
        assert_eq!(
            redact_header("x-3scale-app-id", "app:0123456789"),
            "app:01…(10)"
        );
        assert_eq!(redact_header("x-3scale-app-id", "app"), "app");
        assert_eq!(
            redact_header("x-3scale-usages", "{\"hits\":1}"),
            "{\"hits\":1}"
        );
    }

    #[test]
    fn secret_parameters_include_bracketed_report_names() {
        for name in [
            "service_token",
            "user_key",
            "app_key",
            "access_token",
            "transactions[0][user_key]",
        ] {
            assert!(is_secret_parameter(name), "{name}");
        }
        for name in [
            "service_id",
            "app_id",
            "usage[hits]",
            "transactions[0][app_id]",
        ] {
            assert!(!is_secret_parameter(name), "{name}");
        }
    }

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
