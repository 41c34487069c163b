//! Structured documents (JSON text, protobuf `Struct`, Envoy `Metadata`): walk a path,
//! then pick the first matching key (SPEC sections 4 and 5, `filter` source and the
//! `json`/`protobuf` ops).
//! STUB: to be replaced.

/// Values found in a JSON document at `path`, then the first of `keys` present.
pub fn json_values(document: &str, path: &[String], keys: &[String]) -> Option<Vec<String>> {
    let _ = (document, path, keys);
    None
}

/// Values found in a binary `google.protobuf.Struct` at `path`, then the first of `keys`.
pub fn protobuf_struct_values(
    document: &[u8],
    path: &[String],
    keys: &[String],
) -> Option<Vec<String>> {
    let _ = (document, path, keys);
    None
}

/// Values found in a binary `envoy.config.core.v3.Metadata`: `filter_metadata[path[0]]`,
/// then the rest of `path`, then the first of `keys`.
pub fn metadata_values(metadata: &[u8], path: &[String], keys: &[String]) -> Option<Vec<String>> {
    let _ = (metadata, path, keys);
    None
}
