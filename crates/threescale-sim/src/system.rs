//! System (Porta): the proxy configuration endpoint
//! `GET /admin/api/services/<id>/proxy/configs/<environment>/latest.json`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::Response;
use crate::model::{Model, ProxyRule, SystemConfig};

/// One published proxy configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub include_token: bool,
    /// Token published instead of the service token.
    pub token: Option<String>,
    /// Rules as JSON objects, published exactly as stored.
    pub proxy_rules: Vec<Value>,
    pub version: u64,
}

/// The published configurations, by (service id, environment).
pub type Configs = BTreeMap<(String, String), Published>;

/// A replacement configuration (`PUT /_sim/system/<service>/<env>`). Rules are
/// free-form JSON so that tests can publish the invalid rules System may hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replacement {
    #[serde(default)]
    pub include_token: Option<bool>,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub proxy_rules: Vec<Value>,
}

/// The configurations of the YAML model, each at version 1.
pub fn initial_configs(model: &Model) -> Configs {
    let mut configs = Configs::new();
    for service in &model.services {
        for (environment, config) in &service.system {
            configs.insert((service.id.clone(), environment.clone()), published(config));
        }
    }
    configs
}

fn published(config: &SystemConfig) -> Published {
    Published {
        include_token: config.include_token,
        token: config.token.clone(),
        proxy_rules: config
            .proxy_rules
            .iter()
            .enumerate()
            .map(|(index, rule)| rule_json(index, rule))
            .collect(),
        version: 1,
    }
}

/// A typed rule with the extra fields Porta sends along.
fn rule_json(index: usize, rule: &ProxyRule) -> Value {
    json!({
        "id": index + 1,
        "http_method": rule.http_method,
        "pattern": rule.pattern,
        "metric_id": index + 1,
        "metric_system_name": rule.metric_system_name,
        "delta": rule.delta,
        "last": rule.last,
        "position": index + 1,
        "parameters": [],
        "querystring_parameters": {},
        "owner_type": "Proxy",
    })
}

/// Applies a replacement; the version goes up by one.
pub fn replace(configs: &mut Configs, service_id: &str, environment: &str, new: Replacement) {
    let key = (service_id.to_string(), environment.to_string());
    let version = configs.get(&key).map_or(1, |old| old.version + 1);
    configs.insert(
        key,
        Published {
            include_token: new.include_token.unwrap_or(true),
            token: new.token,
            proxy_rules: new.proxy_rules,
            version,
        },
    );
}

/// `(service id, environment)` of a proxy-config path, percent-decoded.
pub fn parse_path(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/admin/api/services/")?;
    let mut segments = rest.split('/');
    let (Some(id), Some("proxy"), Some("configs"), Some(environment), Some("latest.json"), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return None;
    };
    Some((decode(id), decode(environment)))
}

fn decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

/// Answers a proxy-config request: 404 for any other path, then 403 without
/// the right access token, then 404 for an unknown service or an environment
/// with nothing published.
pub fn proxy_config(model: &Model, configs: &Configs, path: &str, query: &str) -> Response {
    let Some((service_id, environment)) = parse_path(path) else {
        return not_found();
    };
    let token = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "access_token")
        .map(|(_, value)| value.into_owned());
    let expected = model
        .system
        .as_ref()
        .map(|system| system.access_token.as_str());
    match (expected, token) {
        (Some(expected), Some(token)) if expected == token => {}
        (None, _) => return not_found(),
        _ => return Response::json(403, &json!({"error": "Access Denied"})),
    }
    let Some(service) = model.service(&service_id) else {
        return not_found();
    };
    let Some(config) = configs.get(&(service_id.clone(), environment.clone())) else {
        return not_found();
    };
    let mut content = json!({
        "id": numeric_or_string(&service.id),
        "account_id": 2,
        "name": format!("Service {}", service.id),
        "system_name": format!("service_{}", service.id),
        "backend_version": "1",
        "backend_authentication_type": "service_token",
        "proxy": {
            "id": numeric_or_string(&service.id),
            "service_id": numeric_or_string(&service.id),
            "endpoint": "https://api.example.com:443",
            "api_backend": "https://backend.example.com:443",
            "hosts": ["api.example.com"],
            "credentials_location": "query",
            "proxy_rules": config.proxy_rules,
        },
    });
    if config.include_token {
        let token = config
            .token
            .clone()
            .unwrap_or_else(|| service.token.clone());
        if let Some(object) = content.as_object_mut() {
            object.insert("backend_authentication_value".into(), Value::String(token));
        }
    }
    Response::json(
        200,
        &json!({
            "proxy_config": {
                "id": config.version,
                "version": config.version,
                "environment": environment,
                "content": content,
            }
        }),
    )
}

