//! Structured documents (JSON text, protobuf `Struct`, Envoy `Metadata`): walk a path,
//! then pick the first matching key (docs/behaviour.md §4 and §5, `filter` source and the
//! `json`/`protobuf` ops).
//!
//! All three formats become the same small tree, [`Node`], and share one walk:
//!
//! - In a struct, a segment selects the field of that name; a segment `"0"` that is not a
//!   field name selects the only entry of a one-entry struct (Envoy's `jwt_authn` filter
//!   stores the payload under a name chosen in its own configuration).
//! - In a list, a segment made only of ASCII digits is a zero-based index.
//! - Anything else (a missing field, an index out of range, a step into a string, number,
//!   boolean or null) ends the walk with nothing.
//!
//! Keys are single steps taken from where the path ends, with the same rules. The first
//! key whose step gives a *usable* value wins; a key that is missing, or whose value is not
//! usable, is skipped ("numbers and booleans never match"). With no keys, the end of the
//! path itself must be usable.
//!
//! Usable values: a string (one value); a non-empty list made only of strings (its values,
//! in order; one non-string element makes the whole list unusable, so that a partly typed
//! list cannot silently lose values); a one-entry struct whose value is one of those (one
//! level only). An empty list gives no values and is not usable.

use super::node::Node;
use super::protobuf;

/// Values found in a JSON document at `path`, then the first of `keys` present.
pub fn json_values(document: &str, path: &[String], keys: &[String]) -> Option<Vec<String>> {
    Node::from_json(document)?.lookup(path, keys)
}

/// Values found in a binary `google.protobuf.Struct` at `path`, then the first of `keys`.
pub fn protobuf_struct_values(
    document: &[u8],
    path: &[String],
    keys: &[String],
) -> Option<Vec<String>> {
    protobuf::decode_struct(document)?.lookup(path, keys)
}

