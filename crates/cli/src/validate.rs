//! `validate FILE`: every plugin configuration in the file, checked by the core; a
//! summary of each valid one, every problem of the others.

use std::path::Path;

use threescale_wasm_auth::explain::summary::{Summary, UpstreamSummary, summarize};

use crate::Failure;
use crate::load::{check, load};

/// Checks the file; `Err(Failure::Invalid)` when any configuration in it is invalid.
pub fn run(file: &Path) -> Result<String, Failure> {
    let loaded = load(file)?;
    let mut out = String::new();
    let mut invalid = 0;
    for embedded in &loaded.found {
        match check(embedded) {
            Ok(config) => {
                out.push_str(&format!(
                    "{}: valid plugin configuration\n",
                    loaded.label(embedded)
                ));
                out.push_str(&format_summary(&summarize(&config)));
            }
            Err(problem) => {
                invalid += 1;
                out.push_str(&loaded.describe(embedded, &problem));
                out.push('\n');
            }
        }
    }
    if invalid > 0 {
        if loaded.found.len() > 1 {
            out.push_str(&format!(
                "{invalid} of {} plugin configurations are invalid\n",
                loaded.found.len()
            ));
        }
        return Err(Failure::Invalid(out));
    }
    Ok(out)
}

fn upstream(upstream: &UpstreamSummary) -> String {
    format!(
        "{} (cluster `{}`, timeout {} ms)",
        upstream.url, upstream.cluster, upstream.timeout_ms
    )
}

/// The summary, indented under the configuration's label.
pub fn format_summary(summary: &Summary) -> String {
    let mut out = format!("  backend: {}", upstream(&summary.backend));
    if !summary.backend_extensions.is_empty() {
        out.push_str(&format!(
            ", 3scale-options extensions: {}",
            summary.backend_extensions.join(", ")
        ));
    }
    out.push('\n');
    match &summary.system {
        Some(system) => out.push_str(&format!(
            "  system: {}, refreshed every {} s\n",
            upstream(&system.upstream),
            system.ttl_seconds
        )),
        None => out.push_str(
            "  system: not used (tokens and mapping rules are all in the configuration)\n",
        ),
    }
    out.push_str(&format!("  services: {}\n", summary.services.len()));
    for (index, service) in summary.services.iter().enumerate() {
        out.push_str(&format!(
            "    [{index}] service {}: authorities {}\n",
            service.id,
            service.authorities.join(", ")
        ));
        for (list, queries) in &service.credentials {
            out.push_str(&format!("        {list}: {}\n", queries.join("; ")));
        }
        let fetched = match &service.environment {
            Some(environment) if service.rules_from_system => {
                format!(" + rules fetched from System ({environment})")
            }
            _ => String::new(),
        };
        out.push_str(&format!(
            "        token: {}; mapping rules: {} static{fetched}\n",
            service.token, service.mapping_rules
        ));
    }
    if summary.extensions.is_empty() {
        out.push_str("  extensions: none\n");
    } else {
        out.push_str(&format!(
            "  extensions: {}\n",
            summary.extensions.join(", ")
        ));
    }
    for warning in &summary.warnings {
        out.push_str(&format!("  warning: {warning}\n"));
    }
    out
}
