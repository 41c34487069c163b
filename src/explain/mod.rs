//! A request explained step by step, as data (the `threescale-wasm-auth explain` command).
//!
//! Nothing here decides anything on its own: the decision is [`flow::on_request`]'s, the
//! credentials are [`lookup::resolve_traced`]'s (with a recorder as its [`Trace`]), the
//! usages are [`mapping::match_rules`]'s and the call to 3scale is the one the flow built
//! with [`backend::authrep`](crate::backend::authrep). What this module adds is the record
//! of how the engine got there, and the redaction of secrets (docs/behaviour.md §10) unless the
//! caller asks to see them.
//!
//! Redaction policy: user keys, app keys and service tokens are shown as
//! [`redact`] shows them (`ab…(32)`); app ids are shown. The values on a lookup query's
//! stack are credentials or text they are decoded from (`Basic <base64>`, a JWT payload),
//! so every stack value is redacted except one equal to the app id that was chosen. In the
//! request line, a query parameter a user key or an app key was read from is redacted.

pub mod summary;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::config::{Config, Mode, Service};
use crate::fetched::Fetched;
use crate::flow::{self, Decision, Target};
use crate::io::query::redact_parameters;
use crate::io::{Admission, Forward, HttpCall, LocalReply, ReplyKind};
use crate::lookup::ops::Segment;
use crate::lookup::{self, LookupQuery, Op, Resolution, ResolvedCredentials, Trace, Unresolved};
use crate::mapping::{self, RuleMethod, RuleSet};
use crate::model::secret::{is_secret_parameter, redact_header};
use crate::model::{Credential, Origin, Secret, Usages, redact};
use crate::path;
use crate::request::RequestView;

/// How to explain.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Show user keys, app keys, service tokens and stack values as they are.
    pub show_secrets: bool,
}

/// Everything the filter would do with one request, step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The request as the flow reads it; `None` when it has no usable authority or path.
    pub request: Option<RequestLine>,
    /// The service whose authorities match; `None` when none does (or no request line).
    pub service: Option<ServiceChoice>,
    /// Every lookup query tried, in the order the engine tried them.
    pub lookups: Vec<QueryTrace>,
    /// The credential the lookups gave, if any.
    pub credential: Option<CredentialView>,
    /// The mapping rules, when the flow got as far as matching them.
    pub rules: Option<RulesTrace>,
    /// Things worth knowing that the steps above do not show (System, failure policy).
    pub notes: Vec<String>,
    /// What the filter does with the request.
    pub decision: DecisionView,
}

/// The request's method and target after the flow's normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestLine {
    /// `:method`.
    pub method: String,
    /// `:scheme` (lowercase).
    pub scheme: String,
    /// The authority services are matched against (lowercase, default port removed).
    pub authority: String,
    /// `:path` with its query (credential parameters redacted unless secrets are shown).
    pub path: String,
}

/// The selected service and why it was selected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceChoice {
    /// Position in `services`.
    pub index: usize,
    /// The 3scale service id.
    pub id: String,
    /// The first of its authority globs that matches the authority.
    pub authority_glob: String,
}

/// One lookup query as the engine ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryTrace {
    /// `user_key`, `app_id` or `app_key`.
    pub list: String,
    /// Position in that list.
    pub index: usize,
    /// The query as configured, in one line.
    pub query: String,
    /// Where the source's value was read from, when a key was found.
    pub origin: Option<String>,
    /// The starting stack (bottom first), when a key was found.
    pub source: Vec<String>,
    /// The stack after each top-level op that succeeded.
    pub steps: Vec<OpStep>,
    /// How the query ended.
    pub outcome: QueryOutcome,
}

/// The stack after one op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpStep {
    /// Position of the op in the query's `ops`.
    pub index: usize,
    /// The op's name.
    pub op: String,
    /// The stack it left, bottom first.
    pub stack: Vec<String>,
}

