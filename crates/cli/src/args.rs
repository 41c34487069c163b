//! The command line, parsed with the standard library only.

use std::path::PathBuf;

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print the usage.
    Help,
    /// Check the plugin configurations in a file.
    Validate {
        /// The file.
        file: PathBuf,
    },
    /// Explain what the filter does with one request.
    Explain(ExplainArgs),
    /// Print a standalone Envoy configuration running the filter.
    EnvoyConfig(EnvoyArgs),
}

/// `explain`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainArgs {
    /// The configuration file.
    pub file: PathBuf,
    /// Which configuration of the file (1-based), when it holds several.
    pub config: Option<usize>,
    /// `METHOD URL`.
    pub request: String,
    /// `name: value` request headers.
    pub headers: Vec<String>,
    /// A JSON file of Envoy dynamic metadata.
    pub metadata: Option<PathBuf>,
    /// Show secrets as they are.
    pub show_secrets: bool,
    /// Print JSON instead of text.
    pub json: bool,
}

/// `envoy-config`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvoyArgs {
    /// The configuration file.
    pub file: PathBuf,
    /// Which configuration of the file (1-based), when it holds several.
    pub config: Option<usize>,
    /// Where Envoy finds the module.
    pub wasm: String,
    /// The listener's port.
    pub port: u16,
}

/// Where `envoy-config` points Envoy for the module unless told otherwise.
pub const DEFAULT_WASM: &str = "/etc/envoy/threescale_wasm_auth.wasm";
/// The listener port `envoy-config` uses unless told otherwise.
pub const DEFAULT_PORT: u16 = 10000;

/// Why the command line cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    /// No command given.
    #[error("no command given")]
    NoCommand,
    /// Not a command.
    #[error("unknown command `{0}`")]
    UnknownCommand(String),
    /// An option this command does not take.
    #[error("`{command}` does not take `{option}`")]
    UnknownOption {
        /// The command.
        command: &'static str,
        /// The option.
        option: String,
    },
    /// An option without its value.
    #[error("`{0}` needs a value")]
    MissingValue(String),
    /// A value that does not parse.
    #[error("`{option}` takes {expected}, not `{value}`")]
    BadValue {
        /// The option.
        option: String,
        /// What it takes.
        expected: &'static str,
        /// What was given.
        value: String,
    },
    /// No FILE, or more than one.
    #[error("`{0}` takes exactly one FILE")]
    File(&'static str),
    /// `explain` without `--request`.
    #[error("`explain` needs --request 'METHOD URL'")]
    NoRequest,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, ArgsError> {
    let mut args = args.into_iter();
    let command = args.next().ok_or(ArgsError::NoCommand)?;
    let rest: Vec<String> = args.collect();
    if rest.iter().any(|arg| arg == "--help" || arg == "-h") {
        return Ok(Command::Help);
    }
    match command.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "validate" => parse_validate(rest),
        "explain" => parse_explain(rest),
        "envoy-config" => parse_envoy(rest),
        other => Err(ArgsError::UnknownCommand(other.to_owned())),
    }
}

/// Options and positional arguments, with `--name=value` split.
struct Words {
    command: &'static str,
    words: std::vec::IntoIter<String>,
    files: Vec<PathBuf>,
}

impl Words {
    fn new(command: &'static str, args: Vec<String>) -> Self {
        let mut split = Vec::new();
        for arg in args {
            match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => {
                    split.push(name.to_owned());
                    split.push(value.to_owned());
                }
                _ => split.push(arg),
            }
        }
        Words {
            command,
            words: split.into_iter(),
            files: Vec::new(),
        }
    }

    /// The next option, keeping positional arguments as files.
    fn next_option(&mut self) -> Option<String> {
        for word in self.words.by_ref() {
            if word.starts_with('-') && word != "-" {
                return Some(word);
            }
            self.files.push(PathBuf::from(word));
        }
        None
    }

    fn value(&mut self, option: &str) -> Result<String, ArgsError> {
        self.words
            .next()
            .ok_or_else(|| ArgsError::MissingValue(option.to_owned()))
    }

    fn unknown(&self, option: String) -> ArgsError {
        ArgsError::UnknownOption {
            command: self.command,
            option,
        }
    }

    fn file(self) -> Result<PathBuf, ArgsError> {
        let mut files = self.files.into_iter();
        match (files.next(), files.next()) {
            (Some(file), None) => Ok(file),
            _ => Err(ArgsError::File(self.command)),
        }
    }
}

fn number<T: std::str::FromStr>(
    option: &str,
    value: String,
    expected: &'static str,
) -> Result<T, ArgsError> {
    value.parse().map_err(|_| ArgsError::BadValue {
        option: option.to_owned(),
        expected,
        value,
    })
}

