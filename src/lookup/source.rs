//! Resolving one lookup query against a request (SPEC section 4): read the source's value
//! for the first key found, then run the query's ops on it.
//!
//! A key is *found* when the source has a usable value for it; a present but unusable
//! value counts as absent and the next key is tried:
//!
//! - `header`: the header of that name, ASCII-lowercased first (Envoy stores header names
//!   in lowercase, so `Authorization` in a configuration still means something); its
//!   bytes must be UTF-8.
//! - `query_string`: the first parameter whose form-decoded name equals the key (so
//!   `app%5Fid` is `app_id`); its value, form-decoded, must be UTF-8. `?key` and `?key=`
//!   give `""`. When that first parameter does not decode, later ones of the same name are
//!   not tried: a request naming a parameter twice gets no second chance.
//! - `filter`: the walk of [`metadata_values`] (path of at least two segments).
//!
//! Once a key is found, its value is the query's value: ops run on it, and if they fail the
//! query fails without trying the remaining keys ("the first key found wins").

use std::fmt;

use super::credentials::Origin;
use super::format::metadata_values;
use super::ops::{self, OpFailure, Stack};
use super::query::{FilterSource, KeyedSource, LookupQuery};
use crate::request::RequestView;

/// The values a lookup query resolved to and where they were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The stack after the ops: never empty; index 0 is the bottom.
    pub values: Stack,
    /// Where the source's value was read from.
    pub origin: Origin,
}

/// Why a lookup query did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// No key gave a usable value.
    NotFound,
    /// A `filter` query whose path has fewer than two segments.
    ShortPath,
    /// An op failed.
    OpFailed(OpFailure),
    /// The ops left an empty stack.
    EmptyStack,
}

/// The reason of an op failure is left out: it is free text that may quote the values on
/// the stack, and those can be secrets.
impl fmt::Display for Unresolved {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unresolved::NotFound => formatter.write_str("no key has a usable value"),
            Unresolved::ShortPath => {
                formatter.write_str("the filter path needs at least two segments")
            }
            Unresolved::OpFailed(failure) => {
                write!(formatter, "op #{} (`{}`) failed", failure.index, failure.op)
            }
            Unresolved::EmptyStack => formatter.write_str("the ops left an empty stack"),
        }
    }
}

/// Resolves one lookup query: the source's value for the first key found, then its ops.
pub fn resolve_query(
    query: &LookupQuery,
    request: &dyn RequestView,
) -> Result<Resolution, Unresolved> {
    let (stack, origin, query_ops) = match query {
        LookupQuery::Header(source) => {
            let (value, origin) = header_value(source, request).ok_or(Unresolved::NotFound)?;
            (vec![value], origin, &source.ops)
        }
        LookupQuery::QueryString(source) => {
            let (value, origin) =
                query_string_value(source, request).ok_or(Unresolved::NotFound)?;
            (vec![value], origin, &source.ops)
        }
        LookupQuery::Filter(source) => (
            filter_values(source, request)?,
            Origin::Metadata,
            &source.ops,
        ),
    };
    let values = ops::run(query_ops, stack).map_err(Unresolved::OpFailed)?;
    if values.is_empty() {
        return Err(Unresolved::EmptyStack);
    }
    Ok(Resolution { values, origin })
}

fn header_value(source: &KeyedSource, request: &dyn RequestView) -> Option<(String, Origin)> {
    source.keys.iter().find_map(|key| {
        let name = key.to_ascii_lowercase();
        let bytes = request.header(&name)?;
        let value = String::from_utf8(bytes.into_owned()).ok()?;
        Some((value, Origin::Header(name)))
    })
}

fn query_string_value(source: &KeyedSource, request: &dyn RequestView) -> Option<(String, Origin)> {
    let query = request.query()?;
    source.keys.iter().find_map(|key| {
        let value = query_parameter(&query, key)?;
        Some((value, Origin::QueryParameter(key.clone())))
    })
}

fn filter_values(source: &FilterSource, request: &dyn RequestView) -> Result<Stack, Unresolved> {
    if source.path.len() < 2 {
        return Err(Unresolved::ShortPath);
    }
    let metadata = request.metadata().ok_or(Unresolved::NotFound)?;
    metadata_values(&metadata, &source.path, &source.keys).ok_or(Unresolved::NotFound)
}

/// The form-decoded value of the first parameter of a raw query string whose form-decoded
/// name is `name`; `None` when there is no such parameter or its value is not UTF-8 once
/// decoded. A parameter without `=` has the value `""`.
pub fn query_parameter(query: &str, name: &str) -> Option<String> {
    let (_, raw_value) = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(raw_name, _)| decode_form_component(raw_name).as_deref() == Some(name))?;
    decode_form_component(raw_value)
}

/// Form-decodes one name or value of a query string: `+` is a space and `%XX` (two hex
/// digits) is that byte; a `%` not followed by two hex digits stays as it is (as browsers
/// and the WHATWG URL standard do). `None` when the bytes are not UTF-8.
pub fn decode_form_component(raw: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => match tail {
                [high, low, after @ ..] => match (hex_digit(*high), hex_digit(*low)) {
                    (Some(high), Some(low)) => {
                        bytes.push(high << 4 | low);
                        rest = after;
                    }
                    _ => bytes.push(b'%'),
                },
                _ => bytes.push(b'%'),
            },
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}
