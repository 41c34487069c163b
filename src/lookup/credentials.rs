//! Credential resolution order (docs/behaviour.md §4).

use super::query::LookupQuery;
use super::resolution::Resolution;
use super::source::{plain_value, resolve_query_traced};
use super::trace::{NoTrace, Trace};
use crate::model::{Credential, Origin, Secret, redact};
use crate::request::RequestView;

/// The `credentials` object of a service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CredentialQueries {
    /// Lookup queries for the user key.
    pub user_key: Vec<LookupQuery>,
    /// Lookup queries for the application id (and maybe key).
    pub app_id: Vec<LookupQuery>,
    /// Lookup queries for the application key.
    pub app_key: Vec<LookupQuery>,
}

/// A resolved credential and where its values came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedCredentials {
    /// The credential.
    pub credential: Credential,
    /// The places its values were read from, without duplicates.
    pub origins: Vec<Origin>,
}

/// Resolves a request's credentials, or `None` when none resolve.
///
/// `user_key` queries come first and the bottom value of the first one that resolves wins
/// outright. Otherwise the first resolving `app_id` query gives the app id (bottom value)
/// and, when its stack has a second value, the app key; values above those two are
/// ignored. An app id without a key then takes the bottom value of the first resolving
/// `app_key` query, if any. `app_key` queries are not even tried without an app id.
pub fn resolve(
    queries: &CredentialQueries,
    request: &dyn RequestView,
) -> Option<ResolvedCredentials> {
    resolve_traced(queries, request, &mut NoTrace)
}

/// [`resolve`], telling `trace` every lookup query tried, in the order they are tried.
pub fn resolve_traced<T: Trace + ?Sized>(
    queries: &CredentialQueries,
    request: &dyn RequestView,
    trace: &mut T,
) -> Option<ResolvedCredentials> {
    if let Some(found) = first_found(Role::UserKey, &queries.user_key, request, trace) {
        return Some(ResolvedCredentials {
            credential: Credential::UserKey(Secret::new(found.bottom)),
            origins: vec![found.origin],
        });
    }
    let found = first_found(Role::AppId, &queries.app_id, request, trace)?;
    let mut origins = vec![found.origin];
    let app_key = match found.second {
        Some(key) => Some(Secret::new(key)),
        None => first_found(Role::AppKey, &queries.app_key, request, trace).map(|key| {
            if !origins.contains(&key.origin) {
                origins.push(key.origin);
            }
            Secret::new(key.bottom)
        }),
    };
    Some(ResolvedCredentials {
        credential: Credential::AppId {
            app_id: found.bottom,
            app_key,
        },
        origins,
    })
}

/// Which credential a list of queries looks for: it names the list in logs and says
/// whether its values are secrets.
#[derive(Debug, Clone, Copy)]
enum Role {
    UserKey,
    AppId,
    AppKey,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::UserKey => "user_key",
            Role::AppId => "app_id",
            Role::AppKey => "app_key",
        }
    }

    /// A value as it may appear in a debug log: app ids are identifiers, keys are secrets.
    fn loggable(self, value: &str) -> String {
        match self {
            Role::AppId => format!("`{value}`"),
            Role::UserKey | Role::AppKey => redact(value),
        }
    }
}

/// The two bottom values of a resolved query and where they came from.
struct Found {
    bottom: String,
    second: Option<String>,
    origin: Origin,
}

/// The first query of the list that resolves; each one that does not is logged at debug
/// level with its position (and the failing op's position, if an op failed).
fn first_found<T: Trace + ?Sized>(
    role: Role,
    queries: &[LookupQuery],
    request: &dyn RequestView,
    trace: &mut T,
) -> Option<Found> {
    queries.iter().enumerate().find_map(|(index, query)| {
        if !trace.observes()
            && let Some((value, origin)) = plain_value(query, request)
        {
            return Some(found(role, index, value, None, origin));
        }
        trace.query(role.name(), index);
        let result = resolve_query_traced(query, request, trace);
        trace.outcome(result.as_ref());
        match result {
            Ok(Resolution { values, origin }) => {
                let mut values = values.into_iter();
                let bottom = values.next()?;
                Some(found(role, index, bottom, values.next(), origin))
            }
            Err(why) => {
                if log::log_enabled!(log::Level::Debug) {
                    log::debug!(
                        "credentials.{}[{index}] did not resolve: {why}",
                        role.name()
                    );
                }
                None
            }
        }
    })
}

