use prost::Message;
use prost_types::value::Kind;
use prost_types::{ListValue, Struct};

use super::encode::*;
use super::prost_reference::{reference_metadata, reference_struct};
use super::*;
use crate::test_rng::XorShift;

fn text(value: &str) -> Node {
    Node::String(value.to_owned())
}

fn entries(items: Vec<(&str, Node)>) -> Node {
    Node::Struct(
        items
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
    )
}

#[test]
fn decodes_filter_metadata_namespaces() {
    let bytes = jwt_metadata(vec![("azp", string("client"))]);
    let namespaces = decode_filter_metadata(&bytes).unwrap();
    let expected = entries(vec![(
        "verified_jwt",
        entries(vec![("azp", text("client"))]),
    )]);
    assert_eq!(
        namespaces.field("envoy.filters.http.jwt_authn"),
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
    assert_eq!(node.field("n"), Some(&Node::Null));
    assert_eq!(node.field("b"), Some(&Node::Bool(true)));
    assert_eq!(node.field("x"), Some(&Node::Number(1.5)));
    assert_eq!(node.field("s"), Some(&text("t")));
    assert_eq!(
        node.field("l"),
        Some(&Node::List(vec![text("a"), Node::Number(2.0)]))
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
    assert_eq!(decode_filter_metadata(&[]), Some(Node::Struct(Vec::new())));
    assert_eq!(decode_struct(&[]), Some(Node::Struct(Vec::new())));
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

#[test]
fn a_name_given_twice_is_its_last_value() {
    // Two entries "k": "a", then "k": "b" (a map's encoder never writes this, a sender may).
    let bytes = [
        0x0a, 0x08, 0x0a, 0x01, b'k', 0x12, 0x03, 0x1a, 0x01, b'a', //
        0x0a, 0x08, 0x0a, 0x01, b'k', 0x12, 0x03, 0x1a, 0x01, b'b',
    ];
    let node = decode_struct(&bytes).unwrap();
    assert_eq!(node.field("k"), Some(&text("b")));
    assert_eq!(
        node.lookup(&["0".to_owned()], &[]),
        Some(vec!["b".to_owned()])
    );
    assert_eq!(Some(node.canonical()), reference_struct(&bytes));
}

#[test]
fn a_struct_given_twice_in_a_value_gets_the_fields_of_both() {
    // A `Value` whose struct_value (field 5) comes twice: {"a": "x"}, then {"b": "y"}.
    let first = fields(vec![("a", string("x"))]).encode_to_vec();
    let second = fields(vec![("b", string("y"))]).encode_to_vec();
    let mut value = Vec::new();
    for part in [&first, &second] {
        value.push(0x2a);
        value.push(u8::try_from(part.len()).unwrap());
        value.extend_from_slice(part);
    }
    let mut entry = vec![0x0a, 0x01, b'v', 0x12, u8::try_from(value.len()).unwrap()];
    entry.extend_from_slice(&value);
    let mut bytes = vec![0x0a, u8::try_from(entry.len()).unwrap()];
    bytes.extend_from_slice(&entry);
    let node = decode_struct(&bytes).unwrap();
    let inner = node.field("v").unwrap();
    assert_eq!(inner.field("a"), Some(&text("x")));
    assert_eq!(inner.field("b"), Some(&text("y")));
    assert_eq!(Some(node.canonical()), reference_struct(&bytes));
}

#[test]
fn a_map_entry_without_key_or_value_has_the_empty_ones() {
    // Struct: one empty entry. Metadata: one entry with a key only.
    assert_eq!(
        decode_struct(&[0x0a, 0x00]),
        Some(entries(vec![("", Node::Null)]))
    );
    assert_eq!(
        decode_filter_metadata(&[0x0a, 0x03, 0x0a, 0x01, b'n']),
        Some(entries(vec![("n", entries(vec![]))]))
    );
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    let plain = fields(vec![("k", string("v"))]).encode_to_vec();
    // Field 9 as varint, 64-bit, length-delimited, group (holding a varint field) and
    // 32-bit, before the struct's entry.
    let mut bytes = vec![
        0x48, 0x96, 0x01, //
        0x49, 1, 2, 3, 4, 5, 6, 7, 8, //
        0x4a, 0x02, b'x', b'y', //
        0x4b, 0x08, 0x01, 0x4c, //
        0x4d, 1, 2, 3, 4,
    ];
    bytes.extend_from_slice(&plain);
    assert_eq!(decode_struct(&bytes), decode_struct(&plain));
    assert_eq!(
        decode_struct(&bytes).map(|node| node.canonical()),
        reference_struct(&bytes)
    );
}

#[test]
fn malformed_fields_are_rejected_as_a_generated_decoder_rejects_them() {
    let cases: &[&[u8]] = &[
        // A known field with another wire type: a `Value`'s string (field 3) as a varint,
        // a map entry (field 1) as a varint and as a group.
        &[0x0a, 0x04, 0x12, 0x02, 0x18, 0x01],
        &[0x08, 0x00],
        &[0x0a, 0x00, 0x0b, 0x00],
        // Field number 0.
        &[0x02, 0x00],
        // Wire types 6 and 7, and a group's end with no group.
        &[0x4e],
        &[0x4f],
        &[0x4c],
        // A group closed by another field number.
        &[0x4b, 0x54],
        // A group never closed.
        &[0x4b, 0x08, 0x01],
        // A varint of 11 bytes, and one whose tenth byte holds more than the top bit.
        &[
            0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
        &[
            0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        ],
        // A key above u32::MAX.
        &[0x80, 0x80, 0x80, 0x80, 0x10],
        // A name that is not UTF-8.
        &[0x0a, 0x03, 0x0a, 0x01, 0xff],
        // A length beyond the end.
        &[0x0a, 0x05, 0x0a, 0x01],
    ];
    for bytes in cases {
        assert_eq!(decode_struct(bytes), None, "{bytes:02x?}");
        assert_eq!(reference_struct(bytes), None, "{bytes:02x?}");
    }
    // A ten-byte varint whose tenth byte is 1 is valid.
    let valid = [
        0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ];
    assert_eq!(decode_struct(&valid), Some(Node::Struct(Vec::new())));
}

/// Nesting around the limit: lists in lists, structs in structs, and groups in an
/// unknown field, each decoded (or refused) at the same depth as prost's decoder does.
#[test]
fn the_nesting_limit_is_a_generated_decoders() {
    for depth in 90..=102 {
        let mut value = string("deep");
        let mut nested = string("deep");
        for _ in 0..depth {
            value = list(vec![value]);
            nested = object(vec![("n", nested)]);
        }
        for message in [
            fields(vec![("v", value.clone())]),
            fields(vec![("v", nested.clone())]),
        ] {
            assert_as_prost(&message.encode_to_vec(), &format!("struct, depth {depth}"));
            let metadata = metadata(vec![("ns", message)]);
            assert_as_prost(&metadata, &format!("metadata, depth {depth}"));
        }
        let mut group = vec![0x08, 0x01];
        for _ in 0..depth {
            group.insert(0, 0x4b);
            group.push(0x4c);
        }
        assert_as_prost(&group, &format!("groups, depth {depth}"));
    }
}

/// Asserts that `bytes` decode, as a `Struct` and as a `Metadata`, as prost decodes them
/// (as `Debug` text: NaN is not equal to itself); whether they were a `Struct`.
fn assert_as_prost(bytes: &[u8], what: &str) -> bool {
    let ours = decode_struct(bytes).map(|node| node.canonical());
    assert_eq!(
        format!("{ours:?}"),
        format!("{:?}", reference_struct(bytes)),
        "{what}: struct {bytes:02x?}"
    );
    assert_eq!(
        format!(
            "{:?}",
            decode_filter_metadata(bytes).map(|node| node.canonical())
        ),
        format!("{:?}", reference_metadata(bytes)),
        "{what}: metadata {bytes:02x?}"
    );
    ours.is_some()
}

/// Valid messages, then the same with bytes changed, cut and inserted, and random
/// bytes: decoded as `prost` decodes them, or refused when it refuses them.
#[test]
fn decodes_as_prost_does() {
    let mut rng = XorShift::new(0x9e37_79b9_7f4a_7c15);
    let mut decoded = 0;
    for round in 0..3000 {
        let message = random_struct(&mut rng, 3);
        let mut bytes = if round % 2 == 0 {
            message.encode_to_vec()
        } else {
            Metadata {
                filter_metadata: [("ns".to_owned(), message)].into(),
            }
            .encode_to_vec()
        };
        if round % 3 != 0 && !bytes.is_empty() {
            mutate(&mut rng, &mut bytes);
        }
        if round % 10 == 9 {
            bytes = (0..rng.below(40)).map(|_| byte(&mut rng)).collect();
        }
        decoded += usize::from(assert_as_prost(&bytes, &format!("round {round}")));
    }
    // Both valid and malformed input were compared.
    assert!((500..2900).contains(&decoded), "{decoded} decoded");
}

/// A deterministic byte.
fn byte(rng: &mut XorShift) -> u8 {
    rng.next().to_le_bytes()[0]
}

fn random_struct(rng: &mut XorShift, depth: u32) -> Struct {
    let names = ["a", "b", "0", "", "é"];
    Struct {
        fields: (0..rng.below(4))
            .map(|_| {
                let name = rng.pick(&names);
                (name.to_owned(), random_value(rng, depth))
            })
            .collect(),
    }
}

fn random_value(rng: &mut XorShift, depth: u32) -> Value {
    let kind = match rng.below(if depth == 0 { 5 } else { 7 }) {
        0 => None,
        1 => Some(Kind::NullValue(0)),
        2 => Some(Kind::NumberValue(f64::from_bits(rng.next()))),
        3 => Some(Kind::StringValue("x".repeat(rng.below(3)))),
        4 => Some(Kind::BoolValue(rng.below(2) == 1)),
        5 => Some(Kind::StructValue(random_struct(rng, depth - 1))),
        _ => Some(Kind::ListValue(ListValue {
            values: (0..rng.below(3))
                .map(|_| random_value(rng, depth - 1))
                .collect(),
        })),
    };
    Value { kind }
}

/// Changes one to three bytes, or cuts the message, or inserts a byte.
fn mutate(rng: &mut XorShift, bytes: &mut Vec<u8>) {
    let len = bytes.len();
    let at = rng.below(len);
    match rng.below(4) {
        0 => bytes.truncate(at),
        1 => bytes.insert(at, byte(rng)),
        _ => {
            for _ in 0..=rng.below(3) {
                let at = rng.below(len);
                bytes[at] = byte(rng);
            }
        }
    }
}
