//! The normal form of a request path that mapping rules are matched against
//! (docs/behaviour.md §6, v2).
//!
//! An upstream that decodes `%61` to `a` or resolves `..` serves `/%61dmin` and
//! `/public/../admin` as `/admin`; if the rules saw those spellings as written, a
//! client could pick which metrics (and limits) apply to a request by spelling its
//! path differently. APIcast matches nginx's normalised URI; this is the same idea
//! applied to RFC 3986 section 6.2.2: percent-encoded unreserved characters are
//! decoded, the hex digits of the other escapes are uppercased, and dot segments
//! are removed, including those that only appear once `%2E` is decoded. `%2F` is
//! not unreserved, so it stays encoded and never separates segments. Runs of `/`
//! are merged before dot segments are removed, as nginx does (`merge_slashes`),
//! so that `..` steps over a real segment and not an empty one; the matcher merges
//! them anyway.
//!
//! Only the path is normalised. The query string is kept as written (the matcher
//! form-decodes its parameters) and ends at the first `#`; the split is
//! [`query::split`]'s, the one every part of the filter uses. The path sent upstream
//! is never changed: this is only what the rules see.

use std::borrow::Cow;

use crate::io::{query, scan};

/// The request path and query in the form mapping rules are matched against.
///
/// Returns the input unchanged (borrowed) when it is already in normal form,
/// which is the common case.
pub fn normalize(path_and_query: &str) -> Cow<'_, str> {
    let parts = query::split(path_and_query);
    match (normalize_path(parts.path), parts.query) {
        (Cow::Borrowed(_), _) => Cow::Borrowed(
            path_and_query
                .strip_suffix(parts.fragment)
                .unwrap_or(path_and_query),
        ),
        (Cow::Owned(mut owned), Some(query)) => {
            owned.push('?');
            owned.push_str(query);
            Cow::Owned(owned)
        }
        (Cow::Owned(owned), None) => Cow::Owned(owned),
    }
}

/// A path (no query) in normal form: escapes normalised, then `/` runs merged
/// and dot segments removed.
fn normalize_path(path: &str) -> Cow<'_, str> {
    let escapes = normalize_escapes(path);
    if !needs_segment_work(&escapes) {
        return escapes;
    }
    Cow::Owned(remove_dot_segments(&merge_slashes(&escapes)))
}

