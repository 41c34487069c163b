//! Deserialization helpers for configuration values checked as they are read.
//!
//! A check must fail inside the visitor that reads the value: serde_json fixes a
//! data error's position when the `deserialize_*` call that read the value
//! returns, and the loader finds the field from that position
//! (`config::json_path`). An error raised after `String::deserialize` returned
//! would get the position of whatever the enclosing map or list read next: after
//! its closing bracket when the value was its last one, so the enclosing field.

pub mod fields;

use std::fmt::Display;

use serde::Deserializer;
use serde::de::{DeserializeSeed, EnumAccess, Error, VariantAccess, Visitor};

/// Reads a string and hands it to `read`, whose error becomes the deserializer's.
/// The text is only borrowed: an owned copy of every method, pattern and metric
/// name of thousands of rules would be allocated only to be freed again.
pub fn read_str<'de, D, T, E>(
    deserializer: D,
    read: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: Display,
{
    struct Text<F>(F);
    impl<T, E, F> Visitor<'_> for Text<F>
    where
        E: Display,
        F: FnOnce(&str) -> Result<T, E>,
    {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<Failure: Error>(self, text: &str) -> Result<T, Failure> {
            (self.0)(text).map_err(Failure::custom)
        }
    }
    deserializer.deserialize_str(Text(read))
}

/// Reads a unit variant of an enum written as its name (or, as serde_json also
/// takes it, `{"name": null}`): the position of the name in `variants`. One visitor
/// for every such enum of the configuration, instead of a derived one each (with
/// the deserializer's enum reading inlined into it); the messages are the derived
/// ones (`unknown variant`, `expected enum Name`).
pub fn read_variant<'de, D: Deserializer<'de>>(
    deserializer: D,
    expecting: &'static str,
    variants: &'static [&'static str],
) -> Result<usize, D::Error> {
    deserializer.deserialize_enum(
        "",
        variants,
        UnitVariant {
            expecting,
            variants,
        },
    )
}

struct UnitVariant {
    expecting: &'static str,
    variants: &'static [&'static str],
}

impl<'de> Visitor<'de> for UnitVariant {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<usize, A::Error> {
        let (index, variant) = data.variant_seed(VariantName(self.variants))?;
        variant.unit_variant()?;
        Ok(index)
    }
}

/// A variant's name: its position, or an unknown-variant error.
struct VariantName(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for VariantName {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for VariantName {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("variant identifier")
    }

    fn visit_str<E: Error>(self, name: &str) -> Result<usize, E> {
        self.0
            .iter()
            .position(|known| *known == name)
            .ok_or_else(|| E::unknown_variant(name, self.0))
    }
}
