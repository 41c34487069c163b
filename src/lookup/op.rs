//! The ops of the stack machine as configuration data (docs/behaviour.md §5).
//!
//! An op is written as a one-key map `{name: params}`, or as a bare string when
//! every parameter of that op is optional (`"dup"`, `"split"`); `{name: null}` and
//! `{name: {}}` mean the same as the bare name. Unknown op names, unknown
//! parameters and maps with other than one key are errors that name the culprit.
//!
//! Deserialization goes through a map visitor and a `DeserializeSeed` for the
//! parameters, and checks of parameters run inside the visitor that read them, so
//! that the loader can tell the field of an error from where the JSON reader
//! stopped (`config::json_path`): paths such as `[1].split.max`.

use std::fmt;

use serde::Deserialize;
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

use crate::glob::Glob;
use crate::integer::{self, Whole};

mod params;

use crate::de::fields::{Need, Shape, Spec, read_any, read_map, read_struct, unchecked};
use params::{Kind, Params};

/// One op of the stack machine, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Pops, decodes base64 (either alphabet, padding optional), pushes the UTF-8 text.
    Base64Standard,
    /// Same as [`Op::Base64Standard`]: both accept both alphabets.
    Base64Urlsafe,
    /// Checks the length of the top value.
    Strlen(Strlen),
    /// Reverses the characters (Unicode scalar values) of the top value.
    Strrev,
    /// Pops the top value and pushes its pieces, left to right.
    Split(Split),
    /// Pops the top value and pushes its pieces taken from the right, right to left.
    Rsplit(Split),
    /// Replaces occurrences of a pattern in the top value.
    Replace(Replace),
    /// Checks that the top value starts with the string.
    Prefix(String),
    /// Checks that the top value ends with the string.
    Suffix(String),
    /// Checks that the top value contains the string.
    Substr(String),
    /// Checks that any of the patterns matches the whole top value.
    Glob(Vec<Glob>),
    /// Checks the number of values on the stack.
    Length(Length),
    /// Joins all values, bottom to top, with the separator into one value.
    Join(String),
    /// Reverses the stack.
    Reverse,
    /// Checks that some value equals the string.
    Contains(String),
    /// Pushes the string.
    Push(String),
    /// Removes that many values from the top.
    Pop(usize),
    /// Pushes a copy of the value at the (Ruby-style) index.
    Dup(i64),
    /// Replaces the top value with the string.
    Xchg(String),
    /// Swaps the values at two (Ruby-style) indexes.
    Swap(Swap),
    /// Keeps the values at these (Ruby-style) indexes, in this order.
    Indexes(Vec<i64>),
    /// Keeps the first `head` and the last `tail` values.
    Take(Ends),
    /// Removes the first `head` and the last `tail` values.
    Drop(Ends),
    /// Runs the ops on each value alone and concatenates the outputs.
    FlatMap(Vec<Op>),
    /// Keeps the values on which the ops succeed.
    Select(Vec<Op>),
    /// Logs the stack.
    Values(Values),
    /// Always succeeds.
    Ok,
    /// Always fails.
    Fail,
    /// Succeeds when any op succeeds on the stack.
    Any(Vec<Op>),
    /// Succeeds when exactly one op succeeds on the stack.
    OneOf(Vec<Op>),
    /// Succeeds when every op succeeds on the stack (no ops: succeeds).
    All(Vec<Op>),
    /// Succeeds when no op succeeds on the stack.
    None(Vec<Op>),
    /// Succeeds when the ops, run in sequence on a copy, succeed.
    Assert(Vec<Op>),
    /// Succeeds when the ops, run in sequence on a copy, fail.
    Refute(Vec<Op>),
    /// Runs one branch or the other depending on a condition.
    Test(Test),
    /// Runs the ops in sequence.
    And(Vec<Op>),
    /// Keeps the result of the first op that succeeds.
    Or(Vec<Op>),
    /// Keeps the result of the only op that succeeds.
    Xor(Vec<Op>),
    /// Runs the ops on a copy and adds their output to the stack.
    Cloned(Cloned),
    /// Runs the ops on the top values and puts their output back.
    Partial(Partial),
    /// Runs the ops on the top value and puts their output back on top.
    Top(Vec<Op>),
    /// Logs a message.
    Log(Log),
    /// Pops a JSON document and pushes the values found in it.
    Json(Document),
    /// Pops a binary `google.protobuf.Struct` and pushes the values found in it.
    Protobuf(Document),
}

/// Every op name, in the order the docs/behaviour.md lists them (used in error messages).
pub const OP_NAMES: &[&str] = &[
    "base64_standard",
    "base64_urlsafe",
    "strlen",
    "strrev",
    "split",
    "rsplit",
    "replace",
    "prefix",
    "suffix",
    "substr",
    "glob",
    "length",
    "join",
    "reverse",
    "contains",
    "push",
    "pop",
    "dup",
    "xchg",
    "swap",
    "indexes",
    "take",
    "drop",
    "flat_map",
    "select",
    "values",
    "ok",
    "fail",
    "any",
    "one_of",
    "all",
    "none",
    "assert",
    "refute",
    "test",
    "and",
    "or",
    "xor",
    "cloned",
    "partial",
    "top",
    "log",
    "json",
    "protobuf",
];

impl Op {
    /// The op's name as written in configuration.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Base64Standard => "base64_standard",
            Op::Base64Urlsafe => "base64_urlsafe",
            Op::Strlen(_) => "strlen",
            Op::Strrev => "strrev",
            Op::Split(_) => "split",
            Op::Rsplit(_) => "rsplit",
            Op::Replace(_) => "replace",
            Op::Prefix(_) => "prefix",
            Op::Suffix(_) => "suffix",
            Op::Substr(_) => "substr",
            Op::Glob(_) => "glob",
            Op::Length(_) => "length",
            Op::Join(_) => "join",
            Op::Reverse => "reverse",
            Op::Contains(_) => "contains",
            Op::Push(_) => "push",
            Op::Pop(_) => "pop",
            Op::Dup(_) => "dup",
            Op::Xchg(_) => "xchg",
            Op::Swap(_) => "swap",
            Op::Indexes(_) => "indexes",
            Op::Take(_) => "take",
            Op::Drop(_) => "drop",
            Op::FlatMap(_) => "flat_map",
            Op::Select(_) => "select",
            Op::Values(_) => "values",
            Op::Ok => "ok",
            Op::Fail => "fail",
            Op::Any(_) => "any",
            Op::OneOf(_) => "one_of",
            Op::All(_) => "all",
            Op::None(_) => "none",
            Op::Assert(_) => "assert",
            Op::Refute(_) => "refute",
            Op::Test(_) => "test",
            Op::And(_) => "and",
            Op::Or(_) => "or",
            Op::Xor(_) => "xor",
            Op::Cloned(_) => "cloned",
            Op::Partial(_) => "partial",
            Op::Top(_) => "top",
            Op::Log(_) => "log",
            Op::Json(_) => "json",
            Op::Protobuf(_) => "protobuf",
        }
    }
}

