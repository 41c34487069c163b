//! prost's generated decoders as the reference `lookup::protobuf` is compared with, shared
//! by that module's tests and the `protobuf` fuzz target. The including module has
//! `Node` (`lookup::node::Node`) in scope.

use std::collections::BTreeMap;

use prost::Message;
use prost_types::value::Kind;
use prost_types::{Struct, Value};

use super::Node;

/// The part of `envoy.config.core.v3.Metadata` lookups use.
#[derive(Clone, PartialEq, Message)]
pub struct Metadata {
    /// Filter namespace (e.g. `envoy.filters.http.jwt_authn`) to its metadata.
    #[prost(btree_map = "string, message", tag = "1")]
    pub filter_metadata: BTreeMap<String, Struct>,
}

/// prost's decoding of a `google.protobuf.Struct`, in `Node::canonical` form.
pub fn reference_struct(bytes: &[u8]) -> Option<Node> {
    Struct::decode(bytes)
        .ok()
        .map(|message| from_struct(&message))
}

/// prost's decoding of a `Metadata`, in `Node::canonical` form.
pub fn reference_metadata(bytes: &[u8]) -> Option<Node> {
    let metadata = Metadata::decode(bytes).ok()?;
    Some(Node::Struct(
        metadata
            .filter_metadata
            .iter()
            .map(|(name, fields)| (name.clone(), from_struct(fields)))
            .collect(),
    ))
}

fn from_struct(message: &Struct) -> Node {
    Node::Struct(
        message
            .fields
            .iter()
            .map(|(name, value)| (name.clone(), from_value(value)))
            .collect(),
    )
}

fn from_value(value: &Value) -> Node {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Node::Null,
        Some(Kind::BoolValue(flag)) => Node::Bool(*flag),
        Some(Kind::NumberValue(number)) => Node::Number(*number),
        Some(Kind::StringValue(text)) => Node::String(text.clone()),
        Some(Kind::StructValue(fields)) => from_struct(fields),
        Some(Kind::ListValue(values)) => Node::List(values.values.iter().map(from_value).collect()),
    }
}
