//! The parameters of ops written as maps (or lists of their fields in order), read
//! by one visitor driven by a table per parameter type ([`Spec`]).
//!
//! Derived `Deserialize` impls gave each of the twelve parameter types a visitor of
//! its own, compiled with serde_json's reader inlined into it (about 20 KB of the
//! module for data read once). This reader does what those derived impls did, with
//! the same messages (unknown, missing and duplicate fields, list lengths, the
//! `expecting` text) and at the same places in the text: a field's value is read
//! by the deserializer of that field's type, and every check runs inside the visitor
//! that read the parameters, so that the loader finds the field from where the
//! reader stopped (`config::json_path`).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};

use super::{LogLevel, Op, Placement, StrlenMode};
use crate::integer;

/// The type of one parameter.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// A string.
    Text,
    /// An integer (or whole float) that may be null.
    OptionalCount,
    /// An integer (or whole float).
    Count,
    /// A signed integer (or whole float).
    Index,
    /// `utf8` or `bytes`.
    Mode,
    /// A log level.
    Level,
    /// `append` or `prepend`.
    Placement,
    /// A list of ops.
    Ops,
    /// One op.
    Op,
    /// A list of strings, or null.
    Strings,
}

/// Whether a parameter left out is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    Required,
    Optional,
}

/// One parameter type: its fields in order, and what to call it in errors.
pub(super) struct Spec {
    /// What the parameters are, as the derived impls' `expecting` said.
    pub expecting: &'static str,
    /// The field names, in order (also the list an unknown field's error shows).
    pub names: &'static [&'static str],
    /// Each field's type and need, in the order of `names`.
    pub fields: &'static [(Kind, Need)],
}

/// A parameter's value as read.
#[derive(Debug)]
pub(super) enum Param {
    Text(String),
    OptionalCount(Option<usize>),
    Count(usize),
    Index(i64),
    Mode(StrlenMode),
    Level(LogLevel),
    Placement(Placement),
    Ops(Vec<Op>),
    Op(Box<Op>),
    Strings(Option<Vec<String>>),
}

/// Most fields any parameter type has.
const MOST_FIELDS: usize = 3;

/// The fields given, by position in their [`Spec`]; `None` where left out.
#[derive(Debug, Default)]
pub(super) struct Fields([Option<Param>; MOST_FIELDS]);

impl Fields {
    fn slot(&mut self, index: usize) -> Option<&mut Option<Param>> {
        self.0.get_mut(index)
    }

    fn get(&self, index: usize) -> Option<&Param> {
        self.0.get(index).and_then(Option::as_ref)
    }

    fn take(&mut self, index: usize) -> Option<Param> {
        self.slot(index).and_then(Option::take)
    }

    /// The string at `index`, if given.
    pub fn text_ref(&self, index: usize) -> Option<&str> {
        match self.get(index) {
            Some(Param::Text(text)) => Some(text),
            _ => None,
        }
    }

    /// The optional count at `index`; `None` when left out or null.
    pub fn optional_count_ref(&self, index: usize) -> Option<usize> {
        match self.get(index) {
            Some(Param::OptionalCount(count)) => *count,
            _ => None,
        }
    }

    /// The count at `index`, if given.
    pub fn count_ref(&self, index: usize) -> Option<usize> {
        match self.get(index) {
            Some(Param::Count(count)) => Some(*count),
            _ => None,
        }
    }

    pub fn text(&mut self, index: usize) -> Option<String> {
        match self.take(index) {
            Some(Param::Text(text)) => Some(text),
            _ => None,
        }
    }

    pub fn optional_count(&mut self, index: usize) -> Option<usize> {
        match self.take(index) {
            Some(Param::OptionalCount(count)) => count,
            _ => None,
        }
    }

    pub fn count(&mut self, index: usize) -> Option<usize> {
        match self.take(index) {
            Some(Param::Count(count)) => Some(count),
            _ => None,
        }
    }

    pub fn index(&mut self, index: usize) -> Option<i64> {
        match self.take(index) {
            Some(Param::Index(value)) => Some(value),
            _ => None,
        }
    }

    pub fn mode(&mut self, index: usize) -> Option<StrlenMode> {
        match self.take(index) {
            Some(Param::Mode(mode)) => Some(mode),
            _ => None,
        }
    }

    pub fn level(&mut self, index: usize) -> Option<LogLevel> {
        match self.take(index) {
            Some(Param::Level(level)) => Some(level),
            _ => None,
        }
    }

    pub fn placement(&mut self, index: usize) -> Option<Placement> {
        match self.take(index) {
            Some(Param::Placement(placement)) => Some(placement),
            _ => None,
        }
    }

    pub fn ops(&mut self, index: usize) -> Option<Vec<Op>> {
        match self.take(index) {
            Some(Param::Ops(ops)) => Some(ops),
            _ => None,
        }
    }

    pub fn op(&mut self, index: usize) -> Option<Box<Op>> {
        match self.take(index) {
            Some(Param::Op(op)) => Some(op),
            _ => None,
        }
    }

