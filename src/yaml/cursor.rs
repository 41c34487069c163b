//! A position in the text: byte offset, line and column, moved one character at a time.

use super::Position;

/// Where the reader is.
#[derive(Debug, Clone)]
pub(super) struct Cursor<'t> {
    text: &'t str,
    at: usize,
    line: usize,
    /// Characters since the start of the line.
    column: usize,
}

impl<'t> Cursor<'t> {
    pub(super) fn new(text: &'t str) -> Self {
        Cursor {
            text,
            at: 0,
            line: 1,
            column: 0,
        }
    }

    fn rest(&self) -> &'t str {
        self.text.get(self.at..).unwrap_or_default()
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(super) fn peek_nth(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    pub(super) fn starts_with(&self, prefix: &str) -> bool {
        self.rest().starts_with(prefix)
    }

    /// Moves over one character (a `\r\n` pair counts as one line break).
    pub(super) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at = self.at.saturating_add(c.len_utf8());
        let crlf = c == '\r' && self.peek() == Some('\n');
        if is_break(c) && !crlf {
            self.line = self.line.saturating_add(1);
            self.column = 0;
        } else {
            self.column = self.column.saturating_add(1);
        }
        Some(c)
    }

    /// Moves over a line break (`\r\n` counts as one); false when not at one.
    pub(super) fn bump_break(&mut self) -> bool {
        self.take_break().is_some()
    }

    /// Moves over a line break and gives it as a scalar keeps it: `\n` for
    /// `\r\n`, `\r`, `\n` and U+85; U+2028 and U+2029 as they are (as libyaml).
    pub(super) fn take_break(&mut self) -> Option<char> {
        let c = self.peek().filter(|&c| is_break(c))?;
        self.bump();
        if c == '\r' && self.peek() == Some('\n') {
            self.bump();
        }
        Some(if matches!(c, '\u{2028}' | '\u{2029}') {
            c
        } else {
            '\n'
        })
    }

    /// Moves over a byte order mark, which takes no column.
    pub(super) fn skip_byte_order_mark(&mut self) {
        if self.peek() == Some('\u{feff}') {
            self.at = self.at.saturating_add('\u{feff}'.len_utf8());
        }
    }

    pub(super) fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column.saturating_add(1),
        }
    }

    /// Characters since the start of the line (the indentation when at a token).
    pub(super) fn column(&self) -> usize {
        self.column
    }

    /// Bytes read so far.
    pub(super) fn offset(&self) -> usize {
        self.at
    }

    pub(super) fn line(&self) -> usize {
        self.line
    }

    pub(super) fn at_end(&self) -> bool {
        self.at >= self.text.len()
    }

    /// Only blanks stand between the start of the line and here.
    pub(super) fn first_on_line(&self) -> bool {
        let before = self.text.get(..self.at).unwrap_or_default();
        before
            .chars()
            .rev()
            .take_while(|&c| !is_break(c))
            .all(is_blank)
    }

    /// At column 1, a `---` or `...` followed by a blank, a break or the end.
    pub(super) fn at_document_marker(&self) -> bool {
        self.column == 0
            && (self.starts_with("---") || self.starts_with("..."))
            && self.peek_nth(3).is_none_or(is_blank_or_break)
    }

    /// The character after this one is a blank, a break or the end.
    pub(super) fn blankz_next(&self) -> bool {
        self.peek_nth(1).is_none_or(is_blank_or_break)
    }
}

pub(super) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Line breaks, YAML 1.1's (which libyaml follows) included.
pub(super) fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

pub(super) fn is_blank_or_break(c: char) -> bool {
    is_blank(c) || is_break(c)
}

pub(super) fn is_flow_indicator(c: char) -> bool {
    matches!(c, ',' | '[' | ']' | '{' | '}')
}
