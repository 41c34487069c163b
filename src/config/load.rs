//! From configuration bytes to a validated [`Config`]: detect the syntax,
//! deserialize while tracking the field path, validate, and place every error
//! in the text.

use serde::Deserialize;

use super::json_path::data_error_path;
use super::locate::{Position, Syntax, locate};
use super::path::FieldPath;
use super::validate::validate;
use super::{Config, ConfigError};
use crate::service_index::ServiceIndex;

/// Parses and validates a plugin configuration given as JSON or YAML bytes.
pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        ConfigError::at(
            FieldPath::root(),
            format!(
                "the configuration is not UTF-8 text (invalid byte at offset {})",
                error.valid_up_to()
            ),
        )
    })?;
    if text.trim().is_empty() {
        return Err(ConfigError::at(
            FieldPath::root(),
            "the plugin configuration is empty; it needs at least `api`, `backend` and `services`",
        ));
    }
    let syntax = detect_syntax(text);
    let config = deserialize(text, syntax)?;
    let (mut config, warnings) = validate(config).map_err(|error| place(error, text, syntax))?;
    config.warnings = warnings;
    config.services.shrink_to_fit();
    let authorities = config.services.iter().map(|s| s.authorities.as_slice());
    config.service_index = ServiceIndex::from_globs(authorities);
    Ok(config)
}

/// JSON starts with `{`; anything else is read as YAML (which also accepts the
/// flow style some people write by hand).
// Its own function, not merged into `parse`: V8 compiles each function
// of the module when Envoy loads it, and a large one costs Envoy memory out of
// proportion to its size (README "The benchmark", memory).
#[inline(never)]
fn detect_syntax(text: &str) -> Syntax {
    if text.trim_start().starts_with('{') {
        Syntax::Json
    } else {
        Syntax::Yaml
    }
}

/// Reads the text into [`Config`]. JSON (what Envoy and Istio hand over) is read
/// straight from the text: a document tree of a configuration with thousands of
/// mapping rules would take ten times the text's size at its peak, and a Wasm
/// VM's memory never shrinks back. YAML is turned into JSON text first, so that
/// every `Deserialize` impl is compiled once, for one deserializer (which halves
/// the serde code in the module); the field path of a data error is found from
/// where the JSON reader stopped ([`data_error_path`]), its position in the text as
/// written by the locator.
fn deserialize(text: &str, syntax: Syntax) -> Result<Config, ConfigError> {
    match syntax {
        Syntax::Json => deserialize_json(text, text, syntax),
        Syntax::Yaml => {
            check_flow_depth(text)?;
            let json = read_yaml(text)?.to_string();
            deserialize_json(&json, text, syntax)
        }
    }
}

/// Deserializes JSON text `json`; errors are placed in `text`, written in `syntax`
/// (the same text unless it was YAML).
// Not merged into `parse` either (memory, as above).
#[inline(never)]
fn deserialize_json(json: &str, text: &str, syntax: Syntax) -> Result<Config, ConfigError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let config = Config::deserialize(&mut deserializer).map_err(|error| {
        if error.is_data() {
            let message = strip_any_position(&error.to_string());
            let path = data_error_path(json, &error);
            place(ConfigError::at(path, message), text, syntax)
        } else {
            json_syntax_error(&error, text)
        }
    })?;
    deserializer
        .end()
        .map_err(|error| json_syntax_error(&error, text))?;
    Ok(config)
}

/// A JSON syntax error, placed where the parser stopped.
// Not merged into `parse` either (memory, as above).
#[inline(never)]
fn json_syntax_error(error: &serde_json::Error, text: &str) -> ConfigError {
    let reported = Position {
        line: error.line(),
        column: error.column(),
    };
    ConfigError::at(
        FieldPath::root(),
        strip_position(&error.to_string(), reported),
    )
    .placed(text, reported)
}

/// Deepest nesting of YAML flow collections (`[...]`, `{...}`) read. serde_yaml
/// refuses documents nested deeper than 128 levels anyway, but only after its
/// scanner (libyaml) has read them, and that scanner spends time proportional to
/// the flow depth on every token: 20 KB of `[` take seconds. Refusing such text
/// before it reaches the scanner keeps the cost linear.
const MAX_FLOW_DEPTH: usize = 128;

/// Refuses YAML whose flow collections nest deeper than [`MAX_FLOW_DEPTH`].
///
/// A cheap over-approximation of the YAML grammar: every `[` or `{` outside comments
/// and quoted scalars opens a level, every `]` or `}` closes one. Brackets inside
/// plain scalars count too, so only text with more than 128 unclosed brackets there
/// could be refused wrongly, and such text is no plugin configuration.
// Not merged into `parse` either (memory, as above).
#[inline(never)]
fn check_flow_depth(text: &str) -> Result<(), ConfigError> {
    let mut depth = 0usize;
    let mut previous = '\n';
    let mut chars = text.char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        let starts_token = previous.is_whitespace() || matches!(previous, '[' | '{' | ',' | ':');
        match c {
            '[' | '{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Err(ConfigError::at(
                        FieldPath::root(),
                        format!(
                            "flow collections (`[`, `{{`) nest deeper than {MAX_FLOW_DEPTH} levels"
                        ),
                    )
                    .placed(text, position_of(text, offset)));
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            '#' if starts_token => skip_while(&mut chars, |c| c != '\n'),
            '"' if starts_token => skip_double_quoted(&mut chars),
            '\'' if starts_token => skip_single_quoted(&mut chars),
            _ => {}
        }
        previous = c;
    }
    Ok(())
}

