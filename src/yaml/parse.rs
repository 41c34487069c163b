//! Block and flow structure: documents, mappings, sequences, anchors and aliases.

use super::cursor::{Cursor, is_blank, is_blank_or_break, is_break};
use super::error::{Problem, YamlError};
use super::scalar;
use super::{Entry, MAX_DEPTH, Node, Position, Value};
use crate::text_index::TextIndex;

type Result<T> = std::result::Result<T, YamlError>;

/// Longest implicit key, from its start to its `:`, in bytes (libyaml's limit).
const MAX_KEY_BYTES: usize = 1024;

const LONG_KEY: &str = "a mapping key longer than 1024 bytes (up to its `:`)";

const MULTI_LINE_KEY: &str =
    "a `:` after text that spans lines (a mapping key must fit on one line; check the indentation)";

/// Nodes aliases may copy beyond the text's length in bytes.
const ALIAS_ALLOWANCE: usize = 4096;

/// What an anchor names: nothing yet while its node is being read.
enum Anchor {
    Open,
    Done {
        node: Node,
        /// Nodes in it.
        size: usize,
        /// Collections nested in it, itself included.
        height: usize,
    },
}

/// A scalar token read in block context.
struct Token {
    text: String,
    plain: bool,
    /// A scalar that went on over a line break.
    multi_line: bool,
    /// The line its text ends on (a `:` on another line is no value indicator).
    end_line: usize,
    /// Its first byte.
    start: usize,
}

/// Where a block node is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// The document's root; `fresh` when it starts a line (not after `--- `).
    Document { fresh: bool },
    /// A mapping's value.
    Value,
    /// A sequence's item (after `- `).
    Item,
}

pub(super) struct Parser<'t> {
    cursor: Cursor<'t>,
    depth: usize,
    /// Anchor names, each to its place in `anchors`.
    anchor_names: TextIndex,
    anchors: Vec<Anchor>,
    copied: usize,
    budget: usize,
}

impl<'t> Parser<'t> {
    pub(super) fn new(text: &'t str) -> Self {
        Parser {
            cursor: Cursor::new(text),
            depth: 0,
            anchor_names: TextIndex::default(),
            anchors: Vec::new(),
            copied: 0,
            budget: text.len().saturating_add(ALIAS_ALLOWANCE),
        }
    }

    fn error(&self, problem: Problem) -> YamlError {
        YamlError::new(self.cursor.position(), problem)
    }

    fn syntax(&self, message: &'static str) -> YamlError {
        self.error(Problem::Syntax(message))
    }

    /// Reads the one document of the text.
    #[inline(never)]
    pub(super) fn document(mut self) -> Result<Node> {
        check_characters(&self.cursor)?;
        self.cursor.skip_byte_order_mark();
        self.skip_to_token(false)?;
        if self.cursor.at_document_marker() && self.cursor.starts_with("...") {
            return Err(self.syntax("a document end (`...`) with no document before it"));
        }
        if self.cursor.column() == 0 && self.cursor.peek() == Some('%') {
            return Err(self.error(Problem::Directive));
        }
        let mut fresh = true;
        if self.cursor.at_document_marker() && self.cursor.starts_with("---") {
            for _ in 0..3 {
                self.cursor.bump();
            }
            fresh = false;
        }
        let root = self.block_value(-1, Context::Document { fresh })?;
        self.end_of_document()?;
        Ok(root)
    }

    /// After the root: optional `...` lines, then nothing but comments.
    fn end_of_document(&mut self) -> Result<()> {
        self.skip_to_token(false)?;
        let mut ended = false;
        while self.cursor.at_document_marker() && self.cursor.starts_with("...") {
            for _ in 0..3 {
                self.cursor.bump();
            }
            self.skip_to_token(false)?;
            ended = true;
        }
        if self.cursor.at_end() {
            return Ok(());
        }
        if ended || self.cursor.at_document_marker() {
            return Err(self.error(Problem::SeveralDocuments));
        }
        Err(self.syntax("unexpected text after the document (check its indentation)"))
    }

    /// Skips blanks, comments and line breaks up to the next token. In block
    /// context a tab may not indent a line.
    #[inline(never)]
    fn skip_to_token(&mut self, flow: bool) -> Result<()> {
        // A `#` where a token would start opens a comment even with no blank
        // before it (`"a"#c`, `[#c`), as in libyaml; only plain scalars need one.
        let mut line_start = self.cursor.first_on_line();
        loop {
            match self.cursor.peek() {
                Some(' ') => {}
                Some('\t') if flow || !line_start => {}
                Some('\t') => return Err(self.syntax("a tab character where indentation belongs")),
                Some('#') => {
                    self.skip_comment();
                    continue;
                }
                Some(c) if is_break(c) => {
                    self.cursor.bump_break();
                    line_start = true;
                    continue;
                }
                _ => return Ok(()),
            }
            self.cursor.bump();
        }
    }

