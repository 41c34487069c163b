//! `threescale-wasm-auth`: the filter's command-line companion. It runs the same core as
//! the Wasm module, natively:
//!
//! ```text
//! threescale-wasm-auth validate FILE
//! threescale-wasm-auth explain FILE --request 'GET https://host/path?q=1' [-H 'name: value']...
//!                      [--metadata FILE.json] [--show-secrets] [--json] [--config N]
//! threescale-wasm-auth envoy-config FILE [--wasm PATH] [--port N] [--config N]
//! ```
//!
//! Exit status: 0 done (valid), 1 invalid configuration, 2 usage error or unreadable file.

mod args;
mod envoy;
mod explain;
mod input;
mod load;
mod metadata;
mod validate;

use std::io::Write;
use std::process::ExitCode;

use crate::args::Command;

const USAGE: &str = "usage:
  threescale-wasm-auth validate FILE
      Check the plugin configurations in FILE: a plugin configuration (JSON or YAML), Istio
      WasmPlugin manifests (spec.pluginConfig; multi-document YAML), or an Envoy configuration
      (each Wasm HTTP filter's configuration). Prints a summary, or each error with its field
      path and position.
  threescale-wasm-auth explain FILE --request 'METHOD URL' [-H 'name: value']...
                       [--metadata FILE.json] [--show-secrets] [--json] [--config N]
      Show what the filter does with one request, step by step: the service and why, each
      lookup query with the stack after each op, the credential, the mapping rules, and the
      reply or the exact call to 3scale. Secrets are redacted unless --show-secrets.
      --metadata: JSON of Envoy dynamic metadata, filter namespace -> object.
  threescale-wasm-auth envoy-config FILE [--wasm PATH] [--port N] [--config N]
      Print a standalone Envoy configuration running the filter with this plugin configuration
      (module at PATH, default /etc/envoy/threescale_wasm_auth.wasm; listener port, default 10000).
  --config N picks the N-th configuration of a file that holds several.
exit status: 0 success, 1 invalid configuration, 2 usage error or unreadable file";

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The command line or an input file cannot be used (exit status 2).
    Usage(String),
    /// A plugin configuration is invalid (exit status 1); the text says why.
    Invalid(String),
}

fn main() -> ExitCode {
    let command = match args::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("threescale-wasm-auth: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => Ok(format!("{USAGE}\n")),
        Command::Validate { file } => validate::run(&file),
        Command::Explain(args) => explain::run(&args),
        Command::EnvoyConfig(args) => envoy::run(&args),
    };
    match result {
        Ok(output) => {
            print(&output);
            ExitCode::SUCCESS
        }
        Err(Failure::Invalid(output)) => {
            print(&output);
            ExitCode::from(1)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("threescale-wasm-auth: {message}");
            ExitCode::from(2)
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth reporting.
fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
