//! The credential a request presents, and where its values were read from.

use std::fmt;
use std::sync::Arc;

use super::secret::Secret;

/// The credential a request presents (docs/behaviour.md §4). Keys are [`Secret`]s;
/// app ids are identifiers and print as they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    /// A user key (API key).
    UserKey(Secret),
    /// An application id with an optional key.
    AppId {
        /// The application id.
        app_id: String,
        /// The application key, if found.
        app_key: Option<Secret>,
    },
}

/// Where a used credential value was read from (for `strip_credentials` and `explain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A request header, by lowercase name.
    Header(Arc<str>),
    /// A query-string parameter, by name (shared with the configuration's lookup
    /// query, so that noting where a credential came from copies nothing).
    QueryParameter(Arc<str>),
    /// Envoy dynamic metadata (never stripped).
    Metadata,
}

impl Credential {
    /// The kind of credential, for logs and debug headers: never a value.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::UserKey(_) => "user_key",
            Credential::AppId { app_key: None, .. } => "app_id",
            Credential::AppId {
                app_key: Some(_), ..
            } => "app_id+app_key",
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_app_ids_but_not_keys() {
        let user = Credential::UserKey(Secret::new("0123456789abcdef"));
        assert_eq!(format!("{user:?}"), "UserKey(Secret(01…(16)))");
        let app = Credential::AppId {
            app_id: "app-1".to_owned(),
            app_key: Some(Secret::new("fedcba9876543210")),
        };
        let printed = format!("{app:?}");
        assert!(
            printed.contains("app-1") && !printed.contains("fedcba9876543210"),
            "{printed}"
        );
        assert_eq!(app.kind(), "app_id+app_key");
    }
}