/// How `strlen` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrlenMode {
    /// Unicode scalar values (characters).
    #[default]
    Utf8,
    /// Bytes of the UTF-8 encoding.
    Bytes,
}

/// Read by name (`crate::de::read_variant`), as a derived impl with lowercase names did.
impl<'de> Deserialize<'de> for StrlenMode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["utf8", "bytes"];
        let index = crate::de::read_variant(deserializer, "enum StrlenMode", NAMES)?;
        Ok([StrlenMode::Utf8, StrlenMode::Bytes]
            .get(index)
            .copied()
            .unwrap_or_default())
    }
}

/// `strlen {min?, max?, mode: utf8|bytes}`; both bounds are inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Strlen {
    /// Smallest accepted length.
    pub min: Option<usize>,
    /// Largest accepted length.
    pub max: Option<usize>,
    /// Characters or bytes.
    pub mode: StrlenMode,
}

/// `split` and `rsplit`: `{separator: ":", max: 0}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The separator; never empty.
    pub separator: String,
    /// Maximum number of pieces; 0 means no limit.
    pub max: usize,
}

impl Default for Split {
    fn default() -> Self {
        Split {
            separator: ":".to_owned(),
            max: 0,
        }
    }
}

/// `replace {pattern, with, max: 0}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replace {
    /// The text to look for; never empty.
    pub pattern: String,
    /// Its replacement.
    pub with: String,
    /// Most replacements, from the left; 0 replaces all.
    pub max: usize,
}

/// `length {min?, max?}`; both bounds are inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Length {
    /// Fewest accepted values.
    pub min: Option<usize>,
    /// Most accepted values.
    pub max: Option<usize>,
}

/// `swap {from, to}` with Ruby-style indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swap {
    /// One index.
    pub from: i64,
    /// The other index.
    pub to: i64,
}

/// `take`/`drop` `{head?, tail?}`: counts from the bottom and from the top.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ends {
    /// Values counted from the bottom.
    pub head: Option<usize>,
    /// Values counted from the top.
    pub tail: Option<usize>,
}

/// Level of the `values` and `log` ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// Trace.
    Trace,
    /// Debug.
    Debug,
    /// Info (default).
    #[default]
    Info,
    /// Warn.
    Warn,
    /// Error.
    Error,
}

/// Read by name (`crate::de::read_variant`), as a derived impl with lowercase names did.
impl<'de> Deserialize<'de> for LogLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["trace", "debug", "info", "warn", "error"];
        let index = crate::de::read_variant(deserializer, "enum LogLevel", NAMES)?;
        Ok([
            LogLevel::Trace,
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error,
        ]
        .get(index)
        .copied()
        .unwrap_or_default())
    }
}

impl LogLevel {
    /// The matching `log` crate level.
    pub fn to_log(self) -> log::Level {
        match self {
            LogLevel::Trace => log::Level::Trace,
            LogLevel::Debug => log::Level::Debug,
            LogLevel::Info => log::Level::Info,
            LogLevel::Warn => log::Level::Warn,
            LogLevel::Error => log::Level::Error,
        }
    }
}

/// `values {level: info, id: ""}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Values {
    /// Log level.
    pub level: LogLevel,
    /// Label that tells several `values` ops apart in the log.
    pub id: String,
}

/// `log {level: info, msg}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// Log level.
    pub level: LogLevel,
    /// The message.
    pub msg: String,
}

/// `test {if: op, then: [ops], else: [ops]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// The condition: one op, run on a copy.
    pub condition: Box<Op>,
    /// Ops run when the condition succeeds.
    pub then: Vec<Op>,
    /// Ops run when it fails; none leaves the stack unchanged.
    pub otherwise: Vec<Op>,
}

/// Where `cloned` and `partial` put the output of their ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placement {
    /// On top of the stack (default).
    #[default]
    Append,
    /// Below the stack.
    Prepend,
}

/// Read by name (`crate::de::read_variant`), as a derived impl with lowercase names did.
impl<'de> Deserialize<'de> for Placement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["append", "prepend"];
        let index = crate::de::read_variant(deserializer, "enum Placement", NAMES)?;
        Ok([Placement::Append, Placement::Prepend]
            .get(index)
            .copied()
            .unwrap_or_default())
    }
}

/// `cloned {result: append|prepend, ops}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cloned {
    /// Where the output goes.
    pub result: Placement,
    /// Ops run on the copy.
    pub ops: Vec<Op>,
}

/// `partial {result, max: 1, ops}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    /// Where the output goes.
    pub result: Placement,
    /// Most top values detached; at least 1.
    pub max: usize,
    /// Ops run on the detached values.
    pub ops: Vec<Op>,
}

fn one() -> usize {
    1
}

/// `json`/`protobuf` `{path: [], keys: []}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// Segments walked from the document root.
    pub path: Vec<String>,
    /// Keys tried in order at the end of the path; none means the path result itself.
    pub keys: Vec<String>,
}

/// One piece of `json`/`protobuf` parameters; the list form merges several.
#[derive(Debug, Default)]
struct DocumentPart {
    path: Option<Vec<String>>,
    keys: Option<Vec<String>>,
}

impl DocumentPart {
    /// Adds `other`'s fields; a field given in both is an error.
    fn merge<E: de::Error>(&mut self, other: DocumentPart) -> Result<(), E> {
        merge_field(&mut self.path, other.path, "path")?;
        merge_field(&mut self.keys, other.keys, "keys")
    }

    fn into_document(self) -> Document {
        Document {
            path: self.path.unwrap_or_default(),
            keys: self.keys.unwrap_or_default(),
        }
    }
}

fn merge_field<E: de::Error>(
    slot: &mut Option<Vec<String>>,
    value: Option<Vec<String>>,
    name: &str,
) -> Result<(), E> {
    match (slot.is_some(), value) {
        (true, Some(_)) => Err(E::custom(format_args!("`{name}` is given twice"))),
        (false, Some(value)) => {
            *slot = Some(value);
            Ok(())
        }
        (_, None) => Ok(()),
    }
}

impl<'de> Deserialize<'de> for Op {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OpVisitor)
    }
}

struct OpVisitor;

