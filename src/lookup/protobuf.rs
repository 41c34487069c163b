//! Decoding the two protobuf messages lookups read: Envoy's dynamic `Metadata` and
//! `google.protobuf.Struct`, both into the shared [`Node`] tree.
//!
//! Decoding never panics: `prost` reports malformed input as an error and bounds message
//! nesting (100 levels), which also bounds the recursion of the conversion below.

use std::collections::BTreeMap;

use prost::Message;
use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};

use super::node::Node;

/// The part of `envoy.config.core.v3.Metadata` lookups use. Other fields
/// (`typed_filter_metadata`, tag 2) are skipped by the decoder as unknown fields.
#[derive(Clone, PartialEq, Message)]
struct Metadata {
    /// Filter namespace (e.g. `envoy.filters.http.jwt_authn`) to its metadata.
    #[prost(btree_map = "string, message", tag = "1")]
    filter_metadata: BTreeMap<String, Struct>,
}

/// Decodes a serialized `envoy.config.core.v3.Metadata` into its `filter_metadata` map,
/// each namespace's `Struct` converted to a [`Node`]. `None` when the bytes are malformed.
pub fn decode_filter_metadata(bytes: &[u8]) -> Option<BTreeMap<String, Node>> {
    let metadata = Metadata::decode(bytes).ok()?;
    Some(
        metadata
            .filter_metadata
            .into_iter()
            .map(|(namespace, fields)| (namespace, struct_node(fields)))
            .collect(),
    )
}

/// Decodes a serialized `google.protobuf.Struct` into a [`Node::Struct`]. `None` when the
/// bytes are malformed.
pub fn decode_struct(bytes: &[u8]) -> Option<Node> {
    Struct::decode(bytes).ok().map(struct_node)
}

fn struct_node(message: Struct) -> Node {
    Node::Struct(
        message
            .fields
            .into_iter()
            .map(|(name, value)| (name, value_node(value)))
            .collect(),
    )
}

fn list_node(message: ListValue) -> Node {
    Node::List(message.values.into_iter().map(value_node).collect())
}

/// A `Value` without a kind is invalid protobuf JSON; it is read as null, which no
/// lookup accepts anyway.
fn value_node(value: Value) -> Node {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Node::Null,
        Some(Kind::BoolValue(flag)) => Node::Bool(flag),
        Some(Kind::NumberValue(number)) => Node::Number(number),
        Some(Kind::StringValue(text)) => Node::String(text),
        Some(Kind::StructValue(fields)) => struct_node(fields),
        Some(Kind::ListValue(values)) => list_node(values),
    }
}

/// Builders of encoded messages for tests of this module and of the lookups.
#[cfg(test)]
pub(crate) mod encode {
    use super::*;

    /// A string `Value`.
    pub fn string(text: &str) -> Value {
        Value {
            kind: Some(Kind::StringValue(text.to_owned())),
        }
    }

    /// A number `Value`.
    pub fn number(number: f64) -> Value {
        Value {
            kind: Some(Kind::NumberValue(number)),
        }
    }

    /// A boolean `Value`.
    pub fn boolean(flag: bool) -> Value {
        Value {
            kind: Some(Kind::BoolValue(flag)),
        }
    }

    /// A list `Value`.
    pub fn list(values: Vec<Value>) -> Value {
        Value {
            kind: Some(Kind::ListValue(ListValue { values })),
        }
    }

    /// A `Struct` from its fields.
    pub fn fields(entries: Vec<(&str, Value)>) -> Struct {
        Struct {
            fields: entries
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
        }
    }

    /// A struct `Value` from its fields.
    pub fn object(entries: Vec<(&str, Value)>) -> Value {
        Value {
            kind: Some(Kind::StructValue(fields(entries))),
        }
    }

    /// A serialized `Metadata` with the given filter namespaces.
    pub fn metadata(namespaces: Vec<(&str, Struct)>) -> Vec<u8> {
        Metadata {
            filter_metadata: namespaces
                .into_iter()
                .map(|(name, fields)| (name.to_owned(), fields))
                .collect(),
        }
        .encode_to_vec()
    }

    /// The metadata Envoy's `jwt_authn` filter writes with
    /// `payload_in_metadata: verified_jwt`, holding the given JWT payload.
    pub fn jwt_metadata(payload: Vec<(&str, Value)>) -> Vec<u8> {
        metadata(vec![(
            "envoy.filters.http.jwt_authn",
            fields(vec![("verified_jwt", object(payload))]),
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::encode::*;
    use super::*;

    #[test]
    fn decodes_filter_metadata_namespaces() {
        let bytes = jwt_metadata(vec![("azp", string("client"))]);
        let namespaces = decode_filter_metadata(&bytes).unwrap();
        let expected = Node::Struct(BTreeMap::from([(
            "verified_jwt".to_owned(),
            Node::Struct(BTreeMap::from([(
                "azp".to_owned(),
                Node::String("client".into()),
            )])),
        )]));
        assert_eq!(
            namespaces.get("envoy.filters.http.jwt_authn"),
            Some(&expected)
        );
    }

    #[test]
    fn decodes_every_value_kind() {
        let message = fields(vec![
            ("n", Value { kind: None }),
            ("b", boolean(true)),
            ("x", number(1.5)),
            ("s", string("t")),
            ("l", list(vec![string("a"), number(2.0)])),
        ]);
        let node = decode_struct(&message.encode_to_vec()).unwrap();
        let Node::Struct(map) = node else {
            panic!("not a struct")
        };
        assert_eq!(map.get("n"), Some(&Node::Null));
        assert_eq!(map.get("b"), Some(&Node::Bool(true)));
        assert_eq!(map.get("x"), Some(&Node::Number(1.5)));
        assert_eq!(map.get("s"), Some(&Node::String("t".into())));
        assert_eq!(
            map.get("l"),
            Some(&Node::List(vec![
                Node::String("a".into()),
                Node::Number(2.0)
            ]))
        );
    }

    #[test]
    fn skips_typed_filter_metadata() {
        let plain = jwt_metadata(vec![("azp", string("client"))]);
        let mut bytes = plain.clone();
        // Field 2 (`typed_filter_metadata`): one map entry, key "x", value an `Any` whose
        // `type_url` (field 1) is "t".
        bytes.extend_from_slice(&[0x12, 0x08, 0x0a, 0x01, b'x', 0x12, 0x03, 0x0a, 0x01, b't']);
        assert_eq!(
            decode_filter_metadata(&bytes),
            decode_filter_metadata(&plain)
        );
        assert!(decode_filter_metadata(&bytes).is_some());
    }

    #[test]
    fn empty_input_is_an_empty_message() {
        assert_eq!(decode_filter_metadata(&[]), Some(BTreeMap::new()));
        assert_eq!(decode_struct(&[]), Some(Node::Struct(BTreeMap::new())));
    }

    #[test]
    fn truncated_messages_are_rejected() {
        let bytes = jwt_metadata(vec![("azp", string("client")), ("aud", string("x"))]);
        for end in 1..bytes.len() {
            assert!(
                decode_filter_metadata(&bytes[..end]).is_none(),
                "prefix {end}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowed() {
        let mut value = string("deep");
        for _ in 0..200 {
            value = list(vec![value]);
        }
        let bytes = fields(vec![("v", value)]).encode_to_vec();
        assert!(decode_struct(&bytes).is_none());
    }
}
