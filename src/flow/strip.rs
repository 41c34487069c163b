//! `strip_credentials`: remove the headers and query parameters credentials came from.

use crate::io::Forward;
use crate::io::query::{self, same_name};
use crate::model::Origin;

/// The changes that remove every credential origin from the request: whole
/// headers, and single query parameters from `path`. Metadata is left alone.
pub fn strip(origins: &[Origin], path: &str) -> Forward {
    let mut forward = Forward::default();
    let mut parameters: Vec<&str> = Vec::new();
    for origin in origins {
        match origin {
            Origin::Header(name) => forward.remove_headers.push(name.to_ascii_lowercase()),
            Origin::QueryParameter(name) => parameters.push(name),
            Origin::Metadata => {}
        }
    }
    if !parameters.is_empty() {
        forward.new_path = without_parameters(path, &parameters);
    }
    forward
}

/// `path` without every query parameter of those names (all occurrences, so no
/// copy of a credential reaches the upstream), or `None` when nothing changes.
/// Other parameters keep their bytes and order; an emptied query loses its `?`
/// unless a fragment follows. The query is the one every reader of the request
/// sees ([`query::split`]: it ends at the first `#`); a fragment is kept as it is.
fn without_parameters(path: &str, names: &[&str]) -> Option<String> {
    let parts = query::split(path);
    let query = parts.query?;
    let mut removed = false;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|parameter| {
            let name = parameter
                .split_once('=')
                .map_or(*parameter, |(name, _)| name);
            let strip = names.iter().any(|wanted| same_name(name, wanted));
            removed |= strip;
            !strip
        })
        .collect();
    if !removed {
        return None;
    }
    let query = kept.join("&");
    let (base, fragment) = (parts.path, parts.fragment);
    // An emptied query keeps its `?` when a fragment follows: a `?` in the
    // fragment would otherwise start a new query.
    Some(if query.is_empty() && fragment.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{query}{fragment}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str) -> Origin {
        Origin::QueryParameter(name.into())
    }

    #[test]
    fn removes_one_parameter_wherever_it_is() {
        let cases = [
            ("/p?user_key=k&a=1&b=2", Some("/p?a=1&b=2")),
            ("/p?a=1&user_key=k&b=2", Some("/p?a=1&b=2")),
            ("/p?a=1&b=2&user_key=k", Some("/p?a=1&b=2")),
            ("/p?user_key=k", Some("/p")),
            ("/p?user_key", Some("/p")),
            ("/p?a=%2F+x&user_key=k&b=", Some("/p?a=%2F+x&b=")),
            ("/p?user_key=1&a=1&user_key=2", Some("/p?a=1")),
            ("/p?user%5Fkey=k&a", Some("/p?a")),
            ("/p?user_keys=k", None),
            ("/p?a=user_key", None),
            ("/p", None),
        ];
        for (path, expected) in cases {
            let forward = strip(&[query("user_key")], path);
            assert_eq!(forward.new_path.as_deref(), expected, "path {path}");
        }
    }

    /// Found by the `request` fuzz target: the `query_string` source reads the
    /// query up to `#`, so `user_key` is read (as `""`) from
    /// `/?user_key#x=abc&y=1`, while the whole `user_key#x` parameter was left in
    /// the path. The query ends at `#` here too; a fragment stays as it is.
    /// Found next: with the `?` dropped, a `?` in the fragment started a new
    /// query holding the credential (`/?user_key#?user_key=k`).
    #[test]
    fn the_query_ends_at_the_fragment_as_for_the_lookup() {
        let cases = [
            ("/?user_key#x=abc&y=1", Some("/?#x=abc&y=1")),
            ("/?user_key=k#f", Some("/?#f")),
            ("/?user_key#?user_key=k", Some("/?#?user_key=k")),
            ("/?user_key=k#", Some("/?#")),
            ("/?a=1&user_key=k&b#user_key=2", Some("/?a=1&b#user_key=2")),
            ("/?a=1#user_key=2", None),
            // A `?` after the `#` is part of the fragment: there is no query, so no
            // credential was read from it either (the lookup reads the same split).
            ("/p#?user_key=k", None),
        ];
        for (path, expected) in cases {
            let forward = strip(&[query("user_key")], path);
            assert_eq!(forward.new_path.as_deref(), expected, "path {path}");
        }
    }

    #[test]
    fn removes_several_parameters_and_headers_but_not_metadata() {
        let forward = strip(
            &[
                query("app_id"),
                Origin::Header("X-App-Key".into()),
                Origin::Metadata,
                query("app_key"),
            ],
            "/p?app_key=s&x=1&app_id=i",
        );
        assert_eq!(forward.new_path.as_deref(), Some("/p?x=1"));
        assert_eq!(forward.remove_headers, vec!["x-app-key".to_owned()]);
        assert!(forward.set_headers.is_empty());
    }

    #[test]
    fn names_match_after_tolerant_form_decoding() {
        assert!(same_name("a%2", "a%2"));
        assert!(same_name("%zz+%41", "%zz A"));
        assert!(same_name("%C3%A9", "é"));
        assert!(!same_name("%+1", "\u{1}"));
    }
}