/// The two bottom values a query resolved to, logged at debug level.
fn found(
    role: Role,
    index: usize,
    bottom: String,
    second: Option<String>,
    origin: Origin,
) -> Found {
    if log::log_enabled!(log::Level::Debug) {
        log::debug!(
            "credentials.{}[{index}] resolved from {origin}: {}{}",
            role.name(),
            role.loggable(&bottom),
            second
                .as_deref()
                .filter(|_| matches!(role, Role::AppId))
                .map(|key| format!(" with key {}", redact(key)))
                .unwrap_or_default()
        );
    }
    Found {
        bottom,
        second,
        origin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup::protobuf::encode::{jwt_metadata, list, string};
    use crate::request::PlainRequest;

    fn queries(json: &str) -> CredentialQueries {
        serde_json::from_str(json).unwrap()
    }

    fn get(path: &str) -> PlainRequest {
        PlainRequest::new("GET", "web.app", path)
    }

    fn app(app_id: &str, app_key: Option<&str>) -> Credential {
        Credential::AppId {
            app_id: app_id.to_owned(),
            app_key: app_key.map(Secret::from),
        }
    }

    const ALL: &str = r#"{
        "user_key": [{"query_string": {"keys": ["user_key"]}}, {"header": {"keys": ["x-user-key"]}}],
        "app_id": [{"header": {"keys": ["x-app-id"]}}, {"query_string": {"keys": ["app_id"]}}],
        "app_key": [{"header": {"keys": ["x-app-key"]}}, {"query_string": {"keys": ["app_key"]}}]
    }"#;

    /// A trace that looks at nothing but says it does: every query takes the
    /// general way, with a stack.
    struct Watching;

    impl Trace for Watching {}

    #[test]
    fn queries_without_ops_resolve_alike_with_and_without_a_stack() {
        let with_ops = r#"{
            "user_key": [{"header": {"keys": ["x-user-key"], "ops": [{"split": {"separator": ":"}}]}}],
            "app_id": [{"header": {"keys": ["x-app-id"]}}, {"query_string": {"keys": ["app_id"]}}],
            "app_key": [{"query_string": {"keys": ["app_key"]}}]
        }"#;
        let long = "k".repeat(crate::lookup::ops::MAX_BYTES + 1);
        let requests = [
            get("/?user_key=uk&app_id=id&app_key=k"),
            get("/?app%5Fid=a+b&app_key=").with_header("x-user-key", ""),
            get("/?app_id=%FF&app_key=k").with_header("x-app-id", "from-header"),
            get(&format!("/?app_id={long}&app_key=k")),
            get("/").with_header("x-user-key", "a:b"),
            get("/").with_header_bytes("x-app-id", &[0xFF]),
        ];
        for json in [ALL, with_ops] {
            for request in &requests {
                assert_eq!(
                    resolve(&queries(json), request),
                    resolve_traced(&queries(json), request, &mut Watching),
                    "{request:?}"
                );
            }
        }
    }

    #[test]
    fn user_key_wins_over_app_id() {
        let request = get("/?user_key=uk&app_id=id&app_key=k").with_header("x-app-id", "id");
        assert_eq!(
            resolve(&queries(ALL), &request),
            Some(ResolvedCredentials {
                credential: Credential::UserKey("uk".into()),
                origins: vec![Origin::QueryParameter("user_key".into())],
            })
        );
    }

    #[test]
    fn user_key_queries_are_tried_in_order() {
        let request = get("/").with_header("x-user-key", "from-header");
        let resolved = resolve(&queries(ALL), &request).unwrap();
        assert_eq!(
            resolved.credential,
            Credential::UserKey("from-header".into())
        );
        assert_eq!(resolved.origins, vec![Origin::Header("x-user-key".into())]);
    }

    #[test]
    fn app_id_with_key_from_separate_queries() {
        let request = get("/?app_key=k").with_header("x-app-id", "id");
        assert_eq!(
            resolve(&queries(ALL), &request),
            Some(ResolvedCredentials {
                credential: app("id", Some("k")),
                origins: vec![
                    Origin::Header("x-app-id".into()),
                    Origin::QueryParameter("app_key".into()),
                ],
            })
        );
    }

    #[test]
    fn app_id_without_key() {
        let request = get("/?app_id=id");
        assert_eq!(
            resolve(&queries(ALL), &request),
            Some(ResolvedCredentials {
                credential: app("id", None),
                origins: vec![Origin::QueryParameter("app_id".into())],
            })
        );
    }

    #[test]
    fn app_key_alone_is_ignored() {
        let request = get("/?app_key=k").with_header("x-app-key", "k");
        assert_eq!(resolve(&queries(ALL), &request), None);
    }

    #[test]
    fn nothing_resolves() {
        assert_eq!(resolve(&queries(ALL), &get("/?other=1")), None);
        assert_eq!(
            resolve(&CredentialQueries::default(), &get("/?user_key=1")),
            None
        );
    }

    #[test]
    fn origins_have_no_duplicates() {
        let both_in_one_header = r#"{
            "app_id": [{"header": {"keys": ["x-creds"]}}],
            "app_key": [{"header": {"keys": ["x-creds"]}}]
        }"#;
        let request = get("/").with_header("x-creds", "same");
        assert_eq!(
            resolve(&queries(both_in_one_header), &request),
            Some(ResolvedCredentials {
                credential: app("same", Some("same")),
                origins: vec![Origin::Header("x-creds".into())],
            })
        );
    }

    #[test]
    fn app_id_from_jwt_metadata_with_every_aud_value() {
        let oidc = r#"{"app_id": [{"filter": {"path": ["envoy.filters.http.jwt_authn", "0"],
            "keys": ["azp", "aud"]}}]}"#;
        let request = get("/").with_metadata(jwt_metadata(vec![(
            "aud",
            list(vec![string("first"), string("second")]),
        )]));
        // Without ops, a two-value list is app id and app key; the OIDC example's
        // `take {head: 1}` is what keeps only the app id.
        assert_eq!(
            resolve(&queries(oidc), &request),
            Some(ResolvedCredentials {
                credential: app("first", Some("second")),
                origins: vec![Origin::Metadata],
            })
        );
    }

    #[test]
    fn metadata_app_id_with_header_app_key() {
        let config = r#"{
            "app_id": [{"filter": {"path": ["envoy.filters.http.jwt_authn", "0"], "keys": ["azp"]}}],
            "app_key": [{"header": {"keys": ["x-app-key"]}}]
        }"#;
        let request = get("/")
            .with_metadata(jwt_metadata(vec![("azp", string("client"))]))
            .with_header("x-app-key", "k");
        assert_eq!(
            resolve(&queries(config), &request),
            Some(ResolvedCredentials {
                credential: app("client", Some("k")),
                origins: vec![Origin::Metadata, Origin::Header("x-app-key".into())],
            })
        );
    }

    #[test]
    fn an_unresolved_query_falls_through_to_the_next() {
        let config = r#"{"app_id": [
            {"header": {"keys": ["x-app-id"], "ops": ["fail"]}},
            {"query_string": {"keys": ["app_id"]}}
        ]}"#;
        let request = get("/?app_id=q").with_header("x-app-id", "h");
        assert_eq!(
            resolve(&queries(config), &request).map(|resolved| resolved.credential),
            Some(app("q", None))
        );
    }

    #[test]
    fn origins_display_where_values_came_from() {
        assert_eq!(Origin::Header("a".into()).to_string(), "header `a`");
        assert_eq!(
            Origin::QueryParameter("k".into()).to_string(),
            "query parameter `k`"
        );
        assert_eq!(Origin::Metadata.to_string(), "filter metadata");
    }

    #[test]
    fn only_app_ids_are_logged_in_clear() {
        assert_eq!(Role::AppId.loggable("my-app"), "`my-app`");
        assert_eq!(Role::UserKey.loggable("0123456789abcdef"), "01…(16)");
        assert_eq!(Role::AppKey.loggable("0123456789abcdef"), "01…(16)");
    }

    /// Collects every log line, so that a test can check what would reach the host.
    struct Collector(std::sync::Mutex<Vec<String>>);

    impl log::Log for Collector {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }

        fn log(&self, record: &log::Record<'_>) {
            self.0.lock().unwrap().push(record.args().to_string());
        }

        fn flush(&self) {}
    }

    static COLLECTOR: Collector = Collector(std::sync::Mutex::new(Vec::new()));

    fn logged_lines_mentioning(needle: &str) -> Vec<String> {
        let _ = log::set_logger(&COLLECTOR);
        log::set_max_level(log::LevelFilter::Debug);
        COLLECTOR
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains(needle))
            .cloned()
            .collect()
    }

    #[test]
    fn debug_logs_name_the_query_and_redact_secrets() {
        let _ = logged_lines_mentioning("");
        let config = r#"{
            "user_key": [{"header": {"keys": ["x-user-key"], "ops": ["fail"]}}],
            "app_id": [{"header": {"keys": ["x-log-test-app"]}}],
            "app_key": [{"header": {"keys": ["x-log-test-key"]}}]
        }"#;
        let request = get("/")
            .with_header("x-user-key", "user-key-secret-0001")
            .with_header("x-log-test-app", "log-test-app")
            .with_header("x-log-test-key", "app-key-secret-0002");
        assert!(resolve(&queries(config), &request).is_some());
        assert!(logged_lines_mentioning("secret-000").is_empty());
        assert_eq!(
            logged_lines_mentioning("log-test"),
            vec![
                "credentials.app_id[0] resolved from header `x-log-test-app`: `log-test-app`",
                "credentials.app_key[0] resolved from header `x-log-test-key`: ap…(19)",
            ]
        );
        assert!(
            logged_lines_mentioning("credentials.user_key[0] did not resolve: op `fail` at [0]")
                .iter()
                .any(|line| line.ends_with("`fail` always fails"))
        );
    }

    /// Credential queries written as in a WasmPlugin's `credentials` (YAML).
    fn yaml(text: &str) -> CredentialQueries {
        serde_yaml::from_str(text).unwrap()
    }

    const BASIC_AUTH: &str = "
