//! 3scale mapping rules: compile, match, and sum usages (docs/behaviour.md §6).
//!
//! A rule matches a request when its method matches (`any`, or the same method
//! ignoring case) and its pattern matches the request's path and query string.
//! Every matching rule adds its usages; a matching rule marked `last` ends the
//! evaluation.
//!
//! Patterns are compiled once, when the configuration is read (or when rules
//! arrive from 3scale System). Path matching simulates the pattern as a small
//! automaton, so its cost is at most `pattern length × path length` whatever the
//! placeholders are; nothing in a pattern is a regular expression.
//!
//! [`match_rules`] tries every rule in turn and is the reference; the request
//! path uses [`match_indexed`], which asks each [`RuleSet`]'s index for the few
//! rules that can match and gives the same answer (`index.rs`).

mod index;

pub use index::{RuleIndex, RuleSet, Rules, match_indexed};

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use serde::{Deserialize, Deserializer};

use crate::de::read_str;

use crate::io::percent::decode_form;
use crate::io::{query, scan};
pub use crate::model::Usages;

/// One mapping rule of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingRule {
    /// HTTP method to match.
    pub method: RuleMethod,
    /// Path (and optional query) pattern.
    pub pattern: Pattern,
    /// Metrics and deltas added when the rule matches (shared by the rules of a
    /// [`RuleSet`] with the same list).
    pub usages: Arc<[Usage]>,
    /// Stop evaluating further rules when this one matches.
    pub last: bool,
}

/// Why a mapping rule built with [`MappingRule::new`] is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingRuleError {
    /// The method is neither `any` nor an HTTP method token.
    #[error(transparent)]
    Method(#[from] MethodError),
    /// The pattern does not compile.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// A usage has an empty name or a zero delta.
    #[error(transparent)]
    Usage(#[from] UsageError),
}

impl MappingRule {
    /// Builds a rule from its parts as written (for rules fetched from 3scale
    /// System), checking them the way configuration parsing does.
    pub fn new(
        method: &str,
        pattern: &str,
        usages: Vec<Usage>,
        last: bool,
    ) -> Result<MappingRule, MappingRuleError> {
        for usage in &usages {
            Usage::new(&usage.name, usage.delta)?;
        }
        Ok(MappingRule {
            method: RuleMethod::parse(method)?,
            pattern: Pattern::compile(pattern)?,
            usages: usages.into(),
            last,
        })
    }

    /// Whether the rule matches a request method and its path with query string.
    pub fn matches(&self, method: &str, path_and_query: &str) -> bool {
        self.matches_target(method, &RequestTarget::parse(path_and_query))
    }

    fn matches_target(&self, method: &str, target: &RequestTarget<'_>) -> bool {
        self.method.matches(method) && self.pattern.matches_target(target)
    }
}

/// The method a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleMethod {
    /// `any`: every method.
    Any,
    /// One method, stored uppercase (shared by the rules of a [`RuleSet`] that have it).
    Exact(Arc<str>),
}

/// Why a rule's method is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MethodError {
    /// The method is an empty string.
    #[error("mapping rule method is empty; expected an HTTP method such as `GET`, or `any`")]
    Empty,
    /// The method contains characters that no HTTP method can contain.
    #[error(
        "mapping rule method `{0}` is not an HTTP method token; expected a method such as `GET`, or `any`"
    )]
    NotToken(String),
}

impl RuleMethod {
    /// Reads `any` (in any case) or an HTTP method token, which is stored uppercase.
    pub fn parse(method: &str) -> Result<RuleMethod, MethodError> {
        if method.is_empty() {
            return Err(MethodError::Empty);
        }
        if method.eq_ignore_ascii_case("any") {
            return Ok(RuleMethod::Any);
        }
        if !method.chars().all(is_token_char) {
            return Err(MethodError::NotToken(method.to_owned()));
        }
        Ok(RuleMethod::Exact(method.to_ascii_uppercase().into()))
    }

    /// Whether a request method matches, ignoring case.
    pub fn matches(&self, method: &str) -> bool {
        match self {
            RuleMethod::Any => true,
            RuleMethod::Exact(expected) => same_method(expected, method),
        }
    }
}

/// Whether two methods are the same, ignoring case; compared as they are first,
/// since requests' methods are nearly always uppercase, as rules' are stored.
pub fn same_method(one: &str, other: &str) -> bool {
    one == other || one.eq_ignore_ascii_case(other)
}

/// Characters of an HTTP token (RFC 9110 section 5.6.2), which a method is.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

impl<'de> Deserialize<'de> for RuleMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        read_str(deserializer, RuleMethod::parse)
    }
}

/// A metric and how much one matching request adds to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Usage {
    /// Metric system name (not empty; shared by the rules of a [`RuleSet`] that count it).
    pub name: Arc<str>,
    /// Positive increment.
    pub delta: u64,
}

/// Why a usage is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// The metric name is empty.
    #[error("usage metric name is empty")]
    EmptyName,
    /// The delta is zero.
    #[error("usage delta of metric `{0}` is 0; it must be a positive integer")]
    ZeroDelta(String),
}

impl Usage {
    /// Builds a usage, rejecting an empty name and a zero delta.
    pub fn new(name: &str, delta: u64) -> Result<Usage, UsageError> {
        if name.is_empty() {
            return Err(UsageError::EmptyName);
        }
        if delta == 0 {
            return Err(UsageError::ZeroDelta(name.to_owned()));
        }
        Ok(Usage {
            name: name.into(),
            delta,
        })
    }
}

/// The methods, metric names and usage lists of a list of rules, one copy of
/// each: a list of thousands of rules names a few methods and metrics, mostly in
/// the same few usage lists, over and over.
#[derive(Debug, Default)]
struct Names {
    names: HashSet<Arc<str>>,
    usage_lists: HashSet<Arc<[Usage]>>,
}

impl Names {
    /// Makes the names and the usage list of `rule` the copies already held,
    /// holding the new ones.
    fn share(&mut self, rule: &mut MappingRule) {
        if let RuleMethod::Exact(method) = &mut rule.method {
            share(&mut self.names, method);
        }
        if let Some(usages) = Arc::get_mut(&mut rule.usages) {
            for usage in usages {
                share(&mut self.names, &mut usage.name);
            }
        }
        share(&mut self.usage_lists, &mut rule.usages);
    }
}

/// Replaces `value` with the equal one `held` has, or adds it there.
fn share<T: Eq + std::hash::Hash + ?Sized>(held: &mut HashSet<Arc<T>>, value: &mut Arc<T>) {
    match held.get(&**value) {
        Some(copy) => *value = Arc::clone(copy),
        None => {
            held.insert(Arc::clone(value));
        }
    }
}

