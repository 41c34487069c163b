//! The answer of System's proxy-configuration endpoint (docs/behaviour.md §8): only the
//! service token and the proxy rules are read; every other field is ignored.

use serde::{Deserialize, Deserializer};

use crate::lookup::node::Node;

use crate::de::fields::{self, Need, Spec, read_struct, take_field};
use crate::json_text::quoted;

use crate::mapping::{MappingRule, Usage};
use crate::model::Secret;

/// What a proxy configuration gives the filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The service token, when the service authenticates with one.
    pub token: Option<Secret>,
    /// The rules that could be compiled, in System's order.
    pub rules: Vec<MappingRule>,
    /// One message per rule that was skipped, saying which and why.
    pub skipped: Vec<String>,
}

/// Why an answer cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyConfigError {
    /// The body is not JSON.
    #[error("the answer is not JSON: {0}")]
    NotJson(String),
    /// A field the filter needs is missing or has the wrong type.
    #[error("the answer has no {0}")]
    Missing(&'static str),
}

struct Answer {
    proxy_config: Option<ProxyConfigWrapper>,
}

struct ProxyConfigWrapper {
    content: Option<Content>,
}

struct Content {
    backend_authentication_type: Option<Node>,
    backend_authentication_value: Option<Node>,
    proxy: Option<Proxy>,
}

struct Proxy {
    proxy_rules: Option<Node>,
}

/// The answer's structs for the table-driven reader (`crate::de::fields`), which
/// reads them with one visitor, where a derived `Deserialize` each put a copy of
/// serde_json's reader in the module. Other keys are skipped, as the derived impls
/// did.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Wrapper,
    Content,
    Proxy,
    Json,
}

enum Field {
    Wrapper(Option<ProxyConfigWrapper>),
    Content(Option<Content>),
    Proxy(Option<Proxy>),
    Json(Option<Node>),
}

impl fields::Kind for Kind {
    type Value = Field;

    fn read<'de, D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        Ok(match self {
            Kind::Wrapper => Field::Wrapper(Option::<ProxyConfigWrapper>::deserialize(d)?),
            Kind::Content => Field::Content(Option::<Content>::deserialize(d)?),
            Kind::Proxy => Field::Proxy(Option::<Proxy>::deserialize(d)?),
            Kind::Json => Field::Json(Option::<Node>::deserialize(d)?),
        })
    }
}

/// One struct of the answer: its fields, all `Option`s, other keys skipped.
const fn answer_struct(
    expecting: &'static str,
    list_expecting: &'static str,
    names: &'static [&'static str],
    fields: &'static [(Kind, Need)],
) -> Spec<Kind> {
    Spec {
        expecting,
        list_expecting,
        ignore_unknown: true,
        names,
        fields,
    }
}

static ANSWER: Spec<Kind> = answer_struct(
    "struct Answer",
    "struct Answer with 1 element",
    &["proxy_config"],
    &[(Kind::Wrapper, Need::OptionalInMap)],
);
static WRAPPER: Spec<Kind> = answer_struct(
    "struct ProxyConfigWrapper",
    "struct ProxyConfigWrapper with 1 element",
    &["content"],
    &[(Kind::Content, Need::OptionalInMap)],
);
static CONTENT: Spec<Kind> = answer_struct(
    "struct Content",
    "struct Content with 3 elements",
    &[
        "backend_authentication_type",
        "backend_authentication_value",
        "proxy",
    ],
    &[
        (Kind::Json, Need::OptionalInMap),
        (Kind::Json, Need::OptionalInMap),
        (Kind::Proxy, Need::OptionalInMap),
    ],
);
static PROXY: Spec<Kind> = answer_struct(
    "struct Proxy",
    "struct Proxy with 1 element",
    &["proxy_rules"],
    &[(Kind::Json, Need::OptionalInMap)],
);

impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut fields = read_struct(d, &ANSWER)?;
        Ok(Answer {
            proxy_config: take_field!(fields, 0, Field::Wrapper).flatten(),
        })
    }
}

