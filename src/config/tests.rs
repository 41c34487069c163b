//! Configuration loading: the seed's examples, defaults, and every error's path and position.

use super::*;
use crate::lookup::LookupQuery;

const SEEDS: &[(&str, &str)] = &[
    (
        "minimal",
        include_str!("../../tests/fixtures/seed/minimal.yaml"),
    ),
    (
        "system_and_services",
        include_str!("../../tests/fixtures/seed/system_and_services.yaml"),
    ),
    (
        "user_key",
        include_str!("../../tests/fixtures/seed/user_key.yaml"),
    ),
    (
        "app_id_app_key",
        include_str!("../../tests/fixtures/seed/app_id_app_key.yaml"),
    ),
    (
        "authorization_basic",
        include_str!("../../tests/fixtures/seed/authorization_basic.yaml"),
    ),
    (
        "authorization_long",
        include_str!("../../tests/fixtures/seed/authorization_long.yaml"),
    ),
    ("oidc", include_str!("../../tests/fixtures/seed/oidc.yaml")),
    (
        "jwt_header",
        include_str!("../../tests/fixtures/seed/jwt_header.yaml"),
    ),
    (
        "mapping_rules",
        include_str!("../../tests/fixtures/seed/mapping_rules.yaml"),
    ),
];

fn parse_str(text: &str) -> Result<Config, ConfigError> {
    parse(text.as_bytes())
}

fn error_of(text: &str) -> ConfigError {
    match parse_str(text) {
        Ok(_) => panic!("configuration was accepted:\n{text}"),
        Err(error) => error,
    }
}

/// A valid YAML configuration; `{extra}` is appended under the first service.
fn yaml_with_service_extra(extra: &str) -> String {
    format!(
        "api: v1\nbackend:\n  upstream:\n    name: backend\n    url: https://su1.3scale.net/\nservices:\n  - id: \"42\"\n    token: secret\n    credentials:\n      user_key:\n        - query_string:\n            keys: [user_key]\n    mapping_rules:\n      - {{method: GET, pattern: /, usages: [{{name: hits, delta: 1}}]}}\n{extra}"
    )
}

const VALID_JSON: &str = r#"{"api":"v1","backend":{"upstream":{"name":"outbound|443||su1.3scale.net","timeout":5000.0,"url":"https://su1.3scale.net/"}},"services":[{"credentials":{"user_key":[{"header":{"keys":["x-api-key"]}}]},"id":"2555417834780","mapping_rules":[{"method":"get","pattern":"/","usages":[{"delta":1.0,"name":"hits"}]}],"token":"abc"}]}"#;

#[test]
fn every_seed_example_parses() {
    for (name, text) in SEEDS {
        if let Err(error) = parse_str(text) {
            panic!("seed example `{name}` was rejected: {error}");
        }
    }
}

#[test]
fn the_minimal_seed_configuration_means_what_it_says() {
    let config = parse_str(SEEDS[0].1).unwrap();
    let system = config.system.as_ref().unwrap();
    assert_eq!(
        &*system.upstream.name,
        "outbound|443||multitenant.3scale.net"
    );
    assert_eq!(system.upstream.timeout, 5000);
    assert_eq!(system.ttl, 600);
    assert_eq!(config.backend.extensions, vec!["no_body".to_owned()]);
    assert_eq!(
        config.backend.upstream.url.to_url_string(),
        "https://su1.3scale.net/"
    );
    let service = &config.services[0];
    assert_eq!(service.id, "2555417834780");
    assert_eq!(service.token, None);
    assert!(service.mapping_rules.is_empty());
    assert_eq!(service.credentials.user_key.len(), 2);
    assert_eq!(service.credentials.app_key.len(), 2);
    assert_eq!(service.authorities[0].as_str(), "*");
}

#[test]
fn istio_json_with_float_numbers_parses() {
    let config = parse_str(VALID_JSON).unwrap();
    assert_eq!(config.backend.upstream.timeout, 5000);
    assert_eq!(
        config.services[0].mapping_rules.get(0).unwrap().usages[0].delta,
        1
    );
    assert!(config.warnings.is_empty());
}

