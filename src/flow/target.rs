//! Step 1 of the request flow: the request's scheme, authority, path and method.

use std::borrow::Cow;

use crate::io::scan;
use crate::request::RequestView;

/// What the flow needs to know about where a request goes. The scheme is not
/// part of it: it only matters for an authority with a port, and reading it is a
/// host call per request ([`scheme_of`] reads it). Each part borrows the
/// request's header when the host lends it and it needs no change (the usual
/// case: no copy per request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    /// The authority, lowercase, without the scheme's default port.
    pub authority: Cow<'a, str>,
    /// `:path` with its query string.
    pub path: Cow<'a, str>,
    /// `:method` (empty when the host gave none, so only `any` rules match).
    pub method: Cow<'a, str>,
}

impl<'a> Target<'a> {
    /// Rebuilds the target of a request, or `None` when it has no usable authority or path.
    pub fn of(request: &'a dyn RequestView) -> Option<Target<'a>> {
        let mut authority = text(request, ":authority").or_else(|| text(request, "host"))?;
        let path = text(request, ":path")?;
        let method = text(request, ":method").unwrap_or_default();
        if authority.bytes().any(|byte| byte.is_ascii_uppercase()) {
            authority.to_mut().make_ascii_lowercase();
        }
        if ends_with_a_default_port(&authority) {
            let normalised = normalise_authority(&scheme_of(request), authority.into_owned());
            authority = Cow::Owned(normalised);
        }
        Some(Target {
            authority,
            path,
            method,
        })
    }
}

/// The request's scheme: `:scheme`, else the first `x-forwarded-proto`, else
/// `https`; lowercase.
pub fn scheme_of(request: &dyn RequestView) -> String {
    let mut scheme = text(request, ":scheme")
        .map(Cow::into_owned)
        .or_else(|| forwarded_proto(request))
        .unwrap_or_else(|| "https".to_owned());
    scheme.make_ascii_lowercase();
    scheme
}

/// Whether a (lowercase) authority ends with a port some scheme has as its
/// default, so that the scheme decides whether it goes.
fn ends_with_a_default_port(authority: &str) -> bool {
    authority.ends_with(":443") || authority.ends_with(":80")
}

/// A header's value as non-empty UTF-8 text, trimmed: borrowed when the host
/// lends its bytes, owned (without a copy unless trimmed) when it hands them over.
fn text<'a>(request: &'a dyn RequestView, name: &str) -> Option<Cow<'a, str>> {
    let text = match request.header(name)? {
        Cow::Borrowed(bytes) => Cow::Borrowed(scan::trim(std::str::from_utf8(bytes).ok()?)),
        Cow::Owned(bytes) => {
            let value = String::from_utf8(bytes).ok()?;
            if scan::trim(&value).len() == value.len() {
                Cow::Owned(value)
            } else {
                Cow::Owned(scan::trim(&value).to_owned())
            }
        }
    };
    (!text.is_empty()).then_some(text)
}

fn forwarded_proto(request: &dyn RequestView) -> Option<String> {
    let value = text(request, "x-forwarded-proto")?;
    let first = value.split(',').next()?.trim();
    (!first.is_empty()).then(|| first.to_owned())
}