/// How a lookup query ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum QueryOutcome {
    /// The query gave these values (bottom first).
    Resolved {
        /// The final stack.
        values: Vec<String>,
    },
    /// No key had a usable value, or the filter path is too short.
    NotFound {
        /// Why.
        reason: String,
    },
    /// An op failed.
    OpFailed {
        /// Position of the failing op (or the op holding it) in the query's `ops`.
        index: usize,
        /// Name of the innermost failing op.
        op: String,
        /// Where that op sits (`[3].test.then[0].strlen`).
        at: String,
        /// What went wrong.
        reason: String,
    },
}

/// The credential a request presents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredentialView {
    /// `user_key` or `app_id`.
    pub kind: String,
    /// The user key (redacted unless secrets are shown).
    pub user_key: Option<String>,
    /// The application id.
    pub app_id: Option<String>,
    /// The application key (redacted unless secrets are shown).
    pub app_key: Option<String>,
    /// Where the values were read from.
    pub origins: Vec<String>,
}

/// The mapping rules and the usages they give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RulesTrace {
    /// The path and query the rules were matched against: the request's in normal
    /// form ([`path::normalize`]), credential parameters redacted unless shown.
    pub matched_path: String,
    /// Every static rule, in evaluation order.
    pub rules: Vec<RuleTrace>,
    /// The summed usages, in order of first appearance.
    pub usages: Vec<UsageView>,
}

/// One mapping rule and whether it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleTrace {
    /// Position in the service's `mapping_rules`.
    pub index: usize,
    /// Its method (`ANY` for any).
    pub method: String,
    /// Its pattern.
    pub pattern: String,
    /// Its usages.
    pub usages: Vec<UsageView>,
    /// Whether it is marked `last`.
    pub last: bool,
    /// Whether the evaluation reached it (an earlier matching `last` rule stops it).
    pub evaluated: bool,
    /// Whether it matched.
    pub matched: bool,
}

/// A metric and its delta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageView {
    /// Metric system name.
    pub metric: String,
    /// Delta.
    pub delta: u64,
}

/// What the filter does with the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DecisionView {
    /// The filter answers the client itself.
    Reply {
        /// Why, in words.
        reason: String,
        /// HTTP status.
        status: u16,
        /// Reply headers.
        headers: Vec<(String, String)>,
        /// Reply body.
        body: String,
    },
    /// The request goes upstream without a call to 3scale.
    Continue {
        /// Why, in words.
        reason: String,
        /// The changes made to the request first.
        changes: ForwardView,
    },
    /// The request waits for this call to 3scale.
    CallOut {
        /// The Envoy cluster called.
        cluster: String,
        /// Milliseconds before the call counts as failed.
        timeout_ms: u64,
        /// The call's method.
        method: String,
        /// `scheme://authority/path?query`, secrets redacted unless shown.
        url: String,
        /// The call's headers other than pseudo-headers.
        headers: Vec<(String, String)>,
        /// What each kind of answer leads to, in words.
        answers: Vec<String>,
        /// The changes made to the request when 3scale authorizes it.
        changes: ForwardView,
    },
}

/// Changes made to a request that goes upstream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForwardView {
    /// Headers removed.
    pub remove_headers: Vec<String>,
    /// Prefixes of headers removed.
    pub remove_header_prefixes: Vec<String>,
    /// Headers set (secrets redacted unless shown).
    pub set_headers: Vec<(String, String)>,
    /// The new `:path`, when query parameters were removed.
    pub new_path: Option<String>,
}

/// Explains what the filter configured with `config` does with `request`, as it does it
/// before anything was fetched from System.
pub fn explain(config: &Config, request: &dyn RequestView, options: Options) -> Explanation {
    let decision = flow::on_request(config, &Fetched::new(), request, None);
    let mut explanation = Explanation {
        request: None,
        service: None,
        lookups: Vec::new(),
        credential: None,
        rules: None,
        notes: Vec::new(),
        decision: DecisionView::Continue {
            reason: String::new(),
            changes: ForwardView::default(),
        },
    };
    let mut redactor = Redactor::new(options);
    let reason = explain_steps(config, request, &mut explanation, &mut redactor);
    if let Some(line) = &mut explanation.request {
        line.path = redactor.path(&line.path);
    }
    explanation.decision = decision_view(config, &decision, reason, &redactor);
    explanation
}

