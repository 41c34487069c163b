//! A valid configuration in a few lines of data (the `threescale-wasm-auth validate`
//! command): services, authorities, credential sources, rule counts, System usage and
//! the extensions switched on.

use serde::Serialize;

use super::describe_query;
use crate::config::{Config, ErrorReplies, FailurePolicy, Mode, Service, Upstream};

/// What a configuration sets up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The 3scale backend.
    pub backend: UpstreamSummary,
    /// Extra `3scale-options` sent to the backend.
    pub backend_extensions: Vec<String>,
    /// 3scale System, when configured.
    pub system: Option<SystemSummary>,
    /// The services, in selection order.
    pub services: Vec<ServiceSummary>,
    /// The optional behaviours switched on (non-default values), e.g. `failure_policy: allow`.
    pub extensions: Vec<String>,
    /// The configuration's warnings.
    pub warnings: Vec<String>,
}

/// An upstream: cluster, URL, timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamSummary {
    /// Envoy cluster name.
    pub cluster: String,
    /// Normalised URL, ending in `/`.
    pub url: String,
    /// Milliseconds.
    pub timeout_ms: u64,
}

/// System: where it is and how often it is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemSummary {
    /// The System upstream.
    pub upstream: UpstreamSummary,
    /// Seconds a fetched configuration is used.
    pub ttl_seconds: u64,
}

/// One service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSummary {
    /// The 3scale service id.
    pub id: String,
    /// Authority globs.
    pub authorities: Vec<String>,
    /// Where the service token comes from: `static`, or `System` when none is configured.
    pub token: String,
    /// The System environment read, when System is configured.
    pub environment: Option<String>,
    /// Each credential list that has queries, with its queries in one line each.
    pub credentials: Vec<(String, Vec<String>)>,
    /// Number of static mapping rules.
    pub mapping_rules: usize,
    /// Whether rules fetched from System are added after the static ones.
    pub rules_from_system: bool,
}

/// Summarises a validated configuration.
pub fn summarize(config: &Config) -> Summary {
    let has_system = config.system.is_some();
    Summary {
        backend: upstream(&config.backend.upstream),
        backend_extensions: config.backend.extensions.clone(),
        system: config.system.as_ref().map(|system| SystemSummary {
            upstream: upstream(&system.upstream),
            ttl_seconds: system.ttl,
        }),
        services: config
            .services
            .iter()
            .map(|service| service_summary(service, has_system))
            .collect(),
        extensions: extensions(config),
        warnings: config.warnings.clone(),
    }
}

fn upstream(upstream: &Upstream) -> UpstreamSummary {
    UpstreamSummary {
        cluster: upstream.name.to_string(),
        url: upstream.url.to_url_string(),
        timeout_ms: upstream.timeout,
    }
}

fn service_summary(service: &Service, has_system: bool) -> ServiceSummary {
    let lists = [
        ("user_key", &service.credentials.user_key),
        ("app_id", &service.credentials.app_id),
        ("app_key", &service.credentials.app_key),
    ];
    ServiceSummary {
        id: service.id.clone(),
        authorities: service
            .authorities
            .iter()
            .map(|glob| glob.as_str().to_owned())
            .collect(),
        token: if service.token.is_some() {
            "static"
        } else {
            "System"
        }
        .to_owned(),
        environment: has_system.then(|| service.environment.as_str().to_owned()),
        credentials: lists
            .into_iter()
            .filter(|(_, queries)| !queries.is_empty())
            .map(|(name, queries)| {
                (
                    name.to_owned(),
                    queries.iter().map(describe_query).collect(),
                )
            })
            .collect(),
        mapping_rules: service.mapping_rules.len(),
        rules_from_system: has_system,
    }
}

/// The optional keys set to something other than their default.
fn extensions(config: &Config) -> Vec<String> {
    let mut on = Vec::new();
    if config.passthrough_metadata {
        on.push("passthrough_metadata".to_owned());
    }
    if config.failure_policy == FailurePolicy::Allow {
        on.push("failure_policy: allow".to_owned());
    }
    let overridden = overridden_replies(&config.errors);
    if !overridden.is_empty() {
        on.push(format!("errors: {}", overridden.join(", ")));
    }
    if config.rate_limit_headers {
        on.push("rate_limit_headers".to_owned());
    }
    if config.strip_credentials {
        on.push("strip_credentials".to_owned());
    }
    if !config.powered_by {
        on.push("powered_by: false".to_owned());
    }
    if config.cache.as_ref().is_some_and(|cache| cache.enabled) {
        on.push("cache".to_owned());
    }
    if config.mode == Mode::Report {
        on.push("mode: report".to_owned());
    }
    let overriding: Vec<&str> = config
        .services
        .iter()
        .filter(|service| service.mode.is_some_and(|mode| mode != config.mode))
        .map(|service| service.id.as_str())
        .collect();
    if !overriding.is_empty() {
        let other = match config.mode {
            Mode::Enforce => "report",
            Mode::Report => "enforce",
        };
        on.push(format!(
            "mode: {other} for service {}",
            overriding.join(", ")
        ));
    }
    if config.debug_headers {
        on.push("debug_headers".to_owned());
    }
    on
}

fn overridden_replies(errors: &ErrorReplies) -> Vec<&'static str> {
    [
        ("unknown_service", errors.unknown_service.is_some()),
        ("auth_missing", errors.auth_missing.is_some()),
        ("auth_failed", errors.auth_failed.is_some()),
        ("no_match", errors.no_match.is_some()),
        ("limits_exceeded", errors.limits_exceeded.is_some()),
        ("unavailable", errors.unavailable.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}