#[test]
fn defaults_are_the_compatible_behaviour() {
    let config = parse_str(&yaml_with_service_extra("")).unwrap();
    assert!(config.system.is_none());
    assert_eq!(config.backend.upstream.timeout, 1000);
    assert!(config.backend.extensions.is_empty());
    let service = &config.services[0];
    assert_eq!(service.environment, Environment::Production);
    assert_eq!(service.authorities.len(), 1);
    assert_eq!(service.authorities[0].as_str(), "*");
    assert!(!config.passthrough_metadata);
    assert_eq!(config.failure_policy, FailurePolicy::Deny);
    assert!(config.powered_by);
    assert!(!config.rate_limit_headers);
    assert!(!config.strip_credentials);
    assert_eq!(config.errors, ErrorReplies::default());
    assert!(config.cache.is_none());
}

#[test]
fn api_version_spellings() {
    for version in ["v1", "v1.0", "v1.0.0"] {
        let text = yaml_with_service_extra("").replace("api: v1", &format!("api: {version}"));
        assert!(parse_str(&text).is_ok(), "{version}");
    }
    let error = error_of(&yaml_with_service_extra("").replace("api: v1", "api: v2"));
    assert_eq!(error.path.to_string(), "api");
    assert!(error.message.contains("v2"), "{error}");
    assert_eq!(error.position.map(|p| p.line), Some(1));
}

#[test]
fn upstream_url_is_normalised() {
    let text =
        yaml_with_service_extra("").replace("https://su1.3scale.net/", "http://backend:3000/base");
    let config = parse_str(&text).unwrap();
    let url = &config.backend.upstream.url;
    assert_eq!(url.scheme, "http");
    assert_eq!(&*url.authority, "backend:3000");
    assert_eq!(url.base_path, "/base/");
    let text = yaml_with_service_extra("")
        .replace("https://su1.3scale.net/", "https://su1.3scale.net:443");
    let config = parse_str(&text).unwrap();
    assert_eq!(
        config.backend.upstream.url.to_url_string(),
        "https://su1.3scale.net/"
    );
}

#[test]
fn header_keys_are_lowercased() {
    let text = yaml_with_service_extra("")
        .replace("- query_string:", "- header:")
        .replace("[user_key]", "[X-API-Key]");
    let config = parse_str(&text).unwrap();
    match &config.services[0].credentials.user_key[0] {
        crate::lookup::LookupQuery::Header(source) => {
            assert_eq!(source.keys, [std::sync::Arc::from("x-api-key")])
        }
        other => panic!("unexpected query {other:?}"),
    }
}

#[test]
fn extension_keys_parse() {
    let text = format!(
        "{}\nfailure_policy: allow\nrate_limit_headers: true\nstrip_credentials: true\npowered_by: false\npassthrough_metadata: true\ncache:\n  enabled: true\nerrors:\n  auth_missing:\n    status: 401\n    body: missing\n    headers:\n      WWW-Authenticate: Basic realm=\"api\"\n  limits_exceeded:\n    content_type: application/json\n",
        yaml_with_service_extra("")
    );
    let config = parse_str(&text).unwrap();
    assert_eq!(config.failure_policy, FailurePolicy::Allow);
    assert!(config.rate_limit_headers && config.strip_credentials && config.passthrough_metadata);
    assert!(!config.powered_by);
    let missing = config.errors.auth_missing.as_ref().unwrap();
    assert_eq!(missing.status, Some(401));
    assert_eq!(missing.body.as_deref(), Some("missing"));
    assert_eq!(
        missing.headers.get("WWW-Authenticate").map(String::as_str),
        Some("Basic realm=\"api\"")
    );
    assert_eq!(
        config
            .errors
            .limits_exceeded
            .as_ref()
            .and_then(|r| r.content_type.as_deref()),
        Some("application/json")
    );
    assert!(config.warnings.is_empty(), "{:?}", config.warnings);
    assert_eq!(
        config.cache_enabled(),
        Some(&crate::config::CacheSettings {
            enabled: true,
            ..Default::default()
        })
    );
}