impl<'de> Deserialize<'de> for ProxyConfigWrapper {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut fields = read_struct(d, &WRAPPER)?;
        Ok(ProxyConfigWrapper {
            content: take_field!(fields, 0, Field::Content).flatten(),
        })
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut fields = read_struct(d, &CONTENT)?;
        Ok(Content {
            backend_authentication_type: take_field!(fields, 0, Field::Json).flatten(),
            backend_authentication_value: take_field!(fields, 1, Field::Json).flatten(),
            proxy: take_field!(fields, 2, Field::Proxy).flatten(),
        })
    }
}

impl<'de> Deserialize<'de> for Proxy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut fields = read_struct(d, &PROXY)?;
        Ok(Proxy {
            proxy_rules: take_field!(fields, 0, Field::Json).flatten(),
        })
    }
}

/// Reads a proxy configuration; a rule that cannot be used is skipped, not fatal.
pub fn parse(body: &[u8]) -> Result<ProxyConfig, ProxyConfigError> {
    // Read as text: the configuration and metadata readers take `&str` too, so the
    // module holds one copy of serde_json's reader instead of one per input type.
    let text = std::str::from_utf8(body).map_err(|error| {
        ProxyConfigError::NotJson(format!("invalid UTF-8 at byte {}", error.valid_up_to()))
    })?;
    let answer: Answer =
        serde_json::from_str(text).map_err(|error| ProxyConfigError::NotJson(error.to_string()))?;
    let content = answer
        .proxy_config
        .and_then(|wrapper| wrapper.content)
        .ok_or(ProxyConfigError::Missing("`proxy_config.content`"))?;
    let rules =
        content
            .proxy
            .and_then(|proxy| proxy.proxy_rules)
            .ok_or(ProxyConfigError::Missing(
                "`proxy_config.content.proxy.proxy_rules`",
            ))?;
    let Node::List(rules) = rules else {
        return Err(ProxyConfigError::Missing("list of `proxy_rules`"));
    };
    let mut config = ProxyConfig {
        token: service_token(
            &content.backend_authentication_type,
            &content.backend_authentication_value,
        ),
        ..ProxyConfig::default()
    };
    for (index, rule) in rules.iter().enumerate() {
        match rule_of(rule) {
            Ok(rule) => config.rules.push(rule),
            Err(why) => config
                .skipped
                .push(format!("proxy_rules[{index}] skipped: {why}")),
        }
    }
    Ok(config)
}

/// The token, when the service authenticates to the backend with a service token.
fn service_token(kind: &Option<Node>, value: &Option<Node>) -> Option<Secret> {
    let is_service_token = match kind {
        Some(Node::String(kind)) => kind == "service_token",
        None | Some(Node::Null) => true,
        Some(_) => false,
    };
    match value {
        Some(Node::String(token)) if is_service_token && !token.is_empty() => {
            Some(Secret::new(token.as_str()))
        }
        _ => None,
    }
}

/// One proxy rule as a mapping rule with a single usage.
fn rule_of(rule: &Node) -> Result<MappingRule, String> {
    let text = |name: &str| match rule.field(name) {
        Some(Node::String(value)) => Ok(Some(value.as_str())),
        None | Some(Node::Null) => Ok(None),
        Some(other) => Err(format!("`{name}` is {}, not a string", shown(other))),
    };
    let method = text("http_method")?.ok_or("no `http_method`")?;
    let pattern = text("pattern")?.ok_or("no `pattern`")?;
    let metric = text("metric_system_name")?.unwrap_or("hits");
    let delta = delta_of(rule.field("delta"))?;
    let last = match rule.field("last") {
        Some(Node::Bool(last)) => *last,
        None | Some(Node::Null) => false,
        Some(other) => return Err(format!("`last` is {}, not a boolean", shown(other))),
    };
    let usage = Usage::new(metric, delta).map_err(|error| error.to_string())?;
    MappingRule::new(method, pattern, vec![usage], last).map_err(|error| error.to_string())
}

