//! `explain FILE --request 'METHOD URL'`: the request as the core sees it, explained
//! step by step by `threescale_wasm_auth::explain`, printed as text or JSON.

use threescale_wasm_auth::explain::{
    DecisionView, Explanation, ForwardView, Options, QueryOutcome, QueryTrace, RulesTrace,
    UsageView, explain,
};
use threescale_wasm_auth::json_text::quoted;
use threescale_wasm_auth::request::PlainRequest;

use crate::Failure;
use crate::args::ExplainArgs;
use crate::load::load;
use crate::metadata::encode_metadata;

/// Runs `explain`.
pub fn run(args: &ExplainArgs) -> Result<String, Failure> {
    let mut request = parse_request(&args.request)?;
    for header in &args.headers {
        let (name, value) = parse_header(header)?;
        request = request.with_header(&name, &value);
    }
    if let Some(path) = &args.metadata {
        request = request.with_metadata(read_metadata(path)?);
    }
    let loaded = load(&args.file)?;
    let (_, config) = loaded.select(args.config)?;
    let explanation = explain(
        &config,
        &request,
        Options {
            show_secrets: args.show_secrets,
        },
    );
    if args.json {
        serde_json::to_string_pretty(&explanation)
            .map(|json| json + "\n")
            .map_err(|error| Failure::Usage(format!("cannot write JSON: {error}")))
    } else {
        Ok(format_text(&explanation, args.show_secrets))
    }
}

/// `METHOD scheme://authority/path?query` as the pseudo-headers Envoy would give the
/// filter. The path is taken byte for byte (no normalisation), `/` when empty.
fn parse_request(line: &str) -> Result<PlainRequest, Failure> {
    let bad = |why: &str| Failure::Usage(format!("--request `{line}`: {why}"));
    let (method, url) = line
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| bad("expected 'METHOD URL', e.g. 'GET https://api.example.com/path?q=1'"))?;
    let url = url.trim();
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(scheme, _)| matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https"))
        .ok_or_else(|| bad("the URL must start with http:// or https://"))?;
    let rest = rest.split('#').next().unwrap_or_default();
    let split_at = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split_at);
    if authority.is_empty() {
        return Err(bad("the URL has no host"));
    }
    let path = match path {
        "" => "/".to_owned(),
        query if query.starts_with('?') => format!("/{query}"),
        path => path.to_owned(),
    };
    let request = PlainRequest::default()
        .with_header(":method", method)
        .with_header(":scheme", &scheme.to_ascii_lowercase())
        .with_header(":authority", authority)
        .with_header(":path", &path);
    Ok(request)
}

/// `name: value`; the name is lowercased as Envoy stores it.
fn parse_header(header: &str) -> Result<(String, String), Failure> {
    let (name, value) = header
        .split_once(':')
        .filter(|(name, _)| !name.trim().is_empty())
        .ok_or_else(|| Failure::Usage(format!("-H `{header}`: expected 'name: value'")))?;
    Ok((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
}

fn read_metadata(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    let name = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|error| Failure::Usage(format!("cannot read {name}: {error}")))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| Failure::Usage(format!("{name} is not JSON: {error}")))?;
    encode_metadata(&json).map_err(|error| Failure::Usage(format!("{name}: {error}")))
}

fn format_text(explanation: &Explanation, show_secrets: bool) -> String {
    let mut out = String::new();
    match &explanation.request {
        Some(line) => out.push_str(&format!(
            "request: {} {}://{}{}\n",
            line.method, line.scheme, line.authority, line.path
        )),
        None => out.push_str("request: no usable authority or path\n"),
    }
    if let Some(service) = &explanation.service {
        let authority = explanation
            .request
            .as_ref()
            .map_or("", |line| line.authority.as_str());
        out.push_str(&format!(
            "service: {} (services[{}]): authority `{authority}` matches `{}`\n",
            service.id, service.index, service.authority_glob
        ));
    } else if explanation.request.is_some() {
        out.push_str("service: none matches\n");
    }
    if explanation.service.is_some() {
        out.push_str("credentials:\n");
        for lookup in &explanation.lookups {
            out.push_str(&format_lookup(lookup));
        }
        match &explanation.credential {
            Some(credential) => {
                let mut parts = Vec::new();
                for (name, value) in [
                    ("user_key", &credential.user_key),
                    ("app_id", &credential.app_id),
                    ("app_key", &credential.app_key),
                ] {
                    if let Some(value) = value {
                        parts.push(format!("{name} {value}"));
                    }
                }
                out.push_str(&format!(
                    "  chosen: {} (from {})\n",
                    parts.join(", "),
                    credential.origins.join(", ")
                ));
            }
            None => out.push_str("  chosen: none\n"),
        }
        if !show_secrets {
            out.push_str("  (user keys, app keys, tokens and stack values are redacted; --show-secrets shows them)\n");
        }
    }
    if let Some(rules) = &explanation.rules {
        out.push_str(&format_rules(rules));
    }
    for note in &explanation.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out.push_str(&format_decision(&explanation.decision));
    out
}