/// Reply headers are kept by name, in name order; a name given twice keeps its last value
/// (what a map of them did).
#[test]
fn reply_headers_are_sorted_by_name_and_the_last_value_wins() {
    let json = VALID_JSON.replacen(
        r#""api":"v1","#,
        r#""api":"v1","errors":{"no_match":{"headers":{"b":"1","a":"2","b":"3"}}},"#,
        1,
    );
    let config = parse_str(&json).unwrap();
    let reply = config.errors.no_match.as_ref().unwrap();
    let headers: Vec<(&str, &str)> = reply
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    assert_eq!(headers, [("a", "2"), ("b", "3")]);
    assert_eq!(reply.headers.get("b").map(String::as_str), Some("3"));
    assert_eq!(reply.headers.get("c"), None);
}

#[test]
fn cache_settings_parse_with_defaults_and_floats() {
    let text = format!(
        "{}\ncache:\n  enabled: true\n  ttl: 2.0\n  flush_interval: 1\n  max_entries: 8\n  stale_ttl: 30\n  max_pending_reports: 100\n",
        yaml_with_service_extra("")
    );
    let config = parse_str(&text).unwrap();
    let cache = config.cache_enabled().unwrap();
    assert_eq!(
        (
            cache.ttl,
            cache.flush_interval,
            cache.max_entries,
            cache.stale_ttl,
            cache.max_pending_reports
        ),
        (2, 1, 8, 30, 100)
    );
    let defaults = crate::config::CacheSettings::default();
    assert_eq!(
        (
            defaults.enabled,
            defaults.ttl,
            defaults.flush_interval,
            defaults.max_entries,
            defaults.stale_ttl,
            defaults.max_pending_reports
        ),
        (false, 60, 5, 10_000, 0, 10_000)
    );
    let off = parse_str(&format!(
        "{}\ncache:\n  ttl: 5\n",
        yaml_with_service_extra("")
    ))
    .unwrap();
    assert_eq!(off.cache_enabled(), None);
}

#[test]
fn cache_settings_refuse_zero_and_unknown_keys() {
    for field in [
        "ttl",
        "flush_interval",
        "max_entries",
        "max_pending_reports",
    ] {
        let text = format!(
            "{}\ncache:\n  enabled: true\n  {field}: 0\n",
            yaml_with_service_extra("")
        );
        let error = parse_str(&text).unwrap_err();
        assert_eq!(error.path.to_string(), format!("cache.{field}"), "{error}");
    }
    let stale = format!("{}\ncache:\n  stale_ttl: 0\n", yaml_with_service_extra(""));
    assert!(parse_str(&stale).is_ok());
    let unknown = format!("{}\ncache:\n  size: 3\n", yaml_with_service_extra(""));
    assert!(
        parse_str(&unknown)
            .unwrap_err()
            .to_string()
            .contains("size")
    );
    let negative = format!("{}\ncache:\n  ttl: -1\n", yaml_with_service_extra(""));
    assert!(parse_str(&negative).is_err());
}

#[test]
fn app_key_without_app_id_is_a_warning() {
    let extra = "";
    let text = yaml_with_service_extra(extra).replace(
        "      user_key:\n",
        "      app_key:\n        - header: {keys: [app_key]}\n      user_key:\n",
    );
    let config = parse_str(&text).unwrap();
    assert!(
        config.warnings.iter().any(|w| w.contains("app_key")),
        "{:?}",
        config.warnings
    );
}

/// Errors: (case, configuration text, expected path, expected line, text in the message).
fn assert_error(case: &str, text: &str, path: &str, line: Option<usize>, needle: &str) {
    let error = error_of(text);
    assert_eq!(error.path.to_string(), path, "{case}: {error}");
    assert_eq!(error.position.map(|p| p.line), line, "{case}: {error}");
    assert!(
        error.to_string().contains(needle),
        "{case}: `{needle}` not in: {error}"
    );
    if line.is_some() {
        assert!(error.context.is_some(), "{case}: no context");
    }
}

