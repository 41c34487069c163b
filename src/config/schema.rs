//! The configuration's structs (with those of credentials, lookup sources, mapping
//! rules and usages) as tables of their fields, for the table-driven
//! reader (`crate::de::fields`): one visitor reads them all, where a derived
//! `Deserialize` per struct put a copy of serde_json's reader into the module for
//! each. Names, order, defaults and the `struct …` texts of errors are those the
//! derived impls (with `deny_unknown_fields`) had.

use serde::de::Deserializer;
use serde::{Deserialize, de};

use super::upstream::{Upstream, UpstreamUrl};
use super::{
    ApiVersion, Backend, CacheSettings, Config, Environment, ErrorReplies, FailurePolicy, Headers,
    Mode, ReplyOverride, Service, System,
};
use crate::de::fields::{self, Need, Spec, read_struct, take_field};
use crate::glob::Glob;
use crate::integer;
use crate::lookup::query::{FilterSource, KeyedSource};
use crate::lookup::{CredentialQueries, LookupQuery, Op};
use crate::mapping::Pattern;
use crate::mapping::{self, MappingRule, RuleMethod, RuleSet, Usage};
use crate::model::Secret;
use crate::service_index::ServiceIndex;
use std::sync::Arc;

/// The type of one configuration field.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Api,
    System,
    Backend,
    Services,
    Flag,
    FailurePolicy,
    Cache,
    Errors,
    Mode,
    ServiceMode,
    Label,
    Upstream,
    Url,
    Secret,
    OptionalSecret,
    Seconds,
    Count,
    Strings,
    Text,
    ServiceId,
    Environment,
    Authorities,
    Credentials,
    Rules,
    Reply,
    Status,
    Headers,
    Queries,
    Names,
    Ops,
    Method,
    Pattern,
    Usages,
    MetricName,
    Delta,
}

/// A configuration field's value as read.
#[derive(Debug)]
pub(super) enum Value {
    Api(ApiVersion),
    System(Option<System>),
    Backend(Backend),
    Services(Vec<Service>),
    Flag(bool),
    FailurePolicy(FailurePolicy),
    Cache(Option<CacheSettings>),
    Errors(Box<ErrorReplies>),
    Mode(Mode),
    ServiceMode(Option<Mode>),
    Label(Option<String>),
    Upstream(Upstream),
    Url(UpstreamUrl),
    Secret(Secret),
    OptionalSecret(Option<Secret>),
    Number(u64),
    Count(u32),
    Strings(Vec<String>),
    Text(String),
    Environment(Environment),
    Authorities(Vec<Glob>),
    Credentials(CredentialQueries),
    Rules(RuleSet),
    Reply(Option<ReplyOverride>),
    Status(Option<u16>),
    Headers(Headers),
    Queries(Vec<LookupQuery>),
    Ops(Vec<Op>),
    Method(RuleMethod),
    Pattern(Pattern),
    Usages(Arc<[Usage]>),
    MetricName(Arc<str>),
}

impl fields::Kind for Kind {
    type Value = Value;

    fn read<'de, D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Ok(match self {
            Kind::Api => Value::Api(ApiVersion::deserialize(d)?),
            Kind::System => Value::System(Option::deserialize(d)?),
            Kind::Backend => Value::Backend(Backend::deserialize(d)?),
            Kind::Services => Value::Services(Vec::deserialize(d)?),
            Kind::Flag => Value::Flag(bool::deserialize(d)?),
            Kind::FailurePolicy => Value::FailurePolicy(FailurePolicy::deserialize(d)?),
            Kind::Cache => Value::Cache(Option::deserialize(d)?),
            Kind::Errors => Value::Errors(Box::new(ErrorReplies::deserialize(d)?)),
            Kind::Mode => Value::Mode(Mode::deserialize(d)?),
            Kind::ServiceMode => Value::ServiceMode(Option::deserialize(d)?),
            Kind::Label => Value::Label(Option::deserialize(d)?),
            Kind::Upstream => Value::Upstream(Upstream::deserialize(d)?),
            Kind::Url => Value::Url(UpstreamUrl::deserialize(d)?),
            Kind::Secret => Value::Secret(Secret::deserialize(d)?),
            Kind::OptionalSecret => Value::OptionalSecret(Option::deserialize(d)?),
            Kind::Seconds => Value::Number(integer::whole(d)?),
            Kind::Count => Value::Count(integer::whole(d)?),
            Kind::Strings => Value::Strings(Vec::deserialize(d)?),
            Kind::Text => Value::Text(String::deserialize(d)?),
            Kind::ServiceId => Value::Text(super::service_id(d)?),
            Kind::Environment => Value::Environment(Environment::deserialize(d)?),
            Kind::Authorities => Value::Authorities(Vec::deserialize(d)?),
            Kind::Credentials => Value::Credentials(CredentialQueries::deserialize(d)?),
            Kind::Rules => Value::Rules(RuleSet::deserialize(d)?),
            Kind::Reply => Value::Reply(Option::deserialize(d)?),
            Kind::Status => Value::Status(integer::optional(d)?),
            Kind::Headers => Value::Headers(Headers::deserialize(d)?),
            Kind::Queries => Value::Queries(Vec::deserialize(d)?),
            Kind::Names => Value::Strings(Vec::deserialize(d)?),
            Kind::Ops => Value::Ops(Vec::deserialize(d)?),
            Kind::Method => Value::Method(RuleMethod::deserialize(d)?),
            Kind::Pattern => Value::Pattern(Pattern::deserialize(d)?),
            Kind::Usages => Value::Usages(mapping::usage_list(d)?),
            Kind::MetricName => Value::MetricName(mapping::metric_name(d)?),
            Kind::Delta => Value::Number(mapping::positive_delta(d)?),
        })
    }
}

