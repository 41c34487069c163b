//! A reader for the YAML a person writes for this filter's configuration.
//!
//! libyaml (through serde_yaml) cost about 100 KB of the module; this reader reads
//! the subset of YAML 1.2 that configurations are written in (block and flow
//! collections, every scalar style, comments, anchors and aliases) into a [`Node`]
//! tree whose nodes keep their line and column. The tree is written out as JSON
//! text ([`to_json`]) for the one JSON deserializer of the configuration, and
//! [`locate`] finds where a field path starts in it.
//!
//! Plain scalars mean what serde_yaml 0.9 makes of them when read into a JSON
//! value (null, booleans, integers, floats, else strings); keys are their text.
//! Tags, complex keys (`? `), anchors and aliases on keys, directives and several
//! documents are refused with an error that names them, and so are duplicate keys
//! and an anchor name given twice ([`Problem::is_refused_feature`]).
//!
//! The text is untrusted: no indexing, nesting is limited to [`MAX_DEPTH`] (the
//! reader recurses once per level), and aliases may copy at most about as many
//! nodes as the text has bytes, so time and memory stay linear in the text.

mod cursor;
mod error;
mod json;
mod parse;
mod scalar;
#[cfg(test)]
mod tests;

pub use error::{Problem, YamlError};
pub use json::to_json;

/// Deepest nesting of collections (block or flow) read, as serde_yaml's limit.
pub const MAX_DEPTH: usize = 128;

/// A 1-based line and column (in characters) in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// A node of the document and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node starts.
    pub at: Position,
    /// What it holds.
    pub value: Value,
}

/// A node's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar's text; `plain` when written unquoted (only those resolve to
    /// null, booleans and numbers).
    Scalar {
        /// The text, escapes and line folding applied.
        text: String,
        /// Written without quotes or block indicator.
        plain: bool,
    },
    /// A sequence.
    Sequence(Vec<Node>),
    /// A mapping, in the order written.
    Mapping(Vec<Entry>),
}

/// One key and value of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key's text (keys are read as text, whatever they look like).
    pub key: String,
    /// Where the key starts.
    pub key_at: Position,
    /// The value.
    pub value: Node,
}

/// Reads one YAML document.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    parse::Parser::new(text).document()
}

/// Where the node at `path` (map keys and list indexes from the root) starts.
pub fn locate<'p, I>(root: &Node, path: I) -> Option<Position>
where
    I: IntoIterator<Item = Step<'p>>,
{
    let mut node = root;
    for step in path {
        node = match (&node.value, step) {
            (Value::Mapping(entries), Step::Key(key)) => {
                &entries.iter().rev().find(|entry| entry.key == key)?.value
            }
            (Value::Sequence(items), Step::Index(index)) => items.get(index)?,
            _ => return None,
        };
    }
    Some(node.at)
}

/// One step of a path for [`locate`].
#[derive(Debug, Clone, Copy)]
pub enum Step<'p> {
    /// A mapping key.
    Key(&'p str),
    /// A sequence index.
    Index(usize),
}
