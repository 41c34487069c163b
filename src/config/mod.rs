//! The plugin configuration (`api: v1`, docs/behaviour.md §2 and §9).
//!
//! The schema types below are deserialized directly (unknown fields rejected
//! everywhere), the structs through one table-driven reader (`schema`,
//! `crate::de::fields`) rather than a derived `Deserialize` each; patterns compile
//! while they are read, so their errors carry a path and a position. Checks that span several fields run afterwards in
//! `validate`.

mod error;
pub mod json_path;
mod load;
mod locate;
mod path;
mod schema;
mod upstream;
mod validate;

pub use error::ConfigError;
pub use load::parse;
pub use locate::Position;
pub use path::{FieldPath, Segment};
pub use upstream::{Upstream, UpstreamUrl};

use serde::{Deserialize, Deserializer};

use crate::glob::Glob;
use crate::lookup::CredentialQueries;
use crate::mapping::RuleSet;
use crate::model::Secret;
use crate::service_index::ServiceIndex;

/// The validated plugin configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Configuration version: `v1` (also `v1.0`, `v1.0.0`).
    pub api: ApiVersion,
    /// 3scale System (Account Management API), to fetch tokens and rules.
    pub system: Option<System>,
    /// 3scale backend (Service Management API).
    pub backend: Backend,
    /// The services this filter handles; the first whose authorities match is used.
    pub services: Vec<Service>,
    /// Hand credentials and usages to a later filter instead of calling 3scale.
    pub passthrough_metadata: bool,
    /// What to do when 3scale cannot be reached.
    pub failure_policy: FailurePolicy,
    /// Authorization cache and batched reporting (off unless `enabled`).
    pub cache: Option<CacheSettings>,
    /// Per-kind overrides of the filter's local replies.
    pub errors: ErrorReplies,
    /// Add `RateLimit-*` headers from the backend's limit headers.
    pub rate_limit_headers: bool,
    /// Remove the headers and query parameters credentials were read from.
    pub strip_credentials: bool,
    /// Add `Powered-By: 3scale` to responses.
    pub powered_by: bool,
    /// `enforce` (default) or `report`: in `report` mode nothing is denied because
    /// of 3scale (docs/behaviour.md §9, v2). A service's own `mode` wins.
    pub mode: Mode,
    /// Answer `X-3scale-Debug: <service token>` with debug response headers.
    pub debug_headers: bool,
    /// Things worth a warning in the log that do not make the configuration invalid.
    pub warnings: Vec<String>,
    /// The services filed by authority, built by [`parse`] once the rest is valid.
    pub service_index: ServiceIndex,
}

/// The only configuration version there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiVersion;

impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::read_str(deserializer, |version| match version {
            "v1" | "v1.0" | "v1.0.0" => Ok(ApiVersion),
            other => Err(format!(
                "unsupported api version `{other}`; this filter understands `v1`"
            )),
        })
    }
}

/// `system`: where to fetch each service's proxy configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct System {
    /// A label for logs.
    pub name: Option<String>,
    /// The System (Porta) upstream.
    pub upstream: Upstream,
    /// Access token with read rights on the Account Management API (a secret).
    pub token: Secret,
    /// Seconds a fetched configuration is used before it is refreshed.
    pub ttl: u64,
}

fn default_ttl() -> u64 {
    600
}

/// `backend`: the Service Management API.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    /// A label for logs.
    pub name: Option<String>,
    /// The backend upstream.
    pub upstream: Upstream,
    /// Extra `3scale-options` names, e.g. `hierarchy`.
    pub extensions: Vec<String>,
}

/// One 3scale service (product).
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// The 3scale service id, as a string.
    pub id: String,
    /// Service token (a secret); may come from System instead.
    pub token: Option<Secret>,
    /// Which System proxy configuration to fetch.
    pub environment: Environment,
    /// Authority globs that select this service.
    pub authorities: Vec<Glob>,
    /// Where the credentials are found.
    pub credentials: CredentialQueries,
    /// Static mapping rules, evaluated before fetched ones (indexed as they are read).
    pub mapping_rules: RuleSet,
    /// This service's mode, instead of the top-level `mode`.
    pub mode: Option<Mode>,
}