app_id:
  - header:
      keys:
        - authorization
      ops:
        - split:
            separator: \" \"
            max: 2
        - length:
            min: 2
        - drop:
            head: 1
        - base64_urlsafe
        - split:
            max: 2
app_key:
  - header:
      keys:
        - app_key
";

    #[test]
    fn seed_basic_auth_gives_app_id_and_key() {
        let request = get("/").with_header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
        assert_eq!(
            resolve(&yaml(BASIC_AUTH), &request),
            Some(ResolvedCredentials {
                credential: app("aladdin", Some("opensesame")),
                origins: vec![Origin::Header("authorization".into())],
            })
        );
    }

    #[test]
    fn seed_basic_auth_without_key_takes_the_app_key_header() {
        // base64 of "aladdin" alone: the header gives only the app id.
        let request = get("/")
            .with_header("authorization", "Basic YWxhZGRpbg==")
            .with_header("app_key", "from-header");
        assert_eq!(
            resolve(&yaml(BASIC_AUTH), &request),
            Some(ResolvedCredentials {
                credential: app("aladdin", Some("from-header")),
                origins: vec![
                    Origin::Header("authorization".into()),
                    Origin::Header("app_key".into()),
                ],
            })
        );
    }

    #[test]
    fn seed_basic_auth_rejects_a_header_without_credentials() {
        let request = get("/").with_header("authorization", "Basic");
        assert_eq!(resolve(&yaml(BASIC_AUTH), &request), None);
        let request = get("/").with_header("authorization", "Basic !!!not-base64");
        assert_eq!(resolve(&yaml(BASIC_AUTH), &request), None);
    }

    const OIDC: &str = "
