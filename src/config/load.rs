//! From configuration bytes to a validated [`Config`]: detect the syntax,
//! deserialize while tracking the field path, validate, and place every error
//! in the text.

use super::locate::{Position, Syntax, locate};
use super::path::FieldPath;
use super::validate::validate;
use super::{Config, ConfigError};

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
    Ok(config)
}

/// JSON starts with `{`; anything else is read as YAML (which also accepts the
/// flow style some people write by hand).
fn detect_syntax(text: &str) -> Syntax {
    if text.trim_start().starts_with('{') {
        Syntax::Json
    } else {
        Syntax::Yaml
    }
}

fn deserialize(text: &str, syntax: Syntax) -> Result<Config, ConfigError> {
    match syntax {
        Syntax::Json => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let config = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
                let path = FieldPath::from_serde(error.path());
                let inner = error.into_inner();
                let reported = Position {
                    line: inner.line(),
                    column: inner.column(),
                };
                from_deserializer(text, syntax, path, &inner.to_string(), Some(reported))
            })?;
            deserializer.end().map_err(|error| {
                let reported = Position {
                    line: error.line(),
                    column: error.column(),
                };
                from_deserializer(
                    text,
                    syntax,
                    FieldPath::root(),
                    &error.to_string(),
                    Some(reported),
                )
            })?;
            Ok(config)
        }
        Syntax::Yaml => {
            let deserializer = serde_yaml::Deserializer::from_str(text);
            serde_path_to_error::deserialize(deserializer).map_err(|error| {
                let path = FieldPath::from_serde(error.path());
                let inner = error.into_inner();
                let reported = inner.location().map(|location| Position {
                    line: location.line(),
                    column: location.column(),
                });
                let message = strip_yaml_path(&inner.to_string());
                from_deserializer(text, syntax, path, &message, reported)
            })
        }
    }
}

/// An error the deserializer raised at `reported`. The locator is preferred when it
/// finds the path: serde_yaml reports errors raised inside a value at the start of
/// the enclosing map, the locator at the value itself.
fn from_deserializer(
    text: &str,
    syntax: Syntax,
    path: FieldPath,
    message: &str,
    reported: Option<Position>,
) -> ConfigError {
    let message = match reported {
        Some(reported) => strip_position(message, reported),
        None => message.to_owned(),
    };
    let position = if path.0.is_empty() {
        reported
    } else {
        locate(text, syntax, &path).or(reported)
    };
    let error = ConfigError::at(path, message);
    match position {
        Some(position) => error.placed(text, position),
        None => error,
    }
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

fn place(error: ConfigError, text: &str, syntax: Syntax) -> ConfigError {
    match locate(text, syntax, &error.path) {
        Some(position) => error.placed(text, position),
        None => error,
    }
}