use Kind as K;
use Need::{Optional, Required};

static CONFIG: Spec<Kind> = Spec {
    expecting: "struct Config",
    list_expecting: "struct Config with 13 elements",
    ignore_unknown: false,
    names: &[
        "api",
        "system",
        "backend",
        "services",
        "passthrough_metadata",
        "failure_policy",
        "cache",
        "errors",
        "rate_limit_headers",
        "strip_credentials",
        "powered_by",
        "mode",
        "debug_headers",
    ],
    fields: &[
        (K::Api, Required),
        (K::System, Optional),
        (K::Backend, Required),
        (K::Services, Required),
        (K::Flag, Optional),
        (K::FailurePolicy, Optional),
        (K::Cache, Optional),
        (K::Errors, Optional),
        (K::Flag, Optional),
        (K::Flag, Optional),
        (K::Flag, Optional),
        (K::Mode, Optional),
        (K::Flag, Optional),
    ],
};

impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &CONFIG)?;
        Ok(Config {
            api: take_field!(f, 0, Value::Api).unwrap_or(ApiVersion),
            system: take_field!(f, 1, Value::System).flatten(),
            backend: take_field!(f, 2, Value::Backend)
                .ok_or_else(|| de::Error::missing_field("backend"))?,
            services: take_field!(f, 3, Value::Services).unwrap_or_default(),
            passthrough_metadata: take_field!(f, 4, Value::Flag).unwrap_or_default(),
            failure_policy: take_field!(f, 5, Value::FailurePolicy).unwrap_or_default(),
            cache: take_field!(f, 6, Value::Cache).flatten(),
            errors: take_field!(f, 7, Value::Errors)
                .map(|errors| *errors)
                .unwrap_or_default(),
            rate_limit_headers: take_field!(f, 8, Value::Flag).unwrap_or_default(),
            strip_credentials: take_field!(f, 9, Value::Flag).unwrap_or_default(),
            powered_by: take_field!(f, 10, Value::Flag).unwrap_or(true),
            mode: take_field!(f, 11, Value::Mode).unwrap_or_default(),
            debug_headers: take_field!(f, 12, Value::Flag).unwrap_or_default(),
            warnings: Vec::new(),
            service_index: ServiceIndex::default(),
        })
    }
}

static SYSTEM: Spec<Kind> = Spec {
    expecting: "struct System",
    list_expecting: "struct System with 4 elements",
    ignore_unknown: false,
    names: &["name", "upstream", "token", "ttl"],
    fields: &[
        (K::Label, Optional),
        (K::Upstream, Required),
        (K::Secret, Required),
        (K::Seconds, Optional),
    ],
};

impl<'de> Deserialize<'de> for System {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &SYSTEM)?;
        Ok(System {
            name: take_field!(f, 0, Value::Label).flatten(),
            upstream: take_field!(f, 1, Value::Upstream)
                .ok_or_else(|| de::Error::missing_field("upstream"))?,
            token: take_field!(f, 2, Value::Secret).unwrap_or_default(),
            ttl: take_field!(f, 3, Value::Number).unwrap_or_else(super::default_ttl),
        })
    }
}

static BACKEND: Spec<Kind> = Spec {
    expecting: "struct Backend",
    list_expecting: "struct Backend with 3 elements",
    ignore_unknown: false,
    names: &["name", "upstream", "extensions"],
    fields: &[
        (K::Label, Optional),
        (K::Upstream, Required),
        (K::Strings, Optional),
    ],
};