impl<'de> Visitor<'de> for OpVisitor {
    type Value = Op;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an op: its name, or a map with one key (the op name) holding its parameters")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Op, E> {
        bare_op(name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Op, A::Error> {
        let Some(name) = map.next_key::<String>()? else {
            return Err(de::Error::custom(
                "an op must be a map with exactly one key (the op name), found an empty map",
            ));
        };
        let op = map.next_value_seed(ParamsSeed { name: &name })?;
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format_args!(
                "an op must be a map with exactly one key, found `{name}` and `{extra}` \
                 (write each op as its own list item)"
            )));
        }
        Ok(op)
    }
}

/// Deserializes the parameters of the op called `name`.
struct ParamsSeed<'a> {
    name: &'a str,
}

impl<'de> DeserializeSeed<'de> for ParamsSeed<'_> {
    type Value = Op;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Op, D::Error> {
        parse_params(self.name, deserializer)
    }
}

/// An op written as its bare name: what `{name: null}` gives ([`parse_params`]), or
/// an error when the op needs parameters. Not `parse_params` on a unit
/// deserializer: that would compile every parameter type's `Deserialize` a
/// second time, for that deserializer.
fn bare_op<E: de::Error>(name: &str) -> Result<Op, E> {
    let op = match name {
        "base64_standard" => Op::Base64Standard,
        "base64_urlsafe" => Op::Base64Urlsafe,
        "strlen" => Op::Strlen(Strlen::default()),
        "strrev" => Op::Strrev,
        "split" => Op::Split(Split::default()),
        "rsplit" => Op::Rsplit(Split::default()),
        "length" => Op::Length(Length::default()),
        "join" => Op::Join(String::new()),
        "reverse" => Op::Reverse,
        "pop" => Op::Pop(DEFAULT_POP),
        "dup" => Op::Dup(DEFAULT_DUP),
        "take" => Op::Take(Ends::default()),
        "drop" => Op::Drop(Ends::default()),
        "values" => Op::Values(Values::default()),
        "ok" => Op::Ok,
        "fail" => Op::Fail,
        "json" => Op::Json(Document::default()),
        "protobuf" => Op::Protobuf(Document::default()),
        known if OP_NAMES.contains(&known) => return Err(needs_parameters(known)),
        unknown => return Err(unknown_op(unknown)),
    };
    Ok(op)
}

/// How many values `pop` removes, and which one `dup` copies, when not told.
const DEFAULT_POP: usize = 1;
const DEFAULT_DUP: i64 = -1;

fn unknown_op<E: de::Error>(name: &str) -> E {
    E::custom(format_args!(
        "unknown op `{name}`, expected one of: {}",
        OP_NAMES.join(", ")
    ))
}

/// The op called `name` with the parameters `d` holds.
fn parse_params<'de, D: Deserializer<'de>>(name: &str, d: D) -> Result<Op, D::Error> {
    let op = match name {
        "base64_standard" => no_params(d).map(|()| Op::Base64Standard)?,
        "base64_urlsafe" => no_params(d).map(|()| Op::Base64Urlsafe)?,
        "strlen" => Op::Strlen(strlen(read_any(
            d,
            &STRLEN,
            Shape::MapOrNull,
            check_strlen,
        )?)),
        "strrev" => no_params(d).map(|()| Op::Strrev)?,
        "split" => Op::Split(split(read_any(d, &SPLIT, Shape::MapOrNull, check_split)?)),
        "rsplit" => Op::Rsplit(split(read_any(d, &SPLIT, Shape::MapOrNull, check_split)?)),
        "replace" => Op::Replace(replace(read_any(
            d,
            &REPLACE,
            Shape::MapOrList,
            check_replace,
        )?)),
        "prefix" => Op::Prefix(Deserialize::deserialize(d)?),
        "suffix" => Op::Suffix(Deserialize::deserialize(d)?),
        "substr" => Op::Substr(Deserialize::deserialize(d)?),
        "glob" => Op::Glob(Deserialize::deserialize(d)?),
        "length" => Op::Length(length(read_any(
            d,
            &LENGTH,
            Shape::MapOrNull,
            check_length,
        )?)),
        "join" => Op::Join(d.deserialize_any(OptionalString)?),
        "reverse" => no_params(d).map(|()| Op::Reverse)?,
        "contains" => Op::Contains(Deserialize::deserialize(d)?),
        "push" => Op::Push(Deserialize::deserialize(d)?),
        "pop" => Op::Pop(optional_integer(d)?.unwrap_or(DEFAULT_POP)),
        "dup" => Op::Dup(optional_integer(d)?.unwrap_or(DEFAULT_DUP)),
        "xchg" => Op::Xchg(Deserialize::deserialize(d)?),
        "swap" => Op::Swap(swap(read_struct(d, &SWAP)?)),
        "indexes" => Op::Indexes(integers(Deserialize::deserialize(d)?)),
        "take" => Op::Take(ends(read_any(d, &ENDS, Shape::MapOrNull, unchecked)?)),
        "drop" => Op::Drop(ends(read_any(d, &ENDS, Shape::MapOrNull, unchecked)?)),
        "flat_map" => Op::FlatMap(Deserialize::deserialize(d)?),
        "select" => Op::Select(Deserialize::deserialize(d)?),
        "values" => Op::Values(values(read_any(d, &VALUES, Shape::MapOrNull, unchecked)?)),
        "ok" => no_params(d).map(|()| Op::Ok)?,
        "fail" => no_params(d).map(|()| Op::Fail)?,
        "any" => Op::Any(Deserialize::deserialize(d)?),
        "one_of" => Op::OneOf(Deserialize::deserialize(d)?),
        "all" => Op::All(Deserialize::deserialize(d)?),
        "none" => Op::None(Deserialize::deserialize(d)?),
        "assert" => Op::Assert(Deserialize::deserialize(d)?),
        "refute" => Op::Refute(Deserialize::deserialize(d)?),
        "test" => Op::Test(test(read_struct(d, &TEST)?)),
        "and" => Op::And(Deserialize::deserialize(d)?),
        "or" => Op::Or(Deserialize::deserialize(d)?),
        "xor" => Op::Xor(Deserialize::deserialize(d)?),
        "cloned" => Op::Cloned(cloned(read_struct(d, &CLONED)?)),
        "partial" => Op::Partial(partial(read_any(
            d,
            &PARTIAL,
            Shape::MapOrList,
            check_partial,
        )?)),
        "top" => Op::Top(Deserialize::deserialize(d)?),
        "log" => Op::Log(log(read_struct(d, &LOG)?)),
        "json" => Op::Json(d.deserialize_any(DocumentVisitor)?),
        "protobuf" => Op::Protobuf(d.deserialize_any(DocumentVisitor)?),
        unknown => return Err(unknown_op(unknown)),
    };
    Ok(op)
}

