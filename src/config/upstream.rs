//! `upstream`: an Envoy cluster, the URL it serves, and a timeout.

use std::sync::Arc;

use serde::{Deserialize, Deserializer};

/// An external host the filter calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// Envoy cluster name, e.g. `outbound|443||su1.3scale.net` (shared with the
    /// calls made to it).
    pub name: Arc<str>,
    /// The service's URL; its path is the base of every call.
    pub url: UpstreamUrl,
    /// Milliseconds before a call counts as failed.
    pub timeout: u64,
}

pub(super) fn default_timeout() -> u64 {
    1000
}

/// An absolute URL split into what calls need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    /// `http` or `https` (the only schemes [`UpstreamUrl::parse`] takes), so that
    /// a call carries it without a copy.
    pub scheme: &'static str,
    /// Host with a non-default port, used as `:authority` (shared with the calls).
    pub authority: Arc<str>,
    /// Base path, always starting and ending with `/`.
    pub base_path: String,
}

impl UpstreamUrl {
    /// Parses an absolute `http`/`https` URL: scheme and host lowercased, the
    /// default port left out, user information, query and fragment dropped, `\`
    /// read as `/`, `.` and `..` segments resolved and the path's non-ASCII bytes,
    /// spaces and the characters a path may not hold as such percent-encoded, as
    /// the WHATWG URL standard (browsers, the `url` crate) reads such URLs. (The
    /// `url` crate was about 30 KB of the module for these few rules.)
    pub fn parse(text: &str) -> Result<Self, String> {
        check_host_text(text)?;
        let not_absolute = |why: &str| format!("`{text}` is not an absolute URL: {why}");
        let trimmed = text.trim_matches(|c: char| c <= ' ');
        let (scheme, rest) =
            split_scheme(trimmed).ok_or_else(|| not_absolute("relative URL without a base"))?;
        let (scheme, default_port) = match scheme.as_str() {
            "http" => ("http", 80),
            "https" => ("https", 443),
            _ => return Err(format!("URL `{text}` is not an `http` or `https` URL")),
        };
        let rest = rest.trim_start_matches(['/', '\\']);
        let authority_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let host_and_port = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let (host, port) = split_port(host_and_port).map_err(&not_absolute)?;
        check_host(host).map_err(&not_absolute)?;
        let authority = match port {
            Some(port) if port != default_port => format!("{host}:{port}"),
            _ => host.to_owned(),
        };
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let mut base_path = normalize_path(path);
        if !base_path.ends_with('/') {
            base_path.push('/');
        }
        Ok(UpstreamUrl {
            scheme,
            authority: authority.to_ascii_lowercase().into(),
            base_path,
        })
    }

    /// The normalised URL, ending in `/`.
    pub fn to_url_string(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.base_path)
    }
}

/// The lowercased scheme and what follows its `:`, if `text` starts with one.
// Its own function, not merged into `UpstreamUrl::parse`: V8 compiles each function
// of the module when Envoy loads it, and a large one costs Envoy memory out of
// proportion to its size (README "The benchmark", memory).
#[inline(never)]
fn split_scheme(text: &str) -> Option<(String, &str)> {
    let (scheme, rest) = text.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| (scheme.to_ascii_lowercase(), rest))
}

/// The host and the port of an authority without user information.
// Not merged into `UpstreamUrl::parse` either (memory, as above).
#[inline(never)]
fn split_port(authority: &str) -> Result<(&str, Option<u16>), &'static str> {
    let host_end = match authority.strip_prefix('[') {
        Some(inside) => inside
            .find(']')
            .map(|at| at + 2)
            .ok_or("invalid IPv6 address")?,
        None => authority.rfind(':').unwrap_or(authority.len()),
    };
    let (host, port) = authority.split_at(host_end);
    let port = match port.strip_prefix(':') {
        None if port.is_empty() => None,
        None => return Err("invalid port number"),
        Some("") => None,
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse().map_err(|_| "invalid port number")?)
        }
        Some(_) => return Err("invalid port number"),
    };
    Ok((host, port))
}

/// Refuses an empty host and characters no host name holds.
// Not merged into `UpstreamUrl::parse` either (memory, as above).
#[inline(never)]
fn check_host(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("empty host");
    }
    if let Some(inside) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let valid = inside.contains(':')
            && inside
                .chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'));
        return if valid {
            Ok(())
        } else {
            Err("invalid IPv6 address")
        };
    }
    let forbidden = |c: char| c.is_ascii_control() || " #%/:<>?@[\\]^|".contains(c);
    if host.contains(forbidden) {
        return Err("invalid domain character");
    }
    Ok(())
}

