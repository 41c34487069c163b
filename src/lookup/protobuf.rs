//! Decoding the two protobuf messages lookups read: Envoy's dynamic `Metadata` and
//! `google.protobuf.Struct`, both into the shared [`Node`] tree.
//!
//! A reader of the protobuf wire format for the four messages involved (`Metadata`,
//! `Struct`, `Value`, `ListValue`) rather than prost's generated decoders: with their
//! library code, `BTreeMap`s and sorts, they and serde_json's `Value` (which `Node` no
//! longer goes through either) were 32 KB of the module. It decodes as a generated
//! decoder does (its tests and the `protobuf` fuzz target compare it with prost's):
//!
//! - unknown fields are skipped, whatever their wire type (groups included);
//! - a known field with another wire type than its own is an error;
//! - a scalar field given twice keeps the last value; a message field given twice is
//!   merged (a `Value` holding a struct that gets another struct gets both's fields);
//! - a map entry without a key has the key `""`, one without a value the empty value;
//!   two entries with the same key are both kept in the [`Node`], whose lookups read the
//!   last one, as a map would have kept it;
//! - strings must be UTF-8; a length or varint that runs past the end is an error;
//! - messages nest at most 100 deep, counted as `prost` counts them (every message, map
//!   entry and skipped field takes one level), which also bounds the recursion here.
//!
//! Decoding never panics, and malformed input is `None`.

use super::node::Node;

/// How deep messages may nest: a generated decoder's limit.
const NESTING_LIMIT: u32 = 100;

/// The bytes are not the message (where and why does not matter to a lookup).
struct Malformed;

type Decoded<T> = Result<T, Malformed>;

/// A known field's value as the wire carries it.
enum Wire<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Delimited(&'a [u8]),
}

/// The fields of one message's bytes, in order, of which the message knows the numbers 1
/// to `known`; the others are skipped.
struct Fields<'a> {
    rest: &'a [u8],
    /// What is left of the nesting limit inside this message.
    levels: u32,
    known: u64,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8], levels: u32, known: u64) -> Self {
        Fields {
            rest: bytes,
            levels,
            known,
        }
    }

    /// The next known field's number and value; `None` at the end of the message. A known
    /// field must have a wire type a message field can have (varint, 64-bit or
    /// length-delimited); the caller checks that it is the field's own.
    fn next_known(&mut self) -> Decoded<Option<(u64, Wire<'a>)>> {
        while !self.rest.is_empty() {
            let (number, wire_type) = self.key()?;
            if number > self.known {
                self.skip_value(number, wire_type, self.levels)?;
                continue;
            }
            let value = match wire_type {
                0 => Wire::Varint(self.varint()?),
                1 => Wire::Fixed64(self.fixed()?),
                2 => Wire::Delimited(self.delimited()?),
                _ => return Err(Malformed),
            };
            return Ok(Some((number, value)));
        }
        Ok(None)
    }

    /// A field's key: its number (≥ 1) and wire type (0 to 5).
    fn key(&mut self) -> Decoded<(u64, u8)> {
        let key = self.varint()?;
        if key > u64::from(u32::MAX) || key >> 3 == 0 || key & 7 > 5 {
            return Err(Malformed);
        }
        let wire_type = u8::try_from(key & 7).map_err(|_| Malformed)?;
        Ok((key >> 3, wire_type))
    }

    /// Skips an unknown field's value. Like a generated decoder, this takes a level: an
    /// unknown field where no level is left is an error.
    fn skip_value(&mut self, number: u64, wire_type: u8, levels: u32) -> Decoded<()> {
        let inner = deeper(levels)?;
        match wire_type {
            0 => self.varint().map(drop),
            1 => self.fixed::<8>().map(drop),
            2 => self.delimited().map(drop),
            3 => self.skip_group(number, inner),
            5 => self.fixed::<4>().map(drop),
            _ => Err(Malformed),
        }
    }

    /// Skips the fields of a group up to its end (wire type 4), which must carry the
    /// group's number; each field inside with the levels `inner`.
    fn skip_group(&mut self, number: u64, inner: u32) -> Decoded<()> {
        loop {
            let (inner_number, wire_type) = self.key()?;
            if wire_type == 4 {
                return if inner_number == number {
                    Ok(())
                } else {
                    Err(Malformed)
                };
            }
            self.skip_value(inner_number, wire_type, inner)?;
        }
    }

    /// A base-128 varint of at most 10 bytes, the tenth holding only the top bit.
    fn varint(&mut self) -> Decoded<u64> {
        let mut value = 0u64;
        for (index, byte) in self.rest.iter().enumerate().take(10) {
            if index == 9 && *byte > 1 {
                return Err(Malformed);
            }
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                self.rest = self.rest.get(index + 1..).unwrap_or_default();
                return Ok(value);
            }
        }
        Err(Malformed)
    }

    /// A length-delimited value: a varint length, then that many bytes.
    fn delimited(&mut self) -> Decoded<&'a [u8]> {
        let length = usize::try_from(self.varint()?).map_err(|_| Malformed)?;
        let (taken, rest) = self.rest.split_at_checked(length).ok_or(Malformed)?;
        self.rest = rest;
        Ok(taken)
    }

    fn fixed<const N: usize>(&mut self) -> Decoded<[u8; N]> {
        let (bytes, rest) = self.rest.split_first_chunk::<N>().ok_or(Malformed)?;
        self.rest = rest;
        Ok(*bytes)
    }
}

/// The levels left inside a message entered with `levels` left: none left is an error.
fn deeper(levels: u32) -> Decoded<u32> {
    levels.checked_sub(1).ok_or(Malformed)
}