/// Decodes percent-encoded unreserved characters and uppercases the hex digits
/// of every other escape. A `%` not followed by two hex digits is not an
/// escape but the character `%` itself, whose normal form is `%25`: so the
/// result is its own normal form (`%%36%31` gives `%2561`, not `%61`, which a
/// second pass would turn into `a`).
///
/// Used on mapping-rule patterns too, so that a pattern written with `%7e` or
/// `%2f` compares equal to the request's normal form.
pub fn normalize_escapes(text: &str) -> Cow<'_, str> {
    if scan::find(text, b'%').is_none() {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escape = (byte == b'%')
            .then(|| decode_escape(bytes.get(index + 1..index + 3)))
            .flatten();
        match escape {
            Some(Escape::Unreserved(c)) => {
                out.push(c);
                changed = true;
                index += 3;
            }
            Some(Escape::Other { high, low }) => {
                let (high_upper, low_upper) = (high.to_ascii_uppercase(), low.to_ascii_uppercase());
                changed |= high != high_upper || low != low_upper;
                out.push('%');
                out.push(char::from(high_upper));
                out.push(char::from(low_upper));
                index += 3;
            }
            None if byte == b'%' => {
                out.push_str("%25");
                changed = true;
                index += 1;
            }
            None => {
                let rest = text.get(index..).unwrap_or_default();
                let Some(c) = rest.chars().next() else { break };
                out.push(c);
                index += c.len_utf8();
            }
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// What the two characters after a `%` encode.
enum Escape {
    /// An unreserved character (`A-Z a-z 0-9 - . _ ~`), to be written as itself.
    Unreserved(char),
    /// Any other octet, kept as an escape with these hex digits (as written).
    Other { high: u8, low: u8 },
}

fn decode_escape(digits: Option<&[u8]>) -> Option<Escape> {
    let &[high, low] = digits? else {
        return None;
    };
    let value = hex_value(high)? * 16 + hex_value(low)?;
    if is_unreserved(value) {
        Some(Escape::Unreserved(char::from(value)))
    } else {
        Some(Escape::Other { high, low })
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// RFC 3986 unreserved characters.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Whether the path has a `/` run or a `.`/`..` segment to deal with.
fn needs_segment_work(path: &str) -> bool {
    scan::has_double_slash(path)
        || scan::pieces(path, b'/').any(|segment| matches!(segment, "." | ".."))
}

/// The path with every run of `/` reduced to one.
fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut after_slash = false;
    for c in path.chars() {
        if c == '/' && after_slash {
            continue;
        }
        after_slash = c == '/';
        out.push(c);
    }
    out
}

/// RFC 3986 section 5.2.4 on a path whose `/` runs are merged: `.` segments are
/// dropped, `..` drops the segment before it (never above the root), and a path
/// ending in a dot segment keeps its trailing `/` (`/a/b/..` is `/a/`).
fn remove_dot_segments(path: &str) -> String {
    let absolute = path.starts_with('/');
    let body = path.strip_prefix('/').unwrap_or(path);
    let mut kept: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for segment in body.split('/') {
        trailing_slash = matches!(segment, "." | "..");
        match segment {
            "." => {}
            ".." => {
                kept.pop();
            }
            segment => kept.push(segment),
        }
    }
    let mut out = String::with_capacity(path.len());
    if absolute {
        out.push('/');
    }
    out.push_str(&kept.join("/"));
    if trailing_slash && !kept.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_table() {
        let rows = crate::vectors::pairs(
            "normalize.tsv",
            include_str!("../tests/vectors/normalize.tsv"),
        );
        assert!(
            rows.len() >= 30,
            "normalize.tsv has only {} rows",
            rows.len()
        );
        let failures: Vec<String> = rows
            .iter()
            .filter(|row| normalize(row.input) != row.output)
            .map(|row| {
                format!(
                    "line {}: {:?} gives {:?}, expected {:?}",
                    row.line,
                    row.input,
                    normalize(row.input),
                    row.output
                )
            })
            .collect();
        assert!(
            failures.is_empty(),
            "failing rows:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    fn normal_form_is_a_fixed_point() {
        let rows = crate::vectors::pairs(
            "normalize.tsv",
            include_str!("../tests/vectors/normalize.tsv"),
        );
        for row in rows {
            let once = normalize(row.input).into_owned();
            assert_eq!(normalize(&once), once, "line {}", row.line);
        }
    }

    #[test]
    fn paths_already_normal_are_borrowed() {
        for path in [
            "/",
            "/a/b?x=1",
            "/a%2Fb",
            "/%C3%A9",
            "/a.b/c..d/.e",
            "/100%25",
        ] {
            assert!(
                matches!(normalize(path), Cow::Borrowed(p) if p == path),
                "{path}"
            );
        }
        assert!(matches!(normalize("/a#frag"), Cow::Borrowed("/a")));
    }

    #[test]
    fn escapes_in_patterns_are_normalised_without_touching_dots() {
        assert_eq!(normalize_escapes("/%7efoo/%2f/{id}"), "/~foo/%2F/{id}");
        assert_eq!(normalize_escapes("/a/../b"), "/a/../b");
        assert_eq!(normalize_escapes("/%zz%4"), "/%25zz%254");
    }

    #[test]
    fn non_ascii_text_survives() {
        assert_eq!(normalize("/é/%65/./ü"), "/é/e/ü");
        assert_eq!(normalize("/%e2%82%ac/x"), "/%E2%82%AC/x");
    }
}
