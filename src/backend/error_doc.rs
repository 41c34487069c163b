//! The `<error code="…">` document of a 3scale error answer: which codes are
//! about the request's usage rather than about the application.

/// Error codes that judge the usage a request named, not the application:
/// another request of the same application with another usage may be allowed.
const USAGE_ERRORS: [&str; 2] = ["metric_invalid", "usage_value_invalid"];

/// The `code` attribute of an `<error>` document; `None` when the body is not one.
pub fn error_code(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?.trim_start();
    let text = match text.strip_prefix("<?") {
        Some(declaration) => declaration.split_once("?>")?.1.trim_start(),
        None => text,
    };
    let tag = text.strip_prefix("<error")?;
    let tag = tag.get(..tag.find('>')?)?;
    let (_, value) = tag.split_once("code=")?;
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = value.get(1..)?;
    value.get(..value.find(quote)?)
}

/// Whether an error answer's body says the usage was wrong (an unknown metric,
/// an invalid value), which says nothing about the application itself.
pub fn is_usage_error(body: &[u8]) -> bool {
    error_code(body).is_some_and(|code| USAGE_ERRORS.contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_code_of_an_error_document() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?><error code="metric_invalid">metric "nosuch" is invalid</error>"#;
        assert_eq!(error_code(body), Some("metric_invalid"));
        assert_eq!(
            error_code(b"<error code='user_key_invalid'>x</error>"),
            Some("user_key_invalid")
        );
        assert_eq!(
            error_code(b"<status><authorized>false</authorized></status>"),
            None
        );
        assert_eq!(error_code(b""), None);
        assert_eq!(error_code(b"<error code=\"unterminated>"), None);
        assert_eq!(error_code(&[0xff, 0xfe]), None);
    }

    #[test]
    fn only_usage_codes_are_usage_errors() {
        assert!(is_usage_error(b"<error code=\"metric_invalid\">m</error>"));
        assert!(is_usage_error(
            b"<error code=\"usage_value_invalid\">m</error>"
        ));
        assert!(!is_usage_error(
            b"<error code=\"user_key_invalid\">m</error>"
        ));
        assert!(!is_usage_error(
            b"<error code=\"application_not_found\">m</error>"
        ));
        assert!(!is_usage_error(b""));
    }
}
