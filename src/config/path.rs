//! Field paths such as `services[0].credentials.app_id[1].header.ops[3]`.

use std::fmt;

/// One step into a document: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A map key (or the name of an enum variant written as a one-key map).
    Key(String),
    /// A list index.
    Index(usize),
}

/// A path from the document root to one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The root of the document.
    pub fn root() -> Self {
        FieldPath::default()
    }

    /// This path followed by a key.
    pub fn key(&self, key: &str) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.to_owned()));
        path
    }

    /// This path followed by a list index.
    pub fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_keys_and_indexes() {
        let path = FieldPath::root()
            .key("services")
            .index(0)
            .key("credentials")
            .key("app_id")
            .index(1)
            .key("header")
            .key("ops")
            .index(3);
        assert_eq!(
            path.to_string(),
            "services[0].credentials.app_id[1].header.ops[3]"
        );
        assert_eq!(FieldPath::root().to_string(), "(top level)");
        assert_eq!(FieldPath::root().index(2).key("a").to_string(), "[2].a");
    }
}
