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
use serde::de::{Error, Visitor};

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