/// A stack, bottom first, each value quoted and escaped as a JSON string.
fn stack(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|value| quoted(value)).collect();
    format!("[{}]", quoted.join(", "))
}

fn format_lookup(lookup: &QueryTrace) -> String {
    let mut out = format!("  {}[{}] {}", lookup.list, lookup.index, lookup.query);
    if let Some(origin) = &lookup.origin {
        out.push_str(&format!(": found in {origin}\n"));
        out.push_str(&format!(
            "      {:<22}{}\n",
            "source",
            stack(&lookup.source)
        ));
        for step in &lookup.steps {
            let label = format!("[{}] {}", step.index, step.op);
            out.push_str(&format!("      {label:<22}{}\n", stack(&step.stack)));
        }
    } else {
        out.push('\n');
    }
    match &lookup.outcome {
        QueryOutcome::Resolved { values } => {
            out.push_str(&format!("      -> resolved: {}\n", stack(values)));
        }
        QueryOutcome::NotFound { reason } => {
            out.push_str(&format!("      -> not resolved: {reason}\n"));
        }
        QueryOutcome::OpFailed { op, at, reason, .. } => {
            out.push_str(&format!("      -> FAILED: op `{op}` at {at}: {reason}\n"));
        }
    }
    out
}

fn usages(usages: &[UsageView]) -> String {
    if usages.is_empty() {
        return "none".to_owned();
    }
    usages
        .iter()
        .map(|usage| format!("{} +{}", usage.metric, usage.delta))
        .collect::<Vec<_>>()
        .join(", ")
}

fn format_rules(rules: &RulesTrace) -> String {
    let mut out = format!(
        "mapping rules: {} static, matched against {}\n",
        rules.rules.len(),
        rules.matched_path
    );
    for rule in &rules.rules {
        let verdict = if !rule.evaluated {
            "not evaluated (an earlier `last` rule matched)"
        } else if rule.matched {
            "MATCH"
        } else {
            "no match"
        };
        let last = if rule.last { " (last)" } else { "" };
        out.push_str(&format!(
            "  [{}] {} {}{last} -> {}: {verdict}\n",
            rule.index,
            rule.method,
            rule.pattern,
            usages(&rule.usages)
        ));
    }
    out.push_str(&format!("  usages: {}\n", usages(&rules.usages)));
    out
}

fn format_changes(changes: &ForwardView) -> String {
    let mut out = String::new();
    for name in &changes.remove_headers {
        out.push_str(&format!("  remove header {name}\n"));
    }
    for prefix in &changes.remove_header_prefixes {
        out.push_str(&format!("  remove headers {prefix}*\n"));
    }
    for (name, value) in &changes.set_headers {
        out.push_str(&format!("  set header {name}: {value}\n"));
    }
    if let Some(path) = &changes.new_path {
        out.push_str(&format!("  new path {path}\n"));
    }
    out
}

fn format_decision(decision: &DecisionView) -> String {
    match decision {
        DecisionView::Reply {
            reason,
            status,
            headers,
            body,
        } => {
            let mut out = format!("decision: reply {status} ({reason})\n");
            for (name, value) in headers {
                out.push_str(&format!("  {name}: {value}\n"));
            }
            out.push_str(&format!("  body: {}\n", quoted(body)));
            out
        }
        DecisionView::Continue { reason, changes } => {
            format!(
                "decision: continue upstream without calling 3scale ({reason})\n{}",
                format_changes(changes)
            )
        }
        DecisionView::CallOut {
            cluster,
            timeout_ms,
            method,
            url,
            headers,
            answers,
            changes,
        } => {
            let mut out = "decision: call 3scale and wait for the answer\n".to_owned();
            out.push_str(&format!("  {method} {url}\n"));
            for (name, value) in headers {
                out.push_str(&format!("  {name}: {value}\n"));
            }
            out.push_str(&format!(
                "  (cluster `{cluster}`, timeout {timeout_ms} ms)\n"
            ));
            for answer in answers {
                out.push_str(&format!("  answer {answer}\n"));
            }
            let changes = format_changes(changes);
            if !changes.is_empty() {
                out.push_str("when authorized, before the request goes upstream:\n");
                out.push_str(&changes);
            }
            out
        }
    }
}
