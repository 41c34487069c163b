//! `passthrough_metadata`: hand credentials and usages to a later filter in
//! `x-3scale-*` request headers instead of calling 3scale.

use std::borrow::Cow;

use crate::config::{Config, Service};
use crate::io::{Admission, Forward};
use crate::json_text;
use crate::model::{Credential, Secret, Usages};

/// Every header a client sends with one of these prefixes is removed first, so
/// that a client cannot pose as the filter to the next one. The spellings with
/// `_` are there because servers that read `_` as `-` (CGI-style environments,
/// some frameworks) would take `x_3scale_user_key` for `x-3scale-user-key`.
const PREFIXES: [&str; 4] = ["x-3scale-", "x_3scale-", "x-3scale_", "x_3scale_"];

/// The `x-3scale-*` headers, or `None` when a credential cannot be carried in a
/// header value (control characters).
pub fn headers(
    config: &Config,
    service: &Service,
    token: &Secret,
    credential: &Credential,
    usages: &Usages,
) -> Option<Vec<(String, String)>> {
    let (name, value) = match credential {
        Credential::UserKey(key) => ("x-3scale-user-key", key.expose().to_owned()),
        Credential::AppId {
            app_id,
            app_key: Some(key),
        } => (
            "x-3scale-app-id",
            format!(
                "{}:{}",
                escape_id_part(app_id),
                escape_id_part(key.expose())
            ),
        ),
        Credential::AppId {
            app_id,
            app_key: None,
        } => ("x-3scale-app-id", escape_id_part(app_id).into_owned()),
    };
    if !fits_in_header(&value) {
        log::debug!(
            "service {}: a credential holds control characters",
            service.id
        );
        return None;
    }
    let upstream = &config.backend.upstream;
    Some(vec![
        (name.to_owned(), value),
        (
            "x-3scale-cluster-name".to_owned(),
            upstream.name.to_string(),
        ),
        (
            "x-3scale-upstream-url".to_owned(),
            upstream.url.to_url_string(),
        ),
        ("x-3scale-timeout".to_owned(), upstream.timeout.to_string()),
        ("x-3scale-service-id".to_owned(), service.id.clone()),
        (
            "x-3scale-service-token".to_owned(),
            token.expose().to_owned(),
        ),
        ("x-3scale-usages".to_owned(), usages_json(usages)),
    ])
}

/// Adds the headers to the request changes, after removing client-sent ones.
pub fn forward(mut forward: Forward, headers: Vec<(String, String)>) -> Forward {
    forward
        .remove_header_prefixes
        .extend(PREFIXES.iter().map(|prefix| (*prefix).to_owned()));
    forward.set_headers.extend(headers);
    forward.admission = Admission::Passthrough;
    forward
}

/// An app id or app key for `x-3scale-app-id`, with `%` written `%25` and `:`
/// written `%3A`: the first `:` of the header then always separates the id from
/// the key, and the next filter gets each back by decoding those two escapes.
fn escape_id_part(part: &str) -> Cow<'_, str> {
    if !part.contains(['%', ':']) {
        return Cow::Borrowed(part);
    }
    Cow::Owned(part.replace('%', "%25").replace(':', "%3A"))
}

/// `{"metric":delta,…}` in usage order.
fn usages_json(usages: &Usages) -> String {
    let members: Vec<String> = usages
        .0
        .iter()
        .map(|(metric, delta)| format!("{}:{delta}", json_text::quoted(metric)))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// Header values may not hold control characters other than tab.
fn fits_in_header(value: &str) -> bool {
    !value
        .bytes()
        .any(|byte| (byte < 0x20 && byte != b'\t') || byte == 0x7F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_parts_escape_percent_before_colon() {
        assert_eq!(escape_id_part("plain-id"), "plain-id");
        assert_eq!(escape_id_part("a:b"), "a%3Ab");
        assert_eq!(escape_id_part("100%"), "100%25");
        assert_eq!(escape_id_part("%3A:"), "%253A%3A");
    }

    #[test]
    fn underscore_spellings_of_the_prefix_are_removed() {
        let forward = forward(Forward::default(), Vec::new());
        for name in [
            "x-3scale-user-key",
            "X-3scale-Service-Token",
            "x_3scale_user_key",
            "X_3scale-App-Id",
            "x-3scale_usages",
            "X_3SCALE_SERVICE_ID",
        ] {
            assert!(forward.removes(name), "{name}");
        }
        for name in [
            "x-3scalex",
            "x3scale-user-key",
            "x--3scale-a",
            "3scale-options",
        ] {
            assert!(!forward.removes(name), "{name}");
        }
    }
}