/// Deserializes a list of usages.
pub(crate) fn usage_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Arc<[Usage]>, D::Error> {
    Vec::<Usage>::deserialize(deserializer).map(Arc::from)
}

/// Deserializes a metric name, rejecting the empty string.
pub(crate) fn metric_name<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Arc<str>, D::Error> {
    read_str(deserializer, |name| match name {
        "" => Err(UsageError::EmptyName),
        name => Ok(name.into()),
    })
}

/// Deserializes a delta (integer or whole float), rejecting zero.
pub(crate) fn positive_delta<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    crate::integer::whole_checked(deserializer, |delta| match delta {
        0 => Err("usage delta is 0; it must be a positive integer"),
        _ => Ok(()),
    })
}

/// A compiled mapping-rule pattern.
///
/// The path part (before the first `?`) is compared with the raw request path,
/// case-sensitively, after collapsing repeated `/` on both sides; `{name}`
/// matches one or more placeholder characters and a final `$` anchors the end.
/// Each `key=value` pair of the query part must be met by some parameter of the
/// request query; keys and literal values are form-decoded on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    source: Box<str>,
    /// Where the path part ends in `source`, before its `$` anchor or `?` query
    /// part. Its tokens are compiled when a match needs them: a configuration
    /// can hold thousands of patterns, a request tries only a few.
    path_end: usize,
    anchored: bool,
    /// What few patterns have, out of line: a pointer in each of thousands of
    /// rules instead of two empty fields.
    rare: Option<Box<RareParts>>,
}

/// The parts of a [`Pattern`] that most patterns do not have.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RareParts {
    /// The path part with its escapes in normal form ([`crate::path`]), when that
    /// differs from the text as written: requests are matched in normal form, so
    /// `%7e` in a pattern must match `~`.
    normal_path: Option<Box<str>>,
    query: Box<[QueryRequirement]>,
}

/// One element of a compiled path part. Paths are matched byte by byte: a
/// literal character is the run of its UTF-8 bytes, and placeholder characters
/// are all ASCII, so this matches exactly what matching characters would, in two
/// bytes a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathToken {
    /// Exactly this byte.
    Literal(u8),
    /// One placeholder character (the mandatory first character of `{name}`).
    Placeholder,
    /// Any number of further placeholder characters.
    PlaceholderRest,
}

/// A `key=value` pair of the query part.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueryRequirement {
    key: String,
    value: QueryValue,
}

/// What a query requirement accepts as the parameter's value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum QueryValue {
    /// `{name}`: any value, the empty one included.
    Any,
    /// A literal: exactly this value.
    Equals(String),
}

/// Why a mapping-rule pattern is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The pattern is the empty string.
    #[error("mapping rule pattern is empty; it must start with `/`")]
    Empty,
    /// The pattern does not start with `/`.
    #[error("mapping rule pattern `{0}` must start with `/`")]
    NotAbsolute(String),
    /// A `{` without its `}`, a `}` without its `{`, or a `{` inside a placeholder.
    #[error("mapping rule pattern `{0}` has unbalanced braces `{{`/`}}`")]
    UnbalancedBraces(String),
    /// A placeholder without a name.
    #[error("mapping rule pattern `{0}` has an empty placeholder `{{}}`")]
    EmptyPlaceholder(String),
    /// A `$` that is not the last character of the path part.
    #[error(
        "mapping rule pattern `{0}` has a `$` that is not at the end of the path (before any `?`)"
    )]
    MisplacedAnchor(String),
    /// A query key or literal value that is not UTF-8 once decoded (`%FF`).
    #[error("mapping rule pattern `{0}` has a query key or value that is not UTF-8 once decoded")]
    QueryNotUtf8(String),
    /// A query pair without a key, such as `?=1`.
    #[error("mapping rule pattern `{0}` has a query pair with an empty key")]
    EmptyQueryKey(String),
    /// A placeholder in a query key, or one that is only part of a query value.
    #[error(
        "mapping rule pattern `{0}` has a query placeholder that is not a whole value; write `key={{name}}`"
    )]
    PartialQueryPlaceholder(String),
}

impl Pattern {
    /// Compiles a pattern.
    pub fn compile(source: &str) -> Result<Self, PatternError> {
        if source.is_empty() {
            return Err(PatternError::Empty);
        }
        if !source.starts_with('/') {
            return Err(PatternError::NotAbsolute(source.to_owned()));
        }
        let (path_part, query_part) = source.split_once('?').unwrap_or((source, ""));
        check_braces(source, path_part)?;
        check_braces(source, query_part)?;
        let (path_body, anchored) = match path_part.strip_suffix('$') {
            Some(body) => (body, true),
            None => (path_part, false),
        };
        if path_body.contains('$') || query_part.contains('$') {
            return Err(PatternError::MisplacedAnchor(source.to_owned()));
        }
        let query: Box<[QueryRequirement]> = query_part
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| compile_query_pair(source, pair))
            .collect::<Result<_, _>>()?;
        let normal_path = match crate::path::normalize_escapes(path_body) {
            Cow::Owned(normal) => Some(normal.into()),
            Cow::Borrowed(_) => None,
        };
        let rare = (normal_path.is_some() || !query.is_empty())
            .then(|| Box::new(RareParts { normal_path, query }));
        Ok(Pattern {
            source: source.into(),
            path_end: path_body.len(),
            anchored,
            rare,
        })
    }

    /// Whether the pattern matches a request path with its query string.
    pub fn matches(&self, path_and_query: &str) -> bool {
        self.matches_target(&RequestTarget::parse(path_and_query))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The literal bytes every matching path starts with (repeated `/` collapsed):
    /// the path part up to its first placeholder.
    pub fn literal_prefix(&self) -> Cow<'_, [u8]> {
        let body = self.path_body();
        let literal = body.split('{').next().unwrap_or(body);
        if literal.contains("//") {
            Cow::Owned(collapse_slashes(literal.as_bytes()).collect())
        } else {
            Cow::Borrowed(literal.as_bytes())
        }
    }

    /// The path part the request's normal form is matched against.
    fn path_body(&self) -> &str {
        match self
            .rare
            .as_ref()
            .and_then(|rare| rare.normal_path.as_ref())
        {
            Some(normal) => normal,
            None => self.source.get(..self.path_end).unwrap_or_default(),
        }
    }

    fn matches_target(&self, target: &RequestTarget<'_>) -> bool {
        if !self.path_matches(target.path) {
            return false;
        }
        let requirements = self.query();
        requirements.is_empty()
            || requirements
                .iter()
                .all(|requirement| requirement.is_met_by(target.query()))
    }

    /// The `key=value` pairs of the query part.
    fn query(&self) -> &[QueryRequirement] {
        self.rare.as_ref().map_or(&[], |rare| &rare.query)
    }

    /// Whether the path part matches `path` (repeated `/` collapsed on both sides).
    /// Up to its first placeholder the pattern is literal text, which the path must
    /// start with: that part is a comparison of bytes. The rest runs as an automaton
    /// ([`path_rest_matches`]), whose cost per byte grows with the length of what
    /// it runs, so it only runs from the first placeholder on.
    fn path_matches(&self, path: &str) -> bool {
        let body = self.path_body();
        let (literal, rest) = match scan::find(body, b'{') {
            Some(at) => (
                body.get(..at).unwrap_or_default(),
                body.get(at..).unwrap_or_default(),
            ),
            None => (body, ""),
        };
        let mut bytes = collapse_slashes(path.as_bytes());
        if !collapse_slashes(literal.as_bytes()).all(|expected| bytes.next() == Some(expected)) {
            return false;
        }
        if rest.is_empty() {
            return !self.anchored || bytes.next().is_none();
        }
        path_rest_matches(rest, bytes, self.anchored)
    }
}

