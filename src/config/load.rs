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
use crate::yaml;

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
    if is_json(text) {
        finish(
            deserialize_json(text, text, Syntax::Json)?,
            text,
            Syntax::Json,
        )
    } else {
        let root = read_yaml(text)?;
        let json = yaml::to_json(&root).map_err(|error| yaml_error(error, text))?;
        let syntax = Syntax::Yaml(&root);
        finish(deserialize_json(&json, text, syntax)?, text, syntax)
    }
}

/// Validates what was read and builds the service index.
// Its own function, not merged into `parse`: V8 compiles each function
// of the module when Envoy loads it, and a large one costs Envoy memory out of
// proportion to its size (README "The benchmark", memory).
#[inline(never)]
fn finish(config: Config, text: &str, syntax: Syntax<'_>) -> Result<Config, ConfigError> {
    let (mut config, warnings) = validate(config).map_err(|error| place(error, text, syntax))?;
    config.warnings = warnings;
    config.services.shrink_to_fit();
    let authorities = config.services.iter().map(|s| s.authorities.as_slice());
    config.service_index = ServiceIndex::from_globs(authorities);
    Ok(config)
}

/// JSON starts with `{`; anything else is read as YAML (which also accepts the
/// flow style some people write by hand).
///
/// JSON (what Envoy and Istio hand over) is read straight from the text: a
/// document tree of a configuration with thousands of mapping rules would take
/// ten times the text's size at its peak, and a Wasm VM's memory never shrinks
/// back. YAML is read into a tree ([`yaml::parse`]) that is written out as JSON
/// text, so that every `Deserialize` impl is compiled once, for one deserializer;
/// the field path of a data error is found from where the JSON reader stopped
/// ([`data_error_path`]), its position in the text from the tree.
fn is_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// Reads YAML text into its tree; errors are placed where the reader stopped.
// Not merged into `parse` either (memory, as above).
#[inline(never)]
fn read_yaml(text: &str) -> Result<yaml::Node, ConfigError> {
    yaml::parse(text).map_err(|error| yaml_error(error, text))
}

fn yaml_error(error: yaml::YamlError, text: &str) -> ConfigError {
    ConfigError::at(FieldPath::root(), error.to_string()).placed(text, error.at)
}

/// Deserializes JSON text `json`; errors are placed in `text`, written in `syntax`
/// (the same text unless it was YAML).
// Not merged into `parse` either (memory, as above).
#[inline(never)]
fn deserialize_json(json: &str, text: &str, syntax: Syntax<'_>) -> Result<Config, ConfigError> {
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

/// serde_json appends ` at line L column C`; the error shows it once, its own way.
fn strip_position(message: &str, position: Position) -> String {
    let suffix = format!(" at line {} column {}", position.line, position.column);
    message.strip_suffix(&suffix).unwrap_or(message).to_owned()
}

// Not merged into `parse` either (memory, as above).
#[inline(never)]
fn place(error: ConfigError, text: &str, syntax: Syntax<'_>) -> ConfigError {
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

    /// Found by fuzzing libyaml, whose scanner was quadratic in flow depth: 20 KB
    /// of `[` must be refused at once, where the nesting limit is passed.
    #[test]
    fn deep_flow_nesting_is_refused_where_it_passes_the_limit() {
        let error = parse(nested(50_000).as_bytes()).unwrap_err();
        assert!(error.to_string().contains("deeper than 128"), "{error}");
        assert_eq!(error.position.map(|p| (p.line, p.column)), Some((1, 133)));
    }

    #[test]
    fn brackets_in_comments_and_quoted_scalars_do_not_nest() {
        let brackets = "[".repeat(200);
        for text in [
            format!("# {brackets}\napi: v1\n"),
            format!("api: \"{brackets}\\\" {brackets}\"\n"),
            format!("api: '{brackets}'' {brackets}'\n"),
            format!("a: ['{brackets}', \"{brackets}\"] # {brackets}\n"),
            format!("a: don't {brackets}\n"),
        ] {
            assert!(yaml::parse(&text).is_ok(), "{text}");
        }
        assert!(yaml::parse(&nested(127)).is_ok());
        assert!(yaml::parse(&nested(128)).is_err());
    }
}
