//! Request builders for the Service Management API: authrep, authorize, report.

use std::sync::Arc;

use crate::config::{Backend, Upstream};
use crate::io::percent::{KeyPart, Params, encode_into};
use crate::io::{HeaderValue, HttpCall};
use crate::model::Usages;
use crate::model::{Credential, Secret};

/// The options every authorization call asks for: the rejection reason and the
/// limits as headers, and no XML body (nothing here reads it).
const AUTHORIZATION_OPTIONS: [&str; 3] = ["rejection_reason_header", "limit_headers", "no_body"];
/// [`AUTHORIZATION_OPTIONS`] as the header's value when no extension is
/// configured (the usual case), written once instead of per call.
const AUTHORIZATION_OPTIONS_ALONE: &str = "rejection_reason_header=1&limit_headers=1&no_body=1";

/// One request to authorize (and, for authrep, count).
#[derive(Debug, Clone, Copy)]
pub struct Transaction<'a> {
    /// The 3scale service id.
    pub service_id: &'a str,
    /// The service token (a secret).
    pub service_token: &'a Secret,
    /// The credential the request presents.
    pub credential: &'a Credential,
    /// Metric deltas, in order of first appearance.
    pub usages: &'a Usages,
}

/// `GET <base>transactions/authrep.xml?…`: authorize and count in one call.
pub fn authrep(backend: &Backend, transaction: &Transaction<'_>) -> HttpCall {
    authorization_call(backend, "transactions/authrep.xml", transaction)
}

/// `GET <base>transactions/authorize.xml?…`: authorize without counting.
pub fn authorize(backend: &Backend, transaction: &Transaction<'_>) -> HttpCall {
    authorization_call(backend, "transactions/authorize.xml", transaction)
}

/// The options of an authrep whose answer fills the cache: the `<status>` body
/// with its usage reports, and the metric hierarchy so that a child metric's
/// usage can be checked against its parent's limits.
const CACHING_OPTIONS: [&str; 3] = ["rejection_reason_header", "limit_headers", "hierarchy"];

/// Like [`authrep`], but asking for the `<status>` body with the usage reports
/// and the metric hierarchy (no `no_body`, even when listed in the extensions).
pub fn authrep_with_reports(backend: &Backend, transaction: &Transaction<'_>) -> HttpCall {
    let extensions: Vec<String> = backend
        .extensions
        .iter()
        .filter(|name| *name != "no_body")
        .cloned()
        .collect();
    let mut call = authorization_call(backend, "transactions/authrep.xml", transaction);
    for (name, value) in &mut call.headers {
        if *name == "3scale-options" {
            *value = HeaderValue::Owned(options(&CACHING_OPTIONS, &extensions));
        }
    }
    call
}

fn authorization_call(
    backend: &Backend,
    endpoint: &str,
    transaction: &Transaction<'_>,
) -> HttpCall {
    let upstream = &backend.upstream;
    // The path and its parameters in one string, sized for the usual call.
    let mut path = String::with_capacity(256);
    path.push_str(&upstream.url.base_path);
    path.push_str(endpoint);
    path.push('?');
    let mut params = Params::after(path);
    params
        .push_encoded_key("service_id", transaction.service_id)
        .push_encoded_key("service_token", transaction.service_token.expose());
    push_credential(&mut params, None, transaction.credential, true);
    push_usages(&mut params, None, transaction.usages);
    let mut headers = pseudo_headers(upstream, "GET", params.finish());
    headers.push((
        "3scale-options",
        if backend.extensions.is_empty() {
            HeaderValue::Static(AUTHORIZATION_OPTIONS_ALONE)
        } else {
            HeaderValue::Owned(options(&AUTHORIZATION_OPTIONS, &backend.extensions))
        },
    ));
    call(upstream, headers, Vec::new())
}

/// One application's usage in a report.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The credential that identifies the application.
    pub credential: &'a Credential,
    /// Metric deltas to add.
    pub usages: &'a Usages,
}

