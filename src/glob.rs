//! Glob patterns for service authorities and the `glob` op (docs/behaviour.md §3 and §5).
//!
//! Syntax: `*` matches any run of characters (the empty run included), `+` one or
//! more characters, `?` zero or one character, and `\` makes the next character
//! literal. Every other character matches itself, case-sensitively. A pattern
//! always has to match the whole input.
//!
//! Patterns are compiled once, when the configuration is read. Matching
//! simulates the pattern as a small automaton over the input's characters, so it
//! takes at most `pattern length × input length` steps: patterns such as
//! `*a*a*a*b` cannot make it backtrack exponentially.

use serde::{Deserialize, Deserializer};

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    matcher: Matcher,
}

/// Why a glob pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// The pattern ends with a lone `\`.
    #[error("glob pattern `{0}` ends with an escape character `\\` that escapes nothing")]
    TrailingEscape(String),
}

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// Exactly this character (written plainly or escaped).
    Literal(char),
    /// Exactly one character, whichever it is (the first half of `+`).
    AnyOne,
    /// Any run of characters, possibly empty (`*`, and the second half of `+`).
    AnyRun,
    /// Zero or one character (`?`).
    ZeroOrOne,
}

impl Token {
    /// Whether the token can match without consuming a character.
    fn may_be_empty(self) -> bool {
        matches!(self, Token::AnyRun | Token::ZeroOrOne)
    }
}

/// How a compiled pattern is matched; the shortcuts cover the usual authority
/// patterns (`web.app`, `*`, `web.app:*`, `*.app`) and mean exactly what the
/// general automaton would.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    /// No metacharacters: plain string equality.
    Exact(String),
    /// `*` (or several `*` in a row): every input.
    Everything,
    /// A literal followed by `*`.
    Prefix(String),
    /// `*` followed by a literal.
    Suffix(String),
    /// Anything else.
    Automaton(Vec<Token>),
}

impl Glob {
    /// Compiles a pattern once; matching never fails afterwards.
    pub fn compile(pattern: &str) -> Result<Self, GlobError> {
        let tokens = tokenize(pattern)?;
        Ok(Glob {
            pattern: pattern.to_owned(),
            matcher: Matcher::from_tokens(tokens),
        })
    }

    /// Whether the pattern matches the whole input.
    pub fn matches(&self, input: &str) -> bool {
        match &self.matcher {
            Matcher::Exact(literal) => input == literal,
            Matcher::Everything => true,
            Matcher::Prefix(literal) => input.starts_with(literal.as_str()),
            Matcher::Suffix(literal) => input.ends_with(literal.as_str()),
            Matcher::Automaton(tokens) => run_automaton(tokens, input),
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// What the pattern matches, when it has one of the shapes an index can use.
    pub fn shape(&self) -> Shape<'_> {
        match &self.matcher {
            Matcher::Exact(literal) => Shape::Exact(literal),
            Matcher::Everything => Shape::Everything,
            Matcher::Prefix(literal) => Shape::Prefix(literal),
            Matcher::Suffix(literal) => Shape::Suffix(literal),
            Matcher::Automaton(_) => Shape::Other,
        }
    }
}

/// The shape of a compiled pattern ([`Glob::shape`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape<'a> {
    /// Exactly this text.
    Exact(&'a str),
    /// Every input.
    Everything,
    /// Every input that starts with this text.
    Prefix(&'a str),
    /// Every input that ends with this text.
    Suffix(&'a str),
    /// Something else: only [`Glob::matches`] knows.
    Other,
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::de::read_str(deserializer, Glob::compile)
    }
}

/// Turns the pattern text into tokens, resolving escapes.
fn tokenize(pattern: &str) -> Result<Vec<Token>, GlobError> {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => tokens.push(Token::Literal(escaped)),
                None => return Err(GlobError::TrailingEscape(pattern.to_owned())),
            },
            '*' => push_any_run(&mut tokens),
            '+' => {
                tokens.push(Token::AnyOne);
                push_any_run(&mut tokens);
            }
            '?' => tokens.push(Token::ZeroOrOne),
            literal => tokens.push(Token::Literal(literal)),
        }
    }
    Ok(tokens)
}

