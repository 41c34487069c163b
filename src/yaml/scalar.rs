//! Scalars: plain, single- and double-quoted, and block (`|`, `>`) ones.

use super::cursor::{Cursor, is_blank, is_blank_or_break, is_break, is_flow_indicator};
use super::error::{Problem, YamlError};

type Result<T> = std::result::Result<T, YamlError>;

fn syntax(cursor: &Cursor<'_>, message: &'static str) -> YamlError {
    YamlError::new(cursor.position(), Problem::Syntax(message))
}

/// Line folding in flow and plain scalars: blanks before a break are dropped,
/// a single break becomes a space, each further one a newline; an escaped
/// break (`\` at the end of a line) joins with nothing.
#[derive(Default)]
struct Folder {
    out: String,
    blanks: String,
    in_break: bool,
    escaped: bool,
    /// The first break of this run, as kept (`\n`, or U+2028 or U+2029).
    first_break: Option<char>,
    /// Breaks after the first one of this run.
    more_breaks: String,
}

impl Folder {
    fn blank(&mut self, c: char) {
        if !self.in_break {
            self.blanks.push(c);
        }
    }

    fn line_break(&mut self, kept: char) {
        if self.in_break {
            self.more_breaks.push(kept);
        } else {
            self.blanks.clear();
            self.in_break = true;
            self.first_break = Some(kept);
        }
    }

    /// Takes the blank or break `c` at the cursor; false when `c` is neither.
    fn space(&mut self, cursor: &mut Cursor<'_>, c: char) -> bool {
        if is_blank(c) {
            self.blank(c);
            cursor.bump();
        } else if let Some(kept) = cursor.take_break() {
            self.line_break(kept);
        } else {
            return false;
        }
        true
    }

    fn escaped_break(&mut self) {
        self.flush();
        self.in_break = true;
        self.escaped = true;
    }

    fn push(&mut self, c: char) {
        self.flush();
        self.out.push(c);
    }

    /// Writes the blanks or breaks read since the last character: a lone `\n`
    /// folds into a space; U+2028 and U+2029 stay.
    fn flush(&mut self) {
        if self.in_break {
            match self.first_break.take() {
                Some('\n') if self.more_breaks.is_empty() && !self.escaped => self.out.push(' '),
                Some(kept) if kept != '\n' && !self.escaped => self.out.push(kept),
                _ => {}
            }
            self.out.push_str(&self.more_breaks);
            self.in_break = false;
            self.escaped = false;
            self.more_breaks.clear();
        } else {
            self.out.push_str(&self.blanks);
        }
        self.blanks.clear();
    }
}

/// A plain scalar read; `multi_line` when it continued on another line.
pub(super) struct Plain {
    pub text: String,
    pub multi_line: bool,
    /// The line of its last character.
    pub end_line: usize,
}

/// Reads a plain scalar. In block context, continuation lines must start at
/// column `min_column` or further (0-based).
#[inline(never)]
pub(super) fn plain(cursor: &mut Cursor<'_>, min_column: usize, flow: bool) -> Result<Plain> {
    let mut folder = Folder::default();
    let mut multi_line = false;
    let mut end_line = cursor.line();
    loop {
        if cursor.at_document_marker() || cursor.peek() == Some('#') {
            break;
        }
        while let Some(c) = cursor.peek().filter(|&c| !is_blank_or_break(c)) {
            if ends_plain(cursor, c, flow)? {
                break;
            }
            if folder.in_break {
                multi_line = true;
            }
            folder.push(c);
            end_line = cursor.line();
            cursor.bump();
        }
        if !cursor.peek().is_some_and(is_blank_or_break) {
            break;
        }
        skip_plain_blanks(cursor, &mut folder, min_column, flow)?;
        if !flow && folder.in_break && cursor.column() < min_column {
            break;
        }
    }
    Ok(Plain {
        text: folder.out,
        multi_line,
        end_line,
    })
}

/// Whether `c` (not blank) ends a plain scalar here.
fn ends_plain(cursor: &Cursor<'_>, c: char, flow: bool) -> Result<bool> {
    let next = cursor.peek_nth(1);
    if c == ':' {
        if flow && next.is_some_and(|n| is_flow_indicator(n) || n == '?') {
            return Err(syntax(cursor, "a `:` right before a flow indicator"));
        }
        return Ok(next.is_none_or(is_blank_or_break));
    }
    Ok(flow && is_flow_indicator(c))
}