/// `POST <base>transactions.xml` with a form body: count usage without authorizing.
/// The answer is 202 with an empty body.
pub fn report(
    backend: &Backend,
    service_id: &str,
    service_token: &str,
    reports: &[Report<'_>],
) -> HttpCall {
    let mut params = Params::new();
    params
        .push_encoded_key("service_token", service_token)
        .push_encoded_key("service_id", service_id);
    for (index, report) in reports.iter().enumerate() {
        let prefix = format!("transactions[{index}]");
        // Reports identify the application; the key is only checked on authorization.
        push_credential(&mut params, Some(&prefix), report.credential, false);
        push_usages(&mut params, Some(&prefix), report.usages);
    }
    let upstream = &backend.upstream;
    let path = format!("{}transactions.xml", upstream.url.base_path);
    let mut headers = pseudo_headers(upstream, "POST", path);
    headers.push((
        "content-type",
        HeaderValue::Static("application/x-www-form-urlencoded"),
    ));
    if !backend.extensions.is_empty() {
        headers.push((
            "3scale-options",
            HeaderValue::Owned(options(&[], &backend.extensions)),
        ));
    }
    call(upstream, headers, params.finish().into_bytes())
}

/// Adds the credential parameters, each name wrapped as `<prefix>[name]` when a
/// prefix is given. The names are the protocol's and need no encoding.
fn push_credential(
    params: &mut Params,
    prefix: Option<&str>,
    credential: &Credential,
    with_key: bool,
) {
    let mut push = |key: &'static str, value: &str| match prefix {
        None => {
            params.push_encoded_key(key, value);
        }
        Some(prefix) => {
            let key = [
                KeyPart::Text(prefix),
                KeyPart::Encoded("%5B"),
                KeyPart::Encoded(key),
                KeyPart::Encoded("%5D"),
            ];
            params.push_parts(&key, value);
        }
    };
    match credential {
        Credential::UserKey(user_key) => {
            push("user_key", user_key.expose());
        }
        Credential::AppId { app_id, app_key } => {
            push("app_id", app_id);
            if let Some(app_key) = app_key.as_ref().filter(|_| with_key) {
                push("app_key", app_key.expose());
            }
        }
    }
}

/// Adds `usage[metric]=delta` for each metric, as `<prefix>[usage][metric]` when a
/// prefix is given.
fn push_usages(params: &mut Params, prefix: Option<&str>, usages: &Usages) {
    for (metric, delta) in &usages.0 {
        match prefix {
            None => params.push_number(
                &[
                    KeyPart::Encoded("usage%5B"),
                    KeyPart::Text(metric),
                    KeyPart::Encoded("%5D"),
                ],
                *delta,
            ),
            Some(prefix) => params.push_number(
                &[
                    KeyPart::Text(prefix),
                    KeyPart::Encoded("%5Busage%5D%5B"),
                    KeyPart::Text(metric),
                    KeyPart::Encoded("%5D"),
                ],
                *delta,
            ),
        };
    }
}

/// The pseudo-headers of a call, in a list with room for one header more (each
/// call adds one): growing it would move it.
fn pseudo_headers(upstream: &Upstream, method: &'static str, path: String) -> CallHeaders {
    let mut headers = Vec::with_capacity(5);
    headers.extend([
        (":method", HeaderValue::Static(method)),
        (":path", HeaderValue::Owned(path)),
        (
            ":authority",
            HeaderValue::Shared(Arc::clone(&upstream.url.authority)),
        ),
        (":scheme", HeaderValue::Static(upstream.url.scheme)),
    ]);
    headers
}

