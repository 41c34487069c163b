//! Checks that span several fields, run once the configuration is deserialized.
//!
//! Each check names the offending field; the loader then places it in the text.

use std::sync::Arc;

use super::path::FieldPath;
use super::{CacheSettings, Config, ConfigError, ErrorReplies, ReplyOverride, Service, Upstream};
use crate::glob::Glob;
use crate::lookup::LookupQuery;

/// Checks `config` and normalises what may be written loosely (header names).
/// Returns the configuration and the warnings worth logging.
pub fn validate(mut config: Config) -> Result<(Config, Vec<String>), ConfigError> {
    let root = FieldPath::root();
    let mut warnings = Vec::new();
    if let Some(system) = &config.system {
        let at = root.key("system");
        check_upstream(&system.upstream, &at.key("upstream"))?;
        non_empty(
            system.token.expose(),
            &at.key("token"),
            "the System access token",
        )?;
        if system.ttl == 0 {
            return Err(ConfigError::at(
                at.key("ttl"),
                "`ttl` must be at least 1 second",
            ));
        }
    }
    check_upstream(
        &config.backend.upstream,
        &root.key("backend").key("upstream"),
    )?;
    check_extensions(
        &config.backend.extensions,
        &root.key("backend").key("extensions"),
    )?;
    if config.services.is_empty() {
        return Err(ConfigError::at(
            root.key("services"),
            "at least one service is required",
        ));
    }
    let has_system = config.system.is_some();
    for (index, service) in config.services.iter_mut().enumerate() {
        let at = root.key("services").index(index);
        check_service(service, has_system, &at, &mut warnings)?;
    }
    check_error_replies(&config.errors, &root.key("errors"))?;
    if let Some(cache) = &config.cache {
        check_cache(cache, &root.key("cache"))?;
    }
    Ok((config, warnings))
}

fn non_empty(value: &str, at: &FieldPath, what: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::at(
            at.clone(),
            format!("{what} must not be empty"),
        ));
    }
    Ok(())
}

fn check_upstream(upstream: &Upstream, at: &FieldPath) -> Result<(), ConfigError> {
    non_empty(&upstream.name, &at.key("name"), "the cluster name")?;
    if upstream.timeout == 0 {
        return Err(ConfigError::at(
            at.key("timeout"),
            "`timeout` must be at least 1 millisecond",
        ));
    }
    Ok(())
}

/// Extensions become `name=1` in the `3scale-options` header: names only.
fn check_extensions(extensions: &[String], at: &FieldPath) -> Result<(), ConfigError> {
    for (index, name) in extensions.iter().enumerate() {
        let valid =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            return Err(ConfigError::at(
                at.index(index),
                format!(
                    "extension `{name}` must be a 3scale option name (letters, digits, `_`), e.g. `hierarchy`"
                ),
            ));
        }
    }
    Ok(())
}

fn check_service(
    service: &mut Service,
    has_system: bool,
    at: &FieldPath,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    non_empty(&service.id, &at.key("id"), "the service id")?;
    match &service.token {
        Some(token) => non_empty(token.expose(), &at.key("token"), "the service token")?,
        None if !has_system => {
            return Err(ConfigError::at(
                at.key("token"),
                "a service needs a `token` (its service token) unless `system` is configured to fetch it",
            ));
        }
        None => {}
    }
    if service.authorities.is_empty() {
        return Err(ConfigError::at(
            at.key("authorities"),
            "an empty list matches no request; leave `authorities` out to match every authority",
        ));
    }
    lowercase_authorities(&mut service.authorities, &at.key("authorities"))?;
    if service.mapping_rules.is_empty() && !has_system {
        return Err(ConfigError::at(
            at.key("mapping_rules"),
            "at least one mapping rule is required unless `system` is configured to fetch them",
        ));
    }
    let credentials = &mut service.credentials;
    let at_credentials = at.key("credentials");
    if credentials.user_key.is_empty() && credentials.app_id.is_empty() {
        return Err(ConfigError::at(
            at_credentials,
            "at least one of `user_key` or `app_id` must have a lookup query",
        ));
    }
    if !credentials.app_key.is_empty() && credentials.app_id.is_empty() {
        warnings.push(format!(
            "service `{}`: `app_key` lookup queries are ignored because there is no `app_id` query",
            service.id
        ));
    }
    for (name, queries) in [
        ("user_key", &mut credentials.user_key),
        ("app_id", &mut credentials.app_id),
        ("app_key", &mut credentials.app_key),
    ] {
        for (index, query) in queries.iter_mut().enumerate() {
            check_query(query, &at_credentials.key(name).index(index))?;
        }
    }
    Ok(())
}