/// Tokens and automaton states of a path rest up to this many bytes live on the
/// stack: a match allocates nothing for the patterns of real APIs.
const INLINE_REST: usize = 64;

/// Whether the path part `rest` of a pattern, from its first placeholder on,
/// matches the rest of a path: its tokens ([`compile_path`]) run as an automaton
/// ([`run_automaton`]). A rest has at most as many tokens as bytes (`{x}`, three
/// bytes, makes two), so a short one is compiled into an array on the stack.
fn path_rest_matches(rest: &str, bytes: impl Iterator<Item = u8>, anchored: bool) -> bool {
    if rest.len() > INLINE_REST {
        let tokens = compile_path(rest);
        let mut states = vec![false; 2 * (tokens.len() + 1)];
        return run_automaton(&tokens, &mut states, bytes, anchored);
    }
    let mut tokens = [PathToken::Placeholder; INLINE_REST];
    let count = compile_path_into(rest, &mut tokens);
    let tokens = tokens.get(..count).unwrap_or_default();
    let mut states = [false; 2 * (INLINE_REST + 1)];
    let states = states.get_mut(..2 * (count + 1)).unwrap_or_default();
    run_automaton(tokens, states, bytes, anchored)
}

/// Runs `tokens` as a nondeterministic automaton over the rest of a path: state
/// `i` means "the first `i` tokens matched the bytes read so far". Without an
/// anchor, reaching the final state at any point is a (prefix) match. `states`
/// holds two sets of `tokens.len() + 1` states (the current one and the next).
fn run_automaton(
    tokens: &[PathToken],
    states: &mut [bool],
    bytes: impl Iterator<Item = u8>,
    anchored: bool,
) -> bool {
    let (mut current, mut next) = states.split_at_mut(states.len() / 2);
    current.fill(false);
    if let Some(start) = current.first_mut() {
        *start = true;
    }
    follow_empty_matches(tokens, current);
    for c in bytes {
        if !anchored && is_final(current) {
            return true;
        }
        advance(tokens, current, next, c);
        if !next.contains(&true) {
            return false;
        }
        std::mem::swap(&mut current, &mut next);
    }
    is_final(current)
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        read_str(deserializer, Pattern::compile)
    }
}

/// Checks that the braces of one part of pattern `source` pair up without
/// nesting and that no placeholder is empty.
fn check_braces(source: &str, part: &str) -> Result<(), PatternError> {
    let mut placeholder_length: Option<usize> = None;
    for c in part.chars() {
        placeholder_length = match (c, placeholder_length) {
            ('{', None) => Some(0),
            ('}', Some(0)) => return Err(PatternError::EmptyPlaceholder(source.to_owned())),
            ('}', Some(_)) => None,
            ('{' | '}', _) => return Err(PatternError::UnbalancedBraces(source.to_owned())),
            (_, length) => length.map(|length| length + 1),
        };
    }
    match placeholder_length {
        Some(_) => Err(PatternError::UnbalancedBraces(source.to_owned())),
        None => Ok(()),
    }
}

/// Turns a path part (without its anchor, braces already checked) into tokens,
/// collapsing repeated `/`.
fn compile_path(path: &str) -> Vec<PathToken> {
    let mut tokens = Vec::with_capacity(path.len());
    for_each_token(path, |token| tokens.push(token));
    tokens
}

/// [`compile_path`] into `tokens`, which has room for `path.len()` tokens; how
/// many it wrote.
fn compile_path_into(path: &str, tokens: &mut [PathToken]) -> usize {
    let mut count = 0;
    for_each_token(path, |token| {
        if let Some(slot) = tokens.get_mut(count) {
            *slot = token;
            count += 1;
        }
    });
    count
}

/// Hands `push` the tokens of a path part, in order.
fn for_each_token(path: &str, mut push: impl FnMut(PathToken)) {
    let mut bytes = collapse_slashes(path.as_bytes());
    while let Some(c) = bytes.next() {
        if c == b'{' {
            // The name is irrelevant to matching; skip to the closing brace.
            bytes.by_ref().find(|&c| c == b'}');
            push(PathToken::Placeholder);
            push(PathToken::PlaceholderRest);
        } else {
            push(PathToken::Literal(c));
        }
    }
}

/// Compiles one non-empty `key=value` pair of the query part of `source`. A pair without
/// `=` has an empty value, as in form encoding. Keys and literal values are
/// form-decoded like the request's, so `%20`, `+` and a space all compare equal.
fn compile_query_pair(source: &str, pair: &str) -> Result<QueryRequirement, PatternError> {
    let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
    if raw_key.is_empty() {
        return Err(PatternError::EmptyQueryKey(source.to_owned()));
    }
    let whole_placeholder = raw_value
        .strip_prefix('{')
        .and_then(|value| value.strip_suffix('}'))
        .is_some_and(|name| !name.contains(['{', '}']));
    let braces_in_value = raw_value.contains(['{', '}']);
    if raw_key.contains(['{', '}']) || (braces_in_value && !whole_placeholder) {
        return Err(PatternError::PartialQueryPlaceholder(source.to_owned()));
    }
    let not_text = || PatternError::QueryNotUtf8(source.to_owned());
    let key = decode_form(raw_key).ok_or_else(not_text)?;
    let value = if whole_placeholder {
        QueryValue::Any
    } else {
        QueryValue::Equals(decode_form(raw_value).ok_or_else(not_text)?)
    };
    Ok(QueryRequirement { key, value })
}