/// A call's headers (see [`HttpCall::headers`]).
type CallHeaders = Vec<(&'static str, HeaderValue)>;

/// `3scale-options`: the given names then the configured extensions, each as
/// `name=1`, without duplicates.
fn options(fixed: &[&str], extensions: &[String]) -> String {
    let mut names: Vec<&str> = Vec::with_capacity(fixed.len() + extensions.len());
    for name in fixed
        .iter()
        .copied()
        .chain(extensions.iter().map(String::as_str))
    {
        if !name.is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    let mut text = String::with_capacity(names.iter().map(|name| name.len() + 3).sum());
    for name in names {
        if !text.is_empty() {
            text.push('&');
        }
        encode_into(&mut text, name);
        text.push_str("=1");
    }
    text
}

fn call(upstream: &Upstream, headers: CallHeaders, body: Vec<u8>) -> HttpCall {
    HttpCall {
        cluster: Arc::clone(&upstream.name),
        headers,
        body,
        timeout_ms: upstream.timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UpstreamUrl;

    fn backend(url: &str, extensions: &[&str]) -> Backend {
        Backend {
            name: None,
            upstream: Upstream {
                name: "outbound|443||su1.3scale.net".into(),
                url: UpstreamUrl::parse(url).unwrap(),
                timeout: 5000,
            },
            extensions: extensions.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    fn usages(pairs: &[(&str, u64)]) -> Usages {
        Usages(pairs.iter().map(|(m, d)| ((*m).into(), *d)).collect())
    }

    fn user_key(key: &str) -> Credential {
        Credential::UserKey(key.into())
    }

    fn authrep_path(credential: &Credential, usages: &Usages) -> String {
        let call = authrep(
            &backend("https://su1.3scale.net", &[]),
            &Transaction {
                service_id: "2555417834789",
                service_token: &Secret::from("tok"),
                credential,
                usages,
            },
        );
        call.header(":path").unwrap().to_owned()
    }

    #[test]
    fn the_written_out_options_are_those_options_builds() {
        assert_eq!(
            AUTHORIZATION_OPTIONS_ALONE,
            options(&AUTHORIZATION_OPTIONS, &[])
        );
    }

    #[test]
    fn golden_authrep_with_user_key() {
        let call = authrep(
            &backend("https://su1.3scale.net:443/", &[]),
            &Transaction {
                service_id: "2555417834789",
                service_token: &Secret::from("token-value"),
                credential: &user_key("abc123"),
                usages: &usages(&[("hits", 1), ("products", 2)]),
            },
        );
        assert_eq!(
            call.owned_headers(),
            vec![
                (":method".to_owned(), "GET".to_owned()),
                (
                    ":path".to_owned(),
                    "/transactions/authrep.xml?service_id=2555417834789&service_token=token-value\
                     &user_key=abc123&usage%5Bhits%5D=1&usage%5Bproducts%5D=2"
                        .to_owned()
                ),
                (":authority".to_owned(), "su1.3scale.net".to_owned()),
                (":scheme".to_owned(), "https".to_owned()),
                (
                    "3scale-options".to_owned(),
                    "rejection_reason_header=1&limit_headers=1&no_body=1".to_owned()
                ),
            ]
        );
        assert_eq!(&*call.cluster, "outbound|443||su1.3scale.net");
        assert_eq!(call.timeout_ms, 5000);
        assert!(call.body.is_empty());
    }

    #[test]
    fn golden_authrep_with_app_id_and_key() {
        let credential = Credential::AppId {
            app_id: "aladdin".to_owned(),
            app_key: Some("opensesame".into()),
        };
        assert_eq!(
            authrep_path(&credential, &usages(&[("hits", 1)])),
            "/transactions/authrep.xml?service_id=2555417834789&service_token=tok\
             &app_id=aladdin&app_key=opensesame&usage%5Bhits%5D=1"
        );
        let without_key = Credential::AppId {
            app_id: "aladdin".to_owned(),
            app_key: None,
        };
        assert_eq!(
            authrep_path(&without_key, &usages(&[("hits", 1)])),
            "/transactions/authrep.xml?service_id=2555417834789&service_token=tok\
             &app_id=aladdin&usage%5Bhits%5D=1"
        );
    }

    #[test]
    fn golden_authrep_credentials_cannot_inject_parameters() {
        let cases = [
            ("a&usage[hits]=1000", "a%26usage%5Bhits%5D%3D1000"),
            ("k=v", "k%3Dv"),
            ("with space", "with%20space"),
            ("100%25", "100%2525"),
            ("clé", "cl%C3%A9"),
        ];
        for (key, encoded) in cases {
            assert_eq!(
                authrep_path(&user_key(key), &usages(&[("hits", 1)])),
                format!(
                    "/transactions/authrep.xml?service_id=2555417834789&service_token=tok\
                     &user_key={encoded}&usage%5Bhits%5D=1"
                )
            );
        }
    }

    #[test]
    fn metric_names_and_tokens_are_encoded() {
        let call = authrep(
            &backend("http://backend.local:3000/base", &[]),
            &Transaction {
                service_id: "1 2",
                service_token: &Secret::from("t&k"),
                credential: &user_key("u"),
                usages: &usages(&[("a b", 3), ("é", 1)]),
            },
        );
        assert_eq!(
            call.header(":path"),
            Some(
                "/base/transactions/authrep.xml?service_id=1%202&service_token=t%26k&user_key=u\
                 &usage%5Ba%20b%5D=3&usage%5B%C3%A9%5D=1"
            )
        );
        assert_eq!(call.header(":authority"), Some("backend.local:3000"));
        assert_eq!(call.header(":scheme"), Some("http"));
    }

    #[test]
    fn extensions_are_appended_once() {
        let call = authrep(
            &backend(
                "https://su1.3scale.net",
                &["hierarchy", "flat_usage", "hierarchy", "no_body"],
            ),
            &Transaction {
                service_id: "1",
                service_token: &Secret::from("t"),
                credential: &user_key("u"),
                usages: &usages(&[("hits", 1)]),
            },
        );
        assert_eq!(
            call.header("3scale-options"),
            Some("rejection_reason_header=1&limit_headers=1&no_body=1&hierarchy=1&flat_usage=1")
        );
    }

    #[test]
    fn authorize_uses_its_endpoint_with_the_same_parameters() {
        let call = authorize(
            &backend("https://su1.3scale.net", &[]),
            &Transaction {
                service_id: "42",
                service_token: &Secret::from("t"),
                credential: &user_key("u"),
                usages: &usages(&[("hits", 1)]),
            },
        );
        assert_eq!(
            call.header(":path"),
            Some(
                "/transactions/authorize.xml?service_id=42&service_token=t&user_key=u&usage%5Bhits%5D=1"
            )
        );
        assert_eq!(call.header(":method"), Some("GET"));
    }

    #[test]
    fn authrep_with_reports_asks_for_the_body_and_the_hierarchy() {
        let call = authrep_with_reports(
            &backend(
                "https://su1.3scale.net",
                &["no_body", "flat_usage", "hierarchy"],
            ),
            &Transaction {
                service_id: "42",
                service_token: &Secret::from("t"),
                credential: &user_key("u"),
                usages: &usages(&[("hits", 1)]),
            },
        );
        assert_eq!(
            call.header("3scale-options"),
            Some("rejection_reason_header=1&limit_headers=1&hierarchy=1&flat_usage=1")
        );
        assert_eq!(
            call.header(":path"),
            Some(
                "/transactions/authrep.xml?service_id=42&service_token=t&user_key=u&usage%5Bhits%5D=1"
            )
        );
    }

    #[test]
    fn golden_report_form_body() {
        let first = user_key("abc");
        let second = Credential::AppId {
            app_id: "app".to_owned(),
            app_key: Some("secret".into()),
        };
        let hits = usages(&[("hits", 7)]);
        let more = usages(&[("hits", 1), ("sales", 2)]);
        let call = report(
            &backend("https://su1.3scale.net", &[]),
            "42",
            "tok",
            &[
                Report {
                    credential: &first,
                    usages: &hits,
                },
                Report {
                    credential: &second,
                    usages: &more,
                },
            ],
        );
        assert_eq!(call.header(":method"), Some("POST"));
        assert_eq!(call.header(":path"), Some("/transactions.xml"));
        assert_eq!(
            call.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(call.header("3scale-options"), None);
        assert_eq!(
            String::from_utf8(call.body).unwrap(),
            "service_token=tok&service_id=42\
             &transactions%5B0%5D%5Buser_key%5D=abc&transactions%5B0%5D%5Busage%5D%5Bhits%5D=7\
             &transactions%5B1%5D%5Bapp_id%5D=app&transactions%5B1%5D%5Busage%5D%5Bhits%5D=1\
             &transactions%5B1%5D%5Busage%5D%5Bsales%5D=2"
        );
    }
}
