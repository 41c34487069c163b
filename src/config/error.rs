//! Configuration errors: what is wrong, at which field, and where in the text.

use std::fmt;

use super::locate::Position;
use super::path::FieldPath;

/// Why a configuration was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The offending field.
    pub path: FieldPath,
    /// What is wrong with it.
    pub message: String,
    /// Where it is in the configuration text, when known.
    pub position: Option<Position>,
    /// The text around that position, ready to print.
    pub context: Option<String>,
}

impl ConfigError {
    /// An error about a field, not yet placed in the text.
    pub fn at(path: FieldPath, message: impl Into<String>) -> Self {
        ConfigError {
            path,
            message: message.into(),
            position: None,
            context: None,
        }
    }

    /// Places the error in `text`.
    pub fn placed(mut self, text: &str, position: Position) -> Self {
        self.context = Some(excerpt(text, position));
        self.position = Some(position);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid plugin configuration at `{}`", self.path)?;
        if let Some(Position { line, column }) = self.position {
            write!(f, " (line {line}, column {column})")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(context) = &self.context {
            write!(f, "\n{context}")?;
        }
        Ok(())
    }
}

/// Lines shown before and after the offending one.
const CONTEXT_LINES: usize = 2;
/// Longest part of a line shown; compact JSON is one long line.
const MAX_SHOWN: usize = 100;

/// The lines around `position`, numbered, with a caret under the column.
fn excerpt(text: &str, position: Position) -> String {
    let first = position.line.saturating_sub(CONTEXT_LINES).max(1);
    let last = position.line.saturating_add(CONTEXT_LINES);
    let target_line_chars = text
        .lines()
        .nth(position.line.saturating_sub(1))
        .map_or(0, |line| line.chars().count());
    let window_start = window_start(position.column, target_line_chars);
    let width = last.to_string().len();
    let mut out = String::new();
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        if number < first || number > last {
            continue;
        }
        let marker = if number == position.line { '>' } else { ' ' };
        let shown: String = line.chars().skip(window_start).take(MAX_SHOWN).collect();
        let ellipsis = if window_start > 0 { "…" } else { "" };
        out.push_str(&format!("{marker} {number:>width$} | {ellipsis}{shown}\n"));
        if number == position.line {
            let caret_at = position
                .column
                .saturating_sub(1)
                .saturating_sub(window_start)
                + ellipsis.chars().count();
            out.push_str(&format!("  {:>width$} | {}^\n", "", " ".repeat(caret_at)));
        }
    }
    out.trim_end().to_owned()
}

/// The first character shown, so that the column stays visible on long lines.
fn window_start(column: usize, line_chars: usize) -> usize {
    if line_chars <= MAX_SHOWN {
        return 0;
    }
    column
        .saturating_sub(MAX_SHOWN / 2)
        .min(line_chars.saturating_sub(MAX_SHOWN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_two_lines_around_with_a_caret() {
        let text = "a\nb\nc\nd: bad\ne\nf\ng";
        let error = ConfigError::at(FieldPath::root().key("d"), "is bad")
            .placed(text, Position { line: 4, column: 4 });
        let shown = error.to_string();
        assert!(
            shown.starts_with("invalid plugin configuration at `d` (line 4, column 4): is bad\n")
        );
        assert!(shown.contains("  2 | b"));
        assert!(shown.contains("> 4 | d: bad\n    |    ^"));
        assert!(shown.contains("  6 | f"));
        assert!(!shown.contains("| a"));
        assert!(!shown.contains("| g"));
    }

    #[test]
    fn long_lines_are_windowed_around_the_column() {
        let text = format!("{}X{}", "a".repeat(500), "b".repeat(500));
        let error = ConfigError::at(FieldPath::root(), "here").placed(
            &text,
            Position {
                line: 1,
                column: 501,
            },
        );
        let shown = error.to_string();
        let caret_line = shown.lines().last().unwrap();
        let text_line = shown.lines().nth(1).unwrap();
        let caret = caret_line.find('^').unwrap();
        assert_eq!(
            text_line.chars().nth(caret_line[..caret].chars().count()),
            Some('X')
        );
        assert!(text_line.chars().count() < 130);
    }

    #[test]
    fn an_error_without_position_has_no_context() {
        let error = ConfigError::at(FieldPath::root().key("services"), "empty");
        assert_eq!(
            error.to_string(),
            "invalid plugin configuration at `services`: empty"
        );
    }
}
