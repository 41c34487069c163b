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

impl<'de> Deserialize<'de> for UpstreamUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        UpstreamUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}