type Chars<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

fn skip_while(chars: &mut Chars<'_>, keep_going: impl Fn(char) -> bool) {
    while chars.next_if(|&(_, c)| keep_going(c)).is_some() {}
}

/// Skips to the closing `"`, over backslash escapes.
fn skip_double_quoted(chars: &mut Chars<'_>) {
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => return,
            _ => {}
        }
    }
}

/// Skips to the closing `'`; `''` inside is an escaped quote.
fn skip_single_quoted(chars: &mut Chars<'_>) {
    while let Some((_, c)) = chars.next() {
        if c == '\'' && chars.next_if(|&(_, next)| next == '\'').is_none() {
            return;
        }
    }
}

/// Line and column (from 1, in characters) of a byte offset.
fn position_of(text: &str, offset: usize) -> Position {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before
            .get(line_start..)
            .map_or(0, |line| line.chars().count())
            + 1,
    }
}

/// A message without the ` at line L column C` a text deserializer appends: data
/// errors are placed by field path instead.
fn strip_any_position(message: &str) -> String {
    let Some((head, position)) = message.rsplit_once(" at line ") else {
        return message.to_owned();
    };
    let numbers = position.split_once(" column ");
    let is_position = numbers.is_some_and(|(line, column)| {
        [line, column]
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    if is_position {
        head.to_owned()
    } else {
        message.to_owned()
    }
}

/// Reads YAML; syntax errors are placed where serde_yaml stopped.
// Not merged into `parse` either (memory, as above).
#[inline(never)]
fn read_yaml(text: &str) -> Result<serde_json::Value, ConfigError> {
    serde_yaml::from_str(text).map_err(|error| {
        let reported = error.location().map(|location| Position {
            line: location.line(),
            column: location.column(),
        });
        let message = error.to_string();
        let message = match reported {
            Some(reported) => strip_position(&message, reported),
            None => message,
        };
        let error = ConfigError::at(FieldPath::root(), strip_yaml_path(&message));
        match reported {
            Some(reported) => error.placed(text, reported),
            None => error,
        }
    })
}

/// Both deserializers append ` at line L column C`; the error shows it once, its own way.
fn strip_position(message: &str, position: Position) -> String {
    let suffix = format!(" at line {} column {}", position.line, position.column);
    message.strip_suffix(&suffix).unwrap_or(message).to_owned()
}

/// serde_yaml prefixes messages with its own rendering of the path (`a[1].b: …`).
fn strip_yaml_path(message: &str) -> String {
    match message.split_once(": ") {
        Some((prefix, rest)) if !prefix.is_empty() && !prefix.contains(char::is_whitespace) => {
            rest.to_owned()
        }
        _ => message.to_owned(),
    }
}

// Not merged into `parse` either (memory, as above).
#[inline(never)]
fn place(error: ConfigError, text: &str, syntax: Syntax) -> ConfigError {
    match locate(text, syntax, &error.path) {
        Some(position) => error.placed(text, position),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("api: {}{}\n", "[".repeat(depth), "]".repeat(depth))
    }

    /// Found by fuzzing: libyaml's scanner is quadratic in flow depth, and 20 KB
    /// of `[` took seconds before serde_yaml's own depth limit refused them.
    #[test]
    fn deep_flow_nesting_is_refused_before_the_yaml_scanner() {
        let started = std::time::Instant::now();
        let error = parse(nested(50_000).as_bytes()).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(
            error.to_string().contains("nest deeper than 128"),
            "{error}"
        );
        assert_eq!(error.position.map(|p| (p.line, p.column)), Some((1, 134)));
    }

    #[test]
    fn flow_depth_ignores_brackets_in_comments_and_quoted_scalars() {
        let brackets = "[".repeat(200);
        for text in [
            format!("# {brackets}\napi: v1\n"),
            format!("api: \"{brackets}\\\" {brackets}\"\n"),
            format!("api: '{brackets}'' {brackets}'\n"),
            format!("a: ['{brackets}', \"{brackets}\"] # {brackets}\n"),
        ] {
            assert!(check_flow_depth(&text).is_ok(), "{text}");
        }
        assert!(check_flow_depth(&nested(128)).is_ok());
        assert!(check_flow_depth(&nested(129)).is_err());
        assert!(check_flow_depth(&format!("a: don't {brackets}\n")).is_err());
    }
}
