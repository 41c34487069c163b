//! `passthrough_metadata`: hand credentials and usages to a later filter in
//! `x-3scale-*` request headers instead of calling 3scale.

use crate::config::{Config, Service};
use crate::io::{Admission, Forward};
use crate::model::{Credential, Secret, Usages};

/// Every header a client sends with this prefix is removed first, so that a
/// client cannot pose as the filter to the next one.
const PREFIX: &str = "x-3scale-";

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
        } => ("x-3scale-app-id", format!("{app_id}:{}", key.expose())),
        Credential::AppId {
            app_id,
            app_key: None,
        } => ("x-3scale-app-id", app_id.clone()),
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
        ("x-3scale-cluster-name".to_owned(), upstream.name.clone()),
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
    forward.remove_header_prefixes.push(PREFIX.to_owned());
    forward.set_headers.extend(headers);
    forward.admission = Admission::Passthrough;
    forward
}

/// `{"metric":delta,…}` in usage order.
fn usages_json(usages: &Usages) -> String {
    let members: Vec<String> = usages
        .0
        .iter()
        .map(|(metric, delta)| format!("{}:{delta}", serde_json::Value::from(metric.as_str())))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// Header values may not hold control characters other than tab.
fn fits_in_header(value: &str) -> bool {
    !value
        .bytes()
        .any(|byte| (byte < 0x20 && byte != b'\t') || byte == 0x7F)
}
