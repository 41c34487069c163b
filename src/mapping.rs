//! 3scale mapping rules: compile, match, and sum usages (SPEC section 6).
//! STUB: to be replaced by the real implementation.

use serde::{Deserialize, Deserializer};

/// One mapping rule of a service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingRule {
    /// HTTP method to match.
    pub method: RuleMethod,
    /// Path (and optional query) pattern.
    pub pattern: Pattern,
    /// Metrics and deltas added when the rule matches.
    pub usages: Vec<Usage>,
    /// Stop evaluating further rules when this one matches.
    #[serde(default)]
    pub last: bool,
}

/// The method a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleMethod {
    /// `any`: every method.
    Any,
    /// One method, stored uppercase.
    Exact(String),
}

impl<'de> Deserialize<'de> for RuleMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let method = String::deserialize(deserializer)?;
        Ok(if method.eq_ignore_ascii_case("any") {
            RuleMethod::Any
        } else {
            RuleMethod::Exact(method.to_ascii_uppercase())
        })
    }
}

/// A metric and how much one matching request adds to it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    /// Metric system name.
    pub name: String,
    /// Positive increment.
    #[serde(deserialize_with = "crate::integer::whole")]
    pub delta: u64,
}

/// A compiled mapping-rule pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: String,
}

/// Why a mapping-rule pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The pattern does not start with `/`.
    #[error("mapping rule pattern `{0}` must start with `/`")]
    NotAbsolute(String),
}

impl Pattern {
    /// Compiles a pattern.
    pub fn compile(source: &str) -> Result<Self, PatternError> {
        if !source.starts_with('/') {
            return Err(PatternError::NotAbsolute(source.to_owned()));
        }
        Ok(Pattern {
            source: source.to_owned(),
        })
    }

    /// Whether the pattern matches a request path with its query string.
    pub fn matches(&self, path_and_query: &str) -> bool {
        path_and_query.starts_with(&self.source)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        Pattern::compile(&source).map_err(serde::de::Error::custom)
    }
}

/// Metric deltas in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usages(pub Vec<(String, u64)>);

/// Evaluates rules in order and sums the usages of every matching rule.
pub fn match_rules<'a>(
    rules: impl IntoIterator<Item = &'a MappingRule>,
    method: &str,
    path_and_query: &str,
) -> Usages {
    let mut usages = Usages::default();
    for rule in rules {
        let method_ok = match &rule.method {
            RuleMethod::Any => true,
            RuleMethod::Exact(m) => m.eq_ignore_ascii_case(method),
        };
        if method_ok && rule.pattern.matches(path_and_query) {
            for usage in &rule.usages {
                usages.0.push((usage.name.clone(), usage.delta));
            }
            if rule.last {
                break;
            }
        }
    }
    usages
}