/// Lowercases an authority and removes the scheme's default port, so that
/// `Web.App:443` over https selects the same service as `web.app` (in place).
pub fn normalise_authority(scheme: &str, mut authority: String) -> String {
    authority.make_ascii_lowercase();
    let default_port = match scheme {
        "https" => ":443",
        "http" => ":80",
        _ => return authority,
    };
    if authority.len() > default_port.len() && authority.ends_with(default_port) {
        authority.truncate(authority.len() - default_port.len());
    }
    authority
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::PlainRequest;

    #[test]
    fn default_ports_are_removed_for_their_scheme_only() {
        let cases = [
            ("https", "web.app:443", "web.app"),
            ("http", "web.app:80", "web.app"),
            ("https", "web.app:80", "web.app:80"),
            ("http", "web.app:443", "web.app:443"),
            ("https", "web.app:8443", "web.app:8443"),
            ("https", "WEB.App:443", "web.app"),
            ("https", "[::1]:443", "[::1]"),
            ("https", ":443", ":443"),
            ("ftp", "web.app:21", "web.app:21"),
        ];
        for (scheme, authority, expected) in cases {
            assert_eq!(normalise_authority(scheme, authority.to_owned()), expected);
        }
    }

    #[test]
    fn scheme_falls_back_to_forwarded_proto_then_https() {
        let request = PlainRequest::default()
            .with_header(":authority", "web.app:80")
            .with_header(":path", "/")
            .with_header("x-forwarded-proto", "HTTP, https");
        assert_eq!(scheme_of(&request), "http");
        let target = Target::of(&request).unwrap();
        assert_eq!(target.authority, "web.app");
        let bare = PlainRequest::default()
            .with_header(":authority", "web.app:443")
            .with_header(":path", "/");
        assert_eq!(scheme_of(&bare), "https");
        let target = Target::of(&bare).unwrap();
        assert_eq!(target.authority, "web.app");
        assert_eq!(target.method, "");
    }

    /// Headers as the host hands them over: owned bytes.
    struct Owned(PlainRequest);

    impl RequestView for Owned {
        fn header(&self, name: &str) -> Option<Cow<'_, [u8]>> {
            self.0
                .header(name)
                .map(|value| Cow::Owned(value.into_owned()))
        }

        fn metadata(&self) -> Option<Cow<'_, [u8]>> {
            None
        }
    }

    #[test]
    fn owned_and_borrowed_values_are_read_alike() {
        let request = PlainRequest::default()
            .with_header(":scheme", "HTTPS")
            .with_header(":authority", " Web.App:443 ")
            .with_header(":path", "/a?b=c")
            .with_header(":method", "\tGET");
        assert_eq!(scheme_of(&request), "https");
        let expected = Target {
            authority: "web.app".into(),
            path: "/a?b=c".into(),
            method: "GET".into(),
        };
        assert_eq!(Target::of(&request).as_ref(), Some(&expected));
        let owned = Owned(request);
        assert_eq!(Target::of(&owned), Some(expected));
        // Lent values that need no change are not copied.
        let plain = PlainRequest::new("GET", "web.app", "/a");
        let target = Target::of(&plain).unwrap();
        assert!(matches!(target.authority, Cow::Borrowed("web.app")));
        assert!(matches!(target.path, Cow::Borrowed("/a")));
        assert!(matches!(target.method, Cow::Borrowed("GET")));
        let blank = PlainRequest::default()
            .with_header(":authority", "  ")
            .with_header(":path", "/");
        assert_eq!(Target::of(&Owned(blank)), None);
        let not_utf8 = PlainRequest::default()
            .with_header_bytes(":authority", &[0xFF])
            .with_header(":path", "/");
        assert_eq!(Target::of(&Owned(not_utf8)), None);
    }

    /// Counts the headers read, by name.
    struct Counting(PlainRequest, std::cell::RefCell<Vec<String>>);

    impl RequestView for Counting {
        fn header(&self, name: &str) -> Option<Cow<'_, [u8]>> {
            self.1.borrow_mut().push(name.to_owned());
            self.0.header(name)
        }

        fn metadata(&self) -> Option<Cow<'_, [u8]>> {
            None
        }
    }

    #[test]
    fn the_scheme_is_read_only_for_an_authority_with_a_default_port() {
        let cases = [
            ("web.app", false, "web.app"),
            ("web.app:8443", false, "web.app:8443"),
            ("Web.App:443", true, "web.app"),
            ("web.app:80", true, "web.app:80"),
        ];
        for (authority, reads_scheme, expected) in cases {
            let request = Counting(
                PlainRequest::new("GET", authority, "/"),
                std::cell::RefCell::default(),
            );
            let target = Target::of(&request).unwrap();
            assert_eq!(target.authority, expected, "{authority}");
            let read = request.1.borrow();
            assert_eq!(
                read.iter().any(|name| name == ":scheme"),
                reads_scheme,
                "{authority}: {read:?}"
            );
        }
    }

    #[test]
    fn authority_falls_back_to_host() {
        let request = PlainRequest::default()
            .with_header("host", "Api.Example.com")
            .with_header(":path", "/x");
        assert_eq!(Target::of(&request).unwrap().authority, "api.example.com");
    }

    #[test]
    fn missing_or_unreadable_authority_or_path_is_none() {
        let no_path = PlainRequest::default().with_header(":authority", "a");
        let no_authority = PlainRequest::default().with_header(":path", "/");
        let binary = PlainRequest::default()
            .with_header_bytes(":authority", b"\xFF")
            .with_header(":path", "/");
        for request in [no_path, no_authority, binary] {
            assert_eq!(Target::of(&request), None);
        }
    }
}