fn needs_parameters<E: de::Error>(name: &str) -> E {
    E::custom(format_args!(
        "op `{name}` needs parameters: write it as `{name}: ...`"
    ))
}

fn integers(values: Vec<Whole<i64>>) -> Vec<i64> {
    values.into_iter().map(|Whole(value)| value).collect()
}

/// Whether a map holds no entries; an entry is reported as an unknown field.
fn expect_empty_map<'de, A: MapAccess<'de>>(
    mut map: A,
    fields: &'static [&'static str],
) -> Result<(), A::Error> {
    match map.next_key::<String>()? {
        Some(key) => Err(de::Error::unknown_field(&key, fields)),
        None => Ok(()),
    }
}

/// An op without parameters: bare, `null` or `{}`.
fn no_params<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    d.deserialize_any(NoParams)
}

struct NoParams;

impl<'de> Visitor<'de> for NoParams {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no parameters (null or {})")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        expect_empty_map(map, &[])
    }
}

/// An optional integer parameter (`pop`, `dup`): bare, `null` and `{}` give `None`.
fn optional_integer<'de, T: integer::Integer, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    d.deserialize_any(OptionalInteger(std::marker::PhantomData))
}

struct OptionalInteger<T>(std::marker::PhantomData<T>);

impl<T: integer::Integer> OptionalInteger<T> {
    fn whole<'de, E: de::Error, V: IntoDeserializer<'de, E>>(value: V) -> Result<Option<T>, E> {
        Whole::<T>::deserialize(value.into_deserializer()).map(|Whole(value)| Some(value))
    }
}

