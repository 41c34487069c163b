//! The parameters of ops written as maps (or lists of their fields in order): their
//! field types for the table-driven reader (`crate::de::fields`), which reads all
//! twelve parameter types with one visitor instead of a derived one each.

use serde::Deserialize;
use serde::de::Deserializer;

use super::{LogLevel, Op, Placement, StrlenMode};
use crate::de::fields::{self, Fields};
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

impl fields::Kind for Kind {
    type Value = Param;

    fn read<'de, D: Deserializer<'de>>(self, d: D) -> Result<Param, D::Error> {
        Ok(match self {
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

/// The parameters read, by position in their `Spec`.
pub(super) type Params = Fields<Param>;

/// Typed access to parameters read; a field left out (or of another type, which the
/// spec rules out) gives `None`. Methods rather than `crate::de::fields::take_field!` at
/// each of their 28 uses: one copy of each match (the macro there made the module
/// 1,287 bytes larger).
impl Fields<Param> {
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
