//! Reading a file, finding its plugin configurations and checking them with the core's
//! own parser; errors say where they are, in the embedded text and in the file.

use std::path::Path;

use threescale_wasm_auth::config::{self, Config, ConfigError, Position};

use crate::Failure;
use crate::input::{self, Embedded};

/// A file and the plugin configurations found in it.
pub struct Loaded {
    /// The file's name as given.
    pub name: String,
    /// Its text.
    pub text: String,
    /// What was found in it (never empty).
    pub found: Vec<Embedded>,
}

/// Reads `path` and finds its plugin configurations.
pub fn load(path: &Path) -> Result<Loaded, Failure> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|error| Failure::Usage(format!("cannot read {name}: {error}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::Usage(format!("{name} is not UTF-8 text")))?;
    let found = input::find(&text);
    Ok(Loaded { name, text, found })
}

/// A configuration that could not be used: its text could not be found, or it is invalid.
pub enum Problem {
    /// The text could not be taken out of the file.
    Unreadable(String),
    /// The core refused it.
    Invalid(Box<ConfigError>),
}

/// Parses and validates one found configuration with the core's parser.
pub fn check(embedded: &Embedded) -> Result<Config, Problem> {
    let text = embedded
        .text
        .as_ref()
        .map_err(|why| Problem::Unreadable(why.clone()))?;
    config::parse(text.as_bytes()).map_err(|error| Problem::Invalid(Box::new(error)))
}

impl Loaded {
    /// How to name a found configuration: the file, and where in it.
    pub fn label(&self, embedded: &Embedded) -> String {
        match &embedded.origin {
            Some(origin) => format!("{}, {origin}", self.name),
            None => self.name.clone(),
        }
    }

    /// A problem in words: the field path, the position (in the embedded text and, when
    /// known, in the file) and the text around it.
    pub fn describe(&self, embedded: &Embedded, problem: &Problem) -> String {
        let label = self.label(embedded);
        let error = match problem {
            Problem::Unreadable(why) => return format!("{label}: {why}"),
            Problem::Invalid(error) => error,
        };
        if embedded.origin.is_none() {
            return format!("{label}: {error}");
        }
        let mut out = format!("{label}: invalid plugin configuration at `{}`", error.path);
        let mut context = error.context.clone();
        if let Some(Position { line, column }) = error.position {
            out.push_str(&format!(
                " (line {line}, column {column} of the embedded text"
            ));
            if let Some(shift) = embedded.shift {
                let in_file = Position {
                    line: line + shift.first_line - 1,
                    column: column + shift.indent,
                };
                out.push_str(&format!(
                    "; line {}, column {} of {}",
                    in_file.line, in_file.column, self.name
                ));
                context = ConfigError::at(error.path.clone(), error.message.clone())
                    .placed(&self.text, in_file)
                    .context;
            }
            out.push(')');
        }
        out.push_str(&format!(": {}", error.message));
        if let Some(context) = context {
            out.push('\n');
            out.push_str(&context);
        }
        out
    }

    /// The one configuration a command works on: the only one, or the `choice`-th (from 1).
    pub fn select(&self, choice: Option<usize>) -> Result<(&Embedded, Config), Failure> {
        let embedded = match (choice, self.found.as_slice()) {
            (None, [only]) => only,
            (None, several) => {
                let list: Vec<String> = several
                    .iter()
                    .enumerate()
                    .map(|(index, embedded)| format!("  {}: {}", index + 1, self.label(embedded)))
                    .collect();
                return Err(Failure::Usage(format!(
                    "{} holds {} plugin configurations; choose one with --config N:\n{}",
                    self.name,
                    several.len(),
                    list.join("\n")
                )));
            }
            (Some(number), found) => found.get(number - 1).ok_or_else(|| {
                Failure::Usage(format!(
                    "--config {number}: {} holds {} plugin configuration(s)",
                    self.name,
                    found.len()
                ))
            })?,
        };
        match check(embedded) {
            Ok(config) => Ok((embedded, config)),
            Err(problem) => Err(Failure::Invalid(self.describe(embedded, &problem))),
        }
    }
}