#[test]
fn unknown_fields_are_rejected_with_their_path() {
    assert_error(
        "top level",
        &format!("{}\nservicess: []\n", yaml_with_service_extra("")),
        "servicess",
        Some(16),
        "unknown field `servicess`",
    );
    assert_error(
        "in a service",
        &yaml_with_service_extra("    tokn: x\n"),
        "services[0].tokn",
        Some(15),
        "unknown field `tokn`",
    );
    assert_error(
        "in an upstream",
        &yaml_with_service_extra("")
            .replace("    name: backend\n", "    name: backend\n    timeuot: 5\n"),
        "backend.upstream.timeuot",
        Some(5),
        "unknown field `timeuot`",
    );
    assert_error(
        "in a lookup source",
        &yaml_with_service_extra("")
            .replace("keys: [user_key]", "keys: [user_key]\n            key: x"),
        "services[0].credentials.user_key[0].query_string.key",
        Some(13),
        "unknown field `key`",
    );
    assert_error(
        "an unknown source",
        &yaml_with_service_extra("").replace("- query_string:", "- querystring:"),
        "services[0].credentials.user_key[0]",
        Some(11),
        "querystring",
    );
    assert_error(
        "in a mapping rule",
        &yaml_with_service_extra("").replace("delta: 1}]}", "delta: 1}], lats: true}"),
        "services[0].mapping_rules[0].lats",
        Some(14),
        "unknown field `lats`",
    );
}

#[test]
fn wrong_types_and_values_are_rejected_with_their_path() {
    assert_error(
        "numeric id in JSON (Istio would turn it into a float)",
        &VALID_JSON.replace("\"id\":\"2555417834780\"", "\"id\":2555417834780.0"),
        "services[0].id",
        Some(1),
        "write it as a quoted string",
    );
    assert_error(
        "fractional timeout",
        &yaml_with_service_extra("").replace(
            "    name: backend\n",
            "    name: backend\n    timeout: 1.5\n",
        ),
        "backend.upstream.timeout",
        Some(5),
        "1.5",
    );
    assert_error(
        "negative delta",
        &yaml_with_service_extra("").replace("delta: 1", "delta: -1"),
        "services[0].mapping_rules[0].usages[0].delta",
        Some(14),
        "out of range",
    );
    assert_error(
        "bad environment",
        &yaml_with_service_extra("    environment: prod\n"),
        "services[0].environment",
        Some(15),
        "prod",
    );
    assert_error(
        "bad failure policy",
        &format!("{}\nfailure_policy: open\n", yaml_with_service_extra("")),
        "failure_policy",
        Some(16),
        "open",
    );
    assert_error(
        "relative url",
        &yaml_with_service_extra("").replace("https://su1.3scale.net/", "su1.3scale.net"),
        "backend.upstream.url",
        Some(5),
        "not an absolute URL",
    );
    assert_error(
        "pattern without slash",
        &yaml_with_service_extra("").replace("pattern: /", "pattern: products"),
        "services[0].mapping_rules[0].pattern",
        Some(14),
        "products",
    );
}

#[test]
fn missing_required_fields_are_named() {
    assert_error(
        "no backend",
        "api: v1\nservices: []\n",
        "(top level)",
        Some(1),
        "missing field `backend`",
    );
    assert_error(
        "no api",
        &yaml_with_service_extra("").replace("api: v1\n", ""),
        "(top level)",
        Some(1),
        "missing field `api`",
    );
    assert_error(
        "no credentials",
        &yaml_with_service_extra("").replace(
            "    credentials:\n      user_key:\n        - query_string:\n            keys: [user_key]\n",
            "",
        ),
        "services[0]",
        Some(7),
        "missing field `credentials`",
    );
}