/// Values found in a binary `envoy.config.core.v3.Metadata`: `filter_metadata[path[0]]`,
/// then the rest of `path`, then the first of `keys`. The namespace must match exactly
/// (no `"0"` shortcut there), so an empty path finds nothing.
pub fn metadata_values(metadata: &[u8], path: &[String], keys: &[String]) -> Option<Vec<String>> {
    let (namespace, rest) = path.split_first()?;
    protobuf::decode_filter_metadata(metadata)?
        .field(namespace)?
        .lookup(rest, keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup::protobuf::encode::{
        boolean, fields, jwt_metadata, list, metadata, number, object, string,
    };
    use prost::Message;

    fn segments(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    fn json(document: &str, path: &[&str], keys: &[&str]) -> Option<Vec<String>> {
        json_values(document, &segments(path), &segments(keys))
    }

    fn values(items: &[&str]) -> Option<Vec<String>> {
        Some(segments(items))
    }

    /// Deterministic pseudo-random bytes (xorshift), for malformed-input tests.
    fn noise(seed: u64, length: usize) -> Vec<u8> {
        let mut state = seed.max(1);
        (0..length)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect()
    }

    #[test]
    fn struct_field_is_selected_by_name() {
        assert_eq!(json(r#"{"a": {"b": "x"}}"#, &["a"], &["b"]), values(&["x"]));
        assert_eq!(
            json(r#"{"a": {"b": "x"}}"#, &["a", "b"], &[]),
            values(&["x"])
        );
    }

    #[test]
    fn zero_selects_the_only_entry_of_a_one_entry_struct() {
        let document = r#"{"payload_name": {"azp": "client"}}"#;
        assert_eq!(json(document, &["0"], &["azp"]), values(&["client"]));
    }

    #[test]
    fn zero_prefers_a_field_named_zero() {
        let document = r#"{"0": {"k": "field"}}"#;
        assert_eq!(json(document, &["0"], &["k"]), values(&["field"]));
        let document = r#"{"0": {"k": "field"}, "other": {"k": "no"}}"#;
        assert_eq!(json(document, &["0"], &["k"]), values(&["field"]));
    }

    #[test]
    fn zero_does_not_select_in_a_struct_of_two_entries() {
        assert_eq!(
            json(r#"{"a": {"k": "1"}, "b": {"k": "2"}}"#, &["0"], &["k"]),
            None
        );
    }

    #[test]
    fn other_numbers_do_not_select_struct_entries() {
        assert_eq!(json(r#"{"a": {"k": "1"}}"#, &["1"], &["k"]), None);
    }

    #[test]
    fn nested_one_entry_structs_are_walked_with_repeated_zero() {
        let document = r#"{"outer": {"inner": {"k": "v"}}}"#;
        assert_eq!(json(document, &["0", "0"], &["k"]), values(&["v"]));
        assert_eq!(json(document, &["0"], &["k"]), None);
    }

    #[test]
    fn lists_are_indexed_by_decimal_segments() {
        let document = r#"{"l": [{"k": "a"}, {"k": "b"}]}"#;
        assert_eq!(json(document, &["l", "0"], &["k"]), values(&["a"]));
        assert_eq!(json(document, &["l", "1"], &["k"]), values(&["b"]));
        assert_eq!(json(document, &["l", "01"], &["k"]), values(&["b"]));
        assert_eq!(json(document, &["l", "2"], &["k"]), None);
    }

    #[test]
    fn list_segments_must_be_plain_digits() {
        let document = r#"{"l": ["a", "b"]}"#;
        for segment in ["+1", "-1", " 1", "1 ", "", "x", "99999999999999999999999"] {
            assert_eq!(json(document, &["l", segment], &[]), None, "{segment:?}");
        }
    }

    #[test]
    fn keys_index_lists_too() {
        assert_eq!(json(r#"{"l": ["a", "b"]}"#, &["l"], &["1"]), values(&["b"]));
    }

    #[test]
    fn the_first_usable_key_wins() {
        let document = r#"{"azp": "client", "aud": "audience"}"#;
        assert_eq!(json(document, &[], &["azp", "aud"]), values(&["client"]));
        assert_eq!(json(document, &[], &["aud", "azp"]), values(&["audience"]));
        assert_eq!(
            json(document, &[], &["missing", "aud"]),
            values(&["audience"])
        );
        assert_eq!(json(document, &[], &["missing"]), None);
    }

    #[test]
    fn keys_with_unusable_values_are_skipped() {
        let document = r#"{"a": 1, "b": true, "c": null, "d": [], "e": "yes"}"#;
        assert_eq!(
            json(document, &[], &["a", "b", "c", "d", "e"]),
            values(&["yes"])
        );
        assert_eq!(json(document, &[], &["a", "b", "c", "d"]), None);
    }

    #[test]
    fn numbers_and_booleans_never_match() {
        for document in [
            "1",
            "1.5",
            "true",
            "false",
            "null",
            r#"{"k": 3}"#,
            r#"{"k": false}"#,
        ] {
            assert_eq!(json(document, &[], &[]), None, "{document}");
            assert_eq!(json(document, &[], &["k"]), None, "{document}");
        }
    }

    #[test]
    fn empty_path_is_the_document_itself() {
        assert_eq!(json(r#""top""#, &[], &[]), values(&["top"]));
        assert_eq!(json(r#"["a", "b"]"#, &[], &[]), values(&["a", "b"]));
    }

    #[test]
    fn empty_keys_give_the_end_of_the_path() {
        assert_eq!(
            json(r#"{"a": ["x", "y"]}"#, &["a"], &[]),
            values(&["x", "y"])
        );
    }

    #[test]
    fn a_list_of_strings_gives_its_values_in_order() {
        let document = r#"{"aud": ["first", "second", "third"]}"#;
        assert_eq!(
            json(document, &[], &["aud"]),
            values(&["first", "second", "third"])
        );
    }

    #[test]
    fn a_list_with_any_non_string_is_not_usable() {
        assert_eq!(json(r#"{"aud": ["a", 1]}"#, &[], &["aud"]), None);
        assert_eq!(json(r#"{"aud": ["a", ["b"]]}"#, &[], &["aud"]), None);
        assert_eq!(json(r#"{"aud": ["a", {"x": "b"}]}"#, &[], &["aud"]), None);
    }

    #[test]
    fn an_empty_list_is_not_usable() {
        assert_eq!(json(r#"{"aud": []}"#, &[], &["aud"]), None);
    }

    #[test]
    fn a_one_entry_struct_gives_its_value() {
        assert_eq!(json(r#"{"k": {"any": "v"}}"#, &[], &["k"]), values(&["v"]));
        assert_eq!(
            json(r#"{"k": {"any": ["v", "w"]}}"#, &[], &["k"]),
            values(&["v", "w"])
        );
        assert_eq!(json(r#"{"only": "v"}"#, &[], &[]), values(&["v"]));
    }

    #[test]
    fn only_one_level_of_one_entry_struct_is_unwrapped() {
        assert_eq!(json(r#"{"k": {"a": {"b": "v"}}}"#, &[], &["k"]), None);
        assert_eq!(json(r#"{"k": {"a": 1}}"#, &[], &["k"]), None);
        assert_eq!(json(r#"{"k": {"a": "v", "b": "w"}}"#, &[], &["k"]), None);
    }

    #[test]
    fn walking_into_a_scalar_finds_nothing() {
        assert_eq!(json(r#"{"a": "text"}"#, &["a", "0"], &[]), None);
        assert_eq!(json(r#"{"a": 5}"#, &["a"], &["b"]), None);
    }

    #[test]
    fn empty_strings_are_values() {
        assert_eq!(json(r#"{"k": ""}"#, &[], &["k"]), values(&[""]));
    }

    #[test]
    fn a_json_name_given_twice_is_its_last_value() {
        let document = r#"{"a": "x", "a": "y"}"#;
        assert_eq!(json(document, &[], &["a"]), values(&["y"]));
        assert_eq!(json(document, &["0"], &[]), values(&["y"]));
        assert_eq!(json(document, &[], &[]), values(&["y"]));
        assert_eq!(json(r#"{"a": "x", "b": "y"}"#, &[], &[]), None);
    }

    #[test]
    fn invalid_json_finds_nothing() {
        for document in [
            "",
            "{",
            r#"{"a": }"#,
            "{'a': 'b'}",
            r#""unterminated"#,
            "[1,]",
        ] {
            assert_eq!(json(document, &[], &[]), None, "{document:?}");
        }
    }

    #[test]
    fn json_nesting_beyond_the_limit_finds_nothing() {
        let deep = format!("{}\"v\"{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(json(&deep, &[], &[]), None);
        let shallow = format!("{}\"v\"{}", "[".repeat(100), "]".repeat(100));
        let path = vec!["0"; 100];
        assert_eq!(json(&shallow, &path, &[]), values(&["v"]));
    }

    #[test]
    fn jwt_payload_json_gives_azp() {
        let payload = r#"{"iss": "https://sso/realms/r", "aud": ["acct", "other"],
            "azp": "my-client", "exp": 1700000000, "email_verified": true}"#;
        assert_eq!(json(payload, &[], &["azp", "aud"]), values(&["my-client"]));
        let without_azp = r#"{"aud": ["acct", "other"], "exp": 1}"#;
        assert_eq!(
            json(without_azp, &[], &["azp", "aud"]),
            values(&["acct", "other"])
        );
    }

    #[test]
    fn protobuf_struct_is_walked_like_json() {
        let message = fields(vec![
            (
                "claims",
                object(vec![("azp", string("client")), ("n", number(1.0))]),
            ),
            ("aud", list(vec![string("a"), string("b")])),
            ("flag", boolean(true)),
        ]);
        let bytes = message.encode_to_vec();
        let walk = |path: &[&str], keys: &[&str]| {
            protobuf_struct_values(&bytes, &segments(path), &segments(keys))
        };
        assert_eq!(walk(&["claims"], &["azp"]), values(&["client"]));
        assert_eq!(walk(&["claims"], &["n"]), None);
        assert_eq!(walk(&[], &["aud"]), values(&["a", "b"]));
        assert_eq!(walk(&["aud", "1"], &[]), values(&["b"]));
        assert_eq!(walk(&[], &["flag"]), None);
        assert_eq!(walk(&[], &[]), None);
    }

    #[test]
    fn protobuf_struct_with_a_list_holding_a_number_is_not_usable() {
        let bytes = fields(vec![("aud", list(vec![string("a"), number(2.0)]))]).encode_to_vec();
        assert_eq!(
            protobuf_struct_values(&bytes, &[], &segments(&["aud"])),
            None
        );
    }

    fn jwt(payload: Vec<(&str, prost_types::Value)>, keys: &[&str]) -> Option<Vec<String>> {
        let bytes = jwt_metadata(payload);
        metadata_values(
            &bytes,
            &segments(&["envoy.filters.http.jwt_authn", "0"]),
            &segments(keys),
        )
    }

    #[test]
    fn metadata_jwt_authn_payload_gives_azp() {
        let payload = vec![
            ("azp", string("my-client")),
            ("aud", list(vec![string("account")])),
            ("exp", number(1.7e9)),
        ];
        assert_eq!(jwt(payload, &["azp", "aud"]), values(&["my-client"]));
    }

    #[test]
    fn metadata_jwt_authn_falls_back_to_aud_list() {
        let payload = vec![("aud", list(vec![string("one"), string("two")]))];
        assert_eq!(jwt(payload, &["azp", "aud"]), values(&["one", "two"]));
        let payload = vec![("aud", string("single"))];
        assert_eq!(jwt(payload, &["azp", "aud"]), values(&["single"]));
    }

    #[test]
    fn metadata_jwt_authn_by_payload_name() {
        let bytes = jwt_metadata(vec![("azp", string("c"))]);
        let path = segments(&["envoy.filters.http.jwt_authn", "verified_jwt"]);
        assert_eq!(
            metadata_values(&bytes, &path, &segments(&["azp"])),
            values(&["c"])
        );
    }

    #[test]
    fn metadata_namespace_must_match_exactly() {
        let bytes = jwt_metadata(vec![("azp", string("c"))]);
        let keys = segments(&["azp"]);
        for path in [&["0", "0"][..], &["envoy.filters.http.JWT_AUTHN", "0"], &[]] {
            assert_eq!(
                metadata_values(&bytes, &segments(path), &keys),
                None,
                "{path:?}"
            );
        }
    }

    #[test]
    fn metadata_picks_the_named_namespace_among_several() {
        let bytes = metadata(vec![
            (
                "a.filter",
                fields(vec![("k", object(vec![("v", string("from a"))]))]),
            ),
            (
                "b.filter",
                fields(vec![("k", object(vec![("v", string("from b"))]))]),
            ),
        ]);
        let walk = |namespace: &str| {
            metadata_values(&bytes, &segments(&[namespace, "k"]), &segments(&["v"]))
        };
        assert_eq!(walk("b.filter"), values(&["from b"]));
        assert_eq!(walk("a.filter"), values(&["from a"]));
        assert_eq!(walk("c.filter"), None);
    }

    #[test]
    fn metadata_without_the_namespace_finds_nothing() {
        assert_eq!(
            metadata_values(&[], &segments(&["envoy.filters.http.jwt_authn", "0"]), &[]),
            None
        );
    }

    #[test]
    fn truncated_protobuf_never_panics() {
        let bytes = jwt_metadata(vec![
            ("azp", string("my-client")),
            ("aud", list(vec![string("a"), string("b")])),
        ]);
        let path = segments(&["envoy.filters.http.jwt_authn", "0"]);
        let keys = segments(&["azp"]);
        for end in 0..bytes.len() {
            let prefix = &bytes[..end];
            let _ = metadata_values(prefix, &path, &keys);
            let _ = protobuf_struct_values(prefix, &path, &keys);
        }
        assert_eq!(
            metadata_values(&bytes, &path, &keys),
            values(&["my-client"])
        );
    }

    #[test]
    fn random_bytes_never_panic() {
        let path = segments(&["a", "0"]);
        let keys = segments(&["k"]);
        for seed in 1..400 {
            let bytes = noise(seed, (seed as usize * 7) % 300);
            let _ = metadata_values(&bytes, &path, &keys);
            let _ = protobuf_struct_values(&bytes, &path, &keys);
            let _ = json_values(&String::from_utf8_lossy(&bytes), &path, &keys);
        }
    }

    #[test]
    fn truncated_json_never_panics() {
        let document = r#"{"a": [{"k": "v"}, {"k": ["x", "y"]}], "b": {"c": 1.5e300}}"#;
        for end in 0..document.len() {
            assert_eq!(json(&document[..end], &["a", "1"], &["k"]), None);
        }
        assert_eq!(json(document, &["a", "1"], &["k"]), values(&["x", "y"]));
    }
}