fn numeric_or_string(id: &str) -> Value {
    id.parse::<u64>()
        .map_or_else(|_| Value::String(id.to_string()), Value::from)
}

fn not_found() -> Response {
    Response::json(404, &json!({"status": "Not found"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"
system: { access_token: sys }
services:
  - id: "42"
    token: svc-token
    system:
      production:
        proxy_rules:
          - { http_method: GET, pattern: "/products/{id}", metric_system_name: products, delta: 2, last: true }
      staging:
        include_token: false
        proxy_rules: []
"#;

    fn get(path: &str, query: &str) -> (u16, Value) {
        let model = Model::from_yaml(MODEL).unwrap();
        let configs = initial_configs(&model);
        let response = proxy_config(&model, &configs, path, query);
        (
            response.status,
            serde_json::from_slice(&response.body).unwrap(),
        )
    }

    const PRODUCTION: &str = "/admin/api/services/42/proxy/configs/production/latest.json";

    #[test]
    fn publishes_rules_and_token() {
        let (status, body) = get(PRODUCTION, "access_token=sys");
        assert_eq!(status, 200);
        let content = &body["proxy_config"]["content"];
        assert_eq!(content["backend_authentication_type"], "service_token");
        assert_eq!(content["backend_authentication_value"], "svc-token");
        let rule = &content["proxy"]["proxy_rules"][0];
        assert_eq!(rule["http_method"], "GET");
        assert_eq!(rule["pattern"], "/products/{id}");
        assert_eq!(rule["metric_system_name"], "products");
        assert_eq!(rule["delta"], 2);
        assert_eq!(rule["last"], true);
        assert_eq!(body["proxy_config"]["environment"], "production");
    }

    #[test]
    fn token_can_be_left_out() {
        let (status, body) = get(
            "/admin/api/services/42/proxy/configs/staging/latest.json",
            "access_token=sys",
        );
        assert_eq!(status, 200);
        assert!(
            body["proxy_config"]["content"]
                .get("backend_authentication_value")
                .is_none()
        );
    }

    #[test]
    fn access_token_is_checked_first() {
        assert_eq!(get(PRODUCTION, "").0, 403);
        assert_eq!(get(PRODUCTION, "access_token=nope").0, 403);
        assert_eq!(
            get(
                "/admin/api/services/9/proxy/configs/production/latest.json",
                "access_token=nope"
            )
            .0,
            403
        );
    }

    #[test]
    fn unknown_service_or_environment_is_404() {
        assert_eq!(
            get(
                "/admin/api/services/9/proxy/configs/production/latest.json",
                "access_token=sys"
            )
            .0,
            404
        );
        assert_eq!(
            get(
                "/admin/api/services/42/proxy/configs/sandbox/latest.json",
                "access_token=sys"
            )
            .0,
            404
        );
    }

    #[test]
    fn replacement_bumps_the_version() {
        let model = Model::from_yaml(MODEL).unwrap();
        let mut configs = initial_configs(&model);
        replace(
            &mut configs,
            "42",
            "production",
            Replacement {
                include_token: None,
                token: Some("other".into()),
                proxy_rules: vec![json!({"http_method": "GET", "pattern": "/", "delta": "x"})],
            },
        );
        let response = proxy_config(&model, &configs, PRODUCTION, "access_token=sys");
        let body: Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(body["proxy_config"]["version"], 2);
        assert_eq!(
            body["proxy_config"]["content"]["backend_authentication_value"],
            "other"
        );
        assert_eq!(
            body["proxy_config"]["content"]["proxy"]["proxy_rules"][0]["delta"],
            "x"
        );
    }

    #[test]
    fn path_parsing() {
        assert_eq!(
            parse_path("/admin/api/services/a%20b/proxy/configs/production/latest.json"),
            Some(("a b".to_string(), "production".to_string()))
        );
        assert_eq!(
            parse_path("/admin/api/services/1/proxy/configs/production"),
            None
        );
    }
}