/// `delta` as System writes it: an integer, sometimes a numeric string; default 1.
/// An integer of JSON is read as an f64 (`Node`), exact below 2^53: larger deltas are
/// refused, as no 3scale metric counts that far in one request.
fn delta_of(delta: Option<&Node>) -> Result<u64, String> {
    match delta {
        None | Some(Node::Null) => Ok(1),
        Some(number @ Node::Number(value)) => whole(*value)
            .and_then(|whole| u64::try_from(whole).ok())
            .ok_or_else(|| format!("`delta` is {}, not a positive integer", shown(number))),
        Some(Node::String(text)) => text
            .trim()
            .parse()
            .map_err(|_| format!("`delta` `{text}` is not a positive integer")),
        Some(other) => Err(format!("`delta` is {}, not a number", shown(other))),
    }
}

/// `value` when it is a whole number an f64 holds exactly (below 9e15 in magnitude).
fn whole(value: f64) -> Option<i64> {
    (value.fract() == 0.0 && value.abs() < 9.0e15).then_some(value as i64)
}

/// A value of the answer as a message shows it: scalars as JSON writes them (other
/// numbers than whole ones by their kind only), collections by their kind.
fn shown(node: &Node) -> String {
    match node {
        Node::Null => "null".to_owned(),
        Node::Bool(flag) => flag.to_string(),
        Node::Number(value) => match whole(*value) {
            Some(whole) => whole.to_string(),
            None if value.fract() == 0.0 => "a number beyond 9e15".to_owned(),
            None => "a fractional number".to_owned(),
        },
        Node::String(text) => quoted(text),
        Node::List(_) => "a list".to_owned(),
        Node::Struct(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(rules: &str) -> String {
        format!(
            r#"{{"proxy_config": {{"id": 7, "version": 3, "environment": "production", "content": {{"id": 42, "backend_authentication_type": "service_token", "backend_authentication_value": "tok-123", "backend_version": "1", "proxy": {{"id": 9, "api_backend": "https://echo-api.3scale.net:443", "proxy_rules": {rules}, "policy_chain": []}}}}}}}}"#
        )
    }

    #[test]
    fn reads_token_and_rules_and_ignores_the_rest() {
        let body = answer(
            r#"[{"id": 1, "http_method": "GET", "pattern": "/", "metric_id": 5, "metric_system_name": "hits", "delta": 1, "tenant_id": 2, "last": false, "position": 1},
                {"http_method": "POST", "pattern": "/orders$", "metric_system_name": "orders", "delta": 3, "last": true}]"#,
        );
        let config = parse(body.as_bytes()).unwrap();
        assert_eq!(config.token.as_ref().map(Secret::expose), Some("tok-123"));
        assert_eq!(config.rules.len(), 2);
        assert!(config.skipped.is_empty());
        let orders = &config.rules[1];
        assert!(orders.last);
        assert_eq!(*orders.usages, [Usage::new("orders", 3).unwrap()]);
        assert!(orders.matches("POST", "/orders"));
        assert!(!orders.matches("POST", "/orders/1"));
    }

    #[test]
    fn metric_defaults_to_hits_and_delta_to_one() {
        let config =
            parse(answer(r#"[{"http_method": "GET", "pattern": "/"}]"#).as_bytes()).unwrap();
        assert_eq!(*config.rules[0].usages, [Usage::new("hits", 1).unwrap()]);
        let config = parse(
            answer(r#"[{"http_method": "GET", "pattern": "/", "delta": "2", "last": null}]"#)
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(config.rules[0].usages[0].delta, 2);
    }

    #[test]
    fn invalid_rules_are_skipped_with_a_reason() {
        let body = answer(
            r#"[{"http_method": "GET", "pattern": "no-slash"},
                {"http_method": "GET", "pattern": "/ok"},
                {"http_method": "GET"},
                {"http_method": 7, "pattern": "/"},
                {"http_method": "GET", "pattern": "/", "delta": 0},
                {"http_method": "GET", "pattern": "/", "delta": -1},
                {"http_method": "GET", "pattern": "/", "last": "yes"},
                {"http_method": "GET", "pattern": "/{unclosed"},
                "not a rule"]"#,
        );
        let config = parse(body.as_bytes()).unwrap();
        assert_eq!(config.rules.len(), 1);
        assert_eq!(config.rules[0].pattern.as_str(), "/ok");
        assert_eq!(config.skipped.len(), 8, "{:?}", config.skipped);
        assert!(config.skipped[0].starts_with("proxy_rules[0] skipped"));
        assert!(config.skipped[0].contains("no-slash"));
        assert!(config.skipped[1].starts_with("proxy_rules[2]"));
        let why = |index: usize| config.skipped[index].split_once(": ").unwrap().1.to_owned();
        assert_eq!(why(2), "`http_method` is 7, not a string");
        assert_eq!(why(4), "`delta` is -1, not a positive integer");
        assert_eq!(why(5), "`last` is \"yes\", not a boolean");
    }

    #[test]
    fn values_of_the_wrong_kind_are_named_in_the_reason() {
        let body = answer(
            r#"[{"http_method": [], "pattern": "/"},
                {"http_method": "GET", "pattern": {}},
                {"http_method": "GET", "pattern": "/", "delta": 1.5},
                {"http_method": "GET", "pattern": "/", "delta": 1e16},
                {"http_method": "GET", "pattern": "/", "delta": true},
                {"http_method": "GET", "pattern": "/", "delta": 4.0, "last": 1},
                {"http_method": "GET", "pattern": "/", "delta": " 5 "}]"#,
        );
        let config = parse(body.as_bytes()).unwrap();
        let reasons: Vec<&str> = config
            .skipped
            .iter()
            .map(|message| message.split_once(": ").unwrap().1)
            .collect();
        assert_eq!(
            reasons,
            [
                "`http_method` is a list, not a string",
                "`pattern` is an object, not a string",
                "`delta` is a fractional number, not a positive integer",
                "`delta` is a number beyond 9e15, not a positive integer",
                "`delta` is true, not a number",
                "`last` is 1, not a boolean",
            ]
        );
        assert_eq!(config.rules.len(), 1);
        assert_eq!(config.rules[0].usages[0].delta, 5);
    }

    #[test]
    fn token_only_for_service_token_authentication() {
        let body = answer("[]").replace("\"service_token\"", "\"provider_key\"");
        assert_eq!(parse(body.as_bytes()).unwrap().token, None);
        let body = answer("[]").replace("\"tok-123\"", "\"\"");
        assert_eq!(parse(body.as_bytes()).unwrap().token, None);
        let body = answer("[]").replace("\"tok-123\"", "12");
        assert_eq!(parse(body.as_bytes()).unwrap().token, None);
    }

    #[test]
    fn unusable_answers_are_errors() {
        for body in [
            &b""[..],
            b"<html>bad gateway</html>",
            b"{\"proxy_config\": null}",
            b"{\"proxy_config\": {\"content\": {}}}",
            b"{\"proxy_config\": {\"content\": {\"proxy\": {}}}}",
            b"{\"proxy_config\": {\"content\": {\"proxy\": {\"proxy_rules\": {}}}}}",
            b"[1, 2]",
            b"\xff\xfe",
        ] {
            assert!(parse(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn garbage_never_panics() {
        let body = answer(r#"[{"http_method": "GET", "pattern": "/", "delta": 1e400}]"#);
        let _ = parse(body.as_bytes());
        let mut seed = 7u32;
        for length in 0..200 {
            let bytes: Vec<u8> = (0..length)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    b"{}[]\":,0123 abcnul"[(seed >> 16) as usize % 18]
                })
                .collect();
            let _ = parse(&bytes);
        }
    }
}
