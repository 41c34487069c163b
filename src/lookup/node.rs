//! The tree every structured document becomes (JSON text, protobuf `Struct`, Envoy
//! `Metadata`), and its walk: the rules are in the documentation of `super::format`.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

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
    /// A struct (JSON object): its fields in the document's order. A name given twice
    /// (JSON allows it; a protobuf map can be sent so) is kept twice, and the last one is
    /// the field, as a map would have kept it.
    Struct(Vec<(String, Node)>),
}

impl Node {
    /// Parses JSON text. `None` when it is not valid JSON, or nests deeper than
    /// `serde_json`'s limit of 128 levels (which also bounds the reading's recursion).
    pub fn from_json(document: &str) -> Option<Node> {
        serde_json::from_str(document).ok()
    }

    /// The field `name` of a struct (the last one of that name).
    pub fn field(&self, name: &str) -> Option<&Node> {
        match self {
            Node::Struct(fields) => fields
                .iter()
                .rev()
                .find_map(|(field, value)| (field == name).then_some(value)),
            _ => None,
        }
    }

    /// One step of a walk: the field `segment` of a struct (or, for `"0"`, the only entry
    /// of a one-entry struct), or the element at a decimal `segment` of a list.
    pub fn step(&self, segment: &str) -> Option<&Node> {
        match self {
            Node::Struct(fields) => self
                .field(segment)
                .or_else(|| only_entry(fields).filter(|_| segment == "0")),
            Node::List(items) => items.get(decimal_index(segment)?),
            Node::Null | Node::Bool(_) | Node::Number(_) | Node::String(_) => None,
        }
    }

    /// The node as a map-based reader holds it, for comparisons with one (tests, fuzzing):
    /// every struct's fields sorted by name, only the last value of each name. Compare
    /// with `Debug` text where numbers may be NaN.
    pub fn canonical(&self) -> Node {
        match self {
            Node::Struct(fields) => {
                let mut kept: Vec<(String, Node)> = Vec::with_capacity(fields.len());
                for (name, value) in fields.iter().rev() {
                    if !kept.iter().any(|(seen, _)| seen == name) {
                        kept.push((name.clone(), value.canonical()));
                    }
                }
                kept.sort_by(|a, b| a.0.cmp(&b.0));
                Node::Struct(kept)
            }
            Node::List(items) => Node::List(items.iter().map(Node::canonical).collect()),
            other => other.clone(),
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

/// A JSON document read straight into a [`Node`] (no `serde_json::Value` in between,
/// whose map type brought a `BTreeMap` into the module). `serde_json`'s reader bounds the
/// nesting, and with it this visitor's recursion.
impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Node, E> {
        Ok(Node::Bool(flag))
    }

    // A number only ever says "not a string": its f64 approximation is enough.
    fn visit_i64<E>(self, number: i64) -> Result<Node, E> {
        Ok(Node::Number(number as f64))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Node, E> {
        Ok(Node::Number(number as f64))
    }

    fn visit_f64<E>(self, number: f64) -> Result<Node, E> {
        Ok(Node::Number(number))
    }

    fn visit_str<E>(self, text: &str) -> Result<Node, E> {
        Ok(Node::String(text.to_owned()))
    }

    fn visit_string<E>(self, text: String) -> Result<Node, E> {
        Ok(Node::String(text))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Node, A::Error> {
        let mut list = Vec::new();
        while let Some(item) = items.next_element()? {
            list.push(item);
        }
        Ok(Node::List(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Node, A::Error> {
        let mut fields = Vec::new();
        while let Some(entry) = entries.next_entry::<String, Node>()? {
            fields.push(entry);
        }
        Ok(Node::Struct(fields))
    }
}

/// The value of a struct with one field (one name, which may have been given more than
/// once: then its last value).
fn only_entry(fields: &[(String, Node)]) -> Option<&Node> {
    let ((first, _), (_, last)) = (fields.first()?, fields.last()?);
    fields.iter().all(|(name, _)| name == first).then_some(last)
}

/// A list index: one or more ASCII digits (no sign, no spaces), within `usize`.
fn decimal_index(segment: &str) -> Option<usize> {
    if segment.is_empty() || !segment.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}
