//! What the core may read of a request: header bytes and Envoy's dynamic metadata.
//!
//! The filter implements [`RequestView`] over host calls; tests use [`PlainRequest`].

use std::borrow::Cow;

use crate::io::query;

/// Read access to one HTTP request.
pub trait RequestView {
    /// The value of a request header, by lowercase name, as raw bytes.
    /// Pseudo-headers (`:method`, `:path`, `:authority`, `:scheme`) are headers too.
    fn header(&self, name: &str) -> Option<Cow<'_, [u8]>>;

    /// The serialized `envoy.config.core.v3.Metadata` of the request (host property
    /// `metadata`), if the host has any.
    fn metadata(&self) -> Option<Cow<'_, [u8]>>;

    /// The raw query string of `:path` ([`query::split`]), if the path has one and it
    /// is UTF-8: borrowed from the header's value when the view lends it (no copy of
    /// the query per lookup).
    fn query(&self) -> Option<Cow<'_, str>> {
        match self.header(":path")? {
            Cow::Borrowed(bytes) => {
                let path = std::str::from_utf8(bytes).ok()?;
                query::query_of(path).map(Cow::Borrowed)
            }
            Cow::Owned(bytes) => {
                let path = std::str::from_utf8(&bytes).ok()?;
                query::query_of(path).map(|query| Cow::Owned(query.to_owned()))
            }
        }
    }
}

/// A request made of plain data, for tests and native tools.
#[derive(Debug, Clone, Default)]
pub struct PlainRequest {
    /// Header names (lowercase) and raw values, in order; the first of a name wins.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Serialized `envoy.config.core.v3.Metadata`.
    pub metadata: Option<Vec<u8>>,
}

impl PlainRequest {
    /// A request with `:method`, `:authority`, `:scheme` (`https`) and `:path`.
    pub fn new(method: &str, authority: &str, path: &str) -> Self {
        PlainRequest::default()
            .with_header(":method", method)
            .with_header(":authority", authority)
            .with_header(":scheme", "https")
            .with_header(":path", path)
    }

    /// Adds a header with a text value.
    pub fn with_header(self, name: &str, value: &str) -> Self {
        self.with_header_bytes(name, value.as_bytes())
    }

    /// Adds a header with a raw value (which need not be UTF-8).
    pub fn with_header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        self.headers.push((name.to_owned(), value.to_vec()));
        self
    }

    /// Sets the serialized dynamic metadata.
    pub fn with_metadata(mut self, metadata: Vec<u8>) -> Self {
        self.metadata = Some(metadata);
        self
    }
}

impl RequestView for PlainRequest {
    fn header(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| Cow::Borrowed(value.as_slice()))
    }

    fn metadata(&self) -> Option<Cow<'_, [u8]>> {
        self.metadata.as_deref().map(Cow::Borrowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_request_reads_first_header_of_a_name() {
        let request = PlainRequest::new("GET", "web.app", "/x?k=v")
            .with_header("x-a", "1")
            .with_header("x-a", "2");
        assert_eq!(request.header("x-a").as_deref(), Some(&b"1"[..]));
        assert_eq!(request.query().as_deref(), Some("k=v"));
        assert!(request.metadata().is_none());
    }
}
