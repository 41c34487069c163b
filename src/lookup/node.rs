//! The tree every structured document becomes (JSON text, protobuf `Struct`, Envoy
//! `Metadata`), and its walk: the rules are in the documentation of `super::format`.

use std::collections::BTreeMap;

/// A structured document, whichever format it came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// JSON `null` or protobuf `NullValue`.
    Null,
    /// A boolean (never a lookup result).
    Bool(bool),
    /// A number (never a lookup result).
    Number(f64),
    /// A string.
    String(String),
    /// A list of values.
    List(Vec<Node>),
    /// A struct (JSON object), by field name.
    Struct(BTreeMap<String, Node>),
}

impl Node {
    /// Parses JSON text. `None` when it is not valid JSON, or nests deeper than
    /// `serde_json`'s limit of 128 levels (which also bounds the conversion's recursion).
    pub fn from_json(document: &str) -> Option<Node> {
        serde_json::from_str::<serde_json::Value>(document)
            .ok()
            .map(Node::from)
    }

    /// One step of a walk: the field `segment` of a struct (or, for `"0"`, the only entry
    /// of a one-entry struct), or the element at a decimal `segment` of a list.
    pub fn step(&self, segment: &str) -> Option<&Node> {
        match self {
            Node::Struct(fields) => fields
                .get(segment)
                .or_else(|| only_entry(fields).filter(|_| segment == "0")),
            Node::List(items) => items.get(decimal_index(segment)?),
            Node::Null | Node::Bool(_) | Node::Number(_) | Node::String(_) => None,
        }
    }

    /// Walks every segment of `path` in order; an empty path is the node itself.
    pub fn walk(&self, path: &[String]) -> Option<&Node> {
        path.iter()
            .try_fold(self, |node, segment| node.step(segment))
    }

    /// The values of a usable node (see the module documentation), else `None`.
    pub fn strings(&self) -> Option<Vec<String>> {
        match self {
            Node::Struct(fields) => only_entry(fields).and_then(Node::direct_strings),
            other => other.direct_strings(),
        }
    }

    /// Walks `path`, then gives the values of the first of `keys` that is usable (or of
    /// the path's end when `keys` is empty).
    pub fn lookup(&self, path: &[String], keys: &[String]) -> Option<Vec<String>> {
        let end = self.walk(path)?;
        if keys.is_empty() {
            return end.strings();
        }
        keys.iter()
            .find_map(|key| end.step(key).and_then(Node::strings))
    }

    /// A string, or a non-empty list of strings, without looking into a struct.
    fn direct_strings(&self) -> Option<Vec<String>> {
        match self {
            Node::String(text) => Some(vec![text.clone()]),
            Node::List(items) if !items.is_empty() => items
                .iter()
                .map(|item| match item {
                    Node::String(text) => Some(text.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
}

impl From<serde_json::Value> for Node {
    fn from(value: serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Null => Node::Null,
            Value::Bool(flag) => Node::Bool(flag),
            // Every JSON number has an f64 approximation; the value only ever says "not a
            // string", so precision does not matter.
            Value::Number(number) => Node::Number(number.as_f64().unwrap_or(f64::NAN)),
            Value::String(text) => Node::String(text),
            Value::Array(items) => Node::List(items.into_iter().map(Node::from).collect()),
            Value::Object(fields) => Node::Struct(
                fields
                    .into_iter()
                    .map(|(name, value)| (name, Node::from(value)))
                    .collect(),
            ),
        }
    }
}

fn only_entry(fields: &BTreeMap<String, Node>) -> Option<&Node> {
    let mut values = fields.values();
    match (values.next(), values.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// A list index: one or more ASCII digits (no sign, no spaces), within `usize`.
fn decimal_index(segment: &str) -> Option<usize> {
    if segment.is_empty() || !segment.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}
