//! A lookup query: one source (`header`, `query_string` or `filter`) with its keys and ops.

use serde::Deserialize;

use super::op::Op;

/// One lookup query, written as a one-key map naming its source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LookupQuery {
    /// A request header.
    Header(KeyedSource),
    /// A query-string parameter.
    QueryString(KeyedSource),
    /// Envoy dynamic metadata.
    Filter(FilterSource),
}

/// `header` and `query_string`: names tried in order, then ops.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyedSource {
    /// Names tried in order; the first one present wins.
    pub keys: Vec<String>,
    /// Ops run on the value found.
    #[serde(default)]
    pub ops: Vec<Op>,
}

/// `filter`: a metadata path, then keys tried in order, then ops.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSource {
    /// Filter namespace, then fields (at least two segments).
    pub path: Vec<String>,
    /// Names tried in order at the end of the path.
    pub keys: Vec<String>,
    /// Ops run on the value(s) found.
    #[serde(default)]
    pub ops: Vec<Op>,
}