/// Fills in the steps and says in words why the flow ends where it does.
fn explain_steps(
    config: &Config,
    request: &dyn RequestView,
    explanation: &mut Explanation,
    redactor: &mut Redactor,
) -> String {
    let Some(target) = Target::of(request) else {
        return "the request has no usable authority or path".to_owned();
    };
    explanation.request = Some(RequestLine {
        method: target.method.to_string(),
        scheme: crate::flow::target::scheme_of(request),
        authority: target.authority.to_string(),
        path: target.path.to_string(),
    });
    let Some((index, service, glob)) = select_service(config, &target.authority) else {
        return format!("no service's authorities match `{}`", target.authority);
    };
    explanation.service = Some(ServiceChoice {
        index,
        id: service.id.clone(),
        authority_glob: glob.to_owned(),
    });
    let mut recorder = Recorder::default();
    let resolved = lookup::resolve_traced(&service.credentials, request, &mut recorder);
    redactor.learn(resolved.as_ref(), &recorder);
    explanation.lookups = recorder.finish(&service.credentials, redactor);
    let Some(resolved) = resolved else {
        return "no lookup query resolved to a credential".to_owned();
    };
    explanation.credential = Some(credential_view(&resolved, redactor));
    if let Some(why) = system_gap(config, service, &mut explanation.notes) {
        return why;
    }
    let matched_path = path::normalize(&target.path);
    let mut rules = rules_trace(&service.mapping_rules, &target.method, &matched_path);
    rules.matched_path = redactor.path(&matched_path);
    let matched = !rules.usages.is_empty();
    let no_match = format!(
        "no mapping rule matches {} {}",
        target.method, rules.matched_path
    );
    explanation.rules = Some(rules);
    if !matched {
        return no_match;
    }
    if config.passthrough_metadata {
        "passthrough_metadata: the credentials and usages go to the next filter in x-3scale-* headers".to_owned()
    } else {
        "authorize and report with 3scale (authrep)".to_owned()
    }
}

/// The service the flow selects ([`Config::select_service`]), with the glob that
/// matched, to say why.
fn select_service<'a>(
    config: &'a Config,
    authority: &str,
) -> Option<(usize, &'a Service, &'a str)> {
    let (index, service) = config.select_service(authority)?;
    let glob = service
        .authorities
        .iter()
        .find(|glob| glob.matches(authority))?;
    Some((index, service, glob.as_str()))
}

/// Notes about what System would supply, and the reason the flow stops when the
/// service cannot be served without it.
fn system_gap(config: &Config, service: &Service, notes: &mut Vec<String>) -> Option<String> {
    config.system.as_ref()?;
    let mut missing = Vec::new();
    if service.token.is_none() {
        missing.push("service token");
    }
    if service.mapping_rules.is_empty() {
        missing.push("mapping rules");
    }
    if missing.is_empty() {
        notes.push(
            "this configuration uses System: rules fetched from it would be evaluated after the static rules shown; they are not available offline".to_owned(),
        );
        return None;
    }
    let missing = missing.join(" and no ");
    notes.push(format!(
        "service {} has no static {missing}: it takes them from System at run time, which is not available offline; until the first fetch succeeds the filter treats 3scale as unreachable (failure_policy: {})",
        service.id,
        policy_name(config)
    ));
    Some(format!(
        "service {} has no static {missing} and System has not answered yet",
        service.id
    ))
}

fn policy_name(config: &Config) -> &'static str {
    match config.failure_policy {
        crate::config::FailurePolicy::Deny => "deny",
        crate::config::FailurePolicy::Allow => "allow",
    }
}