/// The path with `\` read as `/`, dot segments resolved and the bytes a URL
/// path may not hold as such percent-encoded.
// Not merged into `UpstreamUrl::parse` either (memory, as above).
#[inline(never)]
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let mut pieces = path.split(['/', '\\']).skip(1).peekable();
    while let Some(segment) = pieces.next() {
        let last = pieces.peek().is_none();
        match segment.to_ascii_lowercase().as_str() {
            "." | "%2e" => {
                if last {
                    segments.push("");
                }
            }
            ".." | ".%2e" | "%2e." | "%2e%2e" => {
                segments.pop();
                if last {
                    segments.push("");
                }
            }
            _ => segments.push(segment),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in segments {
        out.push('/');
        percent_encode_into(&mut out, segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn percent_encode_into(out: &mut String, segment: &str) {
    for c in segment.chars() {
        let plain = c.is_ascii_graphic() && !matches!(c, '"' | '<' | '>' | '`' | '{' | '}');
        if plain {
            out.push(c);
            continue;
        }
        let mut bytes = [0; 4];
        for byte in c.encode_utf8(&mut bytes).bytes() {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

/// Refuses a host written with non-ASCII characters or percent escapes before the
/// rest is read: internationalized names are written in their ASCII (`xn--`) form, so
/// no IDNA tables are needed. Percent escapes are refused because they decode to
/// such hosts (`%41%C3%84`).
// Not merged into `UpstreamUrl::parse` either (memory, as above).
#[inline(never)]
fn check_host_text(text: &str) -> Result<(), String> {
    let after_scheme = text.split_once(':').map_or(text, |(_, rest)| rest);
    let authority = after_scheme
        .trim_start_matches(['/', '\\'])
        .split(['/', '\\', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.is_ascii() && !host.contains('%') {
        Ok(())
    } else {
        Err(format!(
            "URL `{text}` has a host with non-ASCII characters or `%` escapes; write an internationalized host name in its ASCII (`xn--`) form"
        ))
    }
}

impl<'de> Deserialize<'de> for UpstreamUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::read_str(deserializer, UpstreamUrl::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing: these reached a `debug_assert!` in `idna_adapter`.
    #[test]
    fn non_ascii_or_escaped_hosts_are_errors_not_panics() {
        for text in [
            "https:/A\u{60c}ul-.    y>",
            "https://A\u{c4}.example/",
            "https://%41%C3%84/",
            "https://user@B\u{fc}cher.de:8080/x",
        ] {
            let error = UpstreamUrl::parse(text).unwrap_err();
            assert!(error.contains("non-ASCII"), "{error}");
        }
    }

    /// What the `url` crate (the WHATWG reading, which the filter used before)
    /// makes of URLs, against this parser.
    #[test]
    fn reads_urls_as_the_url_crate_does() {
        let cases = [
            "https://su1.3scale.net/",
            "https://su1.3scale.net",
            "https://su1.3scale.net:443",
            "https://su1.3scale.net:8443/a/b",
            "http://backend:3000/base",
            "http://backend:80/",
            "http://backend:/x",
            "HTTP://BackEnd.Example/Base/",
            "https://user:pw@host:1/p?q=1#f",
            "https://host?q",
            "https://host#f",
            "https:host/x",
            "https:///host/x",
            "https:\\\\host\\a\\b",
            "  https://host/  ",
            "https://host/a/../b/./c",
            "https://host/a/..",
            "https://host/a/.",
            "https://host/..",
            "https://host/%2e%2E/x",
            "https://host/a b\"c<d>e`f{g}h",
            "https://host/%41%zz",
            "https://[::1]:8080/x",
            "https://[::1]/",
            "https://[::1",
            "https://host:99999/",
            "https://host:8a/",
            "https://:80/",
            "https:///",
            "https://",
            "https://ho st/",
            "https://ho<st/",
            "https://a@b@c/",
            "su1.3scale.net",
            "/path",
            "1http://host/",
            "",
        ];
        for text in cases {
            let ours = UpstreamUrl::parse(text).map(|url| url.to_url_string());
            let theirs = url::Url::parse(text)
                .map_err(|e| e.to_string())
                .and_then(|url| {
                    let host = url.host_str().filter(|h| !h.is_empty()).ok_or("no host")?;
                    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
                    let path = url.path().trim_end_matches('/');
                    Ok(format!("{}://{host}{port}{path}/", url.scheme()))
                });
            match (&ours, &theirs) {
                (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{text}"),
                (Err(_), Err(_)) => {}
                _ => panic!("{text}: {ours:?} against {theirs:?}"),
            }
        }
    }

    #[test]
    fn only_http_and_https() {
        let error = UpstreamUrl::parse("ftp://host/").unwrap_err();
        assert!(error.contains("not an `http` or `https` URL"), "{error}");
        let error = UpstreamUrl::parse("su1.3scale.net").unwrap_err();
        assert!(error.contains("not an absolute URL"), "{error}");
    }

    #[test]
    fn ascii_hosts_with_non_ascii_paths_still_parse() {
        let url = UpstreamUrl::parse("https://Su1.3scale.net:8443/b\u{fc}cher?q=%41").unwrap();
        assert_eq!(&*url.authority, "su1.3scale.net:8443");
        assert_eq!(url.base_path, "/b%C3%BCcher/");
        let url = UpstreamUrl::parse("https://user:p%40ss@host/").unwrap();
        assert_eq!(&*url.authority, "host");
    }
}