/// Whether 3scale's verdicts are enforced or only reported (`mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Deny what 3scale (or the filter, for 3scale) refuses: the default.
    #[default]
    Enforce,
    /// Let every request through; count and log what would have been denied.
    Report,
}

/// The spellings of [`Mode`].
const MODES: &[&str] = &["enforce", "report"];

/// Written by hand so that every error, a value of the wrong type included, lists
/// the allowed values.
impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Spelling;
        impl serde::de::Visitor<'_> for Spelling {
            type Value = Mode;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("`enforce` or `report`")
            }
            fn visit_str<E: serde::de::Error>(self, mode: &str) -> Result<Mode, E> {
                match mode {
                    "enforce" => Ok(Mode::Enforce),
                    "report" => Ok(Mode::Report),
                    other => Err(E::unknown_variant(other, MODES)),
                }
            }
        }
        deserializer.deserialize_str(Spelling)
    }
}

/// A service id: a string, or an integer written without quotes in YAML. A float
/// is refused with a hint, because that is what Istio makes of an unquoted id.
fn service_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct Id;
    impl serde::de::Visitor<'_> for Id {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a service id as a string")
        }
        fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<String, E> {
            Ok(id.to_owned())
        }
        fn visit_u64<E: serde::de::Error>(self, id: u64) -> Result<String, E> {
            Ok(id.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, id: f64) -> Result<String, E> {
            Err(E::custom(format_args!(
                "service id {id} is a number; write it as a quoted string (Istio turns unquoted numbers into floats)"
            )))
        }
    }
    deserializer.deserialize_any(Id)
}

fn any_authority() -> Vec<Glob> {
    Glob::compile("*").into_iter().collect()
}

/// A System proxy-configuration environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Environment {
    /// `production` (the default).
    #[default]
    Production,
    /// `staging`.
    Staging,
    /// `sandbox`.
    Sandbox,
}

/// Read by name (`crate::de::read_variant`), as a derived impl with lowercase names did.
impl<'de> Deserialize<'de> for Environment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["production", "staging", "sandbox"];
        let index = crate::de::read_variant(deserializer, "enum Environment", NAMES)?;
        Ok([
            Environment::Production,
            Environment::Staging,
            Environment::Sandbox,
        ]
        .get(index)
        .copied()
        .unwrap_or_default())
    }
}

impl Environment {
    /// The name used in System URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Staging => "staging",
            Environment::Sandbox => "sandbox",
        }
    }
}

/// What to do when 3scale cannot be reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Reply 503 (default).
    #[default]
    Deny,
    /// Let the request through.
    Allow,
}

/// Read by name (`crate::de::read_variant`), as a derived impl with lowercase names did.
impl<'de> Deserialize<'de> for FailurePolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["deny", "allow"];
        let index = crate::de::read_variant(deserializer, "enum FailurePolicy", NAMES)?;
        Ok([FailurePolicy::Deny, FailurePolicy::Allow]
            .get(index)
            .copied()
            .unwrap_or_default())
    }
}

/// `cache`: answer from a local copy of each application's authorization and
/// limits, and report usage in batches (README, "Cache").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// Turn the cache on (off by default).
    pub enabled: bool,
    /// Seconds an authorization stays fresh.
    pub ttl: u64,
    /// Seconds between batched reports.
    pub flush_interval: u64,
    /// Applications kept; the least recently used are evicted beyond it.
    pub max_entries: u32,
    /// Seconds past expiry an entry may still answer while 3scale is
    /// unreachable (0: never).
    pub stale_ttl: u64,
    /// Bound on the usage records waiting to be reported, per worker.
    pub max_pending_reports: u32,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            enabled: false,
            ttl: default_cache_ttl(),
            flush_interval: default_flush_interval(),
            max_entries: default_max_entries(),
            stale_ttl: 0,
            max_pending_reports: default_max_pending_reports(),
        }
    }
}