/// Every static rule with whether it matched; the usages are `match_rules`'s own sum.
fn rules_trace(rules: &RuleSet, method: &str, matched_path: &str) -> RulesTrace {
    let usages = mapping::match_rules(rules, method, matched_path);
    let mut evaluated = true;
    let traces = rules
        .iter()
        .enumerate()
        .map(|(index, rule)| {
            let matched = evaluated && rule.matches(method, matched_path);
            let trace = RuleTrace {
                index,
                method: match &rule.method {
                    RuleMethod::Any => "ANY".to_owned(),
                    RuleMethod::Exact(method) => method.to_string(),
                },
                pattern: rule.pattern.as_str().to_owned(),
                usages: rule
                    .usages
                    .iter()
                    .map(|usage| UsageView {
                        metric: usage.name.to_string(),
                        delta: usage.delta,
                    })
                    .collect(),
                last: rule.last,
                evaluated,
                matched,
            };
            if matched && rule.last {
                evaluated = false;
            }
            trace
        })
        .collect();
    RulesTrace {
        matched_path: matched_path.to_owned(),
        rules: traces,
        usages: usage_views(&usages),
    }
}

fn usage_views(usages: &Usages) -> Vec<UsageView> {
    usages
        .iter()
        .map(|(metric, delta)| UsageView {
            metric: metric.to_owned(),
            delta,
        })
        .collect()
}

fn credential_view(resolved: &ResolvedCredentials, redactor: &Redactor) -> CredentialView {
    let origins = resolved.origins.iter().map(ToString::to_string).collect();
    match &resolved.credential {
        Credential::UserKey(key) => CredentialView {
            kind: "user_key".to_owned(),
            user_key: Some(redactor.secret_value(key)),
            app_id: None,
            app_key: None,
            origins,
        },
        Credential::AppId { app_id, app_key } => CredentialView {
            kind: "app_id".to_owned(),
            user_key: None,
            app_id: Some(app_id.clone()),
            app_key: app_key.as_ref().map(|key| redactor.secret_value(key)),
            origins,
        },
    }
}

fn decision_view(
    config: &Config,
    decision: &Decision,
    reason: String,
    redactor: &Redactor,
) -> DecisionView {
    match decision {
        Decision::Reply(reply) => reply_view(reply, reason),
        Decision::Continue(forward) => DecisionView::Continue {
            reason: match forward.admission {
                Admission::WouldDeny(kind) => format!(
                    "mode: report; enforce mode would reply {} {}: {reason}",
                    kind.default_status(),
                    kind.name()
                ),
                _ => reason,
            },
            changes: forward_view(forward, redactor),
        },
        Decision::CallOut(call_out) => call_view(
            &call_out.call,
            &call_out.pending.forward,
            answers(
                config,
                config.mode_of(config.services.get(call_out.pending.service_index)),
            ),
            redactor,
        ),
    }
}

fn reply_view(reply: &LocalReply, reason: String) -> DecisionView {
    DecisionView::Reply {
        reason,
        status: reply.status,
        headers: reply.headers.clone(),
        body: String::from_utf8_lossy(&reply.body).into_owned(),
    }
}

fn call_view(
    call: &HttpCall,
    forward: &Forward,
    answers: Vec<String>,
    redactor: &Redactor,
) -> DecisionView {
    let pseudo = |name: &str| call.header(name).unwrap_or_default().to_owned();
    DecisionView::CallOut {
        cluster: call.cluster.to_string(),
        timeout_ms: call.timeout_ms,
        method: pseudo(":method"),
        url: format!(
            "{}://{}{}",
            pseudo(":scheme"),
            pseudo(":authority"),
            redactor.call_path(&pseudo(":path"))
        ),
        headers: call
            .headers
            .iter()
            .filter(|(name, _)| !name.starts_with(':'))
            .map(|(name, value)| ((*name).to_owned(), value.to_string()))
            .collect(),
        answers,
        changes: forward_view(forward, redactor),
    }
}