impl QueryRequirement {
    /// Whether the request query has this key with an acceptable value. A
    /// literal is compared with the key's last occurrence, as APIcast does, so
    /// that `?tag=a&tag=b` cannot satisfy both `tag=a` and `tag=b` rules.
    fn is_met_by(&self, query: &[(String, String)]) -> bool {
        let mut values = query
            .iter()
            .rev()
            .filter(|(key, _)| *key == self.key)
            .map(|(_, value)| value);
        match &self.value {
            QueryValue::Any => values.next().is_some(),
            QueryValue::Equals(expected) => values.next().is_some_and(|last| last == expected),
        }
    }
}

/// The characters a `{name}` placeholder matches: RFC 3986 unreserved and
/// sub-delimiters, `%` (percent-encoded octets), `@` and `:`; never `/`.
fn is_placeholder_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=@:".contains(&c)
}

/// The bytes of `text` with every run of `/` reduced to one.
fn collapse_slashes(text: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let mut after_slash = false;
    text.iter().copied().filter(move |&c| {
        let repeated = c == b'/' && after_slash;
        after_slash = c == b'/';
        !repeated
    })
}

/// Whether the automaton's final state is live.
fn is_final(states: &[bool]) -> bool {
    states.last().copied().unwrap_or(false)
}

/// Computes the states reached from `current` by reading `c`.
fn advance(tokens: &[PathToken], current: &[bool], next: &mut [bool], c: u8) {
    next.fill(false);
    for (index, (token, _)) in tokens
        .iter()
        .zip(current)
        .enumerate()
        .filter(|(_, (_, live))| **live)
    {
        let target = match token {
            PathToken::Literal(expected) if *expected == c => Some(index + 1),
            PathToken::Placeholder if is_placeholder_char(c) => Some(index + 1),
            PathToken::PlaceholderRest if is_placeholder_char(c) => Some(index),
            _ => None,
        };
        if let Some(state) = target.and_then(|target| next.get_mut(target)) {
            *state = true;
        }
    }
    follow_empty_matches(tokens, next);
}

/// Adds the states reachable by letting `PlaceholderRest` match nothing. Such
/// moves go one state forward, so one pass in increasing order is enough.
fn follow_empty_matches(tokens: &[PathToken], states: &mut [bool]) {
    for (index, token) in tokens.iter().enumerate() {
        let live = states.get(index).copied().unwrap_or(false);
        if live
            && *token == PathToken::PlaceholderRest
            && let Some(state) = states.get_mut(index + 1)
        {
            *state = true;
        }
    }
}

/// A request's path and query string, split once per request by the crate's one
/// query parser ([`query::split`]: the query ends at the first `#`). The query's
/// parameters are decoded at the first rule that has query requirements, and only
/// then: most rule sets have none, and decoding costs a few allocations per
/// parameter (parameters that are not UTF-8 once decoded are left out).
struct RequestTarget<'a> {
    path: &'a str,
    raw_query: Option<&'a str>,
    query: OnceCell<Vec<(String, String)>>,
}

impl<'a> RequestTarget<'a> {
    fn parse(path_and_query: &'a str) -> RequestTarget<'a> {
        let parts = query::split(path_and_query);
        RequestTarget {
            path: parts.path,
            raw_query: parts.query,
            query: OnceCell::new(),
        }
    }

    /// The decoded parameters, in order.
    fn query(&self) -> &[(String, String)] {
        self.query
            .get_or_init(|| self.raw_query.map(query::decoded_pairs).unwrap_or_default())
    }
}

/// Evaluates rules in order and sums the usages of every matching rule; a
/// matching rule with `last` set ends the evaluation.
pub fn match_rules<'a>(
    rules: impl IntoIterator<Item = &'a MappingRule>,
    method: &str,
    path_and_query: &str,
) -> Usages {
    let target = RequestTarget::parse(path_and_query);
    let mut usages = Usages::default();
    for rule in rules {
        if apply_rule(rule, method, &target, &mut usages).is_break() {
            break;
        }
    }
    usages
}

