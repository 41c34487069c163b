//! The simulated 3scale account: services, metrics, applications, plans and
//! the System proxy configurations, read from YAML.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::periods::Period;

/// Why the YAML model cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid simulator model: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("invalid simulator model at {path}: {message}")]
    Invalid { path: String, message: String },
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

/// The whole simulated account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// System (Porta) settings; without it the System endpoint answers 404.
    #[serde(default)]
    pub system: Option<SystemAccount>,
    pub services: Vec<Service>,
}

/// The System account whose access token the proxy-config endpoint checks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemAccount {
    pub access_token: String,
}

/// One 3scale service (product).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    #[serde(deserialize_with = "string_or_integer")]
    pub id: String,
    /// The service token that backend calls must present with `service_id`.
    pub token: String,
    /// apisonator's `backend_version`: which credential identifies an
    /// application in authorize/authrep. Absent: either (a simulator
    /// convenience, so one service can hold both kinds of application).
    #[serde(default)]
    pub backend_version: Option<BackendVersion>,
    #[serde(default)]
    pub metrics: Vec<Metric>,
    #[serde(default)]
    pub applications: Vec<Application>,
    /// Proxy configuration per System environment (`production`, `staging`, …).
    #[serde(default)]
    pub system: BTreeMap<String, SystemConfig>,
}

/// apisonator's `backend_version` of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum BackendVersion {
    /// `"1"`: the `user_key` alone identifies the application (`app_id` is ignored).
    #[serde(rename = "1")]
    UserKey,
    /// `"2"`: the `app_id` does (`user_key` is ignored), with `app_key`.
    #[serde(rename = "2")]
    AppId,
}

/// A metric or method; a method names its parent metric (usually `hits`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    pub name: String,
    #[serde(default)]
    pub parent: Option<String>,
}

/// An application, found by `app_id` or by `user_key`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    #[serde(default, deserialize_with = "optional_string_or_integer")]
    pub app_id: Option<String>,
    #[serde(default)]
    pub user_key: Option<String>,
    /// Keys of an app_id application; empty means no key is required.
    #[serde(default)]
    pub app_keys: Vec<String>,
    /// A suspended application is denied with `application_not_active`.
    #[serde(default)]
    pub suspended: bool,
    pub plan: Plan,
}

/// An application plan: a name and its usage limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub name: String,
    #[serde(default)]
    pub limits: Vec<Limit>,
}

/// At most `max` units of `metric` per `period`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub metric: String,
    pub period: Period,
    pub max: i64,
}

/// One environment's proxy configuration as System publishes it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    /// Whether `backend_authentication_value` is present in the answer.
    #[serde(default = "yes")]
    pub include_token: bool,
    /// Token to publish instead of the service token (to simulate a mismatch).
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub proxy_rules: Vec<ProxyRule>,
}

/// A mapping rule as System stores it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyRule {
    pub http_method: String,
    pub pattern: String,
    #[serde(default = "hits")]
    pub metric_system_name: String,
    #[serde(default = "one")]
    pub delta: i64,
    #[serde(default)]
    pub last: bool,
}

fn yes() -> bool {
    true
}

fn hits() -> String {
    "hits".to_string()
}

fn one() -> i64 {
    1
}

struct StringOrInteger;

impl Visitor<'_> for StringOrInteger {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an integer")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<String, E> {
        Ok(value.to_string())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<String, E> {
        Ok(value.to_string())
    }
}

/// Ids are strings in 3scale, but YAML writers often leave them unquoted.
fn string_or_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    deserializer.deserialize_any(StringOrInteger)
}

fn optional_string_or_integer<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    string_or_integer(deserializer).map(Some)
}

impl Model {
    /// Reads and validates a YAML model file.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Model::from_yaml(&text)
    }

    /// Parses and validates YAML text.
    pub fn from_yaml(text: &str) -> Result<Model, ModelError> {
        let model: Model = serde_yaml::from_str(text)?;
        model.validate()?;
        Ok(model)
    }

    fn validate(&self) -> Result<(), ModelError> {
        let mut ids = HashSet::new();
        for (index, service) in self.services.iter().enumerate() {
            let path = format!("services[{index}]");
            if !ids.insert(service.id.as_str()) {
                return Err(invalid(
                    path,
                    format!("duplicate service id {:?}", service.id),
                ));
            }
            service.validate(&path)?;
        }
        Ok(())
    }

    /// The service with this id.
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|service| service.id == id)
    }
}

impl Service {
    fn validate(&self, path: &str) -> Result<(), ModelError> {
        if self.id.trim().is_empty() || self.token.is_empty() {
            return Err(invalid(path, "id and token must not be empty"));
        }
        self.validate_metrics(path)?;
        let mut app_ids = HashSet::new();
        let mut user_keys = HashSet::new();
        for (index, app) in self.applications.iter().enumerate() {
            let app_path = format!("{path}.applications[{index}]");
            if app.app_id.is_none() && app.user_key.is_none() {
                return Err(invalid(app_path, "needs an app_id or a user_key"));
            }
            if let Some(id) = &app.app_id
                && !app_ids.insert(id.as_str())
            {
                return Err(invalid(app_path, format!("duplicate app_id {id:?}")));
            }
            if let Some(key) = &app.user_key
                && !user_keys.insert(key.as_str())
            {
                return Err(invalid(app_path, format!("duplicate user_key {key:?}")));
            }
            let mut limited = HashSet::new();
            for (limit_index, limit) in app.plan.limits.iter().enumerate() {
                let limit_path = format!("{app_path}.plan.limits[{limit_index}]");
                if !limited.insert((limit.metric.as_str(), limit.period)) {
                    return Err(invalid(
                        limit_path,
                        "a plan has one limit per metric and period",
                    ));
                }
                if self.metric(&limit.metric).is_none() {
                    return Err(invalid(
                        limit_path,
                        format!("unknown metric {:?}", limit.metric),
                    ));
                }
                if limit.max < 0 {
                    return Err(invalid(limit_path, "max must not be negative"));
                }
            }
        }
        Ok(())
    }