impl<'de> Deserialize<'de> for Backend {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &BACKEND)?;
        Ok(Backend {
            name: take_field!(f, 0, Value::Label).flatten(),
            upstream: take_field!(f, 1, Value::Upstream)
                .ok_or_else(|| de::Error::missing_field("upstream"))?,
            extensions: take_field!(f, 2, Value::Strings).unwrap_or_default(),
        })
    }
}

static SERVICE: Spec<Kind> = Spec {
    expecting: "struct Service",
    list_expecting: "struct Service with 7 elements",
    ignore_unknown: false,
    names: &[
        "id",
        "token",
        "environment",
        "authorities",
        "credentials",
        "mapping_rules",
        "mode",
    ],
    fields: &[
        (K::ServiceId, Required),
        (K::OptionalSecret, Optional),
        (K::Environment, Optional),
        (K::Authorities, Optional),
        (K::Credentials, Required),
        (K::Rules, Optional),
        (K::ServiceMode, Optional),
    ],
};

impl<'de> Deserialize<'de> for Service {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &SERVICE)?;
        Ok(Service {
            id: take_field!(f, 0, Value::Text).unwrap_or_default(),
            token: take_field!(f, 1, Value::OptionalSecret).flatten(),
            environment: take_field!(f, 2, Value::Environment).unwrap_or_default(),
            authorities: take_field!(f, 3, Value::Authorities).unwrap_or_else(super::any_authority),
            credentials: take_field!(f, 4, Value::Credentials).unwrap_or_default(),
            mapping_rules: take_field!(f, 5, Value::Rules).unwrap_or_default(),
            mode: take_field!(f, 6, Value::ServiceMode).flatten(),
        })
    }
}

static CACHE: Spec<Kind> = Spec {
    expecting: "struct CacheSettings",
    list_expecting: "struct CacheSettings with 6 elements",
    ignore_unknown: false,
    names: &[
        "enabled",
        "ttl",
        "flush_interval",
        "max_entries",
        "stale_ttl",
        "max_pending_reports",
    ],
    fields: &[
        (K::Flag, Optional),
        (K::Seconds, Optional),
        (K::Seconds, Optional),
        (K::Count, Optional),
        (K::Seconds, Optional),
        (K::Count, Optional),
    ],
};

impl<'de> Deserialize<'de> for CacheSettings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &CACHE)?;
        let default = CacheSettings::default();
        Ok(CacheSettings {
            enabled: take_field!(f, 0, Value::Flag).unwrap_or(default.enabled),
            ttl: take_field!(f, 1, Value::Number).unwrap_or(default.ttl),
            flush_interval: take_field!(f, 2, Value::Number).unwrap_or(default.flush_interval),
            max_entries: take_field!(f, 3, Value::Count).unwrap_or(default.max_entries),
            stale_ttl: take_field!(f, 4, Value::Number).unwrap_or(default.stale_ttl),
            max_pending_reports: take_field!(f, 5, Value::Count)
                .unwrap_or(default.max_pending_reports),
        })
    }
}

static ERRORS: Spec<Kind> = Spec {
    expecting: "struct ErrorReplies",
    list_expecting: "struct ErrorReplies with 6 elements",
    ignore_unknown: false,
    names: &[
        "unknown_service",
        "auth_missing",
        "auth_failed",
        "no_match",
        "limits_exceeded",
        "unavailable",
    ],
    fields: &[
        (K::Reply, Optional),
        (K::Reply, Optional),
        (K::Reply, Optional),
        (K::Reply, Optional),
        (K::Reply, Optional),
        (K::Reply, Optional),
    ],
};

impl<'de> Deserialize<'de> for ErrorReplies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &ERRORS)?;
        Ok(ErrorReplies {
            unknown_service: take_field!(f, 0, Value::Reply).flatten(),
            auth_missing: take_field!(f, 1, Value::Reply).flatten(),
            auth_failed: take_field!(f, 2, Value::Reply).flatten(),
            no_match: take_field!(f, 3, Value::Reply).flatten(),
            limits_exceeded: take_field!(f, 4, Value::Reply).flatten(),
            unavailable: take_field!(f, 5, Value::Reply).flatten(),
        })
    }
}

static REPLY: Spec<Kind> = Spec {
    expecting: "struct ReplyOverride",
    list_expecting: "struct ReplyOverride with 4 elements",
    ignore_unknown: false,
    names: &["status", "body", "content_type", "headers"],
    fields: &[
        (K::Status, Optional),
        (K::Label, Optional),
        (K::Label, Optional),
        (K::Headers, Optional),
    ],
};

impl<'de> Deserialize<'de> for ReplyOverride {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &REPLY)?;
        Ok(ReplyOverride {
            status: take_field!(f, 0, Value::Status).flatten(),
            body: take_field!(f, 1, Value::Label).flatten(),
            content_type: take_field!(f, 2, Value::Label).flatten(),
            headers: take_field!(f, 3, Value::Headers).unwrap_or_default(),
        })
    }
}

