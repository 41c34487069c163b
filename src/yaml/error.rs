//! Why YAML text was refused, and where.

use super::Position;

/// A YAML syntax error, or a feature this reader refuses, at a place in the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct YamlError {
    /// Where the problem is.
    pub at: Position,
    /// What it is.
    pub problem: Problem,
}

/// What is wrong with YAML text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A syntax error, described.
    #[error("{0}")]
    Syntax(&'static str),
    /// A character YAML does not allow in text.
    #[error("YAML text may not hold the control character U+{0:04X}")]
    ControlCharacter(u32),
    /// `!tag`.
    #[error("YAML tags (`!…`) are not supported")]
    Tag,
    /// `? key`.
    #[error("complex mapping keys (`? `) are not supported")]
    ComplexKey,
    /// `%YAML`, `%TAG`.
    #[error("YAML directives (`%…`) are not supported")]
    Directive,
    /// A second `---` or anything after `...`.
    #[error("several YAML documents in one text are not supported")]
    SeveralDocuments,
    /// Collections nested deeper than the limit.
    #[error("collections nest deeper than {} levels", super::MAX_DEPTH)]
    TooDeep,
    /// `*name` with no `&name` before it.
    #[error("the alias `*{0}` names no anchor defined before it")]
    UnknownAlias(String),
    /// `*name` inside the node anchored `&name`.
    #[error("the alias `*{0}` is inside the node it names")]
    RecursiveAlias(String),
    /// `&name` given to a second node.
    #[error("the anchor `&{0}` is defined twice")]
    AnchorTwice(String),
    /// Aliases copying more nodes than the budget.
    #[error("aliases expand to more than {0} nodes")]
    AliasBudget(usize),
    /// An anchor or alias used as a mapping key.
    #[error("anchors and aliases on mapping keys are not supported")]
    KeyProperty,
    /// A key given twice in one mapping.
    #[error("duplicate key `{0}` in one mapping")]
    DuplicateKey(String),
    /// A list or mapping where a key belongs.
    #[error("a mapping key must be a scalar, not a list or mapping")]
    CollectionKey,
    /// An integer beyond what JSON numbers hold here.
    #[error("the integer {0} is out of range (64 bits)")]
    IntegerRange(String),
}

impl Problem {
    /// A YAML feature refused on purpose (serde_yaml, which read YAML before
    /// this reader, accepted it), rather than an error in the text.
    pub fn is_refused_feature(&self) -> bool {
        matches!(
            self,
            Problem::Tag
                | Problem::ComplexKey
                | Problem::Directive
                | Problem::DuplicateKey(_)
                | Problem::KeyProperty
                | Problem::AliasBudget(_)
                | Problem::AnchorTwice(_)
        )
    }
}

impl YamlError {
    pub(super) fn new(at: Position, problem: Problem) -> Self {
        YamlError { at, problem }
    }
}
