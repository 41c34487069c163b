//! Structs of the configuration read by one visitor driven by a table of their
//! fields ([`Spec`]), instead of a derived `Deserialize` per struct.
//!
//! A derived impl is a visitor of its own, compiled for the deserializer with
//! serde_json's reader inlined into it: kilobytes of the module per struct, for data
//! read once. This reader does what those derived impls (with `deny_unknown_fields`)
//! did, with the same messages (unknown, missing and duplicate fields, list lengths,
//! what was expected) and at the same places in the text: a field's value is read by
//! the deserializer of that field's type ([`Kind::read`]), and a check of the whole
//! struct runs inside the visitor that read it, so that the loader finds the field
//! of an error from where the reader stopped (`config::json_path`).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};

/// The type of one field, and how a value of it is read.
pub trait Kind: Copy + 'static {
    /// A value of any field of this family of structs.
    type Value;

    /// Reads a value of this type.
    fn read<'de, D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error>;
}

/// Whether a field left out is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Left out: `missing field` (in a map) or `invalid length` (in a list).
    Required,
    /// Left out: the field's default.
    Optional,
    /// An `Option` without a default, as derive reads it: left out of a map, `None`;
    /// a list must hold it (`invalid length`).
    OptionalInMap,
}

/// One struct: its fields in order, and what to call it in errors.
pub struct Spec<K: 'static> {
    /// What the struct is, in `invalid type` errors (derive: `struct Name`, or its
    /// `expecting` attribute).
    pub expecting: &'static str,
    /// What a list of its fields must be, in `invalid length` errors (derive:
    /// `struct Name with N elements`, or its `expecting` attribute).
    pub list_expecting: &'static str,
    /// Whether a key that names no field is skipped (derive: no `deny_unknown_fields`)
    /// rather than refused.
    pub ignore_unknown: bool,
    /// The field names, in order (also the list an unknown field's error shows).
    pub names: &'static [&'static str],
    /// Each field's type and need, in the order of `names`.
    pub fields: &'static [(K, Need)],
}

/// The fields given, by position in their [`Spec`]; `None` where left out.
#[derive(Debug)]
pub struct Fields<V>(Vec<Option<V>>);

impl<V> Fields<V> {
    fn new(count: usize) -> Self {
        Fields(std::iter::repeat_with(|| None).take(count).collect())
    }

    fn slot(&mut self, index: usize) -> Option<&mut Option<V>> {
        self.0.get_mut(index)
    }

    /// The value of the field at `index`, if given.
    pub fn get(&self, index: usize) -> Option<&V> {
        self.0.get(index).and_then(Option::as_ref)
    }

    /// Takes the value of the field at `index`, if given.
    pub fn take(&mut self, index: usize) -> Option<V> {
        self.slot(index).and_then(Option::take)
    }
}

/// Takes the value of the field at `$index` of [`Fields`] `$fields` as the variant
/// `$variant` of the value enum (the field's kind in its [`Spec`] rules out any other);
/// `None` when the field was left out.
macro_rules! take_field {
    ($fields:expr, $index:expr, $variant:path) => {
        match $fields.take($index) {
            Some($variant(value)) => Some(value),
            _ => None,
        }
    };
}
pub(crate) use take_field;

/// A check of a struct read in full; it runs inside the visitor that read it, so
/// that its error is placed at it (`crate::de`).
pub type Check<V> = fn(&Fields<V>) -> Result<(), String>;

/// Checks nothing.
pub fn unchecked<V>(_: &Fields<V>) -> Result<(), String> {
    Ok(())
}

/// How a struct may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A map, or null (every field optional); not a list.
    MapOrNull,
    /// A map, or a list of the fields in order.
    MapOrList,
}

/// Reads a struct of `spec` written in `shape`, through `deserialize_any`.
pub fn read_any<'de, D: Deserializer<'de>, K: Kind>(
    d: D,
    spec: &'static Spec<K>,
    shape: Shape,
    check: Check<K::Value>,
) -> Result<Fields<K::Value>, D::Error> {
    d.deserialize_any(Struct { spec, shape, check })
}