    fn skip_comment(&mut self) {
        while self.cursor.peek().is_some_and(|c| !is_break(c)) {
            self.cursor.bump();
        }
    }

    /// One more level of nesting; refused beyond [`MAX_DEPTH`].
    fn enter(&mut self, at: Position) -> Result<()> {
        self.depth = self.depth.saturating_add(1);
        if self.depth > MAX_DEPTH {
            return Err(YamlError::new(at, Problem::TooDeep));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Reads a block node in `context`, whose parent collection is indented
    /// `parent` columns (-1 for the root). An absent node is an empty scalar.
    #[inline(never)]
    fn block_value(&mut self, parent: isize, context: Context) -> Result<Node> {
        let line = self.cursor.line();
        if context == Context::Item {
            while self.cursor.peek() == Some(' ') {
                self.cursor.bump();
            }
            if self.cursor.peek() == Some('\t') {
                return Err(self.syntax("a tab character after `-`"));
            }
        }
        self.skip_to_token(false)?;
        let new_line = self.cursor.line() != line;
        if self.absent(parent, context, new_line) {
            return Ok(empty(self.cursor.position()));
        }
        let block_ok =
            new_line || context == Context::Item || context == Context::Document { fresh: true };
        if self.cursor.peek() == Some('&') {
            return self.anchored_block(parent, context);
        }
        self.block_content(parent, block_ok, false)
    }

    /// No node here: the text ends, or the next line is not indented into it.
    fn absent(&self, parent: isize, context: Context, new_line: bool) -> bool {
        if self.cursor.at_end() || self.cursor.at_document_marker() {
            return true;
        }
        let column = column_of(&self.cursor);
        let block_scalar = matches!(self.cursor.peek(), Some('|' | '>'));
        new_line
            && (column < parent
                || (column == parent
                    && !block_scalar
                    && !(context == Context::Value && self.at_entry())))
    }

    /// At `- ` (a block sequence entry).
    fn at_entry(&self) -> bool {
        self.cursor.peek() == Some('-') && self.cursor.blankz_next()
    }

    /// `&name` and the node it names.
    #[inline(never)]
    fn anchored_block(&mut self, parent: isize, context: Context) -> Result<Node> {
        let anchor_at = self.cursor.position();
        let name = self.anchor_name()?;
        let line = self.cursor.line();
        self.skip_to_token(false)?;
        let new_line = self.cursor.line() != line;
        self.open_anchor(&name, anchor_at)?;
        let node = if self.absent(parent, context, new_line) {
            empty(self.cursor.position())
        } else {
            self.refuse_alias_after_anchor()?;
            self.block_content(parent, new_line, !new_line)
                .map_err(|error| match error.problem {
                    Problem::KeyProperty => YamlError::new(anchor_at, Problem::KeyProperty),
                    _ => error,
                })?
        };
        self.define(&name, &node);
        Ok(node)
    }

    /// Reads `&name`; the cursor is at `&`.
    fn anchor_name(&mut self) -> Result<String> {
        self.cursor.bump();
        self.name()
    }

    /// An anchor's or alias's name: letters, digits, `-` and `_` (as libyaml
    /// reads them), up to a blank, a break or an indicator.
    fn name(&mut self) -> Result<String> {
        let mut name = String::new();
        while let Some(c) = self
            .cursor
            .peek()
            .filter(|&c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            name.push(c);
            self.cursor.bump();
        }
        let ends = self.cursor.peek().is_none_or(|c| {
            is_blank_or_break(c) || matches!(c, '?' | ':' | ',' | ']' | '}' | '%' | '@' | '`')
        });
        if name.is_empty() || !ends {
            return Err(
                self.syntax("an anchor or alias name is made of letters, digits, `-` and `_`")
            );
        }
        Ok(name)
    }

    /// Starts the node `name` anchors. A name is defined once: serde_yaml gave
    /// an alias after a name's second definition the node of a third one.
    fn open_anchor(&mut self, name: &str, at: Position) -> Result<()> {
        if self.anchor_names.contains_key(name) {
            return Err(YamlError::new(at, Problem::AnchorTwice(name.to_owned())));
        }
        self.anchor_names.insert(name.into(), self.anchors.len());
        self.anchors.push(Anchor::Open);
        Ok(())
    }

    fn refuse_alias_after_anchor(&self) -> Result<()> {
        if self.cursor.peek() == Some('*') {
            return Err(self.syntax("an alias (`*`) may not have an anchor (`&`)"));
        }
        Ok(())
    }

    /// Records what `name` stands for from now on.
    fn define(&mut self, name: &str, node: &Node) {
        let (size, height) = measure(node);
        let done = Anchor::Done {
            node: node.clone(),
            size,
            height,
        };
        match self
            .anchor_names
            .get(name)
            .and_then(|&place| self.anchors.get_mut(place))
        {
            Some(anchor) => *anchor = done,
            None => {
                self.anchor_names.insert(name.into(), self.anchors.len());
                self.anchors.push(done);
            }
        }
    }

    /// A copy of the node `*name` stands for; the cursor is at `*`.
    #[inline(never)]
    fn alias(&mut self) -> Result<Node> {
        let at = self.cursor.position();
        self.cursor.bump();
        let name = self.name()?;
        let anchor = self
            .anchor_names
            .get(name.as_str())
            .and_then(|&place| self.anchors.get(place));
        let (node, size, height) = match anchor {
            None => return Err(YamlError::new(at, Problem::UnknownAlias(name))),
            Some(Anchor::Open) => return Err(YamlError::new(at, Problem::RecursiveAlias(name))),
            Some(Anchor::Done { node, size, height }) => (node, *size, *height),
        };
        if self.depth.saturating_add(height) > MAX_DEPTH {
            return Err(YamlError::new(at, Problem::TooDeep));
        }
        self.copied = self.copied.saturating_add(size);
        if self.copied > self.budget {
            return Err(YamlError::new(at, Problem::AliasBudget(self.budget)));
        }
        let mut copy = node.clone();
        copy.at = at;
        Ok(copy)
    }

    /// The node at the cursor in block context. `block_ok`: a block mapping or
    /// sequence may start here; `after_anchor`: an anchor precedes it on its line.
    #[inline(never)]
    fn block_content(&mut self, parent: isize, block_ok: bool, after_anchor: bool) -> Result<Node> {
        let at = self.cursor.position();
        let column = column_of(&self.cursor);
        let Some(c) = self.cursor.peek() else {
            return Ok(empty(at));
        };
        let node = match c {
            '-' if self.cursor.blankz_next() => {
                if !block_ok {
                    return Err(self.syntax("a block sequence may not start on this line"));
                }
                return self.block_sequence(column);
            }
            '?' if self.cursor.blankz_next() => return Err(self.error(Problem::ComplexKey)),
            // A second anchor: on a key (a mapping starts here) or on the same node.
            '&' => return Err(self.error(Problem::KeyProperty)),
            ':' if self.cursor.blankz_next() && after_anchor => {
                return Err(self.error(Problem::KeyProperty));
            }
            ':' if self.cursor.blankz_next() => {
                return Err(self.syntax("a `:` with no mapping key before it"));
            }
            '|' | '>' => scalar_node(at, scalar::block(&mut self.cursor, parent)?, false),
            '*' => self.alias()?,
            '[' | '{' => self.flow_collection()?,
            _ => {
                let token = self.block_scalar_token(parent, c)?;
                let start = (at, column);
                return self.maybe_mapping(start, token, block_ok, after_anchor);
            }
        };
        self.refuse_key_after(&node)?;
        Ok(node)
    }

    /// A quoted or plain scalar in block context.
    fn block_scalar_token(&mut self, parent: isize, c: char) -> Result<Token> {
        let line = self.cursor.line();
        let start = self.cursor.offset();
        let quoted = |text, cursor: &Cursor<'_>| Token {
            text,
            plain: false,
            multi_line: cursor.line() != line,
            end_line: cursor.line(),
            start,
        };
        match c {
            '"' => Ok(quoted(
                scalar::quoted(&mut self.cursor, true)?,
                &self.cursor,
            )),
            '\'' => Ok(quoted(
                scalar::quoted(&mut self.cursor, false)?,
                &self.cursor,
            )),
            _ => {
                self.check_plain_start(c, false)?;
                let min_column = usize::try_from(parent.saturating_add(1)).unwrap_or(0);
                let plain = scalar::plain(&mut self.cursor, min_column, false)?;
                Ok(Token {
                    text: plain.text,
                    plain: true,
                    multi_line: plain.multi_line,
                    end_line: plain.end_line,
                    start,
                })
            }
        }
    }

    /// A node that is not a scalar, or an alias, may not be a key.
    fn refuse_key_after(&mut self, node: &Node) -> Result<()> {
        if self.value_indicator_follows() {
            return Err(match node.value {
                Value::Scalar { .. } => self.error(Problem::KeyProperty),
                _ => self.error(Problem::CollectionKey),
            });
        }
        Ok(())
    }

    /// Skips blanks on this line; true when a `: ` follows.
    fn value_indicator_follows(&mut self) -> bool {
        while self.cursor.peek().is_some_and(is_blank) {
            self.cursor.bump();
        }
        self.cursor.peek() == Some(':') && self.cursor.blankz_next()
    }

    /// A scalar, or the first key of a block mapping when `: ` follows it.
    fn maybe_mapping(
        &mut self,
        (at, column): (Position, isize),
        token: Token,
        block_ok: bool,
        after_anchor: bool,
    ) -> Result<Node> {
        if !self.value_indicator_follows() || self.cursor.line() != token.end_line {
            return Ok(scalar_node(at, token.text, token.plain));
        }
        if after_anchor {
            return Err(self.error(Problem::KeyProperty));
        }
        self.check_key(token.start, token.multi_line)?;
        if !block_ok {
            return Err(self.syntax("a mapping may not start on this line (after `key: `)"));
        }
        self.block_mapping(column, at, token.text)
    }

    /// A block mapping indented `indent` columns, whose first key is read.
    #[inline(never)]
    fn block_mapping(&mut self, indent: isize, key_at: Position, key: String) -> Result<Node> {
        self.enter(key_at)?;
        let mut entries = Vec::new();
        let (mut key, mut key_at) = (key, key_at);
        loop {
            self.cursor.bump();
            let value = self.block_value(indent, Context::Value)?;
            entries.push(Entry { key, key_at, value });
            if !self.next_in_block(indent)? {
                break;
            }
            if self.at_entry() {
                return Err(self.syntax("a list item where a mapping key belongs"));
            }
            (key_at, key) = (self.cursor.position(), self.block_key(indent)?);
        }
        self.leave();
        let at = entries.first().map_or(key_at, |entry| entry.key_at);
        check_duplicates(&entries)?;
        Ok(Node {
            at,
            value: Value::Mapping(entries),
        })
    }

    /// After an entry of a block collection indented `indent`: whether the next
    /// token continues it (on a new line, at that indentation).
    fn next_in_block(&mut self, indent: isize) -> Result<bool> {
        self.skip_to_token(false)?;
        if self.cursor.at_end() || self.cursor.at_document_marker() {
            return Ok(false);
        }
        if !self.cursor.first_on_line() {
            return Err(self.syntax("unexpected text after a value on its line"));
        }
        let column = column_of(&self.cursor);
        if column > indent {
            return Err(self.syntax("this line is indented more than the entries before it"));
        }
        Ok(column == indent)
    }

    /// A key of a block mapping, up to its `: ` (left at the `:`).
    fn block_key(&mut self, indent: isize) -> Result<String> {
        let Some(c) = self.cursor.peek() else {
            return Err(self.syntax("a mapping key was expected"));
        };
        match c {
            '?' if self.cursor.blankz_next() => return Err(self.error(Problem::ComplexKey)),
            ':' if self.cursor.blankz_next() => {
                return Err(self.syntax("a `:` with no mapping key before it"));
            }
            '&' | '*' => return Err(self.error(Problem::KeyProperty)),
            '[' | '{' => return Err(self.error(Problem::CollectionKey)),
            '|' | '>' => return Err(self.syntax("a block scalar may not be a mapping key")),
            _ => {}
        }
        let at = self.cursor.position();
        let token = self.block_scalar_token(indent, c)?;
        if !token.multi_line
            && (!self.value_indicator_follows() || self.cursor.line() != token.end_line)
        {
            let expected = Problem::Syntax("expected `:` after this mapping key");
            return Err(YamlError::new(at, expected));
        }
        self.check_key(token.start, token.multi_line)?;
        Ok(token.text)
    }

    /// A block sequence indented `indent` columns; the cursor is at its first `-`.
    #[inline(never)]
    fn block_sequence(&mut self, indent: isize) -> Result<Node> {
        let at = self.cursor.position();
        self.enter(at)?;
        let mut items = Vec::new();
        loop {
            self.cursor.bump();
            items.push(self.block_value(indent, Context::Item)?);
            if !self.next_in_block(indent)? || !self.at_entry() {
                break;
            }
        }
        self.leave();
        Ok(Node {
            at,
            value: Value::Sequence(items),
        })
    }

    /// Refuses characters that cannot start a plain scalar.
    fn check_plain_start(&self, c: char, flow: bool) -> Result<()> {
        match c {
            '!' => Err(self.error(Problem::Tag)),
            '%' | '@' | '`' => {
                Err(self.syntax("a plain scalar may not start with `%`, `@` or `` ` ``"))
            }
            '#' | ',' | '[' | ']' | '{' | '}' | '"' | '\'' | '|' | '>' | '&' | '*' => {
                Err(self.syntax("unexpected character where a value belongs"))
            }
            '?' if flow => Err(self.error(Problem::ComplexKey)),
            '-' | '?' | ':' => {
                let next = self.cursor.peek_nth(1);
                let blank_next = next.is_none_or(is_blank_or_break);
                if blank_next || (flow && c != '-') {
                    Err(self.syntax("unexpected indicator where a value belongs"))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// A flow sequence or mapping; the cursor is at `[` or `{`.
    #[inline(never)]
    fn flow_collection(&mut self) -> Result<Node> {
        let at = self.cursor.position();
        self.enter(at)?;
        let sequence = self.cursor.bump() == Some('[');
        let close = if sequence { ']' } else { '}' };
        let mut items = Vec::new();
        let mut entries = Vec::new();
        loop {
            self.skip_to_token(true)?;
            if self.cursor.peek() == Some(close) {
                self.cursor.bump();
                break;
            }
            let entry_at = self.cursor.position();
            if sequence {
                items.push(self.flow_item(entry_at)?);
            } else {
                entries.push(self.flow_entry(entry_at, close)?);
            }
            if self.flow_separator(close)? {
                break;
            }
        }
        self.leave();
        let value = if sequence {
            Value::Sequence(items)
        } else {
            check_duplicates(&entries)?;
            Value::Mapping(entries)
        };
        Ok(Node { at, value })
    }

    /// After a flow entry: `,` (false) or the closing bracket (true).
    fn flow_separator(&mut self, close: char) -> Result<bool> {
        self.skip_to_token(true)?;
        match self.cursor.peek() {
            Some(',') => {
                self.cursor.bump();
                Ok(false)
            }
            Some(c) if c == close => {
                self.cursor.bump();
                Ok(true)
            }
            None => Err(self.syntax("a flow collection is not closed")),
            Some(_) => Err(self.syntax("expected `,` or the end of the flow collection")),
        }
    }

    /// An item of a flow sequence: a node, or a one-entry mapping `key: value`.
    fn flow_item(&mut self, at: Position) -> Result<Node> {
        if self.cursor.peek() == Some('?') && self.cursor.blankz_next() {
            return Err(self.error(Problem::ComplexKey));
        }
        let start = (self.cursor.offset(), self.cursor.line());
        let node = self.flow_node()?;
        self.skip_to_token(true)?;
        if self.cursor.peek() != Some(':') {
            return Ok(node);
        }
        self.check_key(start.0, start.1 != self.cursor.line())?;
        let key = key_text(node)?;
        self.enter(at)?;
        let value = self.flow_value(']')?;
        self.leave();
        Ok(Node {
            at,
            value: Value::Mapping(vec![Entry {
                key,
                key_at: at,
                value,
            }]),
        })
    }

    /// An entry of a flow mapping: `key: value`, or a key alone (null value).
    fn flow_entry(&mut self, at: Position, close: char) -> Result<Entry> {
        match self.cursor.peek() {
            Some('?') if self.cursor.blankz_next() => return Err(self.error(Problem::ComplexKey)),
            Some(':') => return Err(self.syntax("a `:` with no mapping key before it")),
            _ => {}
        }
        let start = (self.cursor.offset(), self.cursor.line());
        let key = self.flow_node()?;
        let key = key_text(key)?;
        self.skip_to_token(true)?;
        let value = if self.cursor.peek() == Some(':') {
            self.check_key(start.0, start.1 != self.cursor.line())?;
            self.flow_value(close)?
        } else {
            empty(self.cursor.position())
        };
        Ok(Entry {
            key,
            key_at: at,
            value,
        })
    }

    /// An implicit key and its `:` (at the cursor) must be on one line and at
    /// most [`MAX_KEY_BYTES`] apart, as in libyaml.
    fn check_key(&self, start: usize, multi_line: bool) -> Result<()> {
        if multi_line {
            return Err(self.syntax(MULTI_LINE_KEY));
        }
        if self.cursor.offset().saturating_sub(start) > MAX_KEY_BYTES {
            return Err(self.syntax(LONG_KEY));
        }
        Ok(())
    }

    /// After a `:` in flow context: the value, or null before `,` or the end.
    fn flow_value(&mut self, close: char) -> Result<Node> {
        self.cursor.bump();
        self.skip_to_token(true)?;
        match self.cursor.peek() {
            Some(c) if c == ',' || c == close => Ok(empty(self.cursor.position())),
            _ => self.flow_node(),
        }
    }

    /// A node in flow context.
    #[inline(never)]
    fn flow_node(&mut self) -> Result<Node> {
        if self.cursor.peek() == Some('&') {
            let anchor_at = self.cursor.position();
            let name = self.anchor_name()?;
            self.skip_to_token(true)?;
            self.refuse_alias_after_anchor()?;
            self.open_anchor(&name, anchor_at)?;
            let node = match self.cursor.peek() {
                Some(',' | ']' | '}' | ':') | None => empty(self.cursor.position()),
                _ => self.flow_content()?,
            };
            self.define(&name, &node);
            return Ok(node);
        }
        self.flow_content()
    }

    fn flow_content(&mut self) -> Result<Node> {
        let at = self.cursor.position();
        match self.cursor.peek() {
            None => Err(self.syntax("a flow collection is not closed")),
            Some('[' | '{') => self.flow_collection(),
            Some('*') => self.alias(),
            Some('"') => Ok(scalar_node(
                at,
                scalar::quoted(&mut self.cursor, true)?,
                false,
            )),
            Some('\'') => Ok(scalar_node(
                at,
                scalar::quoted(&mut self.cursor, false)?,
                false,
            )),
            Some(c) => {
                self.check_plain_start(c, true)?;
                let plain = scalar::plain(&mut self.cursor, 0, true)?;
                Ok(scalar_node(at, plain.text, true))
            }
        }
    }
}

/// The text of a node used as a key; collections may not be keys.
fn key_text(node: Node) -> Result<String> {
    match node.value {
        Value::Scalar { text, .. } => Ok(text),
        _ => Err(YamlError::new(node.at, Problem::CollectionKey)),
    }
}

fn scalar_node(at: Position, text: String, plain: bool) -> Node {
    Node {
        at,
        value: Value::Scalar { text, plain },
    }
}

/// An absent node: an empty plain scalar (null).
fn empty(at: Position) -> Node {
    scalar_node(at, String::new(), true)
}

fn column_of(cursor: &Cursor<'_>) -> isize {
    isize::try_from(cursor.column()).unwrap_or(isize::MAX)
}

/// Nodes in `node` and how many collections nest in it (itself included).
fn measure(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::Scalar { .. } => (1, 0),
        Value::Sequence(items) => combine(items.iter().map(measure)),
        Value::Mapping(entries) => combine(entries.iter().map(|entry| measure(&entry.value))),
    }
}

fn combine(children: impl Iterator<Item = (usize, usize)>) -> (usize, usize) {
    children.fold((1, 1), |(size, height), (child_size, child_height)| {
        (
            size.saturating_add(child_size),
            height.max(child_height.saturating_add(1)),
        )
    })
}

/// Refuses a key given twice, at its second occurrence (in text order).
#[inline(never)]
fn check_duplicates(entries: &[Entry]) -> Result<()> {
    let mut seen = TextIndex::default();
    for (index, entry) in entries.iter().enumerate() {
        if seen.insert(entry.key.as_str().into(), index).is_some() {
            return Err(YamlError::new(
                entry.key_at,
                Problem::DuplicateKey(entry.key.clone()),
            ));
        }
    }
    Ok(())
}

/// Refuses control characters YAML does not allow (tab and breaks aside).
fn check_characters(cursor: &Cursor<'_>) -> Result<()> {
    let mut probe = cursor.clone();
    while let Some(c) = probe.peek() {
        let allowed = matches!(c, '\t' | '\n' | '\r' | '\u{85}')
            || ('\u{20}'..='\u{7e}').contains(&c)
            || ('\u{a0}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || c >= '\u{10000}';
        if !allowed {
            return Err(YamlError::new(
                probe.position(),
                Problem::ControlCharacter(u32::from(c)),
            ));
        }
        probe.bump();
    }
    Ok(())
}
