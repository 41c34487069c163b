//! `strip_credentials`: remove the headers and query parameters credentials came from.

use crate::decision::Forward;
use crate::lookup::Origin;

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
/// Other parameters keep their bytes and order; an emptied query loses its `?`.
fn without_parameters(path: &str, names: &[&str]) -> Option<String> {
    let (base, query) = path.split_once('?')?;
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
    Some(if query.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{query}")
    })
}

/// Whether a raw parameter name is `wanted`, as written or once form-decoded.
fn same_name(raw: &str, wanted: &str) -> bool {
    raw == wanted || (!raw.is_empty() && form_decode(raw) == wanted.as_bytes())
}

fn form_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (_, Some(value)) => {
                decoded.push(value);
                index += 3;
            }
            (b'+', None) => {
                decoded.push(b' ');
                index += 1;
            }
            (other, None) => {
                decoded.push(other);
                index += 1;
            }
        }
    }
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str) -> Origin {
        Origin::QueryParameter(name.to_owned())
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

    #[test]
    fn removes_several_parameters_and_headers_but_not_metadata() {
        let forward = strip(
            &[
                query("app_id"),
                Origin::Header("X-App-Key".to_owned()),
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
    fn form_decoding_tolerates_broken_escapes() {
        assert_eq!(form_decode("a%2"), b"a%2");
        assert_eq!(form_decode("%zz+%41"), b"%zz A");
        assert_eq!(form_decode("%C3%A9"), "é".as_bytes());
    }
}