/// Appends `AnyRun` unless the previous token already is one: `**` means `*`,
/// and merging them keeps the automaton and the shortcuts small.
fn push_any_run(tokens: &mut Vec<Token>) {
    if tokens.last() != Some(&Token::AnyRun) {
        tokens.push(Token::AnyRun);
    }
}

impl Matcher {
    /// Picks a shortcut when the tokens have one of the common shapes.
    fn from_tokens(tokens: Vec<Token>) -> Matcher {
        match tokens.as_slice() {
            [Token::AnyRun] => Matcher::Everything,
            [Token::AnyRun, rest @ ..] => match literal_text(rest) {
                Some(literal) => Matcher::Suffix(literal),
                None => Matcher::Automaton(tokens),
            },
            [rest @ .., Token::AnyRun] => match literal_text(rest) {
                Some(literal) => Matcher::Prefix(literal),
                None => Matcher::Automaton(tokens),
            },
            all => match literal_text(all) {
                Some(literal) => Matcher::Exact(literal),
                None => Matcher::Automaton(tokens),
            },
        }
    }
}

/// The text of a run of literal tokens, or `None` if any token is a wildcard.
fn literal_text(tokens: &[Token]) -> Option<String> {
    tokens
        .iter()
        .map(|token| match token {
            Token::Literal(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// Runs the pattern as a nondeterministic automaton: state `i` means "the first
/// `i` tokens have matched the input read so far". All live states advance
/// together, one input character at a time.
fn run_automaton(tokens: &[Token], input: &str) -> bool {
    let mut current = vec![false; tokens.len() + 1];
    let mut next = current.clone();
    if let Some(start) = current.first_mut() {
        *start = true;
    }
    follow_empty_matches(tokens, &mut current);
    for c in input.chars() {
        advance(tokens, &current, &mut next, c);
        if !next.contains(&true) {
            return false;
        }
        std::mem::swap(&mut current, &mut next);
    }
    current.last().copied().unwrap_or(false)
}

/// Computes the states reached from `current` by reading `c`.
fn advance(tokens: &[Token], current: &[bool], next: &mut [bool], c: char) {
    next.fill(false);
    for (index, (token, _)) in tokens
        .iter()
        .zip(current)
        .enumerate()
        .filter(|(_, (_, live))| **live)
    {
        let target = match token {
            Token::Literal(expected) if *expected == c => Some(index + 1),
            Token::Literal(_) => None,
            Token::AnyOne | Token::ZeroOrOne => Some(index + 1),
            Token::AnyRun => Some(index),
        };
        if let Some(state) = target.and_then(|target| next.get_mut(target)) {
            *state = true;
        }
    }
    follow_empty_matches(tokens, next);
}

/// Adds the states reachable by letting tokens match nothing. Such moves only
/// go one state forward, so one pass in increasing order reaches all of them.
fn follow_empty_matches(tokens: &[Token], states: &mut [bool]) {
    for (index, token) in tokens.iter().enumerate() {
        let live = states.get(index).copied().unwrap_or(false);
        if live
            && token.may_be_empty()
            && let Some(state) = states.get_mut(index + 1)
        {
            *state = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// One row of `tests/vectors/glob.tsv`.
    struct Row<'a> {
        line: usize,
        pattern: &'a str,
        input: &'a str,
        expected: bool,
    }

    fn vector_rows() -> Vec<Row<'static>> {
        crate::vectors::rows("glob.tsv", include_str!("../tests/vectors/glob.tsv"), 3)
            .into_iter()
            .map(|row| Row {
                line: row.line,
                pattern: row.fields[0],
                input: row.fields[1],
                expected: row.expected,
            })
            .collect()
    }

    fn glob(pattern: &str) -> Glob {
        Glob::compile(pattern).unwrap()
    }

    /// Matches through the general automaton, bypassing the shortcuts.
    fn automaton_matches(pattern: &str, input: &str) -> bool {
        run_automaton(&tokenize(pattern).unwrap(), input)
    }

    #[test]
    fn vector_table() {
        let rows = vector_rows();
        assert!(rows.len() >= 30, "glob.tsv has only {} rows", rows.len());
        let failures: Vec<String> = rows
            .iter()
            .filter(|row| glob(row.pattern).matches(row.input) != row.expected)
            .map(|row| {
                format!(
                    "line {}: `{}` against `{}` should give {}",
                    row.line, row.pattern, row.input, row.expected
                )
            })
            .collect();
        assert!(
            failures.is_empty(),
            "failing rows:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    fn vector_table_agrees_with_the_automaton_without_shortcuts() {
        for row in vector_rows() {
            assert_eq!(
                automaton_matches(row.pattern, row.input),
                row.expected,
                "line {}",
                row.line
            );
        }
    }

    #[test]
    fn empty_pattern_matches_only_empty_input() {
        let empty = glob("");
        assert!(empty.matches(""));
        assert!(!empty.matches("a"));
    }

    #[test]
    fn star_alone_matches_everything() {
        let star = glob("*");
        for input in ["", "a", "web.app:8080", "ünïcødé", "*?+\\"] {
            assert!(star.matches(input), "{input:?}");
        }
    }

    #[test]
    fn repeated_stars_mean_one_star() {
        assert_eq!(glob("***").matcher, Matcher::Everything);
        assert!(glob("a**b").matches("ab"));
        assert!(glob("a**b").matches("axxb"));
    }

    #[test]
    fn shortcuts_are_chosen_for_common_shapes() {
        assert_eq!(glob("web.app").matcher, Matcher::Exact("web.app".into()));
        assert_eq!(
            glob("web.app:*").matcher,
            Matcher::Prefix("web.app:".into())
        );
        assert_eq!(glob("*.app").matcher, Matcher::Suffix(".app".into()));
        assert_eq!(glob("a\\*").matcher, Matcher::Exact("a*".into()));
        assert!(matches!(glob("*.app:*").matcher, Matcher::Automaton(_)));
        assert!(matches!(glob("a+").matcher, Matcher::Automaton(_)));
    }

    #[test]
    fn shortcuts_agree_with_the_automaton() {
        let patterns = ["web.app", "web.app:*", "*.app", "a\\*", "\\*", "*", ""];
        let inputs = [
            "",
            "web.app",
            "web.app:",
            "web.app:8080",
            "x.app",
            "a*",
            "*",
            "a",
        ];
        for pattern in patterns {
            for input in inputs {
                assert_eq!(
                    glob(pattern).matches(input),
                    automaton_matches(pattern, input),
                    "`{pattern}` against `{input}`"
                );
            }
        }
    }

    #[test]
    fn escapes_make_metacharacters_literal() {
        assert!(glob("\\*").matches("*"));
        assert!(!glob("\\*").matches("a"));
        assert!(glob("\\+").matches("+"));
        assert!(!glob("\\+").matches("ab"));
        assert!(glob("\\?").matches("?"));
        assert!(!glob("\\?").matches(""));
        assert!(glob("\\\\").matches("\\"));
        assert!(!glob("\\\\").matches("\\\\"));
    }

    #[test]
    fn escaping_an_ordinary_character_is_that_character() {
        assert!(glob("\\a\\.b").matches("a.b"));
        assert!(!glob("\\a\\.b").matches("\\a\\.b"));
    }

    #[test]
    fn trailing_escape_is_an_error_that_quotes_the_pattern() {
        let error = Glob::compile("web.app\\").unwrap_err();
        assert_eq!(error, GlobError::TrailingEscape("web.app\\".into()));
        assert!(error.to_string().contains("`web.app\\`"), "{error}");
        assert!(Glob::compile("\\").is_err());
        assert!(Glob::compile("a\\\\\\").is_err());
        assert!(Glob::compile("a\\\\").is_ok());
    }

    #[test]
    fn plus_at_either_end() {
        assert!(glob("+b").matches("ab"));
        assert!(glob("+b").matches("aab"));
        assert!(!glob("+b").matches("b"));
        assert!(glob("a+").matches("ab"));
        assert!(!glob("a+").matches("a"));
        assert!(glob("+").matches("x"));
        assert!(glob("++").matches("xy"));
        assert!(!glob("++").matches("x"));
    }

    #[test]
    fn question_mark_at_either_end() {
        assert!(glob("?b").matches("b"));
        assert!(glob("?b").matches("ab"));
        assert!(!glob("?b").matches("aab"));
        assert!(glob("a?").matches("a"));
        assert!(glob("a?").matches("ab"));
        assert!(!glob("a?").matches("abc"));
        assert!(glob("??").matches(""));
        assert!(glob("??").matches("xy"));
        assert!(!glob("??").matches("xyz"));
    }

    #[test]
    fn unicode_characters_count_as_one() {
        assert!(glob("?").matches("é"));
        assert!(glob("caf?").matches("café"));
        assert!(glob("+").matches("日"));
        assert!(!glob("?").matches("日本"));
        assert!(glob("??").matches("日本"));
        assert!(glob("*本").matches("日本"));
        assert!(glob("日*").matches("日本"));
        assert!(glob("\\日").matches("日"));
    }

    #[test]
    fn matching_is_case_sensitive() {
        assert!(!glob("web.app").matches("WEB.APP"));
        assert!(!glob("*.APP").matches("web.app"));
    }

    #[test]
    fn whole_input_must_match() {
        assert!(!glob("web").matches("web.app"));
        assert!(!glob("app").matches("web.app"));
        assert!(!glob("a?c").matches("abcd"));
    }

    #[test]
    fn star_in_the_middle_can_match_separators_and_nothing() {
        let pattern = glob("api.*.example.com");
        assert!(pattern.matches("api.eu.example.com"));
        assert!(pattern.matches("api.a.b.example.com"));
        assert!(pattern.matches("api..example.com"));
        assert!(!pattern.matches("api.example.com"));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let pattern = glob("*a*a*a*a*a*a*a*b");
        let input = "a".repeat(5_000);
        let started = Instant::now();
        assert!(!pattern.matches(&input));
        assert!(pattern.matches(&format!("{input}b")));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn many_optional_characters_are_fast() {
        let pattern = glob(&format!("{}b", "?".repeat(200)));
        let input = "a".repeat(5_000);
        let started = Instant::now();
        assert!(!pattern.matches(&input));
        assert!(pattern.matches(&format!("{}b", "a".repeat(200))));
        assert!(!pattern.matches(&format!("{}b", "a".repeat(201))));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn as_str_returns_the_pattern_as_written() {
        assert_eq!(glob("web.app:*").as_str(), "web.app:*");
        assert_eq!(glob("a\\*").as_str(), "a\\*");
    }

    #[test]
    fn deserializes_from_json_and_yaml() {
        let from_json: Vec<Glob> = serde_json::from_str(r#"["*.app", "web.app:*"]"#).unwrap();
        assert!(from_json[0].matches("web.app"));
        assert!(from_json[1].matches("web.app:8080"));
        let from_yaml: Vec<Glob> = serde_yaml::from_str("- '*.app'\n- web.app\n").unwrap();
        assert!(from_yaml[0].matches("x.app"));
        assert!(from_yaml[1].matches("web.app"));
    }

    #[test]
    fn deserialization_reports_invalid_patterns() {
        let error = serde_json::from_str::<Glob>(r#""a\\""#).unwrap_err();
        assert!(error.to_string().contains("`a\\`"), "{error}");
        assert!(serde_json::from_str::<Glob>("5").is_err());
    }
}