/// Requests are matched by their authority with ASCII letters lowercased (flow/target.rs),
/// so the patterns are lowercased the same way.
fn lowercase_authorities(authorities: &mut [Glob], at: &FieldPath) -> Result<(), ConfigError> {
    for (index, glob) in authorities.iter_mut().enumerate() {
        let lower = glob.as_str().to_ascii_lowercase();
        if lower != glob.as_str() {
            *glob = Glob::compile(&lower)
                .map_err(|error| ConfigError::at(at.index(index), error.to_string()))?;
        }
    }
    Ok(())
}

fn check_query(query: &mut LookupQuery, at: &FieldPath) -> Result<(), ConfigError> {
    match query {
        LookupQuery::Header(source) => {
            // Envoy hands the filter lowercase header names; `Authorization` must still work.
            for key in &mut source.keys {
                if key.bytes().any(|byte| byte.is_ascii_uppercase()) {
                    *key = Arc::from(key.to_ascii_lowercase());
                }
            }
            check_keys(&source.keys, &at.key("header"))
        }
        LookupQuery::QueryString(source) => check_keys(&source.keys, &at.key("query_string")),
        LookupQuery::Filter(source) => {
            let at = at.key("filter");
            if source.path.len() < 2 {
                return Err(ConfigError::at(
                    at.key("path"),
                    "a metadata path needs at least 2 segments: the filter namespace, then a field",
                ));
            }
            check_keys(&source.keys, &at)
        }
    }
}

/// A lookup query's keys: at least one, none empty.
fn check_keys<K: AsRef<str>>(keys: &[K], at: &FieldPath) -> Result<(), ConfigError> {
    if keys.is_empty() {
        return Err(ConfigError::at(
            at.key("keys"),
            "at least one key is required",
        ));
    }
    if let Some(index) = keys.iter().position(|key| key.as_ref().is_empty()) {
        return Err(ConfigError::at(
            at.key("keys").index(index),
            "a key must not be empty",
        ));
    }
    Ok(())
}

fn check_error_replies(errors: &ErrorReplies, at: &FieldPath) -> Result<(), ConfigError> {
    let kinds = [
        ("unknown_service", &errors.unknown_service),
        ("auth_missing", &errors.auth_missing),
        ("auth_failed", &errors.auth_failed),
        ("no_match", &errors.no_match),
        ("limits_exceeded", &errors.limits_exceeded),
        ("unavailable", &errors.unavailable),
    ];
    for (kind, reply) in kinds {
        if let Some(reply) = reply {
            check_reply(reply, &at.key(kind))?;
        }
    }
    Ok(())
}

fn check_reply(reply: &ReplyOverride, at: &FieldPath) -> Result<(), ConfigError> {
    if let Some(status) = reply.status
        && !(200..=599).contains(&status)
    {
        return Err(ConfigError::at(
            at.key("status"),
            format!("status {status} is not between 200 and 599"),
        ));
    }
    if let Some(content_type) = &reply.content_type
        && !is_header_value(content_type)
    {
        return Err(ConfigError::at(
            at.key("content_type"),
            "a header value must not contain control characters",
        ));
    }
    for (name, value) in &reply.headers {
        let at = at.key("headers").key(name);
        if !is_header_name(name) {
            return Err(ConfigError::at(
                at,
                format!("`{name}` is not a valid header name"),
            ));
        }
        if !is_header_value(value) {
            return Err(ConfigError::at(
                at,
                "a header value must not contain control characters",
            ));
        }
    }
    Ok(())
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_header_value(value: &str) -> bool {
    value.chars().all(|c| c == '\t' || !c.is_control())
}

/// Zero is meaningless for every cache setting but `stale_ttl` (where it means never).
fn check_cache(cache: &CacheSettings, at: &FieldPath) -> Result<(), ConfigError> {
    let positive = [
        (
            "ttl",
            cache.ttl,
            "an authorization must stay fresh at least 1 second",
        ),
        (
            "flush_interval",
            cache.flush_interval,
            "reports need at least 1 second between batches",
        ),
        (
            "max_entries",
            u64::from(cache.max_entries),
            "the cache must hold at least 1 application",
        ),
        (
            "max_pending_reports",
            u64::from(cache.max_pending_reports),
            "at least 1 usage record must be able to wait for its report",
        ),
    ];
    for (name, value, why) in positive {
        if value == 0 {
            return Err(ConfigError::at(
                at.key(name),
                format!("`{name}` must be at least 1: {why}"),
            ));
        }
    }
    Ok(())
}
