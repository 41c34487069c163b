//! The structured-value lookups: JSON text, binary `google.protobuf.Struct` and
//! binary Envoy `Metadata`, with fixed paths and with paths taken from the input.
//!
//! Input: `<document>\0<path segment>\n...\0<key>\n...`; the document is also
//! tried alone, whole input, with the fixed path and keys.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threescale_wasm_auth::lookup::format::{json_values, metadata_values, protobuf_struct_values};

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split('\n')
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn lookup_all(document: &[u8], path: &[String], keys: &[String]) {
    if let Ok(text) = std::str::from_utf8(document) {
        let _ = json_values(text, path, keys);
    }
    let _ = protobuf_struct_values(document, path, keys);
    let _ = metadata_values(document, path, keys);
}

fuzz_target!(|data: &[u8]| {
    let fixed_path = ["envoy.filters.http.jwt_authn".to_owned(), "0".to_owned()];
    let fixed_keys = ["azp".to_owned(), "aud".to_owned(), "0".to_owned()];
    lookup_all(data, &fixed_path, &fixed_keys);
    lookup_all(data, &fixed_path[1..], &fixed_keys);
    lookup_all(data, &[], &[]);

    let mut parts = data.splitn(3, |&byte| byte == 0);
    let document = parts.next().unwrap_or_default();
    let path = lines(parts.next().unwrap_or_default());
    let keys = lines(parts.next().unwrap_or_default());
    lookup_all(document, &path, &keys);
    lookup_all(document, &path, &fixed_keys);
});