fn utf8(bytes: &[u8]) -> Decoded<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| Malformed)
}

/// Decodes a serialized `envoy.config.core.v3.Metadata` into a [`Node::Struct`] of its
/// `filter_metadata` (field 1): each filter namespace to its `Struct`. Other fields
/// (`typed_filter_metadata`, field 2) are skipped. `None` when the bytes are malformed.
pub fn decode_filter_metadata(bytes: &[u8]) -> Option<Node> {
    let empty_struct = || Node::Struct(Vec::new());
    let mut node = empty_struct();
    merge_map(&mut node, bytes, NESTING_LIMIT, empty_struct, merge_struct).ok()?;
    Some(node)
}

/// Decodes a serialized `google.protobuf.Struct` into a [`Node::Struct`]. `None` when the
/// bytes are malformed.
pub fn decode_struct(bytes: &[u8]) -> Option<Node> {
    let mut node = Node::Struct(Vec::new());
    merge_struct(&mut node, bytes, NESTING_LIMIT).ok()?;
    Some(node)
}

/// Adds the fields of a `Struct`'s bytes to `node`, a [`Node::Struct`]: its map entries
/// (field 1), each a name and a `Value`.
fn merge_struct(node: &mut Node, bytes: &[u8], levels: u32) -> Decoded<()> {
    merge_map(node, bytes, levels, || Node::Null, merge_value)
}

/// Adds the entries of a message whose field 1 is a map from strings to messages
/// (`Struct.fields`, `Metadata.filter_metadata`) to `node`, a [`Node::Struct`]: each
/// entry's value starts as `empty()` and its message is merged into it by `merge`.
fn merge_map(
    node: &mut Node,
    bytes: &[u8],
    levels: u32,
    empty: fn() -> Node,
    merge: fn(&mut Node, &[u8], u32) -> Decoded<()>,
) -> Decoded<()> {
    let Node::Struct(entries) = node else {
        return Err(Malformed);
    };
    let mut fields = Fields::new(bytes, levels, 1);
    while let Some((_, wire)) = fields.next_known()? {
        let Wire::Delimited(entry) = wire else {
            return Err(Malformed);
        };
        entries.push(map_entry(entry, deeper(levels)?, empty(), merge)?);
    }
    Ok(())
}

/// One map entry: its key (field 1, a string; `""` when absent) and its value (field 2, a
/// message merged into `value`, the empty value of its kind, by `merge`). `levels` are
/// those inside the entry.
fn map_entry(
    bytes: &[u8],
    levels: u32,
    mut value: Node,
    merge: fn(&mut Node, &[u8], u32) -> Decoded<()>,
) -> Decoded<(String, Node)> {
    let mut key = String::new();
    let mut fields = Fields::new(bytes, levels, 2);
    while let Some((number, wire)) = fields.next_known()? {
        let Wire::Delimited(bytes) = wire else {
            return Err(Malformed);
        };
        if number == 1 {
            key = utf8(bytes)?;
        } else {
            merge(&mut value, bytes, deeper(levels)?)?;
        }
    }
    Ok((key, value))
}

/// Merges a `Value`'s bytes into `node`: its kind is the last kind field given; a struct
/// or list given when `node` already is one is merged into it. A `Value` without a kind
/// is invalid protobuf JSON; it stays null, which no lookup accepts anyway.
fn merge_value(node: &mut Node, bytes: &[u8], levels: u32) -> Decoded<()> {
    let mut fields = Fields::new(bytes, levels, 6);
    while let Some((number, wire)) = fields.next_known()? {
        match (number, wire) {
            (1, Wire::Varint(_)) => *node = Node::Null,
            (2, Wire::Fixed64(bits)) => *node = Node::Number(f64::from_le_bytes(bits)),
            (3, Wire::Delimited(text)) => *node = Node::String(utf8(text)?),
            (4, Wire::Varint(flag)) => *node = Node::Bool(flag != 0),
            (5, Wire::Delimited(message)) => {
                if !matches!(node, Node::Struct(_)) {
                    *node = Node::Struct(Vec::new());
                }
                merge_struct(node, message, deeper(levels)?)?;
            }
            (6, Wire::Delimited(message)) => {
                if !matches!(node, Node::List(_)) {
                    *node = Node::List(Vec::new());
                }
                merge_list(node, message, deeper(levels)?)?;
            }
            _ => return Err(Malformed),
        }
    }
    Ok(())
}

/// Adds the values of a `ListValue`'s bytes (field 1, each a `Value`) to `node`, a
/// [`Node::List`].
fn merge_list(node: &mut Node, bytes: &[u8], levels: u32) -> Decoded<()> {
    let Node::List(items) = node else {
        return Err(Malformed);
    };
    let mut fields = Fields::new(bytes, levels, 1);
    while let Some((_, wire)) = fields.next_known()? {
        let Wire::Delimited(message) = wire else {
            return Err(Malformed);
        };
        let mut item = Node::Null;
        merge_value(&mut item, message, deeper(levels)?)?;
        items.push(item);
    }
    Ok(())
}

/// prost's decoders, the reference this module is compared with (shared with the
/// `protobuf` fuzz target).
#[cfg(test)]
#[path = "../../fuzz/common/prost_reference.rs"]
mod prost_reference;

/// Builders of encoded messages for tests of this module and of the lookups.
#[cfg(test)]
pub(crate) mod encode {
    use prost::Message;
    pub use prost_types::Value;
    use prost_types::value::Kind;
    use prost_types::{ListValue, Struct};

    pub use super::prost_reference::Metadata;

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
mod tests;
