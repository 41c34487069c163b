//! The document as JSON text, plain scalars resolved as serde_yaml 0.9 resolves
//! them when read into a JSON value.

use std::num::ParseIntError;

use super::error::{Problem, YamlError};
use super::{Node, Value};
use crate::json_text::push_string;

/// The document as compact JSON text, keys in the order written.
pub fn to_json(root: &Node) -> Result<String, YamlError> {
    let mut out = String::new();
    write_node(&mut out, root)?;
    Ok(out)
}

/// Writes one node; recursion is bounded by the reader's nesting limit.
#[inline(never)]
fn write_node(out: &mut String, node: &Node) -> Result<(), YamlError> {
    match &node.value {
        Value::Scalar { text, plain: true } => write_plain(out, node, text)?,
        Value::Scalar { text, plain: false } => push_string(out, text),
        Value::Sequence(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_node(out, item)?;
            }
            out.push(']');
        }
        Value::Mapping(entries) => {
            out.push('{');
            for (index, entry) in entries.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                push_string(out, &entry.key);
                out.push(':');
                write_node(out, &entry.value)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// What a plain scalar means.
#[derive(Debug, PartialEq)]
pub(super) enum Resolved {
    Null,
    Bool(bool),
    Unsigned(u64),
    Negative(i64),
    /// Finite, or not (which JSON writes as null, as serde_json's value does).
    Float(f64),
    /// An integer that needs more than 64 bits.
    OutOfRange,
    Text,
}

#[inline(never)]
fn write_plain(out: &mut String, node: &Node, text: &str) -> Result<(), YamlError> {
    match resolve(text) {
        Resolved::Null => out.push_str("null"),
        Resolved::Bool(true) => out.push_str("true"),
        Resolved::Bool(false) => out.push_str("false"),
        Resolved::Unsigned(n) => out.push_str(&n.to_string()),
        Resolved::Negative(n) => out.push_str(&n.to_string()),
        Resolved::Float(f) if f.is_finite() => out.push_str(&format!("{f:?}")),
        Resolved::Float(_) => out.push_str("null"),
        Resolved::OutOfRange => {
            return Err(YamlError::new(
                node.at,
                Problem::IntegerRange(text.to_owned()),
            ));
        }
        Resolved::Text => push_string(out, text),
    }
    Ok(())
}

/// Resolves a plain scalar: null, a boolean, an integer, a float, else text.
#[inline(never)]
pub(super) fn resolve(text: &str) -> Resolved {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Resolved::Null;
    }
    match text {
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        _ => {}
    }
    if let Some(n) = unsigned(text, u64::from_str_radix) {
        return Resolved::Unsigned(n);
    }
    if let Some(n) = negative(text, i64::from_str_radix) {
        return Resolved::Negative(n);
    }
    if unsigned(text, u128::from_str_radix).is_some()
        || negative(text, i128::from_str_radix).is_some()
    {
        return Resolved::OutOfRange;
    }
    match float(text) {
        Some(f) if !zero_padded_digits(text) => Resolved::Float(f),
        _ => Resolved::Text,
    }
}

type Radix<T> = fn(&str, u32) -> Result<T, ParseIntError>;

const PREFIXES: [(&str, u32); 3] = [("0x", 16), ("0o", 8), ("0b", 2)];

/// A non-negative integer: decimal, or `0x`, `0o`, `0b`; an optional `+`.
fn unsigned<T>(text: &str, parse: Radix<T>) -> Option<T> {
    let body = text.strip_prefix('+').unwrap_or(text);
    for (prefix, radix) in PREFIXES {
        if let Some(digits) = body.strip_prefix(prefix) {
            if digits.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(n) = parse(digits, radix) {
                return Some(n);
            }
        }
    }
    if body.starts_with(['+', '-']) || zero_padded_digits(text) {
        return None;
    }
    parse(body, 10).ok()
}

/// A negative integer: `-` and decimal, or `-0x`, `-0o`, `-0b`.
fn negative<T>(text: &str, parse: Radix<T>) -> Option<T> {
    if let Some(rest) = text.strip_prefix('-') {
        for (prefix, radix) in PREFIXES {
            if let Some(digits) = rest.strip_prefix(prefix)
                && let Ok(n) = parse(&format!("-{digits}"), radix)
            {
                return Some(n);
            }
        }
    }
    if zero_padded_digits(text) {
        return None;
    }
    parse(text, 10).ok()
}

/// `+.inf`, `-.inf`, `.nan` in their three spellings, or a decimal float.
fn float(text: &str) -> Option<f64> {
    let body = match text.strip_prefix('+') {
        Some(body) if body.starts_with(['+', '-']) => return None,
        Some(body) => body,
        None => text,
    };
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return Some(f64::INFINITY);
    }
    if matches!(text, "-.inf" | "-.Inf" | "-.INF") {
        return Some(f64::NEG_INFINITY);
    }
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN);
    }
    body.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Digits with a leading zero (`007`, `-01`): text in YAML 1.2, not a number.
fn zero_padded_digits(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}
