//! Integers in configuration, written either as integers or as whole floats.
//!
//! Istio turns `WasmPlugin.spec.pluginConfig` into JSON through a protobuf
//! `Struct`, so every number may arrive as a float (`5000.0`). A whole float is
//! accepted wherever an integer is expected; a fraction or an out-of-range value
//! is an error that names the expected range.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// An integer field of type `T` that also accepts a whole float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole<T>(pub T);

/// Largest integer that a float holds exactly (2^53).
const EXACT_FLOAT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// An integer type configuration values are read into: its range and name, so that
/// one visitor (not one per type) reads them all, and refuses a value out of range
/// while it is read (`crate::de`).
pub trait Integer: TryFrom<i128> {
    /// The range and name of the type.
    const RANGE: Range;
}

/// The values of an integer type, and its name for messages.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    min: i128,
    max: i128,
    name: &'static str,
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl Integer for $t {
            const RANGE: Range = Range {
                min: <$t>::MIN as i128,
                max: <$t>::MAX as i128,
                name: stringify!($t),
            };
        }
    )*};
}
integer!(u8, u16, u32, u64, usize, i32, i64);

/// Reads an integer or a whole float within a [`Range`].
struct WholeVisitor(Range);

impl WholeVisitor {
    fn convert<E: de::Error>(&self, value: i128) -> Result<i128, E> {
        if (self.0.min..=self.0.max).contains(&value) {
            Ok(value)
        } else {
            Err(E::custom(format_args!(
                "integer {value} is out of range for {}",
                self.0.name
            )))
        }
    }
}

impl Visitor<'_> for WholeVisitor {
    type Value = i128;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an integer ({})", self.0.name)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i128, E> {
        self.convert(i128::from(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i128, E> {
        self.convert(i128::from(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i128, E> {
        if !value.is_finite() || value.fract() != 0.0 || value.abs() > EXACT_FLOAT_LIMIT {
            return Err(E::invalid_value(de::Unexpected::Float(value), &self));
        }
        // The checks above make this conversion exact.
        self.convert(value as i128)
    }
}

/// Reads an integer of type `T`, checking its range inside the visitor.
fn read<'de, D: Deserializer<'de>, T: Integer>(deserializer: D) -> Result<T, D::Error> {
    let value = deserializer.deserialize_any(WholeVisitor(T::RANGE))?;
    // In range, so the conversion cannot fail; the error is only there to avoid a panic.
    T::try_from(value).map_err(|_| de::Error::custom("integer out of range"))
}

impl<'de, T: Integer> Deserialize<'de> for Whole<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        read(deserializer).map(Whole)
    }
}

/// For `#[serde(deserialize_with = "integer::whole")]` on an integer field.
pub fn whole<'de, D: Deserializer<'de>, T: Integer>(deserializer: D) -> Result<T, D::Error> {
    read(deserializer)
}

/// Like [`whole`], with a check of the value that fails inside the visitor, so
/// that the error is placed at the value (`crate::de`).
pub fn whole_checked<'de, D: Deserializer<'de>, T: Integer>(
    deserializer: D,
    check: fn(&T) -> Result<(), &'static str>,
) -> Result<T, D::Error> {
    deserializer.deserialize_any(CheckedVisitor(check))
}

struct CheckedVisitor<T>(fn(&T) -> Result<(), &'static str>);

impl<T: Integer> CheckedVisitor<T> {
    fn checked<E: de::Error>(&self, read: Result<i128, E>) -> Result<T, E> {
        let value = T::try_from(read?).map_err(|_| E::custom("integer out of range"))?;
        (self.0)(&value).map_err(E::custom)?;
        Ok(value)
    }
}

impl<T: Integer> Visitor<'_> for CheckedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        WholeVisitor(T::RANGE).expecting(f)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        self.checked(WholeVisitor(T::RANGE).visit_i64(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        self.checked(WholeVisitor(T::RANGE).visit_u64(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        self.checked(WholeVisitor(T::RANGE).visit_f64(value))
    }
}

/// For `#[serde(default, deserialize_with = "integer::optional")]` on an `Option` field.
/// An explicit `null` is the same as leaving the field out.
pub fn optional<'de, D: Deserializer<'de>, T: Integer>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    Option::<Whole<T>>::deserialize(deserializer).map(|value| value.map(|Whole(v)| v))
}

/// For `#[serde(deserialize_with = "integer::list")]` on a `Vec` field.
pub fn list<'de, D: Deserializer<'de>, T: Integer>(deserializer: D) -> Result<Vec<T>, D::Error> {
    Vec::<Whole<T>>::deserialize(deserializer)
        .map(|values| values.into_iter().map(|Whole(v)| v).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: Integer>(json: &str) -> Result<T, String> {
        serde_json::from_str::<Whole<T>>(json)
            .map(|Whole(v)| v)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_integers_and_whole_floats() {
        assert_eq!(parse::<u64>("5000"), Ok(5000));
        assert_eq!(parse::<u64>("5000.0"), Ok(5000));
        assert_eq!(parse::<i64>("-2"), Ok(-2));
        assert_eq!(parse::<i64>("-2.0"), Ok(-2));
        assert_eq!(parse::<usize>("1e3"), Ok(1000));
    }

    #[test]
    fn rejects_fractions_out_of_range_and_non_numbers() {
        assert!(parse::<u64>("1.5").unwrap_err().contains("1.5"));
        assert!(parse::<u64>("-1").unwrap_err().contains("out of range"));
        assert!(parse::<u8>("256").unwrap_err().contains("out of range"));
        assert!(parse::<u64>("1e300").is_err());
        assert!(parse::<u64>("\"7\"").is_err());
        assert!(parse::<u64>("true").is_err());
    }

    #[test]
    fn yaml_numbers_work_too() {
        let value: Whole<u32> = serde_yaml::from_str("300").unwrap();
        assert_eq!(value, Whole(300));
        let value: Whole<u32> = serde_yaml::from_str("300.0").unwrap();
        assert_eq!(value, Whole(300));
    }
}