app_id:
  - filter:
      path:
        - envoy.filters.http.jwt_authn
        - \"0\"
      keys:
        - azp
        - aud
      ops:
        - take:
            head: 1
";

    #[test]
    fn seed_oidc_takes_azp_from_jwt_authn_metadata() {
        let request = get("/").with_metadata(jwt_metadata(vec![
            ("azp", string("my-client")),
            ("aud", list(vec![string("account"), string("other")])),
        ]));
        assert_eq!(
            resolve(&yaml(OIDC), &request),
            Some(ResolvedCredentials {
                credential: app("my-client", None),
                origins: vec![Origin::Metadata],
            })
        );
    }

    #[test]
    fn seed_oidc_keeps_only_the_first_aud() {
        let request = get("/").with_metadata(jwt_metadata(vec![(
            "aud",
            list(vec![string("account"), string("other")]),
        )]));
        assert_eq!(
            resolve(&yaml(OIDC), &request).map(|resolved| resolved.credential),
            Some(app("account", None))
        );
    }

    #[test]
    fn seed_oidc_without_metadata_finds_nothing() {
        assert_eq!(resolve(&yaml(OIDC), &get("/")), None);
    }

    const JWT_HEADER: &str = "
app_id:
  - header:
      keys:
        - x-jwt-payload
      ops:
        - base64_urlsafe
        - json:
          - keys:
            - azp
            - aud
        - take:
            head: 1
";

    fn jwt_payload_header(payload: &str) -> PlainRequest {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload);
        get("/").with_header("x-jwt-payload", &encoded)
    }

    #[test]
    fn seed_jwt_header_takes_azp() {
        let request = jwt_payload_header(
            r#"{"iss":"https://sso.example/realms/r","azp":"web-app","aud":["account"],"exp":1}"#,
        );
        assert_eq!(
            resolve(&yaml(JWT_HEADER), &request),
            Some(ResolvedCredentials {
                credential: app("web-app", None),
                origins: vec![Origin::Header("x-jwt-payload".into())],
            })
        );
    }

    #[test]
    fn seed_jwt_header_falls_back_to_the_first_aud() {
        let request = jwt_payload_header(r#"{"aud":["first~?>","second"],"azp":7}"#);
        assert_eq!(
            resolve(&yaml(JWT_HEADER), &request).map(|resolved| resolved.credential),
            Some(app("first~?>", None))
        );
    }

    #[test]
    fn seed_jwt_header_without_usable_claims_finds_nothing() {
        for payload in [
            r#"{"sub":"x"}"#,
            r#"{"aud":[]}"#,
            "not json",
            r#"{"azp":true}"#,
        ] {
            let request = jwt_payload_header(payload);
            assert_eq!(resolve(&yaml(JWT_HEADER), &request), None, "{payload}");
        }
    }
}