/// What the filter does with each kind of answer from 3scale, from the same reply
/// builder and failure policy the flow uses.
fn answers(config: &Config, mode: Mode) -> Vec<String> {
    let status = |kind| flow::local_reply(config, kind, None).status;
    // What a would-be reply becomes: the reply itself, or in report mode a pass.
    let reply = |kind: ReplyKind, extra: &str| match mode {
        Mode::Enforce => format!("reply {}{extra}", status(kind)),
        Mode::Report => format!(
            "the request continues upstream{} (mode: report; enforce mode would reply {})",
            if kind == ReplyKind::LimitsExceeded {
                " after a report of its usage"
            } else {
                ""
            },
            status(kind)
        ),
    };
    let unreachable = match config.failure_policy {
        crate::config::FailurePolicy::Deny => {
            reply(ReplyKind::Unavailable, " (failure_policy: deny)")
        }
        crate::config::FailurePolicy::Allow => {
            "the request continues upstream (failure_policy: allow)".to_owned()
        }
    };
    vec![
        "200: the request continues upstream".to_owned(),
        format!(
            "409 with 3scale-rejection-reason limits_exceeded: {}",
            reply(ReplyKind::LimitsExceeded, "")
        ),
        format!("any other 4xx: {}", reply(ReplyKind::AuthFailed, "")),
        format!("5xx, timeout or no answer: {unreachable}"),
    ]
}

fn forward_view(forward: &Forward, redactor: &Redactor) -> ForwardView {
    ForwardView {
        remove_headers: forward.remove_headers.clone(),
        remove_header_prefixes: forward.remove_header_prefixes.clone(),
        set_headers: forward
            .set_headers
            .iter()
            .map(|(name, value)| (name.clone(), redactor.passthrough_header(name, value)))
            .collect(),
        new_path: forward.new_path.as_deref().map(|path| redactor.path(path)),
    }
}

/// One line describing a lookup query: `header [authorization] + 5 ops`.
pub fn describe_query(query: &LookupQuery) -> String {
    let (source, ops) = match query {
        LookupQuery::Header(source) => {
            (format!("header [{}]", source.keys.join(", ")), &source.ops)
        }
        LookupQuery::QueryString(source) => (
            format!("query_string [{}]", source.keys.join(", ")),
            &source.ops,
        ),
        LookupQuery::Filter(source) => (
            format!(
                "filter {} keys [{}]",
                source.path.join("/"),
                source.keys.join(", ")
            ),
            &source.ops,
        ),
    };
    match ops.len() {
        0 => source,
        1 => format!("{source} + 1 op"),
        count => format!("{source} + {count} ops"),
    }
}

/// Collects what [`lookup::resolve_traced`] reports, values as they are.
#[derive(Default)]
struct Recorder {
    queries: Vec<RawQuery>,
}

/// One query's record before redaction.
struct RawQuery {
    list: &'static str,
    index: usize,
    origin: Option<Origin>,
    source: Vec<String>,
    steps: Vec<(usize, &'static str, Vec<String>)>,
    outcome: Result<Vec<String>, Unresolved>,
}

impl Trace for Recorder {
    fn query(&mut self, list: &'static str, index: usize) {
        self.queries.push(RawQuery {
            list,
            index,
            origin: None,
            source: Vec::new(),
            steps: Vec::new(),
            outcome: Err(Unresolved::NotFound),
        });
    }

    fn source(&mut self, origin: &Origin, values: &[String]) {
        if let Some(query) = self.queries.last_mut() {
            query.origin = Some(origin.clone());
            query.source = values.to_vec();
        }
    }

    fn op(&mut self, index: usize, op: &Op, stack: &[String]) {
        if let Some(query) = self.queries.last_mut() {
            query.steps.push((index, op.name(), stack.to_vec()));
        }
    }