/// Adds the usages of `rule` when it matches; breaks when it matched and is `last`.
fn apply_rule(
    rule: &MappingRule,
    method: &str,
    target: &RequestTarget<'_>,
    usages: &mut Usages,
) -> ControlFlow<()> {
    if !rule.matches_target(method, target) {
        return ControlFlow::Continue(());
    }
    for usage in rule.usages.iter() {
        usages.add(&usage.name, usage.delta);
    }
    if rule.last {
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// One row of `tests/vectors/mapping.tsv`. Its request is matched in normal
    /// form (`crate::path::normalize`), as the flow matches it.
    struct Row<'a> {
        line: usize,
        rule_method: &'a str,
        rule_pattern: &'a str,
        request_method: &'a str,
        path_and_query: &'a str,
        expected: bool,
    }

    fn vector_rows() -> Vec<Row<'static>> {
        crate::vectors::rows(
            "mapping.tsv",
            include_str!("../../tests/vectors/mapping.tsv"),
            5,
        )
        .into_iter()
        .map(|row| Row {
            line: row.line,
            rule_method: row.fields[0],
            rule_pattern: row.fields[1],
            request_method: row.fields[2],
            path_and_query: row.fields[3],
            expected: row.expected,
        })
        .collect()
    }

    fn usage(name: &str, delta: u64) -> Usage {
        Usage::new(name, delta).unwrap()
    }

    fn rule(method: &str, pattern: &str, usages: &[(&str, u64)]) -> MappingRule {
        let usages = usages.iter().map(|(n, d)| usage(n, *d)).collect();
        MappingRule::new(method, pattern, usages, false).unwrap()
    }

    fn last_rule(method: &str, pattern: &str, usages: &[(&str, u64)]) -> MappingRule {
        MappingRule {
            last: true,
            ..rule(method, pattern, usages)
        }
    }

    fn pattern(source: &str) -> Pattern {
        Pattern::compile(source).unwrap()
    }

    fn totals(usages: &Usages) -> Vec<(&str, u64)> {
        usages.iter().collect()
    }

    fn spec_example_rules() -> Vec<MappingRule> {
        vec![
            rule("GET", "/", &[("hits", 1)]),
            rule("GET", "/products/", &[("products", 1)]),
            rule(
                "ANY",
                "/products/{id}/sold",
                &[("sales", 1), ("products", 1)],
            ),
        ]
    }

    #[test]
    fn vector_table() {
        let rows = vector_rows();
        assert!(rows.len() >= 35, "mapping.tsv has only {} rows", rows.len());
        let failures: Vec<String> = rows
            .iter()
            .filter(|row| {
                let rule = rule(row.rule_method, row.rule_pattern, &[("hits", 1)]);
                let normal = crate::path::normalize(row.path_and_query);
                rule.matches(row.request_method, &normal) != row.expected
            })
            .map(|row| {
                format!(
                    "line {}: {} {} against {} {} should give {}",
                    row.line,
                    row.rule_method,
                    row.rule_pattern,
                    row.request_method,
                    row.path_and_query,
                    row.expected
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
    fn vector_table_through_match_rules() {
        for row in vector_rows() {
            let rules = [rule(row.rule_method, row.rule_pattern, &[("hits", 1)])];
            let normal = crate::path::normalize(row.path_and_query);
            let usages = match_rules(&rules, row.request_method, &normal);
            assert_eq!(!usages.is_empty(), row.expected, "line {}", row.line);
        }
    }

    #[test]
    fn spec_example_sums_usages_in_order_of_first_appearance() {
        let usages = match_rules(&spec_example_rules(), "GET", "/products/1/sold");
        assert_eq!(
            totals(&usages),
            [("hits", 1), ("products", 2), ("sales", 1)]
        );
    }

    #[test]
    fn spec_example_other_requests() {
        let rules = spec_example_rules();
        assert_eq!(totals(&match_rules(&rules, "GET", "/")), [("hits", 1)]);
        assert_eq!(
            totals(&match_rules(&rules, "GET", "/products/")),
            [("hits", 1), ("products", 1)]
        );
        assert_eq!(
            totals(&match_rules(&rules, "POST", "/products/7/sold")),
            [("sales", 1), ("products", 1)]
        );
        assert!(match_rules(&rules, "POST", "/other").is_empty());
    }

    #[test]
    fn last_rule_stops_evaluation_when_it_matches() {
        let rules = vec![
            rule("GET", "/", &[("hits", 1)]),
            last_rule("GET", "/products", &[("products", 1)]),
            rule("GET", "/products/1", &[("one", 1)]),
        ];
        assert_eq!(
            totals(&match_rules(&rules, "GET", "/products/1")),
            [("hits", 1), ("products", 1)]
        );
    }

    #[test]
    fn last_rule_that_does_not_match_does_not_stop_evaluation() {
        let rules = vec![
            last_rule("POST", "/", &[("writes", 1)]),
            rule("GET", "/", &[("hits", 1)]),
        ];
        assert_eq!(totals(&match_rules(&rules, "GET", "/x")), [("hits", 1)]);
    }

    #[test]
    fn deltas_of_the_same_metric_are_summed() {
        let rules = vec![
            rule("GET", "/", &[("hits", 2)]),
            rule("GET", "/a", &[("hits", 3), ("a", 1)]),
        ];
        assert_eq!(
            totals(&match_rules(&rules, "GET", "/a")),
            [("hits", 5), ("a", 1)]
        );
    }

    #[test]
    fn sums_saturate_instead_of_overflowing() {
        let rules = vec![
            rule("GET", "/", &[("hits", u64::MAX)]),
            rule("GET", "/", &[("hits", 5)]),
        ];
        assert_eq!(
            totals(&match_rules(&rules, "GET", "/")),
            [("hits", u64::MAX)]
        );
    }

    #[test]
    fn no_rules_means_no_usages() {
        assert!(match_rules(&[], "GET", "/").is_empty());
    }

    #[test]
    fn usages_add_get_len_iter() {
        let mut usages = Usages::default();
        assert!(usages.is_empty());
        usages.add(&"b".into(), 1);
        usages.add(&"a".into(), 2);
        usages.add(&"b".into(), 3);
        assert_eq!(usages.len(), 2);
        assert_eq!(usages.get("b"), Some(4));
        assert_eq!(usages.get("c"), None);
        assert_eq!(totals(&usages), [("b", 4), ("a", 2)]);
    }

    #[test]
    fn method_matching_ignores_case() {
        let rule = rule("get", "/", &[("hits", 1)]);
        assert_eq!(rule.method, RuleMethod::Exact("GET".into()));
        assert!(rule.matches("GET", "/"));
        assert!(rule.matches("get", "/"));
        assert!(rule.matches("Get", "/"));
        assert!(!rule.matches("POST", "/"));
        assert!(!rule.matches("GETX", "/"));
    }

    #[test]
    fn any_in_any_case_matches_every_method() {
        for written in ["any", "ANY", "Any"] {
            let rule = rule(written, "/", &[("hits", 1)]);
            assert_eq!(rule.method, RuleMethod::Any);
            for method in ["GET", "POST", "DELETE", "PURGE", "options"] {
                assert!(rule.matches(method, "/"), "{written} {method}");
            }
        }
    }

    #[test]
    fn extension_methods_are_accepted() {
        assert_eq!(
            RuleMethod::parse("purge"),
            Ok(RuleMethod::Exact("PURGE".into()))
        );
        assert_eq!(
            RuleMethod::parse("M-SEARCH"),
            Ok(RuleMethod::Exact("M-SEARCH".into()))
        );
    }

    #[test]
    fn invalid_methods_are_rejected() {
        assert_eq!(RuleMethod::parse(""), Err(MethodError::Empty));
        for method in ["GET ", " GET", "GE T", "GET/", "GÉT", "(GET)"] {
            let error = RuleMethod::parse(method).unwrap_err();
            assert_eq!(error, MethodError::NotToken(method.into()));
            assert!(
                error.to_string().contains(&format!("`{method}`")),
                "{error}"
            );
        }
    }

    #[test]
    fn path_literals_are_not_regular_expressions() {
        assert!(pattern("/a.c").matches("/a.c"));
        assert!(!pattern("/a.c").matches("/abc"));
        assert!(pattern("/a*c").matches("/a*c"));
        assert!(!pattern("/a*c").matches("/abbc"));
        assert!(pattern("/a+").matches("/a+"));
        assert!(!pattern("/a+").matches("/aa"));
        assert!(pattern("/(x)|[y]^").matches("/(x)|[y]^"));
    }

    #[test]
    fn placeholder_character_set() {
        let p = pattern("/{x}$");
        let allowed = "ABCXYZabcxyz0189-._~%!$&'()*+,;=@:";
        for c in allowed.chars() {
            assert!(p.matches(&format!("/{c}")), "{c:?} should match");
        }
        for c in [
            '/', '#', '[', ']', '"', '<', '>', '\\', '^', '`', '{', '|', '}', ' ', 'é',
        ] {
            assert!(!p.matches(&format!("/{c}")), "{c:?} should not match");
        }
    }

    #[test]
    fn placeholder_needs_at_least_one_character() {
        assert!(!pattern("/a/{x}").matches("/a/"));
        assert!(pattern("/a/{x}").matches("/a/b"));
        assert!(!pattern("/a{x}").matches("/a"));
    }

    #[test]
    fn placeholders_next_to_literals_and_each_other() {
        assert!(pattern("/{a}.{b}$").matches("/file.tar.gz"));
        assert!(!pattern("/{a}.{b}$").matches("/file."));
        assert!(pattern("/{a}{b}$").matches("/ab"));
        assert!(!pattern("/{a}{b}$").matches("/a"));
        assert!(pattern("/v{version}/items").matches("/v2/items/3"));
        assert!(!pattern("/v{version}/items").matches("/v/items"));
    }

    #[test]
    fn prefix_match_without_anchor() {
        let p = pattern("/foo");
        assert!(p.matches("/foo"));
        assert!(p.matches("/foobar"));
        assert!(p.matches("/foo/1?x=y"));
        assert!(!p.matches("/fo"));
        assert!(!p.matches("/bar/foo"));
    }

    #[test]
    fn anchor_ends_the_path_not_the_query() {
        let p = pattern("/foo/{id}$");
        assert!(p.matches("/foo/1"));
        assert!(p.matches("/foo/1?x=y"));
        assert!(!p.matches("/foo/1/"));
        assert!(!p.matches("/foo/1/bar"));
        assert!(pattern("/$").matches("/"));
        assert!(pattern("/$").matches("//?a=b"));
        assert!(!pattern("/$").matches("/a"));
    }

    #[test]
    fn anchored_pattern_with_query_part() {
        let p = pattern("/foo$?a=1");
        assert!(p.matches("/foo?a=1"));
        assert!(!p.matches("/foo/bar?a=1"));
        assert!(!p.matches("/foo?a=2"));
    }

    #[test]
    fn repeated_slashes_collapse_on_both_sides() {
        assert!(pattern("/a//b").matches("/a/b"));
        assert!(pattern("/a/b").matches("/a///b"));
        assert!(pattern("///").matches("/"));
        assert!(pattern("/a/{x}//c$").matches("//a//b/c"));
        assert!(!pattern("/a/{x}/c").matches("/a//c"));
    }

    #[test]
    fn query_pairs_in_any_order_with_others_allowed() {
        let p = pattern("/s?a=1&b=2");
        assert!(p.matches("/s?b=2&a=1"));
        assert!(p.matches("/s?z=0&a=1&y=&b=2"));
        assert!(!p.matches("/s?a=1"));
        assert!(!p.matches("/s?b=2"));
        assert!(!p.matches("/s"));
    }

    #[test]
    fn query_placeholder_accepts_any_value_including_empty() {
        let p = pattern("/s?q={q}");
        for query in ["/s?q=x", "/s?q=", "/s?q", "/s?a=1&q", "/s?q=a=b"] {
            assert!(p.matches(query), "{query}");
        }
        for query in ["/s?qq=x", "/s?Q=x", "/s?a=q", "/s?"] {
            assert!(!p.matches(query), "{query}");
        }
    }

    #[test]
    fn empty_literal_value_requires_an_empty_parameter() {
        let p = pattern("/s?e=");
        assert!(p.matches("/s?e="));
        assert!(p.matches("/s?e"));
        assert!(!p.matches("/s?e=1"));
        assert!(!p.matches("/s?x="));
        assert_eq!(
            pattern("/s?e"),
            Pattern {
                source: "/s?e".into(),
                ..p
            }
        );
    }

    #[test]
    fn repeated_request_parameters_the_last_occurrence_counts() {
        let p = pattern("/s?tag=b");
        assert!(p.matches("/s?tag=a&tag=b"));
        assert!(!p.matches("/s?tag=b&tag=a"));
        assert!(!p.matches("/s?tag=a&tag=c"));
        assert!(pattern("/s?tag={t}").matches("/s?tag=a&tag="));
        let rules = [
            rule("GET", "/s?tag=a", &[("a", 1)]),
            rule("GET", "/s?tag=b", &[("b", 1)]),
        ];
        assert_eq!(
            totals(&match_rules(&rules, "GET", "/s?tag=b&tag=a")),
            [("a", 1)]
        );
    }

    #[test]
    fn pattern_escapes_compare_in_normal_form() {
        assert!(pattern("/%7euser/a%2fb$").matches("/~user/a%2Fb"));
        assert!(!pattern("/a%2Fb").matches("/a/b"));
    }

    #[test]
    fn query_keys_and_values_are_form_decoded_on_both_sides() {
        assert!(pattern("/s?q=a b").matches("/s?q=a+b"));
        assert!(pattern("/s?q=a b").matches("/s?q=a%20b"));
        assert!(pattern("/s?q=a%20b").matches("/s?q=a+b"));
        assert!(pattern("/s?my%20key=1").matches("/s?my+key=1"));
        assert!(pattern("/s?q=%C3%A9").matches("/s?q=é"));
        assert!(!pattern("/s?q=a+b").matches("/s?q=a%2Bb"));
    }

    #[test]
    fn empty_query_part_and_empty_pairs_add_no_requirement() {
        assert!(pattern("/s?").matches("/s"));
        assert!(pattern("/s?&a=1&&").matches("/s?a=1"));
        assert!(!pattern("/s?&a=1&&").matches("/s"));
    }

    #[test]
    fn the_path_of_the_request_ignores_its_query() {
        assert!(!pattern("/s/x").matches("/s?/x"));
        assert!(!pattern("/s$").matches("/sa?b"));
    }

    #[test]
    fn error_empty_pattern() {
        assert_eq!(Pattern::compile(""), Err(PatternError::Empty));
    }

    #[test]
    fn error_not_absolute() {
        for source in ["foo", "?a=1", "{id}", " /"] {
            let error = Pattern::compile(source).unwrap_err();
            assert_eq!(error, PatternError::NotAbsolute(source.into()));
            assert!(
                error.to_string().contains(&format!("`{source}`")),
                "{error}"
            );
        }
    }

    #[test]
    fn error_unbalanced_braces() {
        for source in [
            "/{id", "/id}", "/{a{b}}", "/}{", "/a?q={x", "/a?q=x}", "/{a?b}",
        ] {
            let error = Pattern::compile(source).unwrap_err();
            assert_eq!(
                error,
                PatternError::UnbalancedBraces(source.into()),
                "{source}"
            );
            assert!(
                error.to_string().contains(&format!("`{source}`")),
                "{error}"
            );
        }
    }

    #[test]
    fn error_empty_placeholder() {
        for source in ["/{}", "/a/{}/b", "/a?q={}"] {
            let error = Pattern::compile(source).unwrap_err();
            assert_eq!(
                error,
                PatternError::EmptyPlaceholder(source.into()),
                "{source}"
            );
            assert!(
                error.to_string().contains(&format!("`{source}`")),
                "{error}"
            );
        }
    }

    #[test]
    fn error_misplaced_anchor() {
        for source in [
            "/a$b", "/$/", "/a$$", "/{a$}", "/a?q=$", "/a?q=1$", "/a$?q=$",
        ] {
            let error = Pattern::compile(source).unwrap_err();
            assert_eq!(
                error,
                PatternError::MisplacedAnchor(source.into()),
                "{source}"
            );
            assert!(
                error.to_string().contains(&format!("`{source}`")),
                "{error}"
            );
        }
    }

    #[test]
    fn error_empty_query_key() {
        for source in ["/a?=1", "/a?b=1&=2", "/a?="] {
            let error = Pattern::compile(source).unwrap_err();
            assert_eq!(
                error,
                PatternError::EmptyQueryKey(source.into()),
                "{source}"
            );
            assert!(
                error.to_string().contains(&format!("`{source}`")),
                "{error}"
            );
        }
    }

    #[test]
    fn error_partial_query_placeholder() {
        for source in ["/a?{k}=1", "/a?q=x{v}", "/a?q={v}x", "/a?q={a}{b}"] {
            let error = Pattern::compile(source).unwrap_err();
            assert_eq!(
                error,
                PatternError::PartialQueryPlaceholder(source.into()),
                "{source}"
            );
            assert!(
                error.to_string().contains(&format!("`{source}`")),
                "{error}"
            );
        }
    }

    #[test]
    fn as_str_returns_the_pattern_as_written() {
        assert_eq!(pattern("//a/{b}$?c={d}").as_str(), "//a/{b}$?c={d}");
    }

    #[test]
    fn many_adjacent_placeholders_are_fast() {
        let p = pattern(&format!("/{}/end$", "{x}".repeat(40)));
        let path = format!("/{}", "a".repeat(5_000));
        let started = Instant::now();
        assert!(!p.matches(&path));
        assert!(p.matches(&format!("{path}/end")));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn placeholders_separated_by_literals_are_fast() {
        let p = pattern(&format!("/{}b$", "{x}a".repeat(20)));
        let path = format!("/{}", "a".repeat(5_000));
        let started = Instant::now();
        assert!(!p.matches(&path));
        assert!(p.matches(&format!("{path}b")));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    /// Pieces of random patterns and paths: literals that share prefixes,
    /// placeholders, repeated `/`, placeholder characters, a non-ASCII character.
    const PATTERN_PIECES: &[&str] = &[
        "/", "/", "a", "b", "ab", "1", "{id}", "{x}", "//", "-", ".", "é", "v1/", "{",
    ];
    const PATH_PIECES: &[&str] = &[
        "/", "/", "a", "b", "ab", "1", "42", "//", "-", ".", "é", "v1/",
    ];

    #[test]
    fn the_literal_prefix_shortcut_agrees_with_the_automaton_over_the_whole_pattern() {
        let mut rng = crate::test_rng::XorShift::new(0x9a77_0017);
        let mut matched = 0;
        for _ in 0..20_000 {
            let mut source = String::from("/");
            for _ in 0..rng.below(6) {
                source.push_str(rng.pick(PATTERN_PIECES));
            }
            if rng.below(3) == 0 {
                source.push('$');
            }
            let Ok(p) = Pattern::compile(&source) else {
                continue;
            };
            let mut path = String::new();
            for _ in 0..rng.below(7) {
                path.push_str(rng.pick(PATH_PIECES));
            }
            let whole =
                path_rest_matches(p.path_body(), collapse_slashes(path.as_bytes()), p.anchored);
            assert_eq!(p.path_matches(&path), whole, "{source} against {path:?}");
            // The automaton on the heap (rests past the inline room) answers alike.
            let tokens = compile_path(p.path_body());
            let mut states = vec![true; 2 * (tokens.len() + 1)];
            let on_heap = run_automaton(
                &tokens,
                &mut states,
                collapse_slashes(path.as_bytes()),
                p.anchored,
            );
            assert_eq!(on_heap, whole, "{source} against {path:?} on the heap");
            matched += usize::from(whole);
        }
        // The cases must exercise both answers.
        assert!(matched > 500, "{matched}");
    }

    #[test]
    fn rests_longer_than_the_inline_room_match_too() {
        let tail = "/x".repeat(INLINE_REST);
        let long = pattern(&format!("/{{id}}{tail}/{{n}}$"));
        assert!(long.matches(&format!("/42{tail}/7")));
        assert!(!long.matches(&format!("/42{tail}/")));
        assert!(!long.matches(&format!("/42{tail}/7/8")));
        let exact = format!("/{{id}}{}", "y".repeat(INLINE_REST - 4));
        assert_eq!(exact.len() - 1, INLINE_REST, "a rest that just fits inline");
        assert!(pattern(&exact).matches(&format!("/a{}", "y".repeat(INLINE_REST - 4))));
        assert!(!pattern(&exact).matches(&format!("/a{}", "y".repeat(INLINE_REST - 5))));
    }

    #[test]
    fn query_requirements_decode_the_query_once_and_only_when_needed() {
        let target = RequestTarget::parse("/a?k=%41&x=1");
        assert!(target.query.get().is_none(), "nothing decoded yet");
        assert!(pattern("/a").matches_target(&target));
        assert!(target.query.get().is_none(), "no rule asked for the query");
        assert!(pattern("/a?k=A").matches_target(&target));
        assert!(!pattern("/a?x=2").matches_target(&target));
        assert_eq!(target.query().len(), 2);
    }

    #[test]
    fn long_query_strings_are_fine() {
        let query: Vec<String> = (0..2_000).map(|i| format!("k{i}=v{i}")).collect();
        let request = format!("/s?{}", query.join("&"));
        assert!(pattern("/s?k1999=v1999&k0={x}").matches(&request));
        assert!(!pattern("/s?k1999=v0").matches(&request));
    }

    #[test]
    fn usage_rejects_empty_name_and_zero_delta() {
        assert_eq!(Usage::new("", 1), Err(UsageError::EmptyName));
        let error = Usage::new("hits", 0).unwrap_err();
        assert_eq!(error, UsageError::ZeroDelta("hits".into()));
        assert!(error.to_string().contains("`hits`"), "{error}");
    }

    #[test]
    fn mapping_rule_new_reports_each_kind_of_error() {
        let hits = vec![usage("hits", 1)];
        assert_eq!(
            MappingRule::new("", "/", hits.clone(), false),
            Err(MappingRuleError::Method(MethodError::Empty))
        );
        assert_eq!(
            MappingRule::new("GET", "x", hits.clone(), false),
            Err(MappingRuleError::Pattern(PatternError::NotAbsolute(
                "x".into()
            )))
        );
        let zero = Usage {
            name: "hits".into(),
            delta: 0,
        };
        let error = MappingRule::new("GET", "/", vec![zero], false).unwrap_err();
        assert_eq!(
            error,
            MappingRuleError::Usage(UsageError::ZeroDelta("hits".into()))
        );
        assert_eq!(
            error.to_string(),
            UsageError::ZeroDelta("hits".into()).to_string()
        );
    }

    #[test]
    fn mapping_rule_new_builds_a_working_rule() {
        let rule = MappingRule::new("post", "/orders$", vec![usage("orders", 2)], true).unwrap();
        assert_eq!(rule.method, RuleMethod::Exact("POST".into()));
        assert!(rule.last);
        assert_eq!(
            totals(&match_rules([&rule], "POST", "/orders")),
            [("orders", 2)]
        );
    }

    fn from_json(json: &str) -> Result<MappingRule, String> {
        let deserializer = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(deserializer).map_err(|e| e.to_string())
    }

    fn from_yaml(yaml: &str) -> Result<MappingRule, String> {
        let deserializer = serde_yaml::Deserializer::from_str(yaml);
        serde_path_to_error::deserialize(deserializer).map_err(|e| e.to_string())
    }

    #[test]
    fn deserializes_from_json() {
        let rule = from_json(
            r#"{"method":"get","pattern":"/p/{id}$","usages":[{"name":"hits","delta":1}],"last":true}"#,
        )
        .unwrap();
        assert_eq!(
            rule,
            MappingRule {
                last: true,
                ..self::rule("GET", "/p/{id}$", &[("hits", 1)])
            }
        );
    }

    #[test]
    fn deserializes_from_yaml_with_last_defaulting_to_false() {
        let rule = from_yaml(
            "method: ANY\npattern: /products/{id}/sold\nusages:\n  - name: sales\n    delta: 1\n  - name: products\n    delta: 2\n",
        )
        .unwrap();
        assert_eq!(rule.method, RuleMethod::Any);
        assert!(!rule.last);
        assert_eq!(*rule.usages, [usage("sales", 1), usage("products", 2)]);
    }

    #[test]
    fn whole_float_delta_is_accepted() {
        let rule =
            from_json(r#"{"method":"GET","pattern":"/","usages":[{"name":"hits","delta":1.0}]}"#)
                .unwrap();
        assert_eq!(*rule.usages, [usage("hits", 1)]);
    }

    #[test]
    fn fractional_and_negative_deltas_are_rejected() {
        for delta in ["1.5", "-1", "\"1\""] {
            let json = format!(
                r#"{{"method":"GET","pattern":"/","usages":[{{"name":"hits","delta":{delta}}}]}}"#
            );
            let error = from_json(&json).unwrap_err();
            assert!(error.starts_with("usages[0].delta"), "{error}");
        }
    }

    #[test]
    fn zero_delta_is_rejected_with_its_path() {
        let error =
            from_json(r#"{"method":"GET","pattern":"/","usages":[{"name":"hits","delta":0}]}"#)
                .unwrap_err();
        assert!(error.starts_with("usages[0].delta"), "{error}");
        assert!(error.contains("positive"), "{error}");
        assert!(error.contains("line 1"), "{error}");
    }

    #[test]
    fn empty_metric_name_is_rejected_with_its_path() {
        let error = from_yaml("method: GET\npattern: /\nusages:\n  - name: ''\n    delta: 1\n")
            .unwrap_err();
        assert!(error.starts_with("usages[0].name"), "{error}");
        assert!(error.contains("empty"), "{error}");
        assert!(error.contains("line 4"), "{error}");
    }

    #[test]
    fn invalid_pattern_is_rejected_with_its_path_and_quote() {
        let error = from_yaml("method: GET\npattern: /a/{id\nusages: []\n").unwrap_err();
        assert!(error.starts_with("pattern"), "{error}");
        assert!(error.contains("`/a/{id`"), "{error}");
    }

    #[test]
    fn errors_in_a_rule_list_carry_the_index_and_line() {
        let yaml = "- method: GET\n  pattern: /\n  usages: []\n- method: GET\n  pattern: /a$b\n  usages: []\n";
        let deserializer = serde_yaml::Deserializer::from_str(yaml);
        let error = serde_path_to_error::deserialize::<_, Vec<MappingRule>>(deserializer)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("[1].pattern"), "{error}");
        assert!(error.contains("`/a$b`"), "{error}");
        // The line of the pattern itself (the second rule starts on line 4).
        assert!(error.contains("line 5"), "{error}");
    }

    #[test]
    fn invalid_method_is_rejected_with_its_path() {
        let error = from_json(r#"{"method":"GE T","pattern":"/","usages":[]}"#).unwrap_err();
        assert!(error.starts_with("method"), "{error}");
        assert!(error.contains("`GE T`"), "{error}");
        let error = from_json(r#"{"method":"","pattern":"/","usages":[]}"#).unwrap_err();
        assert!(error.contains("empty"), "{error}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let error =
            from_json(r#"{"method":"GET","pattern":"/","usages":[],"lats":true}"#).unwrap_err();
        assert!(error.contains("lats"), "{error}");
        let error = from_json(
            r#"{"method":"GET","pattern":"/","usages":[{"name":"h","delta":1,"metric":"x"}]}"#,
        )
        .unwrap_err();
        assert!(error.starts_with("usages[0]"), "{error}");
        assert!(error.contains("metric"), "{error}");
    }

    #[test]
    fn missing_required_fields_are_rejected() {
        assert!(from_json(r#"{"pattern":"/","usages":[]}"#).is_err());
        assert!(from_json(r#"{"method":"GET","usages":[]}"#).is_err());
        assert!(from_json(r#"{"method":"GET","pattern":"/"}"#).is_err());
        assert!(from_json(r#"{"method":"GET","pattern":"/","usages":[{"name":"h"}]}"#).is_err());
    }
}
