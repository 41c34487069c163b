//! Envoy dynamic metadata written as JSON, turned into what the `filter` source reads: a
//! serialized `envoy.config.core.v3.Metadata` (the host property `metadata`).

use std::collections::BTreeMap;

use prost::Message;
use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};

/// `envoy.config.core.v3.Metadata`, the one field lookups read.
#[derive(Clone, PartialEq, Message)]
struct Metadata {
    /// Filter namespace to its metadata.
    #[prost(btree_map = "string, message", tag = "1")]
    filter_metadata: BTreeMap<String, Struct>,
}

/// Why JSON metadata cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The document is not a JSON object.
    #[error("the metadata must be a JSON object: filter namespace → object")]
    NotAnObject,
    /// A namespace's value is not an object.
    #[error("the metadata of namespace `{0}` must be a JSON object (a protobuf Struct)")]
    NamespaceNotAnObject(String),
}

/// Serializes JSON metadata: an object mapping each filter namespace (e.g.
/// `envoy.filters.http.jwt_authn`) to an object, optionally wrapped as Envoy prints it,
/// `{"filter_metadata": {...}}`. Numbers become doubles, as in `google.protobuf.Value`.
pub fn encode_metadata(json: &serde_json::Value) -> Result<Vec<u8>, MetadataError> {
    let serde_json::Value::Object(top) = json else {
        return Err(MetadataError::NotAnObject);
    };
    let namespaces = match top.get("filter_metadata") {
        Some(serde_json::Value::Object(inner)) if top.len() == 1 => inner,
        _ => top,
    };
    let filter_metadata = namespaces
        .iter()
        .map(|(namespace, value)| match value {
            serde_json::Value::Object(fields) => Ok((namespace.clone(), to_struct(fields))),
            _ => Err(MetadataError::NamespaceNotAnObject(namespace.clone())),
        })
        .collect::<Result<_, _>>()?;
    Ok(Metadata { filter_metadata }.encode_to_vec())
}

fn to_struct(fields: &serde_json::Map<String, serde_json::Value>) -> Struct {
    Struct {
        fields: fields
            .iter()
            .map(|(name, value)| (name.clone(), to_value(value)))
            .collect(),
    }
}

fn to_value(value: &serde_json::Value) -> Value {
    let kind = match value {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(flag) => Kind::BoolValue(*flag),
        serde_json::Value::Number(number) => Kind::NumberValue(number.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(text) => Kind::StringValue(text.clone()),
        serde_json::Value::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(to_value).collect(),
        }),
        serde_json::Value::Object(fields) => Kind::StructValue(to_struct(fields)),
    };
    Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use threescale_wasm_auth::lookup::format::metadata_values;

    fn strings(values: &[&str]) -> Option<Vec<String>> {
        Some(values.iter().map(|value| (*value).to_owned()).collect())
    }

    #[test]
    fn the_filter_source_reads_what_is_encoded() {
        let json = serde_json::json!({
            "envoy.filters.http.jwt_authn": {"verified_jwt": {"azp": "app", "aud": ["a", "b"], "exp": 1}}
        });
        let bytes = encode_metadata(&json).unwrap();
        let path = ["envoy.filters.http.jwt_authn".to_owned(), "0".to_owned()];
        assert_eq!(
            metadata_values(&bytes, &path, &["azp".to_owned()]),
            strings(&["app"])
        );
        assert_eq!(
            metadata_values(&bytes, &path, &["exp".to_owned(), "aud".to_owned()]),
            strings(&["a", "b"])
        );
    }

    #[test]
    fn envoys_filter_metadata_wrapper_is_accepted() {
        let plain = serde_json::json!({"ns": {"k": "v"}});
        let wrapped = serde_json::json!({"filter_metadata": {"ns": {"k": "v"}}});
        assert_eq!(encode_metadata(&plain), encode_metadata(&wrapped));
    }

    #[test]
    fn non_objects_are_refused() {
        assert_eq!(
            encode_metadata(&serde_json::json!([1])),
            Err(MetadataError::NotAnObject)
        );
        assert_eq!(
            encode_metadata(&serde_json::json!({"ns": "v"})),
            Err(MetadataError::NamespaceNotAnObject("ns".to_owned()))
        );
    }
}
