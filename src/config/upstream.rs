//! `upstream`: an Envoy cluster, the URL it serves, and a timeout.

use serde::{Deserialize, Deserializer};

/// An external host the filter calls.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// Envoy cluster name, e.g. `outbound|443||su1.3scale.net`.
    pub name: String,
    /// The service's URL; its path is the base of every call.
    pub url: UpstreamUrl,
    /// Milliseconds before a call counts as failed.
    #[serde(
        default = "default_timeout",
        deserialize_with = "crate::integer::whole"
    )]
    pub timeout: u64,
}

fn default_timeout() -> u64 {
    1000
}

/// An absolute URL split into what calls need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    /// `http` or `https`.
    pub scheme: String,
    /// Host with a non-default port, used as `:authority`.
    pub authority: String,
    /// Base path, always starting and ending with `/`.
    pub base_path: String,
}

impl UpstreamUrl {
    /// Parses an absolute `http`/`https` URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        check_host_text(text)?;
        let url =
            url::Url::parse(text).map_err(|e| format!("`{text}` is not an absolute URL: {e}"))?;
        let scheme = url.scheme().to_owned();
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("URL `{text}` has no host"))?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let mut base_path = url.path().to_owned();
        if !base_path.ends_with('/') {
            base_path.push('/');
        }
        Ok(UpstreamUrl {
            scheme,
            authority,
            base_path,
        })
    }

    /// The normalised URL, ending in `/`.
    pub fn to_url_string(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.base_path)
    }
}

/// Refuses a host written with non-ASCII characters or percent escapes before the
/// `url` crate sees it. The IDNA adapter pinned in Cargo.toml refuses non-ASCII host
/// names anyway, but a host mixing them with ASCII capitals (found by fuzzing:
/// `https:/A\u{60c}`) trips a debug assertion in it, a panic in debug builds.
/// Percent escapes are refused because they decode to such hosts (`%41%C3%84`).
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

    #[test]
    fn ascii_hosts_with_non_ascii_paths_still_parse() {
        let url = UpstreamUrl::parse("https://Su1.3scale.net:8443/b\u{fc}cher?q=%41").unwrap();
        assert_eq!(url.authority, "su1.3scale.net:8443");
        assert_eq!(url.base_path, "/b%C3%BCcher/");
        let url = UpstreamUrl::parse("https://user:p%40ss@host/").unwrap();
        assert_eq!(url.authority, "host");
    }
}