static UPSTREAM: Spec<Kind> = Spec {
    expecting: "struct Upstream",
    list_expecting: "struct Upstream with 3 elements",
    ignore_unknown: false,
    names: &["name", "url", "timeout"],
    fields: &[
        (K::Text, Required),
        (K::Url, Required),
        (K::Seconds, Optional),
    ],
};

impl<'de> Deserialize<'de> for Upstream {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &UPSTREAM)?;
        Ok(Upstream {
            name: take_field!(f, 0, Value::Text).unwrap_or_default().into(),
            url: take_field!(f, 1, Value::Url).ok_or_else(|| de::Error::missing_field("url"))?,
            timeout: take_field!(f, 2, Value::Number)
                .unwrap_or_else(super::upstream::default_timeout),
        })
    }
}

static CREDENTIALS: Spec<Kind> = Spec {
    expecting: "struct CredentialQueries",
    list_expecting: "struct CredentialQueries with 3 elements",
    ignore_unknown: false,
    names: &["user_key", "app_id", "app_key"],
    fields: &[
        (K::Queries, Optional),
        (K::Queries, Optional),
        (K::Queries, Optional),
    ],
};

impl<'de> Deserialize<'de> for CredentialQueries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &CREDENTIALS)?;
        Ok(CredentialQueries {
            user_key: take_field!(f, 0, Value::Queries).unwrap_or_default(),
            app_id: take_field!(f, 1, Value::Queries).unwrap_or_default(),
            app_key: take_field!(f, 2, Value::Queries).unwrap_or_default(),
        })
    }
}

static KEYED_SOURCE: Spec<Kind> = Spec {
    expecting: "struct KeyedSource",
    list_expecting: "struct KeyedSource with 2 elements",
    ignore_unknown: false,
    names: &["keys", "ops"],
    fields: &[(K::Names, Required), (K::Ops, Optional)],
};

impl<'de> Deserialize<'de> for KeyedSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &KEYED_SOURCE)?;
        Ok(KeyedSource {
            keys: take_field!(f, 0, Value::Strings)
                .unwrap_or_default()
                .into_iter()
                .map(Arc::from)
                .collect(),
            ops: take_field!(f, 1, Value::Ops).unwrap_or_default(),
        })
    }
}

static FILTER_SOURCE: Spec<Kind> = Spec {
    expecting: "struct FilterSource",
    list_expecting: "struct FilterSource with 3 elements",
    ignore_unknown: false,
    names: &["path", "keys", "ops"],
    fields: &[
        (K::Names, Required),
        (K::Names, Required),
        (K::Ops, Optional),
    ],
};

impl<'de> Deserialize<'de> for FilterSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &FILTER_SOURCE)?;
        Ok(FilterSource {
            path: take_field!(f, 0, Value::Strings).unwrap_or_default(),
            keys: take_field!(f, 1, Value::Strings).unwrap_or_default(),
            ops: take_field!(f, 2, Value::Ops).unwrap_or_default(),
        })
    }
}

static MAPPING_RULE: Spec<Kind> = Spec {
    expecting: "struct MappingRule",
    list_expecting: "struct MappingRule with 4 elements",
    ignore_unknown: false,
    names: &["method", "pattern", "usages", "last"],
    fields: &[
        (K::Method, Required),
        (K::Pattern, Required),
        (K::Usages, Required),
        (K::Flag, Optional),
    ],
};

impl<'de> Deserialize<'de> for MappingRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &MAPPING_RULE)?;
        let missing = |name| de::Error::missing_field(name);
        Ok(MappingRule {
            method: take_field!(f, 0, Value::Method).ok_or_else(|| missing("method"))?,
            pattern: take_field!(f, 1, Value::Pattern).ok_or_else(|| missing("pattern"))?,
            usages: take_field!(f, 2, Value::Usages).ok_or_else(|| missing("usages"))?,
            last: take_field!(f, 3, Value::Flag).unwrap_or_default(),
        })
    }
}

static USAGE: Spec<Kind> = Spec {
    expecting: "struct Usage",
    list_expecting: "struct Usage with 2 elements",
    ignore_unknown: false,
    names: &["name", "delta"],
    fields: &[(K::MetricName, Required), (K::Delta, Required)],
};

impl<'de> Deserialize<'de> for Usage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut f = read_struct(d, &USAGE)?;
        Ok(Usage {
            name: take_field!(f, 0, Value::MetricName)
                .ok_or_else(|| de::Error::missing_field("name"))?,
            delta: take_field!(f, 1, Value::Number).unwrap_or_default(),
        })
    }
}