/// Blanks and breaks inside a plain scalar; a tab may not indent its
/// continuation lines in block context.
fn skip_plain_blanks(
    cursor: &mut Cursor<'_>,
    folder: &mut Folder,
    min_column: usize,
    flow: bool,
) -> Result<()> {
    while let Some(c) = cursor.peek() {
        if c == '\t' && folder.in_break && !flow && cursor.column() < min_column {
            return Err(syntax(cursor, "a tab character where indentation belongs"));
        }
        if !folder.space(cursor, c) {
            break;
        }
    }
    Ok(())
}

/// A blank, a break or any other character of a quoted scalar.
fn quoted_char(cursor: &mut Cursor<'_>, folder: &mut Folder, c: char) {
    if !folder.space(cursor, c) {
        folder.push(c);
        cursor.bump();
    }
}

/// A document marker may not start a line inside a quoted scalar.
fn check_quoted_line(cursor: &Cursor<'_>, start: super::Position) -> Result<()> {
    if cursor.at_document_marker() {
        return Err(YamlError::new(
            start,
            Problem::Syntax("a document marker (`---`, `...`) inside a quoted scalar"),
        ));
    }
    Ok(())
}

fn unclosed(start: super::Position, double: bool) -> YamlError {
    let message = if double {
        "a double-quoted scalar is not closed"
    } else {
        "a single-quoted scalar is not closed"
    };
    YamlError::new(start, Problem::Syntax(message))
}

/// Reads a single-quoted scalar (`''` is a quote) or a double-quoted one
/// (escapes resolved, `\` before a line break joins the lines).
#[inline(never)]
pub(super) fn quoted(cursor: &mut Cursor<'_>, double: bool) -> Result<String> {
    let start = cursor.position();
    let quote = if double { '"' } else { '\'' };
    cursor.bump();
    let mut folder = Folder::default();
    loop {
        check_quoted_line(cursor, start)?;
        let Some(c) = cursor.peek() else {
            return Err(unclosed(start, double));
        };
        if c == quote && !double && cursor.peek_nth(1) == Some(quote) {
            folder.push(quote);
            cursor.bump();
            cursor.bump();
        } else if c == quote {
            cursor.bump();
            folder.flush();
            return Ok(folder.out);
        } else if double && c == '\\' {
            backslash(cursor, &mut folder)?;
        } else {
            quoted_char(cursor, &mut folder, c);
        }
    }
}

/// An escape, or an escaped line break.
fn backslash(cursor: &mut Cursor<'_>, folder: &mut Folder) -> Result<()> {
    if cursor.peek_nth(1).is_some_and(is_break) {
        cursor.bump();
        cursor.bump_break();
        folder.escaped_break();
    } else {
        let c = escape(cursor)?;
        folder.push(c);
    }
    Ok(())
}

/// Reads `\` and its escape; the character it stands for.
fn escape(cursor: &mut Cursor<'_>) -> Result<char> {
    let at = cursor.position();
    cursor.bump();
    let Some(c) = cursor.bump() else {
        return Err(YamlError::new(
            at,
            Problem::Syntax("a `\\` at the end of the text"),
        ));
    };
    let simple = match c {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\u{b}',
        'f' => '\u{c}',
        'r' => '\r',
        'e' => '\u{1b}',
        ' ' => ' ',
        '"' => '"',
        '/' => '/',
        '\\' => '\\',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        'x' => return hex_escape(cursor, at, 2),
        'u' => return hex_escape(cursor, at, 4),
        'U' => return hex_escape(cursor, at, 8),
        _ => {
            return Err(YamlError::new(
                at,
                Problem::Syntax("an unknown escape in a double-quoted scalar"),
            ));
        }
    };
    Ok(simple)
}

/// The character of `digits` hex digits.
fn hex_escape(cursor: &mut Cursor<'_>, at: super::Position, digits: usize) -> Result<char> {
    let mut code: u32 = 0;
    for _ in 0..digits {
        let digit = cursor.peek().and_then(|c| c.to_digit(16)).ok_or_else(|| {
            YamlError::new(at, Problem::Syntax("an escape with too few hex digits"))
        })?;
        code = code.saturating_mul(16).saturating_add(digit);
        cursor.bump();
    }
    char::from_u32(code).ok_or_else(|| {
        YamlError::new(
            at,
            Problem::Syntax("an escape of no Unicode character (a surrogate or beyond U+10FFFF)"),
        )
    })
}