/// Reads a struct of `spec` (a map, or a list of the fields in order) as a
/// derived `Deserialize` did.
pub fn read_struct<'de, D: Deserializer<'de>, K: Kind>(
    d: D,
    spec: &'static Spec<K>,
) -> Result<Fields<K::Value>, D::Error> {
    d.deserialize_struct(
        "",
        spec.names,
        Struct {
            spec,
            shape: Shape::MapOrList,
            check: unchecked,
        },
    )
}

/// Reads the fields of `spec` from a map already opened.
pub fn read_map<'de, A: MapAccess<'de>, K: Kind>(
    mut map: A,
    spec: &'static Spec<K>,
) -> Result<Fields<K::Value>, A::Error> {
    let mut fields = Fields::new(spec.fields.len());
    while let Some(found) = map.next_key_seed(Key {
        names: spec.names,
        ignore_unknown: spec.ignore_unknown,
    })? {
        let Some(index) = found else {
            map.next_value::<de::IgnoredAny>()?;
            continue;
        };
        let (Some((kind, _)), Some(name), Some(slot)) = (
            spec.fields.get(index),
            spec.names.get(index),
            fields.slot(index),
        ) else {
            return Err(de::Error::custom("no such field"));
        };
        if slot.is_some() {
            return Err(de::Error::duplicate_field(name));
        }
        *slot = Some(map.next_value_seed(Value(*kind))?);
    }
    for (index, ((_, need), name)) in spec.fields.iter().zip(spec.names).enumerate() {
        if *need == Need::Required && fields.get(index).is_none() {
            return Err(de::Error::missing_field(name));
        }
    }
    Ok(fields)
}

/// Reads the fields of `spec`, in order, from a list already opened.
fn read_seq<'de, A: SeqAccess<'de>, K: Kind>(
    mut seq: A,
    spec: &'static Spec<K>,
) -> Result<Fields<K::Value>, A::Error> {
    let mut fields = Fields::new(spec.fields.len());
    for (index, (kind, need)) in spec.fields.iter().enumerate() {
        match seq.next_element_seed(Value(*kind))? {
            Some(value) => {
                if let Some(slot) = fields.slot(index) {
                    *slot = Some(value);
                }
            }
            None if *need != Need::Optional => {
                return Err(de::Error::invalid_length(index, &spec.list_expecting));
            }
            None => {}
        }
    }
    Ok(fields)
}

/// The visitor of a struct.
struct Struct<K: Kind> {
    spec: &'static Spec<K>,
    shape: Shape,
    check: Check<K::Value>,
}

impl<K: Kind> Struct<K> {
    fn checked<E: de::Error>(
        &self,
        read: Result<Fields<K::Value>, E>,
    ) -> Result<Fields<K::Value>, E> {
        let fields = read?;
        (self.check)(&fields).map_err(E::custom)?;
        Ok(fields)
    }
}

impl<'de, K: Kind> Visitor<'de> for Struct<K> {
    type Value = Fields<K::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shape {
            Shape::MapOrNull => f.write_str("a map of parameters, or null"),
            Shape::MapOrList => f.write_str(self.spec.expecting),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        match self.shape {
            Shape::MapOrNull => self.checked(Ok(Fields::new(self.spec.fields.len()))),
            Shape::MapOrList => Err(E::invalid_type(Unexpected::Unit, &self)),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        match self.shape {
            Shape::MapOrNull => self.checked(Ok(Fields::new(self.spec.fields.len()))),
            Shape::MapOrList => Err(E::invalid_type(Unexpected::Option, &self)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.checked(read_map(map, self.spec))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        match self.shape {
            Shape::MapOrNull => Err(de::Error::invalid_type(Unexpected::Seq, &self)),
            Shape::MapOrList => self.checked(read_seq(seq, self.spec)),
        }
    }
}

/// A map key: the position of the field it names; for another key, `None` when
/// such keys are skipped, else an unknown-field error.
struct Key {
    names: &'static [&'static str],
    ignore_unknown: bool,
}

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for Key {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Option<usize>, E> {
        match self.names.iter().position(|known| *known == name) {
            Some(index) => Ok(Some(index)),
            None if self.ignore_unknown => Ok(None),
            None => Err(E::unknown_field(name, self.names)),
        }
    }
}

/// A field's value, read by the deserializer of its type.
struct Value<K>(K);

impl<'de, K: Kind> DeserializeSeed<'de> for Value<K> {
    type Value = K::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<K::Value, D::Error> {
        self.0.read(d)
    }
}