#[test]
fn cross_field_checks_name_the_field_and_its_line() {
    assert_error(
        "token without system",
        &yaml_with_service_extra("").replace("    token: secret\n", ""),
        "services[0].token",
        None,
        "unless `system`",
    );
    assert_error(
        "no rules without system",
        &yaml_with_service_extra("")
            .replace(
                "      - {method: GET, pattern: /, usages: [{name: hits, delta: 1}]}",
                "      []",
            )
            .replace("    mapping_rules:\n      []", "    mapping_rules: []"),
        "services[0].mapping_rules",
        Some(13),
        "at least one mapping rule",
    );
    assert_error(
        "no services",
        "api: v1\nbackend:\n  upstream: {name: b, url: \"https://b/\"}\nservices: []\n",
        "services",
        Some(4),
        "at least one service",
    );
    assert_error(
        "credentials without user_key or app_id",
        &yaml_with_service_extra("").replace("      user_key:\n", "      app_key:\n"),
        "services[0].credentials",
        Some(10),
        "at least one of `user_key` or `app_id`",
    );
    assert_error(
        "filter path too short",
        &yaml_with_service_extra("").replace(
            "- query_string:\n            keys: [user_key]",
            "- filter:\n            path: [envoy.filters.http.jwt_authn]\n            keys: [azp]",
        ),
        "services[0].credentials.user_key[0].filter.path",
        Some(12),
        "at least 2 segments",
    );
    assert_error(
        "no keys",
        &yaml_with_service_extra("").replace("keys: [user_key]", "keys: []"),
        "services[0].credentials.user_key[0].query_string.keys",
        Some(12),
        "at least one key",
    );
    assert_error(
        "zero timeout",
        &yaml_with_service_extra("")
            .replace("    name: backend\n", "    name: backend\n    timeout: 0\n"),
        "backend.upstream.timeout",
        Some(5),
        "at least 1 millisecond",
    );
    assert_error(
        "empty authorities",
        &yaml_with_service_extra("    authorities: []\n"),
        "services[0].authorities",
        Some(15),
        "matches no request",
    );
    assert_error(
        "bad extension",
        &yaml_with_service_extra("").replace(
            "    url: https://su1.3scale.net/\n",
            "    url: https://su1.3scale.net/\n  extensions: [\"no body\"]\n",
        ),
        "backend.extensions[0]",
        Some(6),
        "no body",
    );
    assert_error(
        "bad reply status",
        &format!(
            "{}\nerrors:\n  no_match:\n    status: 42\n",
            yaml_with_service_extra("")
        ),
        "errors.no_match.status",
        Some(18),
        "42",
    );
    assert_error(
        "bad reply header",
        &format!(
            "{}\nerrors:\n  no_match:\n    headers:\n      \"bad header\": x\n",
            yaml_with_service_extra("")
        ),
        "errors.no_match.headers.bad header",
        Some(19),
        "not a valid header name",
    );
}

#[test]
fn system_checks() {
    let with_system = |system: &str| {
        yaml_with_service_extra("").replace("    token: secret\n", "").replace(
            "backend:\n",
            &format!("system:\n  upstream: {{name: system, url: \"https://admin.example.com/\"}}\n{system}backend:\n"),
        )
    };
    let config = parse_str(&with_system("  token: t\n")).unwrap();
    assert_eq!(config.system.as_ref().map(|s| s.ttl), Some(600));
    assert_eq!(config.services[0].token, None);
    assert_error(
        "ttl 0",
        &with_system("  token: t\n  ttl: 0\n"),
        "system.ttl",
        Some(5),
        "at least 1 second",
    );
    assert_error(
        "empty token",
        &with_system("  token: \"\"\n"),
        "system.token",
        Some(4),
        "must not be empty",
    );
    assert_error(
        "no token",
        &with_system(""),
        "system",
        Some(3),
        "missing field `token`",
    );
}

#[test]
fn json_errors_carry_line_and_column() {
    let text = VALID_JSON.replace("\"timeout\":5000.0", "\"timeout\":\"5s\"");
    let error = error_of(&text);
    assert_eq!(error.path.to_string(), "backend.upstream.timeout");
    assert_eq!(error.position.map(|p| p.line), Some(1));
    assert!(error.position.is_some_and(|p| p.column > 40));
    let text = VALID_JSON.replace("\"token\":\"abc\"", "\"token\":\"\"");
    let error = error_of(&text);
    assert_eq!(error.path.to_string(), "services[0].token");
    assert_eq!(error.position.map(|p| p.line), Some(1));
    assert!(error.context.as_deref().is_some_and(|c| c.contains('^')));
}

#[test]
fn syntax_errors_are_placed() {
    let error = error_of("{\"api\": \"v1\",\n \"backend\": {\n}");
    assert_eq!(error.position.map(|p| p.line), Some(3));
    let error = error_of(&format!("{VALID_JSON} trailing"));
    assert!(error.message.contains("trailing"), "{error}");
    let error = error_of("api: v1\nbackend: [\n");
    assert!(error.position.is_some(), "{error}");
}

#[test]
fn empty_or_non_text_configuration_is_an_error() {
    for text in ["", "   \n\t"] {
        let error = error_of(text);
        assert!(error.message.contains("empty"), "{error}");
    }
    let error = parse(&[0xff, 0xfe, b'{']).unwrap_err();
    assert!(error.message.contains("UTF-8"), "{error}");
    let error = error_of("just a string");
    assert!(error.message.contains("invalid type"), "{error}");
    let error = error_of("null");
    assert_eq!(error.path.to_string(), "(top level)");
}