/// `-`, none or `+`: what happens to the final line breaks of a block scalar.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Chomping {
    Strip,
    Clip,
    Keep,
}

/// A block scalar's header: its chomping and explicit indentation.
struct Header {
    literal: bool,
    chomping: Chomping,
    indentation: Option<usize>,
}

/// Reads a block scalar (`|` or `>`) whose parent collection is indented
/// `parent` columns (-1 at the top).
#[inline(never)]
pub(super) fn block(cursor: &mut Cursor<'_>, parent: isize) -> Result<String> {
    let header = block_header(cursor)?;
    let floor = usize::try_from(parent.saturating_add(1))
        .unwrap_or(0)
        .max(1);
    let mut indent = match header.indentation {
        Some(step) => usize::try_from(parent).map_or(step, |p| p.saturating_add(step)),
        None => 0,
    };
    let mut trailing = block_breaks(cursor, &mut indent)?;
    if header.indentation.is_none() {
        indent = indent.max(floor);
    }
    let mut out = String::new();
    let mut leading_break: Option<char> = None;
    let mut leading_blank = false;
    while cursor.column() == indent && !cursor.at_end() {
        let trailing_blank = cursor.peek().is_some_and(is_blank);
        if !header.literal && leading_break == Some('\n') && !leading_blank && !trailing_blank {
            if trailing.is_empty() {
                out.push(' ');
            }
            leading_break = None;
        }
        out.extend(leading_break);
        out.push_str(&trailing);
        leading_blank = trailing_blank;
        while let Some(c) = cursor.peek().filter(|&c| !is_break(c)) {
            out.push(c);
            cursor.bump();
        }
        leading_break = cursor.take_break();
        trailing = block_breaks(cursor, &mut indent)?;
    }
    match header.chomping {
        Chomping::Strip => {}
        Chomping::Clip => out.extend(leading_break),
        Chomping::Keep => {
            out.extend(leading_break);
            out.push_str(&trailing);
        }
    }
    Ok(out)
}

/// Reads `|` or `>`, the indicators, an optional comment and the line break.
fn block_header(cursor: &mut Cursor<'_>) -> Result<Header> {
    let literal = cursor.bump() == Some('|');
    let mut header = Header {
        literal,
        chomping: Chomping::Clip,
        indentation: None,
    };
    for _ in 0..2 {
        match cursor.peek() {
            Some('+') if header.chomping == Chomping::Clip => header.chomping = Chomping::Keep,
            Some('-') if header.chomping == Chomping::Clip => header.chomping = Chomping::Strip,
            Some('0') => {
                return Err(syntax(
                    cursor,
                    "a block scalar's indentation indicator is 0",
                ));
            }
            Some(c @ '1'..='9') if header.indentation.is_none() => {
                header.indentation = c.to_digit(10).map(|d| d as usize);
            }
            _ => break,
        }
        cursor.bump();
    }
    end_of_header_line(cursor)?;
    Ok(header)
}

/// Blanks and a comment up to the end of a header line, and its break.
fn end_of_header_line(cursor: &mut Cursor<'_>) -> Result<()> {
    while cursor.peek().is_some_and(is_blank) {
        cursor.bump();
    }
    // libyaml takes a comment right after the indicators too (`|#c`).
    if cursor.peek() == Some('#') {
        while cursor.peek().is_some_and(|c| !is_break(c)) {
            cursor.bump();
        }
    }
    if cursor.at_end() || cursor.bump_break() {
        Ok(())
    } else {
        Err(syntax(
            cursor,
            "unexpected text after a block scalar's header",
        ))
    }
}

/// Empty lines before a block scalar's next content line; the indentation is
/// found from the first content line when still 0. Returns the breaks read.
fn block_breaks(cursor: &mut Cursor<'_>, indent: &mut usize) -> Result<String> {
    let mut breaks = String::new();
    let mut widest = 0usize;
    loop {
        while (*indent == 0 || cursor.column() < *indent) && cursor.peek() == Some(' ') {
            cursor.bump();
        }
        widest = widest.max(cursor.column());
        if (*indent == 0 || cursor.column() < *indent) && cursor.peek() == Some('\t') {
            return Err(syntax(cursor, "a tab character where indentation belongs"));
        }
        let Some(kept) = cursor.take_break() else {
            break;
        };
        breaks.push(kept);
    }
    if *indent == 0 {
        *indent = widest;
    }
    Ok(breaks)
}
