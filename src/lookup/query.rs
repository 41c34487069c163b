//! A lookup query: one source (`header`, `query_string` or `filter`) with its keys and ops.

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::op::Op;

/// One lookup query, written as a one-key map naming its source.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupQuery {
    /// A request header.
    Header(KeyedSource),
    /// A query-string parameter.
    QueryString(KeyedSource),
    /// Envoy dynamic metadata.
    Filter(FilterSource),
}

/// `header` and `query_string`: names tried in order, then ops.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedSource {
    /// Names tried in order; the first one present wins.
    pub keys: Vec<Arc<str>>,
    /// Ops run on the value found.
    pub ops: Vec<Op>,
}

/// `filter`: a metadata path, then keys tried in order, then ops.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterSource {
    /// Filter namespace, then fields (at least two segments).
    pub path: Vec<String>,
    /// Names tried in order at the end of the path.
    pub keys: Vec<String>,
    /// Ops run on the value(s) found.
    pub ops: Vec<Op>,
}

const SOURCES: &[&str] = &["header", "query_string", "filter"];

/// Reads `{source: {...}}` by hand: serde_yaml writes derived enums as YAML tags
/// (`!header`), but configurations write them as one-key maps in both syntaxes.
impl<'de> Deserialize<'de> for LookupQuery {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(LookupQueryVisitor)
    }
}

struct LookupQueryVisitor;

impl<'de> Visitor<'de> for LookupQueryVisitor {
    type Value = LookupQuery;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a lookup query: a map with one key, `header`, `query_string` or `filter`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LookupQuery, A::Error> {
        let Some(source) = map.next_key::<String>()? else {
            return Err(de::Error::invalid_length(0, &self));
        };
        let query = match source.as_str() {
            "header" => LookupQuery::Header(map.next_value()?),
            "query_string" => LookupQuery::QueryString(map.next_value()?),
            "filter" => LookupQuery::Filter(map.next_value()?),
            other => return Err(de::Error::unknown_variant(other, SOURCES)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format_args!(
                "a lookup query has exactly one source; `{extra}` follows `{source}` (write it as a separate list item)"
            )));
        }
        Ok(query)
    }
}