#[test]
fn error_message_shows_two_lines_of_context() {
    let error = error_of(&yaml_with_service_extra("    tokn: x\n"));
    let shown = error.to_string();
    assert!(shown.contains("> 15 |     tokn: x"), "{shown}");
    assert!(shown.contains("  13 |"), "{shown}");
    assert!(shown.contains("  14 |"), "{shown}");
}

#[test]
fn authority_patterns_are_lowercased_like_request_authorities() {
    let config = parse_str(&yaml_with_service_extra(
        "    authorities: [\"API.Example.com:*\"]\n",
    ))
    .unwrap();
    assert_eq!(
        config.services[0].authorities[0].as_str(),
        "api.example.com:*"
    );
    assert!(config.services[0].authorities[0].matches("api.example.com:8443"));
    // Requests keep non-ASCII letters as sent (only ASCII is lowercased), so must patterns.
    let config = parse_str(&yaml_with_service_extra("    authorities: [\"ÄPI.de\"]\n")).unwrap();
    assert_eq!(config.services[0].authorities[0].as_str(), "Äpi.de");
}

#[test]
fn an_invalid_authority_glob_names_its_index() {
    assert_error(
        "trailing escape",
        &yaml_with_service_extra("    authorities: [\"ok\", \"bad\\\\\"]\n"),
        "services[0].authorities[1]",
        Some(15),
        "escape",
    );
}

/// Truncated and corrupted configurations are rejected or accepted, never a panic.
#[test]
fn mangled_configurations_never_panic() {
    let mut seed = 0x2545_f491_u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed as usize
    };
    let sources: Vec<String> = SEEDS
        .iter()
        .map(|(_, text)| (*text).to_owned())
        .chain([VALID_JSON.to_owned()])
        .collect();
    for text in &sources {
        let bytes = text.as_bytes();
        for cut in (0..bytes.len()).step_by(7) {
            let _ = parse(&bytes[..cut]);
        }
        for _ in 0..300 {
            let mut mangled = bytes.to_vec();
            for _ in 0..1 + next() % 4 {
                let at = next() % mangled.len();
                const BYTES: &[u8] = b"{}[]:,\"-\n #\\0a\xff";
                mangled[at] = BYTES[next() % BYTES.len()];
            }
            let _ = parse(&mangled);
        }
    }
}

#[test]
fn an_unquoted_integer_service_id_in_yaml_is_its_text() {
    let config =
        parse_str(&yaml_with_service_extra("").replace("id: \"42\"", "id: 2555417834780")).unwrap();
    assert_eq!(config.services[0].id, "2555417834780");
    assert_error(
        "boolean id",
        &yaml_with_service_extra("").replace("id: \"42\"", "id: true"),
        "services[0].id",
        Some(7),
        "a service id as a string",
    );
}

#[test]
fn debug_output_never_shows_a_token() {
    let text = r#"{
        "api": "v1",
        "system": {"upstream": {"name": "s", "url": "https://s/"}, "token": "system-access-tok-0123"},
        "backend": {"upstream": {"name": "b", "url": "https://b/"}},
        "services": [{"id": "1", "token": "service-token-0123456789",
            "credentials": {"user_key": [{"header": {"keys": ["k"]}}]},
            "mapping_rules": []}]
    }"#;
    let config = parse_str(text).unwrap();
    let printed = format!("{config:?} {config:#?}");
    assert!(!printed.contains("system-access-tok-0123"), "{printed}");
    assert!(!printed.contains("service-token-0123456789"), "{printed}");
    for redacted in [
        crate::model::redact("system-access-tok-0123"),
        crate::model::redact("service-token-0123456789"),
    ] {
        assert!(
            printed.contains(&format!("Secret({redacted})")),
            "{printed}"
        );
    }
}