impl<'de, T: integer::Integer> Visitor<'de> for OptionalInteger<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
        expect_empty_map(map, &[]).map(|()| None)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Option<T>, E> {
        Self::whole(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Option<T>, E> {
        Self::whole(value)
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Option<T>, E> {
        Self::whole(value)
    }
}

/// The separator of `join`: bare, `null` and `{}` give `""`.
struct OptionalString;

impl<'de> Visitor<'de> for OptionalString {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<String, A::Error> {
        expect_empty_map(map, &[]).map(|()| String::new())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<String, E> {
        Ok(value.to_owned())
    }
}

/// `json`/`protobuf` parameters: a map, a list of maps merged, or nothing.
struct DocumentVisitor;

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("parameters {path?, keys?}, a list of such maps, or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Document, E> {
        Ok(Document::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Document, E> {
        Ok(Document::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Document, A::Error> {
        read_map(map, &DOCUMENT_PART)
            .map(document_part)
            .map(DocumentPart::into_document)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Document, A::Error> {
        let mut merged = DocumentPart::default();
        while let Some(part) = seq.next_element_seed(PartSeed)? {
            merged.merge(document_part(part))?;
        }
        Ok(merged.into_document())
    }
}

/// One map (or list of fields) of a list of `json`/`protobuf` parameters.
struct PartSeed;

impl<'de> DeserializeSeed<'de> for PartSeed {
    type Value = Params;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Params, D::Error> {
        read_struct(d, &DOCUMENT_PART)
    }
}

fn check_bounds(min: Option<usize>, max: Option<usize>) -> Result<(), String> {
    match (min, max) {
        (Some(min), Some(max)) if min > max => Err(format!(
            "`min` ({min}) is greater than `max` ({max}), so the check can never pass"
        )),
        _ => Ok(()),
    }
}

fn check_strlen(params: &Params) -> Result<(), String> {
    check_bounds(params.optional_count_ref(0), params.optional_count_ref(1))
}

fn check_length(params: &Params) -> Result<(), String> {
    check_bounds(params.optional_count_ref(0), params.optional_count_ref(1))
}

fn check_split(params: &Params) -> Result<(), String> {
    if params.text_ref(0) == Some("") {
        return Err("`separator` must not be empty".to_owned());
    }
    Ok(())
}

fn check_replace(params: &Params) -> Result<(), String> {
    if params.text_ref(0).is_none_or(str::is_empty) {
        return Err("`pattern` must not be empty".to_owned());
    }
    Ok(())
}

fn check_partial(params: &Params) -> Result<(), String> {
    if params.count_ref(1) == Some(0) {
        return Err("`max` must be at least 1 (with 0 the ops would run on no values)".to_owned());
    }
    Ok(())
}

/// The parameter types: their fields in order, as the structs above declare them,
/// and their names in errors. Read by [`params`], one reader for them all.
static STRLEN: Spec<Kind> = Spec {
    expecting: "strlen parameters {min?, max?, mode?}",
    list_expecting: "strlen parameters {min?, max?, mode?}",
    ignore_unknown: false,
    names: &["min", "max", "mode"],
    fields: &[
        (Kind::OptionalCount, Need::Optional),
        (Kind::OptionalCount, Need::Optional),
        (Kind::Mode, Need::Optional),
    ],
};
static SPLIT: Spec<Kind> = Spec {
    expecting: "split parameters {separator?, max?}",
    list_expecting: "split parameters {separator?, max?}",
    ignore_unknown: false,
    names: &["separator", "max"],
    fields: &[(Kind::Text, Need::Optional), (Kind::Count, Need::Optional)],
};
static REPLACE: Spec<Kind> = Spec {
    expecting: "replace parameters {pattern, with, max?}",
    list_expecting: "replace parameters {pattern, with, max?}",
    ignore_unknown: false,
    names: &["pattern", "with", "max"],
    fields: &[
        (Kind::Text, Need::Required),
        (Kind::Text, Need::Required),
        (Kind::Count, Need::Optional),
    ],
};
static LENGTH: Spec<Kind> = Spec {
    expecting: "length parameters {min?, max?}",
    list_expecting: "length parameters {min?, max?}",
    ignore_unknown: false,
    names: &["min", "max"],
    fields: &[
        (Kind::OptionalCount, Need::Optional),
        (Kind::OptionalCount, Need::Optional),
    ],
};
static SWAP: Spec<Kind> = Spec {
    expecting: "swap parameters {from, to}",
    list_expecting: "swap parameters {from, to}",
    ignore_unknown: false,
    names: &["from", "to"],
    fields: &[(Kind::Index, Need::Required), (Kind::Index, Need::Required)],
};
static ENDS: Spec<Kind> = Spec {
    expecting: "parameters {head?, tail?}",
    list_expecting: "parameters {head?, tail?}",
    ignore_unknown: false,
    names: &["head", "tail"],
    fields: &[
        (Kind::OptionalCount, Need::Optional),
        (Kind::OptionalCount, Need::Optional),
    ],
};
static VALUES: Spec<Kind> = Spec {
    expecting: "values parameters {level?, id?}",
    list_expecting: "values parameters {level?, id?}",
    ignore_unknown: false,
    names: &["level", "id"],
    fields: &[(Kind::Level, Need::Optional), (Kind::Text, Need::Optional)],
};
static LOG: Spec<Kind> = Spec {
    expecting: "log parameters {level?, msg}",
    list_expecting: "log parameters {level?, msg}",
    ignore_unknown: false,
    names: &["level", "msg"],
    fields: &[(Kind::Level, Need::Optional), (Kind::Text, Need::Required)],
};
static TEST: Spec<Kind> = Spec {
    expecting: "test parameters {if, then, else?}",
    list_expecting: "test parameters {if, then, else?}",
    ignore_unknown: false,
    names: &["if", "then", "else"],
    fields: &[
        (Kind::Op, Need::Required),
        (Kind::Ops, Need::Required),
        (Kind::Ops, Need::Optional),
    ],
};
static CLONED: Spec<Kind> = Spec {
    expecting: "cloned parameters {result?, ops}",
    list_expecting: "cloned parameters {result?, ops}",
    ignore_unknown: false,
    names: &["result", "ops"],
    fields: &[
        (Kind::Placement, Need::Optional),
        (Kind::Ops, Need::Required),
    ],
};
static PARTIAL: Spec<Kind> = Spec {
    expecting: "partial parameters {result?, max?, ops}",
    list_expecting: "partial parameters {result?, max?, ops}",
    ignore_unknown: false,
    names: &["result", "max", "ops"],
    fields: &[
        (Kind::Placement, Need::Optional),
        (Kind::Count, Need::Optional),
        (Kind::Ops, Need::Required),
    ],
};
static DOCUMENT_PART: Spec<Kind> = Spec {
    expecting: "parameters {path?, keys?}",
    list_expecting: "parameters {path?, keys?}",
    ignore_unknown: false,
    names: &["path", "keys"],
    fields: &[
        (Kind::Strings, Need::Optional),
        (Kind::Strings, Need::Optional),
    ],
};

/// The parameter values from the fields read; a field left out takes its default.
/// (A required field left out was refused while reading.)
fn strlen(mut fields: Params) -> Strlen {
    Strlen {
        min: fields.optional_count(0),
        max: fields.optional_count(1),
        mode: fields.mode(2).unwrap_or_default(),
    }
}

fn split(mut fields: Params) -> Split {
    let default = Split::default();
    Split {
        separator: fields.text(0).unwrap_or(default.separator),
        max: fields.count(1).unwrap_or(default.max),
    }
}

fn replace(mut fields: Params) -> Replace {
    Replace {
        pattern: fields.text(0).unwrap_or_default(),
        with: fields.text(1).unwrap_or_default(),
        max: fields.count(2).unwrap_or_default(),
    }
}

fn length(mut fields: Params) -> Length {
    Length {
        min: fields.optional_count(0),
        max: fields.optional_count(1),
    }
}

fn swap(mut fields: Params) -> Swap {
    Swap {
        from: fields.index(0).unwrap_or_default(),
        to: fields.index(1).unwrap_or_default(),
    }
}

fn ends(mut fields: Params) -> Ends {
    Ends {
        head: fields.optional_count(0),
        tail: fields.optional_count(1),
    }
}

fn values(mut fields: Params) -> Values {
    Values {
        level: fields.level(0).unwrap_or_default(),
        id: fields.text(1).unwrap_or_default(),
    }
}

fn log(mut fields: Params) -> Log {
    Log {
        level: fields.level(0).unwrap_or_default(),
        msg: fields.text(1).unwrap_or_default(),
    }
}

fn test(mut fields: Params) -> Test {
    Test {
        condition: fields.op(0).unwrap_or_else(|| Box::new(Op::Ok)),
        then: fields.ops(1).unwrap_or_default(),
        otherwise: fields.ops(2).unwrap_or_default(),
    }
}

fn cloned(mut fields: Params) -> Cloned {
    Cloned {
        result: fields.placement(0).unwrap_or_default(),
        ops: fields.ops(1).unwrap_or_default(),
    }
}

fn partial(mut fields: Params) -> Partial {
    Partial {
        result: fields.placement(0).unwrap_or_default(),
        max: fields.count(1).unwrap_or_else(one),
        ops: fields.ops(2).unwrap_or_default(),
    }
}

fn document_part(mut fields: Params) -> DocumentPart {
    DocumentPart {
        path: fields.strings(0),
        keys: fields.strings(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<Op, String> {
        serde_yaml::from_str(text).map_err(|e| e.to_string())
    }

    fn json(text: &str) -> Result<Op, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    fn yaml_ok(text: &str) -> Op {
        yaml(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn yaml_err(text: &str) -> String {
        match yaml(text) {
            Ok(op) => panic!("{text} must be rejected, got {op:?}"),
            Err(e) => e,
        }
    }

    /// The path the configuration loader reports for a data error in a JSON list of ops.
    fn json_path(text: &str) -> (String, String) {
        match serde_json::from_str::<Vec<Op>>(text) {
            Ok(ops) => panic!("{text} must be rejected, got {ops:?}"),
            Err(e) => (
                crate::config::json_path::data_error_path(text, &e).to_string(),
                e.to_string(),
            ),
        }
    }

    /// The same for YAML, which the loader turns into JSON text first.
    fn yaml_path(text: &str) -> (String, String) {
        let value: serde_json::Value = serde_yaml::from_str(text).unwrap();
        json_path(&value.to_string())
    }

    #[test]
    fn bare_names_give_defaults() {
        let cases = [
            ("base64_standard", Op::Base64Standard),
            ("base64_urlsafe", Op::Base64Urlsafe),
            ("strlen", Op::Strlen(Strlen::default())),
            ("strrev", Op::Strrev),
            ("split", Op::Split(Split::default())),
            ("rsplit", Op::Rsplit(Split::default())),
            ("length", Op::Length(Length::default())),
            ("join", Op::Join(String::new())),
            ("reverse", Op::Reverse),
            ("pop", Op::Pop(1)),
            ("dup", Op::Dup(-1)),
            ("take", Op::Take(Ends::default())),
            ("drop", Op::Drop(Ends::default())),
            ("values", Op::Values(Values::default())),
            ("ok", Op::Ok),
            ("fail", Op::Fail),
            ("json", Op::Json(Document::default())),
            ("protobuf", Op::Protobuf(Document::default())),
        ];
        for (name, expected) in cases {
            assert_eq!(yaml_ok(name), expected, "bare {name}");
            assert_eq!(yaml_ok(&format!("{name}: null")), expected, "{name}: null");
            assert_eq!(yaml_ok(&format!("{name}:")), expected, "{name}: (empty)");
            assert_eq!(yaml_ok(&format!("{name}: {{}}")), expected, "{name}: {{}}");
            assert_eq!(
                json(&format!("\"{name}\"")),
                Ok(expected.clone()),
                "json bare {name}"
            );
            assert_eq!(
                json(&format!("{{\"{name}\": null}}")),
                Ok(expected.clone()),
                "json null {name}"
            );
            assert_eq!(
                json(&format!("{{\"{name}\": {{}}}}")),
                Ok(expected),
                "json {{}} {name}"
            );
        }
    }

    #[test]
    fn default_parameter_values() {
        assert_eq!(
            Split::default(),
            Split {
                separator: ":".into(),
                max: 0
            }
        );
        assert_eq!(
            yaml_ok("values"),
            Op::Values(Values {
                level: LogLevel::Info,
                id: String::new()
            })
        );
        assert_eq!(
            yaml_ok("partial: {ops: []}"),
            Op::Partial(Partial {
                result: Placement::Append,
                max: 1,
                ops: vec![]
            })
        );
        assert_eq!(
            yaml_ok("cloned: {ops: []}"),
            Op::Cloned(Cloned {
                result: Placement::Append,
                ops: vec![]
            })
        );
        assert_eq!(
            yaml_ok("replace: {pattern: a, with: b}"),
            Op::Replace(Replace {
                pattern: "a".into(),
                with: "b".into(),
                max: 0
            })
        );
        assert_eq!(
            yaml_ok("log: {msg: hi}"),
            Op::Log(Log {
                level: LogLevel::Info,
                msg: "hi".into()
            })
        );
    }

    #[test]
    fn ops_that_need_parameters_refuse_bare_names() {
        for name in [
            "replace", "prefix", "suffix", "substr", "glob", "contains", "push", "xchg", "swap",
            "indexes", "flat_map", "select", "any", "one_of", "all", "none", "assert", "refute",
            "test", "and", "or", "xor", "cloned", "partial", "top", "log",
        ] {
            let error = yaml_err(name);
            assert!(
                error.contains(&format!("op `{name}` needs parameters")),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn every_name_parses_and_reports_its_name() {
        let minimal = |name: &str| match name {
            "replace" => "{pattern: a, with: b}",
            "prefix" | "suffix" | "substr" | "contains" | "push" | "xchg" => "x",
            "swap" => "{from: 0, to: 1}",
            "test" => "{if: ok, then: []}",
            "cloned" | "partial" => "{ops: []}",
            "log" => "{msg: m}",
            "glob" | "indexes" | "flat_map" | "select" | "any" | "one_of" | "all" | "none"
            | "assert" | "refute" | "and" | "or" | "xor" | "top" => "[]",
            _ => "null",
        };
        for &name in OP_NAMES {
            let op = yaml_ok(&format!("{name}: {}", minimal(name)));
            assert_eq!(op.name(), name);
        }
        assert_eq!(OP_NAMES.len(), 44);
    }

    #[test]
    fn typed_parameters() {
        let cases = [
            ("prefix: Basic", Op::Prefix("Basic".into())),
            ("push: ''", Op::Push(String::new())),
            ("join: ', '", Op::Join(", ".into())),
            ("pop: 3", Op::Pop(3)),
            ("dup: -2", Op::Dup(-2)),
            ("dup: 0", Op::Dup(0)),
            ("indexes: [0, -1, 2]", Op::Indexes(vec![0, -1, 2])),
            (
                "swap: {from: -1, to: 0}",
                Op::Swap(Swap { from: -1, to: 0 }),
            ),
            (
                "take: {head: 1}",
                Op::Take(Ends {
                    head: Some(1),
                    tail: None,
                }),
            ),
            (
                "drop: {tail: 2, head: 0}",
                Op::Drop(Ends {
                    head: Some(0),
                    tail: Some(2),
                }),
            ),
            (
                "strlen: {min: 1, max: 63, mode: bytes}",
                Op::Strlen(Strlen {
                    min: Some(1),
                    max: Some(63),
                    mode: StrlenMode::Bytes,
                }),
            ),
            (
                "split: {separator: ' ', max: 2}",
                Op::Split(Split {
                    separator: " ".into(),
                    max: 2,
                }),
            ),
            (
                "rsplit: {max: 2}",
                Op::Rsplit(Split {
                    separator: ":".into(),
                    max: 2,
                }),
            ),
            (
                "length: {min: 2}",
                Op::Length(Length {
                    min: Some(2),
                    max: None,
                }),
            ),
            (
                "values: {level: trace, id: here}",
                Op::Values(Values {
                    level: LogLevel::Trace,
                    id: "here".into(),
                }),
            ),
            (
                "log: {level: warn, msg: m}",
                Op::Log(Log {
                    level: LogLevel::Warn,
                    msg: "m".into(),
                }),
            ),
            (
                "cloned: {result: prepend, ops: [split]}",
                Op::Cloned(Cloned {
                    result: Placement::Prepend,
                    ops: vec![Op::Split(Split::default())],
                }),
            ),
            ("top: [strrev]", Op::Top(vec![Op::Strrev])),
            (
                "and: [reverse, {pop: 2}]",
                Op::And(vec![Op::Reverse, Op::Pop(2)]),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(yaml_ok(text), expected, "{text}");
        }
    }

    #[test]
    fn glob_takes_a_list_of_patterns() {
        let Op::Glob(patterns) = yaml_ok("glob: [aladdin, admin]") else {
            panic!("not glob")
        };
        let written: Vec<&str> = patterns.iter().map(Glob::as_str).collect();
        assert_eq!(written, ["aladdin", "admin"]);
        assert!(yaml_err("glob: aladdin").contains("sequence"));
    }

    #[test]
    fn whole_floats_are_integers() {
        // Istio hands the configuration over with every number as a float.
        let cases = [
            (
                r#"{"split":{"max":2.0,"separator":" "}}"#,
                Op::Split(Split {
                    separator: " ".into(),
                    max: 2,
                }),
            ),
            (r#"{"pop":2.0}"#, Op::Pop(2)),
            (r#"{"dup":-1.0}"#, Op::Dup(-1)),
            (r#"{"indexes":[0.0,-1.0]}"#, Op::Indexes(vec![0, -1])),
            (
                r#"{"swap":{"from":0.0,"to":-1.0}}"#,
                Op::Swap(Swap { from: 0, to: -1 }),
            ),
            (
                r#"{"length":{"min":2.0}}"#,
                Op::Length(Length {
                    min: Some(2),
                    max: None,
                }),
            ),
            (
                r#"{"take":{"head":1.0}}"#,
                Op::Take(Ends {
                    head: Some(1),
                    tail: None,
                }),
            ),
            (
                r#"{"partial":{"max":2.0,"ops":[]}}"#,
                Op::Partial(Partial {
                    result: Placement::Append,
                    max: 2,
                    ops: vec![],
                }),
            ),
            (
                r#"{"replace":{"pattern":"a","with":"b","max":1.0}}"#,
                Op::Replace(Replace {
                    pattern: "a".into(),
                    with: "b".into(),
                    max: 1,
                }),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(json(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_integers_are_rejected() {
        for text in [
            "split: {max: 1.5}",
            "split: {max: -1}",
            "pop: -1",
            "pop: 1.5",
            "pop: '2'",
            "dup: x",
            "strlen: {min: -3}",
            "indexes: [0.5]",
            "take: {head: true}",
        ] {
            yaml_err(text);
        }
        assert!(yaml_err("pop: -1").contains("out of range"));
    }

    #[test]
    fn unknown_op_is_named() {
        let error = yaml_err("frobnicate: {}");
        assert!(error.contains("unknown op `frobnicate`"), "{error}");
        assert!(
            error.contains("base64_urlsafe"),
            "lists the known ops: {error}"
        );
        let error = yaml_err("base64");
        assert!(error.contains("unknown op `base64`"), "{error}");
    }

    #[test]
    fn unknown_parameters_are_named() {
        let cases = [
            ("split: {max: 2, indexes: [0]}", "indexes"),
            ("strlen: {mn: 2}", "mn"),
            ("length: {minimum: 2}", "minimum"),
            ("take: {first: 1}", "first"),
            ("replace: {pattern: a, with: b, count: 1}", "count"),
            ("cloned: {ops: [], results: append}", "results"),
            ("test: {if: ok, then: [], elsif: []}", "elsif"),
            ("json: {keys: [a], key: b}", "key"),
            ("json: [{keys: [a]}, {paths: [b]}]", "paths"),
            ("reverse: {deep: true}", "deep"),
            ("pop: {count: 2}", "count"),
            ("join: {separator: ':'}", "separator"),
            ("values: {lvl: info}", "lvl"),
        ];
        for (text, field) in cases {
            let error = yaml_err(text);
            assert!(
                error.contains(&format!("unknown field `{field}`")),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn ops_without_parameters_refuse_values() {
        for text in ["reverse: 3", "ok: x", "strrev: []", "base64_standard: true"] {
            yaml_err(text);
        }
    }

    #[test]
    fn an_op_map_has_exactly_one_key() {
        let error = yaml_err("{split: {}, reverse: null}");
        assert!(error.contains("`split` and `reverse`"), "{error}");
        let error = yaml_err("{}");
        assert!(error.contains("exactly one key"), "{error}");
        assert!(json(r#"{"split":{},"reverse":null}"#).is_err());
        assert!(json("{}").is_err());
    }

    #[test]
    fn other_shapes_are_not_ops() {
        for text in ["3", "[split]", "true", "null", "~"] {
            let error = yaml_err(text);
            assert!(error.contains("an op"), "{text}: {error}");
        }
    }

    #[test]
    fn required_fields_and_values_are_checked() {
        let cases = [
            ("replace: {pattern: a}", "with"),
            ("replace: {with: b}", "pattern"),
            ("swap: {from: 0}", "to"),
            ("test: {then: []}", "if"),
            ("test: {if: ok}", "then"),
            ("cloned: {result: append}", "ops"),
            ("partial: {max: 2}", "ops"),
            ("log: {level: info}", "msg"),
        ];
        for (text, field) in cases {
            let error = yaml_err(text);
            assert!(
                error.contains(&format!("missing field `{field}`")),
                "{text}: {error}"
            );
        }
        // serde_yaml reads a plain `null` as the text "null" where a string is
        // expected, as for every string in the configuration; JSON refuses it.
        assert_eq!(
            json(r#"{"prefix": null}"#).map_err(|e| e.contains("null")),
            Err(true)
        );
        for text in [
            "push: [a]",
            "cloned: {result: middle, ops: []}",
            "log: {level: loud, msg: m}",
            "log: {level: INFO, msg: m}",
            "strlen: {mode: chars}",
            "test: {if: [ok], then: []}",
            "any: ok",
        ] {
            yaml_err(text);
        }
    }

    #[test]
    fn inconsistent_parameters_are_rejected() {
        let cases = [
            ("strlen: {min: 5, max: 3}", "greater than `max`"),
            ("length: {min: 2, max: 1}", "greater than `max`"),
            ("split: {separator: ''}", "`separator` must not be empty"),
            ("rsplit: {separator: ''}", "`separator` must not be empty"),
            (
                "replace: {pattern: '', with: x}",
                "`pattern` must not be empty",
            ),
            ("partial: {max: 0, ops: []}", "`max` must be at least 1"),
        ];
        for (text, message) in cases {
            let error = yaml_err(text);
            assert!(error.contains(message), "{text}: {error}");
        }
        assert_eq!(
            yaml_ok("strlen: {min: 3, max: 3}"),
            Op::Strlen(Strlen {
                min: Some(3),
                max: Some(3),
                mode: StrlenMode::Utf8
            })
        );
    }

    #[test]
    fn test_op_parameters() {
        let op = yaml_ok("test: {if: {length: {min: 2}}, then: [pop], else: [reverse]}");
        assert_eq!(
            op,
            Op::Test(Test {
                condition: Box::new(Op::Length(Length {
                    min: Some(2),
                    max: None
                })),
                then: vec![Op::Pop(1)],
                otherwise: vec![Op::Reverse],
            })
        );
        let Op::Test(test) = yaml_ok("test: {if: ok, then: []}") else {
            panic!("not test")
        };
        assert!(test.otherwise.is_empty());
    }

    #[test]
    fn document_parameters_as_map_or_list() {
        let expected = Document {
            path: vec!["a".into(), "0".into()],
            keys: vec!["azp".into(), "aud".into()],
        };
        let cases = [
            "json: {path: [a, '0'], keys: [azp, aud]}",
            "json: [{path: [a, '0']}, {keys: [azp, aud]}]",
            "json: [{keys: [azp, aud]}, {path: [a, '0']}]",
            "json: [{path: [a, '0'], keys: [azp, aud]}]",
        ];
        for text in cases {
            assert_eq!(yaml_ok(text), Op::Json(expected.clone()), "{text}");
        }
        assert_eq!(
            yaml_ok("protobuf: [{path: [a, '0']}, {keys: [azp, aud]}]"),
            Op::Protobuf(expected.clone())
        );
        assert_eq!(
            yaml_ok("json: [{keys: [azp, aud]}]"),
            Op::Json(Document {
                path: vec![],
                keys: vec!["azp".into(), "aud".into()]
            })
        );
        assert_eq!(yaml_ok("json: []"), Op::Json(Document::default()));
        assert_eq!(
            json(r#"{"json":[{"keys":["azp","aud"]}]}"#),
            Ok(Op::Json(Document {
                path: vec![],
                keys: vec!["azp".into(), "aud".into()]
            }))
        );
        let error = yaml_err("json: [{keys: [a]}, {keys: [b]}]");
        assert!(error.contains("`keys` is given twice"), "{error}");
        yaml_err("json: [keys]");
        yaml_err("json: {keys: a}");
    }

    #[test]
    fn seed_jwt_header_example_parses() {
        let text = "
- base64_urlsafe
- json:
  - keys:
    - azp
    - aud
- take:
    head: 1
";
        let ops: Vec<Op> = serde_yaml::from_str(text).unwrap();
        assert_eq!(
            ops,
            vec![
                Op::Base64Urlsafe,
                Op::Json(Document {
                    path: vec![],
                    keys: vec!["azp".into(), "aud".into()]
                }),
                Op::Take(Ends {
                    head: Some(1),
                    tail: None
                }),
            ]
        );
    }

    #[test]
    fn error_paths_name_the_parameter() {
        let cases = [
            (r#"["reverse", {"split": {"max": 1.5}}]"#, "[1].split.max"),
            (
                r#"["reverse", {"split": {"indexes": [0]}}]"#,
                "[1].split.indexes",
            ),
            (r#"["ok", "ok", "frobnicate"]"#, "[2]"),
            (
                r#"[{"test": {"if": "ok", "then": [{"strlen": {"min": -1}}]}}]"#,
                "[0].test.then[0].strlen.min",
            ),
            (
                r#"[{"test": {"if": {"pop": "x"}, "then": []}}]"#,
                "[0].test.if.pop",
            ),
            (
                r#"[{"json": [{"keys": ["a"]}, {"path": "x"}]}]"#,
                "[0].json[1].path",
            ),
            (
                r#"[{"cloned": {"ops": ["ok", {"drop": {"tail": -1}}]}}]"#,
                "[0].cloned.ops[1].drop.tail",
            ),
            (r#"[{"or": [{"glob": [1]}]}]"#, "[0].or[0].glob[0]"),
        ];
        for (text, expected) in cases {
            let (path, message) = json_path(text);
            assert_eq!(path, expected, "{text}: {message}");
        }
        let (path, message) = yaml_path("- reverse\n- split:\n    max: 1.5\n");
        assert_eq!(path, "[1].split.max", "{message}");
    }

    #[test]
    fn text_errors_carry_line_and_column() {
        let text = "- reverse\n- split:\n    separator: ' '\n    indexes: [0]\n";
        let error = serde_yaml::from_str::<Vec<Op>>(text).unwrap_err();
        let location = error.location().expect("a location");
        assert_eq!(location.line(), 4, "{error}");
        assert!(error.to_string().contains("indexes"), "{error}");
        let text = "[\n  \"reverse\",\n  {\"split\": {\"max\": -1}}\n]";
        let error = serde_json::from_str::<Vec<Op>>(text).unwrap_err();
        assert_eq!(error.line(), 3, "{error}");
        assert!(error.column() > 0);
    }

    /// The parameter reader (`params`) reads as the derived impls it replaced did:
    /// lists of the fields in order, list lengths, duplicate and missing fields, and
    /// shapes that are refused, with the same messages and paths.
    #[test]
    fn parameters_read_like_derived_structs() {
        let ok = |text: &str| serde_json::from_str::<Vec<Op>>(text).unwrap();
        assert_eq!(
            ok(r#"[{"swap": [1, 2]}, {"replace": ["a", "b"]}, {"log": ["error", "m"]}]"#),
            [
                Op::Swap(Swap { from: 1, to: 2 }),
                Op::Replace(Replace {
                    pattern: "a".into(),
                    with: "b".into(),
                    max: 0
                }),
                Op::Log(Log {
                    level: LogLevel::Error,
                    msg: "m".into()
                }),
            ]
        );
        let cases = [
            (
                r#"[{"swap": [1]}]"#,
                "[0].swap",
                "invalid length 1, expected swap parameters {from, to}",
            ),
            (
                r#"[{"swap": {"from": 1, "from": 2}}]"#,
                "[0].swap",
                "duplicate field `from`",
            ),
            (
                r#"[{"swap": {"from": 1}}]"#,
                "[0].swap",
                "missing field `to`",
            ),
            (
                r#"[{"log": null}]"#,
                "[0].log",
                "invalid type: null, expected log parameters {level?, msg}",
            ),
            (
                r#"[{"replace": 5}]"#,
                "[0].replace",
                "invalid type: integer `5`, expected replace parameters {pattern, with, max?}",
            ),
            (
                r#"[{"partial": ["prepend"]}]"#,
                "[0].partial",
                "invalid length 2, expected partial parameters {result?, max?, ops}",
            ),
            (
                r#"[{"take": []}]"#,
                "[0].take",
                "invalid type: sequence, expected a map of parameters, or null",
            ),
            (
                r#"[{"test": {"if": "ok", "then": [], "if": "ok"}}]"#,
                "[0].test",
                "duplicate field `if`",
            ),
            (
                r#"[{"json": [{"path": ["a"]}, {"path": ["b"]}]}]"#,
                "[0].json",
                "`path` is given twice",
            ),
        ];
        for (text, path, message) in cases {
            let (found, error) = json_path(text);
            assert_eq!(found, path, "{text}: {error}");
            assert!(error.starts_with(message), "{text}: {error}");
        }
    }

    #[test]
    fn log_levels() {
        for (name, level) in [
            ("trace", log::Level::Trace),
            ("debug", log::Level::Debug),
            ("info", log::Level::Info),
            ("warn", log::Level::Warn),
            ("error", log::Level::Error),
        ] {
            let Op::Log(params) = yaml_ok(&format!("log: {{level: {name}, msg: m}}")) else {
                panic!()
            };
            assert_eq!(params.level.to_log(), level);
        }
    }
}
