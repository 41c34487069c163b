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

/// Reads the text into a document tree, then the tree into [`Config`]. Going
/// through one tree type means every `Deserialize` impl is compiled once, not
/// once per syntax (which halves the serde code in the module); positions are
/// found afterwards by the locator, from the field path.
fn deserialize(text: &str, syntax: Syntax) -> Result<Config, ConfigError> {
    let document = read_document(text, syntax)?;
    serde_path_to_error::deserialize(document).map_err(|error| {
        let path = FieldPath::from_serde(error.path());
        let error = ConfigError::at(path, error.into_inner().to_string());
        place(error, text, syntax)
    })
}

/// Syntax errors, placed where the parser stopped.
fn read_document(text: &str, syntax: Syntax) -> Result<serde_json::Value, ConfigError> {
    match syntax {
        Syntax::Json => serde_json::from_str(text).map_err(|error| {
            let reported = Position {
                line: error.line(),
                column: error.column(),
            };
            ConfigError::at(
                FieldPath::root(),
                strip_position(&error.to_string(), reported),
            )
            .placed(text, reported)
        }),
        Syntax::Yaml => serde_yaml::from_str(text).map_err(|error| {
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
        }),
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