#[test]
fn mode_and_debug_headers_parse_top_level_and_per_service() {
    let config = parse_str(&yaml_with_service_extra("")).unwrap();
    assert_eq!(config.mode, Mode::Enforce);
    assert!(!config.debug_headers);
    assert_eq!(config.services[0].mode, None);
    assert_eq!(config.mode_of(config.services.first()), Mode::Enforce);
    let text = format!(
        "{}\nmode: report\ndebug_headers: true\n",
        yaml_with_service_extra("    mode: enforce\n")
    );
    let config = parse_str(&text).unwrap();
    assert_eq!(config.mode, Mode::Report);
    assert!(config.debug_headers);
    assert_eq!(config.services[0].mode, Some(Mode::Enforce));
    assert_eq!(config.mode_of(config.services.first()), Mode::Enforce);
    assert_eq!(config.mode_of(None), Mode::Report);
    let json = VALID_JSON.replace(r#""api":"v1","#, r#""api":"v1","mode":"report","#);
    assert_eq!(parse_str(&json).unwrap().mode, Mode::Report);
}

#[test]
fn mode_and_debug_headers_errors_name_the_field_and_the_allowed_values() {
    assert_error(
        "bad top-level mode",
        &format!("{}\nmode: audit\n", yaml_with_service_extra("")),
        "mode",
        Some(16),
        "unknown variant `audit`, expected `enforce` or `report`",
    );
    assert_error(
        "bad service mode",
        &yaml_with_service_extra("    mode: Report\n"),
        "services[0].mode",
        Some(15),
        "unknown variant `Report`, expected `enforce` or `report`",
    );
    assert_error(
        "mode not a string",
        &format!("{}\nmode: [report]\n", yaml_with_service_extra("")),
        "mode",
        Some(16),
        "expected `enforce` or `report`",
    );
    assert_error(
        "debug_headers not a boolean",
        &format!("{}\ndebug_headers: \"yes\"\n", yaml_with_service_extra("")),
        "debug_headers",
        Some(16),
        "expected a boolean",
    );
}

/// Every variation of `value` with one node replaced, one map key added or removed.
fn mutations(value: &serde_json::Value) -> Vec<serde_json::Value> {
    use serde_json::{Value, json};
    let replacements = [
        json!("x"),
        json!(""),
        json!(1.5),
        json!(-1),
        json!(0),
        json!([]),
        json!([1]),
        json!({}),
        json!({"zz": 1}),
        Value::Null,
        json!(true),
    ];
    let mut out: Vec<Value> = replacements
        .iter()
        .filter(|r| *r != value)
        .cloned()
        .collect();
    match value {
        Value::Object(map) => {
            let mut extra = map.clone();
            extra.insert("zz".into(), json!(1));
            out.push(Value::Object(extra));
            for key in map.keys() {
                let mut fewer = map.clone();
                fewer.remove(key);
                out.push(Value::Object(fewer));
                for variant in mutations(&map[key]) {
                    let mut changed = map.clone();
                    changed.insert(key.clone(), variant);
                    out.push(Value::Object(changed));
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                for variant in mutations(item) {
                    let mut changed = items.clone();
                    changed[index] = variant;
                    out.push(Value::Array(changed));
                }
            }
        }
        _ => {}
    }
    out
}

/// The loader finds a data error's field from where serde_json stopped
/// (`json_path`); `serde_path_to_error`, which tracks it while deserializing, says
/// the same on thousands of broken variants of the seed configurations.
#[test]
fn error_paths_are_those_tracked_while_deserializing() {
    let mut compared = 0;
    let mut differences = Vec::new();
    for (name, yaml) in SEEDS {
        let seed: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
        for variant in mutations(&seed) {
            let json = variant.to_string();
            let mut deserializer = serde_json::Deserializer::from_str(&json);
            let Err(tracked) = serde_path_to_error::deserialize::<_, Config>(&mut deserializer)
            else {
                continue;
            };
            if !tracked.inner().is_data() {
                continue;
            }
            let expected = FieldPath::from_tracked(tracked.path()).to_string();
            let found = super::json_path::data_error_path(&json, tracked.inner()).to_string();
            compared += 1;
            if found != expected {
                differences.push(format!(
                    "{name}: {expected} != {found}: {}",
                    tracked.inner()
                ));
            }
        }
    }
    assert!(compared > 1000, "{compared}");
    assert!(
        differences.is_empty(),
        "{compared} compared:\n{}",
        differences.join("\n")
    );
}

impl FieldPath {
    fn from_tracked(path: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment as Tracked;
        FieldPath(
            path.iter()
                .filter_map(|segment| match segment {
                    Tracked::Seq { index } => Some(Segment::Index(*index)),
                    Tracked::Map { key } => Some(Segment::Key(key.clone())),
                    Tracked::Enum { variant } => Some(Segment::Key(variant.clone())),
                    Tracked::Unknown => None,
                })
                .collect(),
        )
    }
}

/// The table-driven reader (`config::schema`) finds a field's value by its position in
/// the struct's table: a value must land in the field of the key it was written
/// under, also among fields of one type, where a wrong position would type-check
/// and silently keep a default.
#[test]
fn every_field_lands_under_its_own_name() {
    let flags = [
        "passthrough_metadata",
        "rate_limit_headers",
        "strip_credentials",
        "debug_headers",
    ];
    for flag in flags {
        let json = VALID_JSON.replacen(
            r#""api":"v1","#,
            &format!(r#""api":"v1","{flag}":true,"#),
            1,
        );
        let config = parse_str(&json).unwrap();
        let set = [
            config.passthrough_metadata,
            config.rate_limit_headers,
            config.strip_credentials,
            config.debug_headers,
        ];
        let expected = flags.map(|name| name == flag);
        assert_eq!(set, expected, "{flag}");
        assert!(config.powered_by, "{flag}");
    }
    let json = VALID_JSON.replacen(r#""api":"v1","#, r#""api":"v1","powered_by":false,"#, 1);
    assert!(!parse_str(&json).unwrap().powered_by);

    let json = VALID_JSON.replacen(
        r#""api":"v1","#,
        r#""api":"v1","cache":{"enabled":true,"ttl":301,"flush_interval":7,"max_entries":901,"stale_ttl":61,"max_pending_reports":5001},"#,
        1,
    );
    let cache = parse_str(&json).unwrap().cache.unwrap();
    let numbers = [
        cache.ttl,
        cache.flush_interval,
        u64::from(cache.max_entries),
        cache.stale_ttl,
        u64::from(cache.max_pending_reports),
    ];
    assert!(cache.enabled);
    assert_eq!(numbers, [301, 7, 901, 61, 5001]);

    let replies = [
        "unknown_service",
        "auth_missing",
        "auth_failed",
        "no_match",
        "limits_exceeded",
        "unavailable",
    ];
    let written: Vec<String> = replies
        .iter()
        .zip(461..)
        .map(|(name, status)| {
            format!(
                r#""{name}":{{"status":{status},"body":"b{status}","content_type":"c{status}"}}"#
            )
        })
        .collect();
    let json = VALID_JSON.replacen(
        r#""api":"v1","#,
        &format!(r#""api":"v1","errors":{{{}}},"#, written.join(",")),
        1,
    );
    let errors = parse_str(&json).unwrap().errors;
    let read: Vec<(Option<u16>, Option<String>, Option<String>)> = [
        &errors.unknown_service,
        &errors.auth_missing,
        &errors.auth_failed,
        &errors.no_match,
        &errors.limits_exceeded,
        &errors.unavailable,
    ]
    .into_iter()
    .map(|reply| {
        let reply = reply.as_ref().unwrap();
        (reply.status, reply.body.clone(), reply.content_type.clone())
    })
    .collect();
    let expected: Vec<(Option<u16>, Option<String>, Option<String>)> = (461..467)
        .map(|status| {
            (
                Some(status),
                Some(format!("b{status}")),
                Some(format!("c{status}")),
            )
        })
        .collect();
    assert_eq!(read, expected);

    let json = VALID_JSON.replacen(
        r#""credentials":{"user_key":[{"header":{"keys":["x-api-key"]}}]}"#,
        r#""credentials":{"user_key":[{"header":{"keys":["u"]}}],"app_id":[{"query_string":{"keys":["i"]}}],"app_key":[{"filter":{"path":["p","q"],"keys":["k"]}}]}"#,
        1,
    );
    let credentials = &parse_str(&json).unwrap().services[0].credentials;
    assert!(
        matches!(&credentials.user_key[..], [LookupQuery::Header(source)] if source.keys == [std::sync::Arc::from("u")])
    );
    assert!(
        matches!(&credentials.app_id[..], [LookupQuery::QueryString(source)] if source.keys == [std::sync::Arc::from("i")])
    );
    assert!(
        matches!(&credentials.app_key[..], [LookupQuery::Filter(source)] if source.path == ["p", "q"] && source.keys == ["k"])
    );
}
