//! `threescale-sim`: a test double of 3scale's Service Management API
//! (apisonator) and of System's proxy-configuration endpoint, with an admin
//! API for tests and an optional echo upstream.
//!
//! ```text
//! threescale-sim --config examples/sim.yaml [--listen 127.0.0.1:3000] [--upstream-listen 127.0.0.1:3001]
//! ```

mod admin;
mod backend;
mod counters;
mod echo;
mod errors;
mod http;
mod model;
mod params;
mod periods;
mod sim;
mod system;
mod usage;
mod xml;

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::model::Model;

const USAGE: &str = "usage: threescale-sim --config FILE [--listen ADDR] [--upstream-listen ADDR]
  --config FILE           YAML model of services, applications and System configs
  --listen ADDR           backend, System and /_sim/ listener (default 127.0.0.1:3000; port 0 picks one)
  --upstream-listen ADDR  also run an echo upstream on ADDR";

/// Command-line options.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    config: PathBuf,
    listen: String,
    upstream_listen: Option<String>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum ArgsError {
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("unknown argument {0:?}")]
    Unknown(String),
    #[error("--config is required")]
    NoConfig,
    #[error("help requested")]
    Help,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, ArgsError> {
    let mut config = None;
    let mut listen = "127.0.0.1:3000".to_string();
    let mut upstream_listen = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        if name == "--help" || name == "-h" {
            return Err(ArgsError::Help);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| ArgsError::MissingValue(name.clone()))
        };
        match name.as_str() {
            "--config" => config = Some(PathBuf::from(value()?)),
            "--listen" => listen = value()?,
            "--upstream-listen" => upstream_listen = Some(value()?),
            _ => return Err(ArgsError::Unknown(arg)),
        }
    }
    Ok(Args {
        config: config.ok_or(ArgsError::NoConfig)?,
        listen,
        upstream_listen,
    })
}

fn bind(address: &str) -> Result<(TcpListener, String), String> {
    let listener = TcpListener::bind(address)
        .map_err(|error| format!("cannot listen on {address}: {error}"))?;
    let local = listener
        .local_addr()
        .map_err(|error| format!("cannot read the address of {address}: {error}"))?;
    Ok((listener, local.to_string()))
}

/// Prints one line and flushes, so a parent process sees it at once.
fn announce(line: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|error| format!("cannot write to stdout: {error}"))
}

fn run(args: &Args) -> Result<(), String> {
    let model = Model::load(&args.config).map_err(|error| error.to_string())?;
    let (listener, address) = bind(&args.listen)?;
    let upstream = match &args.upstream_listen {
        Some(upstream) => Some(bind(upstream)?),
        None => None,
    };
    http::serve(listener, Arc::new(sim::Simulator::new(model)));
    announce(&format!("threescale-sim listening on {address}"))?;
    if let Some((listener, address)) = upstream {
        http::serve(listener, Arc::new(echo::Echo));
        announce(&format!("threescale-sim upstream listening on {address}"))?;
    }
    loop {
        std::thread::park();
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(ArgsError::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("threescale-sim: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("threescale-sim: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, ArgsError> {
        parse_args(list.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn parses_all_options() {
        assert_eq!(
            args(&[
                "--config",
                "a.yaml",
                "--listen=127.0.0.1:0",
                "--upstream-listen",
                "127.0.0.1:0"
            ]),
            Ok(Args {
                config: PathBuf::from("a.yaml"),
                listen: "127.0.0.1:0".into(),
                upstream_listen: Some("127.0.0.1:0".into()),
            })
        );
    }

    #[test]
    fn rejects_bad_arguments() {
        assert_eq!(args(&[]), Err(ArgsError::NoConfig));
        assert_eq!(
            args(&["--config"]),
            Err(ArgsError::MissingValue("--config".into()))
        );
        assert_eq!(
            args(&["--config", "a", "--port", "1"]),
            Err(ArgsError::Unknown("--port".into()))
        );
        assert_eq!(args(&["-h"]), Err(ArgsError::Help));
    }
}
