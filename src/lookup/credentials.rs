//! Credential resolution order (SPEC section 4).
//! STUB: to be replaced.

use serde::Deserialize;

use super::query::LookupQuery;
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
pub fn resolve(
    queries: &CredentialQueries,
    request: &dyn RequestView,
) -> Option<ResolvedCredentials> {
    let _ = (queries, request);
    None
}