    /// Metric names are unique; a parent exists and is itself top-level
    /// (3scale has two levels: metrics and their methods).
    fn validate_metrics(&self, path: &str) -> Result<(), ModelError> {
        let mut names = HashSet::new();
        for (index, metric) in self.metrics.iter().enumerate() {
            let metric_path = format!("{path}.metrics[{index}]");
            if metric.name.trim().is_empty() || metric.name.trim() != metric.name {
                return Err(invalid(metric_path, "name must be non-empty and unpadded"));
            }
            if !names.insert(metric.name.as_str()) {
                return Err(invalid(
                    metric_path,
                    format!("duplicate metric {:?}", metric.name),
                ));
            }
            if let Some(parent) = &metric.parent {
                match self.metric(parent) {
                    Some(found) if found.parent.is_none() && found.name != metric.name => {}
                    Some(_) => {
                        return Err(invalid(
                            metric_path,
                            format!("parent {parent:?} must be a top-level metric"),
                        ));
                    }
                    None => {
                        return Err(invalid(
                            metric_path,
                            format!("unknown parent metric {parent:?}"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The metric with this system name.
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|metric| metric.name == name)
    }

    /// The parent of a metric (apisonator's `ascendants`; at most one level).
    pub fn parent_of(&self, name: &str) -> Option<&str> {
        self.metric(name)
            .and_then(|metric| metric.parent.as_deref())
    }

    /// The children of a metric (apisonator's `descendants`), in model order.
    pub fn children_of(&self, name: &str) -> Vec<&str> {
        self.metrics
            .iter()
            .filter(|metric| metric.parent.as_deref() == Some(name))
            .map(|metric| metric.name.as_str())
            .collect()
    }

    /// Index and application for an `app_id`.
    pub fn app_by_id(&self, app_id: &str) -> Option<(usize, &Application)> {
        self.applications
            .iter()
            .enumerate()
            .find(|(_, app)| app.app_id.as_deref() == Some(app_id))
    }

    /// Index and application for a `user_key`.
    pub fn app_by_user_key(&self, user_key: &str) -> Option<(usize, &Application)> {
        self.applications
            .iter()
            .enumerate()
            .find(|(_, app)| app.user_key.as_deref() == Some(user_key))
    }
}

impl Application {
    /// A human label for logs and the usage dump: the app_id, else the user key.
    pub fn label(&self) -> String {
        match (&self.app_id, &self.user_key) {
            (Some(id), _) => id.clone(),
            (None, Some(key)) => format!("user_key:{key}"),
            (None, None) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
services:
  - id: 42
    token: tok
    metrics:
      - name: hits
      - name: products
        parent: hits
    applications:
      - user_key: uk
        plan: { name: Basic, limits: [ { metric: hits, period: minute, max: 5 } ] }
      - app_id: 7
        app_keys: [k1]
        plan: { name: Pro }
    system:
      production:
        proxy_rules:
          - { http_method: GET, pattern: "/" }
"#;

    #[test]
    fn parses_a_minimal_model() {
        let model = Model::from_yaml(MINIMAL).unwrap();
        let service = model.service("42").unwrap();
        assert_eq!(service.parent_of("products"), Some("hits"));
        assert_eq!(service.children_of("hits"), vec!["products"]);
        assert_eq!(service.app_by_id("7").unwrap().0, 1);
        assert_eq!(service.app_by_user_key("uk").unwrap().0, 0);
        let rule = &service.system["production"].proxy_rules[0];
        assert_eq!((rule.metric_system_name.as_str(), rule.delta), ("hits", 1));
        assert!(service.system["production"].include_token);
    }

    #[test]
    fn example_model_is_valid() {
        let model = Model::from_yaml(include_str!("../../../examples/sim.yaml")).unwrap();
        assert_eq!(model.services.len(), 2);
    }

    #[test]
    fn rejects_unknown_fields() {
        let text = MINIMAL.replace("token: tok", "token: tok\n    tokn: x");
        assert!(matches!(Model::from_yaml(&text), Err(ModelError::Yaml(_))));
    }

    #[test]
    fn rejects_unknown_limit_metric() {
        let text = MINIMAL.replace("metric: hits, period", "metric: nope, period");
        let error = Model::from_yaml(&text).unwrap_err().to_string();
        assert!(
            error.contains("services[0].applications[0].plan.limits[0]"),
            "{error}"
        );
    }

    #[test]
    fn rejects_grandchild_metrics() {
        let text = MINIMAL.replace(
            "        parent: hits\n",
            "        parent: hits\n      - name: deep\n        parent: products\n",
        );
        let error = Model::from_yaml(&text).unwrap_err().to_string();
        assert!(error.contains("top-level"), "{error}");
    }

    #[test]
    fn rejects_application_without_credentials() {
        let text = MINIMAL.replace("      - app_id: 7\n", "      - suspended: true\n");
        assert!(Model::from_yaml(&text).is_err());
    }

    #[test]
    fn rejects_two_limits_for_the_same_metric_and_period() {
        let text = MINIMAL.replace(
            "max: 5 } ]",
            "max: 5 }, { metric: hits, period: minute, max: 6 } ]",
        );
        let error = Model::from_yaml(&text).unwrap_err().to_string();
        assert!(error.contains("one limit per metric and period"), "{error}");
    }

    #[test]
    fn rejects_unknown_period() {
        let text = MINIMAL.replace("period: minute", "period: fortnight");
        assert!(Model::from_yaml(&text).is_err());
    }
}