    fn outcome(&mut self, result: Result<&Resolution, &Unresolved>) {
        if let Some(query) = self.queries.last_mut() {
            query.outcome = result
                .map(|resolution| resolution.values.clone())
                .map_err(Clone::clone);
        }
    }
}

impl Recorder {
    /// The records, redacted, with each query described from the configuration.
    fn finish(self, queries: &lookup::CredentialQueries, redactor: &Redactor) -> Vec<QueryTrace> {
        self.queries
            .into_iter()
            .map(|raw| {
                let list = match raw.list {
                    "user_key" => &queries.user_key,
                    "app_id" => &queries.app_id,
                    _ => &queries.app_key,
                };
                let stack = |values: &[String]| redactor.stack(values);
                QueryTrace {
                    list: raw.list.to_owned(),
                    index: raw.index,
                    query: list.get(raw.index).map(describe_query).unwrap_or_default(),
                    origin: raw.origin.as_ref().map(ToString::to_string),
                    source: stack(&raw.source),
                    steps: raw
                        .steps
                        .iter()
                        .map(|(index, op, values)| OpStep {
                            index: *index,
                            op: (*op).to_owned(),
                            stack: stack(values),
                        })
                        .collect(),
                    outcome: outcome_view(&raw.outcome, redactor),
                }
            })
            .collect()
    }
}

fn outcome_view(outcome: &Result<Vec<String>, Unresolved>, redactor: &Redactor) -> QueryOutcome {
    match outcome {
        Ok(values) => QueryOutcome::Resolved {
            values: redactor.stack(values),
        },
        Err(Unresolved::OpFailed(failure)) => QueryOutcome::OpFailed {
            index: failure.index,
            op: failure.op.to_owned(),
            at: location(&failure.path),
            reason: failure.reason.to_string(),
        },
        Err(why) => QueryOutcome::NotFound {
            reason: why.to_string(),
        },
    }
}

/// An op failure's path as configuration errors write paths: `[3].test.then[0].strlen`.
fn location(path: &[Segment]) -> String {
    path.iter()
        .map(|segment| match segment {
            Segment::Index(index) => format!("[{index}]"),
            Segment::Key(key) => format!(".{key}"),
        })
        .collect()
}

/// Applies the redaction policy of the module documentation.
struct Redactor {
    show_secrets: bool,
    /// The chosen app id: the one stack value shown.
    app_id: Option<String>,
    /// Query parameters a user key or an app key was read from.
    secret_parameters: Vec<String>,
}

impl Redactor {
    fn new(options: Options) -> Self {
        Redactor {
            show_secrets: options.show_secrets,
            app_id: None,
            secret_parameters: Vec::new(),
        }
    }

    /// Learns the app id and where the secrets came from, from the resolved queries.
    fn learn(&mut self, resolved: Option<&ResolvedCredentials>, recorder: &Recorder) {
        if let Some(Credential::AppId { app_id, .. }) = resolved.map(|r| &r.credential) {
            self.app_id = Some(app_id.clone());
        }
        for query in &recorder.queries {
            let carries_secret = match (&query.outcome, query.list) {
                (Ok(_), "user_key" | "app_key") => true,
                (Ok(values), _) => values.len() > 1,
                (Err(_), _) => false,
            };
            if let (true, Some(Origin::QueryParameter(name))) = (carries_secret, &query.origin) {
                self.secret_parameters.push(name.to_string());
            }
        }
    }

    fn secret(&self, value: &str) -> String {
        if self.show_secrets {
            value.to_owned()
        } else {
            redact(value)
        }
    }

    fn secret_value(&self, value: &Secret) -> String {
        self.secret(value.expose())
    }

    fn stack(&self, values: &[String]) -> Vec<String> {
        values
            .iter()
            .map(|value| {
                if self.app_id.as_deref() == Some(value.as_str()) {
                    value.clone()
                } else {
                    self.secret(value)
                }
            })
            .collect()
    }

    /// A request path with the values of credential parameters redacted.
    fn path(&self, path: &str) -> String {
        if self.show_secrets {
            return path.to_owned();
        }
        redact_parameters(path, |name| {
            self.secret_parameters.iter().any(|secret| secret == name)
        })
    }

    /// A backend call path with tokens and keys redacted (the policy of
    /// `model::secret`).
    fn call_path(&self, path: &str) -> String {
        if self.show_secrets {
            return path.to_owned();
        }
        redact_parameters(path, is_secret_parameter)
    }

    /// A header the passthrough mode sets, with its secret part redacted (the
    /// policy of `model::secret`).
    fn passthrough_header(&self, name: &str, value: &str) -> String {
        if self.show_secrets {
            value.to_owned()
        } else {
            redact_header(name, value)
        }
    }
}
