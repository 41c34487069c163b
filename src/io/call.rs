//! An HTTP call to an Envoy cluster (3scale's backend or System).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::query::redact_parameters;
use crate::model::secret::is_secret_parameter;

/// An HTTP call to an Envoy cluster. Its `Debug` redacts every secret parameter of the
/// path and shows no header values and no body, which may carry tokens and keys.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// Envoy cluster name (shared with the configuration: not copied per call).
    pub cluster: Arc<str>,
    /// Request headers, pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`) first.
    /// The names are the filter's own; a value known when the filter is built is
    /// not copied (an authorization call is built per uncached request).
    pub headers: Vec<(&'static str, HeaderValue)>,
    /// Request body (empty for `GET`).
    pub body: Vec<u8>,
    /// Milliseconds before the call counts as failed.
    pub timeout_ms: u64,
}

/// The value of a call's header: a constant, text shared with the configuration
/// (the upstream's authority), or the call's own (its path). An authorization call
/// is built per uncached request, and only its own text is allocated for it. Its
/// `Debug` shows no text: a value may carry a token.
#[derive(Clone, PartialEq, Eq)]
pub enum HeaderValue {
    /// Known when the filter is built.
    Static(&'static str),
    /// Shared with the configuration.
    Shared(Arc<str>),
    /// Made for this call.
    Owned(String),
}

impl Deref for HeaderValue {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            HeaderValue::Static(text) => text,
            HeaderValue::Shared(text) => text,
            HeaderValue::Owned(text) => text,
        }
    }
}

impl fmt::Debug for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeaderValue({} bytes)", self.len())
    }
}

impl From<&'static str> for HeaderValue {
    fn from(text: &'static str) -> Self {
        HeaderValue::Static(text)
    }
}

impl From<String> for HeaderValue {
    fn from(text: String) -> Self {
        HeaderValue::Owned(text)
    }
}

impl From<Arc<str>> for HeaderValue {
    fn from(text: Arc<str>) -> Self {
        HeaderValue::Shared(text)
    }
}

impl HttpCall {
    /// The value of a call header, by exact name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| &**value)
    }

    /// `:path` with the values of secret parameters redacted, for logs.
    pub fn redacted_path(&self) -> String {
        redact_parameters(
            self.header(":path").unwrap_or_default(),
            is_secret_parameter,
        )
    }
}

#[cfg(test)]
impl HttpCall {
    /// The headers as owned pairs, for comparing with a list in a test.
    pub fn owned_headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.to_string()))
            .collect()
    }
}

impl fmt::Debug for HttpCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| *name).collect();
        f.debug_struct("HttpCall")
            .field("cluster", &self.cluster)
            .field("method", &self.header(":method").unwrap_or_default())
            .field("path", &self.redacted_path())
            .field("headers", &names)
            .field("body_bytes", &self.body.len())
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_tokens_and_keys_and_hides_the_body() {
        let call = HttpCall {
            cluster: "backend".into(),
            headers: vec![
                (":method", "POST".into()),
                (
                    ":path",
                    "/transactions/authrep.xml?service_id=42&service_token=tok-0123456789&user_key=uk-0123456789&usage%5Bhits%5D=1".into(),
                ),
            ],
            body: b"service_token=tok-0123456789".to_vec(),
            timeout_ms: 100,
        };
        let printed = format!("{call:?}");
        assert!(!printed.contains("tok-0123456789"), "{printed}");
        assert!(!printed.contains("uk-0123456789"), "{printed}");
        assert!(printed.contains("service_id=42"), "{printed}");
        assert!(printed.contains("usage%5Bhits%5D=1"), "{printed}");
    }
}