fn config_number(option: &str, value: String) -> Result<usize, ArgsError> {
    let index: usize = number(option, value.clone(), "a configuration number from 1")?;
    if index == 0 {
        return Err(ArgsError::BadValue {
            option: option.to_owned(),
            expected: "a configuration number from 1",
            value,
        });
    }
    Ok(index)
}

fn parse_validate(args: Vec<String>) -> Result<Command, ArgsError> {
    let mut words = Words::new("validate", args);
    if let Some(option) = words.next_option() {
        return Err(words.unknown(option));
    }
    Ok(Command::Validate {
        file: words.file()?,
    })
}

fn parse_explain(args: Vec<String>) -> Result<Command, ArgsError> {
    let mut words = Words::new("explain", args);
    let mut request = None;
    let mut headers = Vec::new();
    let mut metadata = None;
    let mut show_secrets = false;
    let mut json = false;
    let mut config = None;
    while let Some(option) = words.next_option() {
        match option.as_str() {
            "--request" | "-X" => request = Some(words.value(&option)?),
            "--header" | "-H" => headers.push(words.value(&option)?),
            "--metadata" => metadata = Some(PathBuf::from(words.value(&option)?)),
            "--show-secrets" => show_secrets = true,
            "--json" => json = true,
            "--config" => config = Some(config_number(&option, words.value(&option)?)?),
            _ => return Err(words.unknown(option)),
        }
    }
    Ok(Command::Explain(ExplainArgs {
        request: request.ok_or(ArgsError::NoRequest)?,
        file: words.file()?,
        config,
        headers,
        metadata,
        show_secrets,
        json,
    }))
}

fn parse_envoy(args: Vec<String>) -> Result<Command, ArgsError> {
    let mut words = Words::new("envoy-config", args);
    let mut wasm = DEFAULT_WASM.to_owned();
    let mut port = DEFAULT_PORT;
    let mut config = None;
    while let Some(option) = words.next_option() {
        match option.as_str() {
            "--wasm" => wasm = words.value(&option)?,
            "--port" => port = number(&option, words.value(&option)?, "a port number")?,
            "--config" => config = Some(config_number(&option, words.value(&option)?)?),
            _ => return Err(words.unknown(option)),
        }
    }
    Ok(Command::EnvoyConfig(EnvoyArgs {
        file: words.file()?,
        config,
        wasm,
        port,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &[&str]) -> Result<Command, ArgsError> {
        parse(line.iter().map(|word| (*word).to_owned()))
    }

    #[test]
    fn explain_takes_repeated_headers_and_inline_values() {
        let command = parse_line(&[
            "explain",
            "c.yaml",
            "--request=GET https://a/",
            "-H",
            "x-a: 1",
            "-H",
            "x-b: 2",
            "--show-secrets",
            "--config",
            "2",
        ])
        .unwrap();
        assert_eq!(
            command,
            Command::Explain(ExplainArgs {
                file: "c.yaml".into(),
                config: Some(2),
                request: "GET https://a/".into(),
                headers: vec!["x-a: 1".into(), "x-b: 2".into()],
                metadata: None,
                show_secrets: true,
                json: false,
            })
        );
    }

    #[test]
    fn usage_errors_say_what_is_wrong() {
        assert_eq!(parse_line(&[]), Err(ArgsError::NoCommand));
        assert_eq!(
            parse_line(&["frobnicate"]),
            Err(ArgsError::UnknownCommand("frobnicate".into()))
        );
        assert_eq!(parse_line(&["validate"]), Err(ArgsError::File("validate")));
        assert_eq!(
            parse_line(&["validate", "a", "b"]),
            Err(ArgsError::File("validate"))
        );
        assert_eq!(parse_line(&["explain", "a"]), Err(ArgsError::NoRequest));
        assert_eq!(
            parse_line(&["explain", "a", "--request"]),
            Err(ArgsError::MissingValue("--request".into()))
        );
        assert!(matches!(
            parse_line(&["envoy-config", "a", "--port", "99999"]),
            Err(ArgsError::BadValue { .. })
        ));
        assert!(matches!(
            parse_line(&["envoy-config", "a", "--config", "0"]),
            Err(ArgsError::BadValue { .. })
        ));
        assert!(matches!(
            parse_line(&["validate", "a", "--json"]),
            Err(ArgsError::UnknownOption { .. })
        ));
    }

    #[test]
    fn envoy_config_has_defaults() {
        assert_eq!(
            parse_line(&["envoy-config", "a"]),
            Ok(Command::EnvoyConfig(EnvoyArgs {
                file: "a".into(),
                config: None,
                wasm: DEFAULT_WASM.into(),
                port: DEFAULT_PORT,
            }))
        );
        assert_eq!(parse_line(&["validate", "a", "--help"]), Ok(Command::Help));
    }
}
