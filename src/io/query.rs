//! The one parser of a request's `:path` into path, query string and fragment, and of a
//! query string into parameters. Lookup queries (`query_string` source), mapping rules,
//! `strip_credentials` and `explain` all read the request through it, so they agree on
//! where the query ends (at the first `#`) and on how names and values are decoded
//! (form-decoding; a name or value that is not UTF-8 once decoded is refused, never
//! decoded lossily).

use super::percent::{decode_form, decode_form_borrowing};
use super::scan;
use crate::model::redact;

/// A `:path` split as RFC 3986 splits a relative reference: the path ends at the first
/// `?` or `#`; the query (when a `?` comes before any `#`) ends at the first `#`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathParts<'a> {
    /// The path, without query or fragment.
    pub path: &'a str,
    /// The raw query string, without its `?`.
    pub query: Option<&'a str>,
    /// The fragment with its `#`, or `""`.
    pub fragment: &'a str,
}

/// Splits a `:path` into path, query and fragment.
pub fn split(path_and_query: &str) -> PathParts<'_> {
    let (before_fragment, fragment) = match scan::find(path_and_query, b'#') {
        Some(at) => path_and_query
            .split_at_checked(at)
            .unwrap_or((path_and_query, "")),
        None => (path_and_query, ""),
    };
    let (path, query) = match scan::split_once(before_fragment, b'?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };
    PathParts {
        path,
        query,
        fragment,
    }
}

/// The raw query string of a `:path`, if it has one.
pub fn query_of(path_and_query: &str) -> Option<&str> {
    split(path_and_query).query
}

/// The raw `name=value` pairs of a query string, in order; empty pairs are skipped and a
/// pair without `=` has the value `""`.
pub fn raw_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> + '_ {
    scan::pieces(query, b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| scan::split_once(pair, b'=').unwrap_or((pair, "")))
}

/// The form-decoded pairs of a query string, in order; a pair whose name or value is not
/// UTF-8 once decoded is left out.
pub fn decoded_pairs(query: &str) -> Vec<(String, String)> {
    raw_pairs(query)
        .filter_map(|(name, value)| Some((decode_form(name)?, decode_form(value)?)))
        .collect()
}

/// The form-decoded value of the first parameter whose form-decoded name is `name`;
/// `None` when there is none or its value is not UTF-8 once decoded.
pub fn first_value(query: &str, name: &str) -> Option<String> {
    let (_, raw_value) = raw_pairs(query)
        .find(|(raw_name, _)| decode_form_borrowing(raw_name).as_deref() == Some(name))?;
    decode_form(raw_value)
}

/// Whether a raw parameter name is `wanted`, as written or once form-decoded.
pub fn same_name(raw: &str, wanted: &str) -> bool {
    raw == wanted || decode_form_borrowing(raw).as_deref() == Some(wanted)
}

/// `path_and_query` with the value of every parameter whose decoded name `is_secret`
/// accepts replaced by its redacted form (for logs and `explain`); the rest as it is.
pub fn redact_parameters(path_and_query: &str, is_secret: impl Fn(&str) -> bool) -> String {
    let parts = split(path_and_query);
    let Some(query) = parts.query else {
        return path_and_query.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if decode_form(name).is_some_and(|name| is_secret(&name)) {
                let value = decode_form(value).unwrap_or_else(|| value.to_owned());
                format!("{name}={}", redact(&value))
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{}?{}{}", parts.path, pairs.join("&"), parts.fragment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_ends_at_the_first_hash_and_starts_only_before_it() {
        let cases = [
            ("/a?b=1?c#frag", "/a", Some("b=1?c"), "#frag"),
            ("/a?", "/a", Some(""), ""),
            ("/a", "/a", None, ""),
            ("/a#f?x=1", "/a", None, "#f?x=1"),
            (
                "/?user_key#?user_key=k",
                "/",
                Some("user_key"),
                "#?user_key=k",
            ),
        ];
        for (input, path, query, fragment) in cases {
            let parts = split(input);
            assert_eq!(
                (parts.path, parts.query, parts.fragment),
                (path, query, fragment),
                "{input}"
            );
        }
    }

    #[test]
    fn pairs_are_form_decoded_and_non_utf8_ones_refused() {
        assert_eq!(
            decoded_pairs("a=1&&b&c%20d=e+f&bad=%FF&%FE=x"),
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), String::new()),
                ("c d".to_owned(), "e f".to_owned()),
            ]
        );
        assert_eq!(first_value("k=1&k=2", "k").as_deref(), Some("1"));
        assert_eq!(first_value("x%5Fy=1", "x_y").as_deref(), Some("1"));
        assert_eq!(first_value("k=%FF", "k"), None);
        assert!(same_name("app%5Fkey", "app_key") && same_name("app_key", "app_key"));
    }

    #[test]
    fn secret_parameters_are_redacted_and_the_rest_kept_byte_for_byte() {
        let redacted = redact_parameters("/p?a=%41&user_key=0123456789&z#f", |name| {
            name == "user_key"
        });
        assert_eq!(redacted, "/p?a=%41&user_key=01…(10)&z#f");
        assert_eq!(redact_parameters("/p", |_| true), "/p");
    }
}
