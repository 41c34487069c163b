//! Finds where a field path starts in configuration text.
//!
//! Checks that span several fields run after deserialization, when positions are
//! gone. To point at the offending field anyway, YAML's document tree (which keeps
//! every node's position) is walked down the path; JSON text is read a second
//! time with a visitor that walks down the path and stops with a marker error at
//! the target, to which serde_json attaches its position: the field's line and column.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::path::{FieldPath, Segment};

pub use crate::yaml::Position;
use crate::yaml::{self, Node, Step};

/// What configuration text was read as.
#[derive(Debug, Clone, Copy)]
pub enum Syntax<'a> {
    /// JSON (what Istio and Envoy hand the filter).
    Json,
    /// YAML (hand-written standalone set-ups), read into this tree.
    Yaml(&'a Node),
}

const FOUND: &str = "threescale-wasm-auth: located";

/// Where the value at `path` starts in `text`, if the path exists.
pub fn locate(text: &str, syntax: Syntax<'_>, path: &FieldPath) -> Option<Position> {
    match syntax {
        Syntax::Json => {
            let seed = Walk { path: &path.0 };
            let mut deserializer = serde_json::Deserializer::from_str(text);
            match seed.deserialize(&mut deserializer) {
                Err(error) if error.to_string().starts_with(FOUND) => Some(Position {
                    line: error.line(),
                    column: error.column(),
                }),
                _ => None,
            }
        }
        Syntax::Yaml(root) => yaml::locate(
            root,
            path.0.iter().map(|segment| match segment {
                Segment::Key(key) => Step::Key(key),
                Segment::Index(index) => Step::Index(*index),
            }),
        ),
    }
}

/// Walks down the remaining path; stops with the marker error at its end.
struct Walk<'p> {
    path: &'p [Segment],
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Walk<'_> {
    fn arrived<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.arrived()?;
        let Some((Segment::Key(wanted), rest)) = self.path.split_first() else {
            return Ok(());
        };
        while let Some(key) = map.next_key::<String>()? {
            if &key == wanted {
                return map.next_value_seed(Walk { path: rest });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.arrived()?;
        let Some((Segment::Index(wanted), rest)) = self.path.split_first() else {
            return Ok(());
        };
        for _ in 0..*wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Walk { path: rest }).map(|_| ())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.arrived()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.arrived()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.arrived()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.arrived()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.arrived()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.arrived()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.arrived()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> FieldPath {
        FieldPath::root().key("services").index(1).key("token")
    }

    #[test]
    fn finds_a_nested_field_in_json() {
        let text = "{\n \"services\": [\n  {\"id\": \"a\"},\n  {\"id\": \"b\",\n   \"token\": \"t\"}\n ]\n}";
        let position = locate(text, Syntax::Json, &path()).unwrap();
        assert_eq!(position.line, 5);
    }

    fn locate_yaml(text: &str, path: &FieldPath) -> Option<Position> {
        let root = yaml::parse(text).ok()?;
        locate(text, Syntax::Yaml(&root), path)
    }

    #[test]
    fn finds_a_nested_field_in_yaml() {
        let text = "services:\n  - id: a\n  - id: b\n    token: t\n";
        let position = locate_yaml(text, &path()).unwrap();
        assert_eq!(
            position,
            Position {
                line: 4,
                column: 12
            }
        );
    }

    #[test]
    fn finds_maps_and_lists_themselves() {
        let text = "services:\n  - id: a\n    mapping_rules: []\n";
        let at = FieldPath::root()
            .key("services")
            .index(0)
            .key("mapping_rules");
        assert_eq!(locate_yaml(text, &at).map(|p| p.line), Some(3));
        let at = FieldPath::root().key("services");
        assert_eq!(locate_yaml(text, &at).map(|p| p.line), Some(2));
    }

    #[test]
    fn a_missing_path_has_no_position() {
        let text = "{\"services\": [{\"id\": \"a\"}]}";
        assert_eq!(locate(text, Syntax::Json, &path()), None);
        let missing_index = FieldPath::root().key("services").index(5);
        assert_eq!(locate(text, Syntax::Json, &missing_index), None);
        assert_eq!(locate_yaml("services: [{id: a}]", &path()), None);
    }
}
