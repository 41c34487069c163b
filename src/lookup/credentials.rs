//! Credential resolution order (SPEC section 4).

use std::fmt;

use serde::Deserialize;

use super::query::LookupQuery;
use super::source::{Resolution, resolve_query};
use crate::redact::redact;
use crate::request::RequestView;

/// The `credentials` object of a service.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialQueries {
    /// Lookup queries for the user key.
    #[serde(default)]
    pub user_key: Vec<LookupQuery>,
    /// Lookup queries for the application id (and maybe key).
    #[serde(default)]
    pub app_id: Vec<LookupQuery>,
    /// Lookup queries for the application key.
    #[serde(default)]
    pub app_key: Vec<LookupQuery>,
}

/// The credential a request presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user key (API key).
    UserKey(String),
    /// An application id with an optional key.
    AppId {
        /// The application id.
        app_id: String,
        /// The application key, if found.
        app_key: Option<String>,
    },
}

/// Where a used credential value was read from (for `strip_credentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A request header, by lowercase name.
    Header(String),
    /// A query-string parameter, by name.
    QueryParameter(String),
    /// Envoy dynamic metadata (never stripped).
    Metadata,
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
    if let Some(found) = first_found(Role::UserKey, &queries.user_key, request) {
        return Some(ResolvedCredentials {
            credential: Credential::UserKey(found.bottom),
            origins: vec![found.origin],
        });
    }
    let found = first_found(Role::AppId, &queries.app_id, request)?;
    let mut origins = vec![found.origin];
    let app_key = match found.second {
        Some(key) => Some(key),
        None => first_found(Role::AppKey, &queries.app_key, request).map(|key| {
            if !origins.contains(&key.origin) {
                origins.push(key.origin);
            }
            key.bottom
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
fn first_found(role: Role, queries: &[LookupQuery], request: &dyn RequestView) -> Option<Found> {
    queries
        .iter()
        .enumerate()
        .find_map(|(index, query)| match resolve_query(query, request) {
            Ok(resolution) => found(role, index, resolution),
            Err(why) => {
                if log::log_enabled!(log::Level::Debug) {
                    log::debug!(
                        "credentials.{}[{index}] did not resolve: {why}",
                        role.name()
                    );
                }
                None
            }
        })
}

fn found(role: Role, index: usize, resolution: Resolution) -> Option<Found> {
    let Resolution { values, origin } = resolution;
    let mut values = values.into_iter();
    let bottom = values.next()?;
    let second = values.next();
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
    Some(Found {
        bottom,
        second,
        origin,
    })
}

impl fmt::Display for Origin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Header(name) => write!(formatter, "header `{name}`"),
            Origin::QueryParameter(name) => write!(formatter, "query parameter `{name}`"),
            Origin::Metadata => formatter.write_str("filter metadata"),
        }
    }
}