    pub fn strings(&mut self, index: usize) -> Option<Vec<String>> {
        match self.take(index) {
            Some(Param::Strings(strings)) => strings,
            _ => None,
        }
    }
}

/// A check of parameters read in full; it runs inside the visitor that read them,
/// so that its error is placed at them (`crate::de`).
pub(super) type Check = fn(&Fields) -> Result<(), String>;

/// Checks nothing.
pub(super) fn unchecked(_: &Fields) -> Result<(), String> {
    Ok(())
}

/// How the parameters may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// A map, or null (all fields optional); not a list.
    MapOrNull,
    /// A map, or a list of the fields in order.
    MapOrList,
}

/// Reads parameters of `spec` written in `shape`, through `deserialize_any`.
pub(super) fn read_any<'de, D: Deserializer<'de>>(
    d: D,
    spec: &'static Spec,
    shape: Shape,
    check: Check,
) -> Result<Fields, D::Error> {
    d.deserialize_any(Params { spec, shape, check })
}

/// Reads parameters of `spec` as a struct (a map or a list of the fields in order),
/// as a derived `Deserialize` did.
pub(super) fn read_struct<'de, D: Deserializer<'de>>(
    d: D,
    spec: &'static Spec,
) -> Result<Fields, D::Error> {
    d.deserialize_struct(
        "",
        spec.names,
        Params {
            spec,
            shape: Shape::MapOrList,
            check: unchecked,
        },
    )
}

/// Reads the fields of `spec` from a map already opened.
pub(super) fn read_map<'de, A: MapAccess<'de>>(
    mut map: A,
    spec: &'static Spec,
) -> Result<Fields, A::Error> {
    let mut fields = Fields::default();
    while let Some(index) = map.next_key_seed(Key(spec))? {
        let (Some((kind, _)), Some(name)) = (spec.fields.get(index), spec.names.get(index)) else {
            return Err(de::Error::custom("no such parameter"));
        };
        let Some(slot) = fields.slot(index) else {
            return Err(de::Error::custom("no such parameter"));
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
fn read_seq<'de, A: SeqAccess<'de>>(mut seq: A, spec: &'static Spec) -> Result<Fields, A::Error> {
    let mut fields = Fields::default();
    for (index, (kind, need)) in spec.fields.iter().enumerate() {
        match seq.next_element_seed(Value(*kind))? {
            Some(value) => {
                if let Some(slot) = fields.slot(index) {
                    *slot = Some(value);
                }
            }
            None if *need == Need::Required => {
                return Err(de::Error::invalid_length(index, &spec.expecting));
            }
            None => {}
        }
    }
    Ok(fields)
}

/// The visitor of parameters.
struct Params {
    spec: &'static Spec,
    shape: Shape,
    check: Check,
}

impl Params {
    fn checked<E: de::Error>(&self, read: Result<Fields, E>) -> Result<Fields, E> {
        let fields = read?;
        (self.check)(&fields).map_err(E::custom)?;
        Ok(fields)
    }
}

impl<'de> Visitor<'de> for Params {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shape {
            Shape::MapOrNull => f.write_str("a map of parameters, or null"),
            Shape::MapOrList => f.write_str(self.spec.expecting),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Fields, E> {
        match self.shape {
            Shape::MapOrNull => self.checked(Ok(Fields::default())),
            Shape::MapOrList => Err(E::invalid_type(Unexpected::Unit, &self)),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Fields, E> {
        match self.shape {
            Shape::MapOrNull => self.checked(Ok(Fields::default())),
            Shape::MapOrList => Err(E::invalid_type(Unexpected::Option, &self)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Fields, A::Error> {
        self.checked(read_map(map, self.spec))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Fields, A::Error> {
        match self.shape {
            Shape::MapOrNull => Err(de::Error::invalid_type(Unexpected::Seq, &self)),
            Shape::MapOrList => self.checked(read_seq(seq, self.spec)),
        }
    }
}

/// A map key: the position of the field it names, or an unknown-field error.
struct Key(&'static Spec);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for Key {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<usize, E> {
        self.0
            .names
            .iter()
            .position(|known| *known == name)
            .ok_or_else(|| E::unknown_field(name, self.0.names))
    }
}

/// A field's value, read by the deserializer of its type.
struct Value(Kind);

impl<'de> DeserializeSeed<'de> for Value {
    type Value = Param;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Param, D::Error> {
        Ok(match self.0 {
            Kind::Text => Param::Text(String::deserialize(d)?),
            Kind::OptionalCount => Param::OptionalCount(integer::optional(d)?),
            Kind::Count => Param::Count(integer::whole(d)?),
            Kind::Index => Param::Index(integer::whole(d)?),
            Kind::Mode => Param::Mode(StrlenMode::deserialize(d)?),
            Kind::Level => Param::Level(LogLevel::deserialize(d)?),
            Kind::Placement => Param::Placement(Placement::deserialize(d)?),
            Kind::Ops => Param::Ops(Vec::deserialize(d)?),
            Kind::Op => Param::Op(Box::deserialize(d)?),
            Kind::Strings => Param::Strings(Option::deserialize(d)?),
        })
    }
}
