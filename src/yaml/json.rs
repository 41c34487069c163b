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
    /// A finite float, as a JSON number.
    Float(String),
    /// `.inf`, `-.inf`, `.nan`: JSON writes them as null, as serde_json's value does.
    NonFinite,
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
        Resolved::Float(number) => out.push_str(&number),
        Resolved::NonFinite => out.push_str("null"),
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
    if zero_padded_digits(text) {
        return Resolved::Text;
    }
    float(text).unwrap_or(Resolved::Text)
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

/// `+.inf`, `-.inf`, `.nan` in their three spellings, or a finite decimal float.
fn float(text: &str) -> Option<Resolved> {
    let body = match text.strip_prefix('+') {
        Some(body) if body.starts_with(['+', '-']) => return None,
        Some(body) => body,
        None => text,
    };
    if matches!(body, ".inf" | ".Inf" | ".INF")
        || matches!(text, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
    {
        return Some(Resolved::NonFinite);
    }
    let number = decimal_float(body)?;
    // Finite: serde_json refuses a number beyond f64's range (which serde_yaml read as
    // text), and reads it as the configuration's reader will.
    let finite = serde_json::from_str::<f64>(&number).is_ok_and(f64::is_finite);
    finite.then_some(Resolved::Float(number))
}

/// A decimal float as Rust's `f64` parser reads one (an optional `-`, digits with at most
/// one `.` and at least one digit, an optional exponent), written as a JSON number that
/// stays a float: `.5` → `0.5`, `5.` → `5.0`, `007.5` → `7.5`. Not parsed into an `f64`
/// here: the standard library's decimal parser was about 17 KB of the module, and
/// serde_json reads the text anyway.
fn decimal_float(text: &str) -> Option<String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (unsigned.get(..at)?, unsigned.get(at + 1..)),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let exponent_digits =
        exponent.map(|exponent| exponent.strip_prefix(['+', '-']).unwrap_or(exponent));
    if exponent_digits.is_some_and(|digits_of| digits_of.is_empty() || !digits(digits_of)) {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    let mut number = String::with_capacity(text.len() + 3);
    if negative {
        number.push('-');
    }
    number.push_str(if whole.is_empty() { "0" } else { whole });
    if !fraction.is_empty() || exponent.is_none() {
        number.push('.');
        number.push_str(if fraction.is_empty() { "0" } else { fraction });
    }
    if let Some(exponent) = exponent {
        number.push('e');
        number.push_str(exponent);
    }
    Some(number)
}

/// Digits with a leading zero (`007`, `-01`): text in YAML 1.2, not a number.
fn zero_padded_digits(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    /// What serde_yaml 0.9 made of a plain scalar that is no integer: Rust's `f64` parser,
    /// finite values only.
    fn reference(text: &str) -> Option<f64> {
        let body = text.strip_prefix('+').unwrap_or(text);
        if text.starts_with('+') && body.starts_with(['+', '-']) {
            return None;
        }
        body.parse::<f64>().ok().filter(|value| value.is_finite())
    }

    /// Ours: the JSON number's value as serde_json reads it.
    fn ours(text: &str) -> Option<f64> {
        match float(text) {
            Some(Resolved::Float(number)) => Some(serde_json::from_str(&number).unwrap()),
            Some(other) => panic!("{text}: {other:?}"),
            None => None,
        }
    }

    /// Compares the two on `text`; whether it was a float.
    fn check(text: &str) -> bool {
        if matches!(float(text), Some(Resolved::NonFinite)) {
            return false;
        }
        let (ours, reference) = (ours(text), reference(text));
        assert_eq!(
            ours.map(f64::to_bits),
            reference.map(f64::to_bits),
            "{text:?}: {ours:?} against {reference:?}"
        );
        reference.is_some()
    }

    #[test]
    fn floats_are_those_rusts_parser_reads_every_short_text() {
        let symbols = ['0', '1', '9', '.', 'e', 'E', '+', '-'];
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            texts = texts
                .iter()
                .flat_map(|text| symbols.iter().map(move |symbol| format!("{text}{symbol}")))
                .collect();
            texts.iter().for_each(|text| {
                check(text);
            });
        }
    }

    #[test]
    fn floats_are_those_rusts_parser_reads() {
        for text in [
            "1.5",
            "-1e3",
            "1E+2",
            ".5",
            "5.",
            "-.5",
            "0.",
            "-0.0",
            "007.5",
            "1.e5",
            "1e400",
            "1e-400",
            "-1e-400",
            "0e99999999999999999999",
            "1e99999999999999999999",
            "1e-99999999999999999999",
            "340282366920938463463374607431768211456",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "2.2250738585072014e-308",
            "4.9e-324",
            "0.1",
            "123456789.123456789",
            "1_0.5",
            "1.5 ",
            "inf",
            "infinity",
            "nan",
            "-inf",
            "0x1p3",
            "1e",
            "e1",
            ".",
            "-",
            "+",
            "1..2",
            "1e1.5",
        ] {
            check(text);
        }
        let mut floats = 0;
        let mut rng = XorShift::new(0x5eed);
        for _ in 0..20_000 {
            let digits = |rng: &mut XorShift, most: usize| -> String {
                let count = rng.below(most);
                (0..count)
                    .map(|_| rng.pick(&['0', '1', '2', '5', '7', '9']))
                    .collect()
            };
            let whole = digits(&mut rng, 18);
            let fraction = digits(&mut rng, 18);
            let exponent = digits(&mut rng, 4);
            let text = format!(
                "{}{whole}{}{fraction}{}",
                rng.pick(&["", "-", "+"]),
                rng.pick(&[".", ".", ""]),
                if exponent.is_empty() {
                    String::new()
                } else {
                    format!("e{}{exponent}", rng.pick(&["", "-", "+"]))
                }
            );
            floats += usize::from(check(&text));
        }
        assert!(floats > 10_000, "{floats} floats compared");
    }
}