fn default_cache_ttl() -> u64 {
    60
}

fn default_flush_interval() -> u64 {
    5
}

fn default_max_entries() -> u32 {
    10_000
}

fn default_max_pending_reports() -> u32 {
    10_000
}

impl Config {
    /// The cache settings, when the cache is enabled.
    pub fn cache_enabled(&self) -> Option<&CacheSettings> {
        self.cache.as_ref().filter(|cache| cache.enabled)
    }

    /// The service a request's authority selects: the first whose authority globs
    /// match (docs/behaviour.md §3 step 2), with its position in `services`.
    /// Looked up in the index `parse` built ([`ServiceIndex`]).
    pub fn select_service(&self, authority: &str) -> Option<(usize, &Service)> {
        let position = self.service_index.select(authority)?;
        self.services
            .get(position)
            .map(|service| (position, service))
    }

    /// The mode a request is handled in: its service's `mode`, else the top-level
    /// one (also for a request no service matches).
    pub fn mode_of(&self, service: Option<&Service>) -> Mode {
        service
            .and_then(|service| service.mode)
            .unwrap_or(self.mode)
    }

    /// The service with this 3scale id, with its position in `services`.
    pub fn service_by_id(&self, id: &str) -> Option<(usize, &Service)> {
        self.services
            .iter()
            .enumerate()
            .find(|(_, service)| service.id == id)
    }
}

/// `errors`: overrides of the local replies, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorReplies {
    /// No service matches the authority (default 403 `Unknown service`).
    pub unknown_service: Option<ReplyOverride>,
    /// No credentials found (default 403 `Authentication parameters missing`).
    pub auth_missing: Option<ReplyOverride>,
    /// 3scale refused the credentials (default 403 `Authentication failed`).
    pub auth_failed: Option<ReplyOverride>,
    /// No mapping rule matched (default 404 `No Mapping Rule matched`).
    pub no_match: Option<ReplyOverride>,
    /// Usage limits exceeded (default 429 `Usage limit exceeded`).
    pub limits_exceeded: Option<ReplyOverride>,
    /// 3scale unreachable under `failure_policy: deny` (default 503 `Service Unavailable`).
    pub unavailable: Option<ReplyOverride>,
}

/// A change to one kind of local reply; fields left out keep the default's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyOverride {
    /// HTTP status.
    pub status: Option<u16>,
    /// Body, sent exactly as given.
    pub body: Option<String>,
    /// `Content-Type` of the body.
    pub content_type: Option<String>,
    /// Extra response headers.
    pub headers: Headers,
}

/// Extra response headers of a local reply, by name: sorted, a name given twice
/// keeps its last value. A sorted list rather than a `BTreeMap`, whose code
/// (insertion, rebalancing, drop) the module would hold for this one map type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// Sets `name` to `value`, in name order.
    pub fn insert(&mut self, name: String, value: String) {
        match self.0.binary_search_by(|(key, _)| key.cmp(&name)) {
            Ok(at) => {
                if let Some(entry) = self.0.get_mut(at) {
                    entry.1 = value;
                }
            }
            Err(at) => self.0.insert(at, (name, value)),
        }
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&String> {
        let at = self
            .0
            .binary_search_by(|(key, _)| key.as_str().cmp(name))
            .ok()?;
        self.0.get(at).map(|(_, value)| value)
    }

    /// Names and values, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(name, value)| (name, value))
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(name, value)| (name, value))
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = Headers;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Headers, A::Error> {
                let mut headers = Headers::default();
                while let Some((name, value)) = map.next_entry::<String, String>()? {
                    headers.insert(name, value);
                }
                Ok(headers)
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests;
