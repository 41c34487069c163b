//! The Service Management API (apisonator): authorize, authrep and report.
//!
//! Checks run in apisonator's order: parameter syntax and encoding, service
//! token and id, `user_id` and `usage` shape, application credentials, then
//! the validators (application key, application state, limits). Errors end
//! the call with their own status; validator failures are `409` denials.

use std::cmp::{Ordering, Reverse};

use crate::counters::Counters;
use crate::errors::{ApiError, Denial};
use crate::model::{Application, BackendVersion, Limit, Model, Service};
use crate::params::{Extensions, Node, ParamError, Params, lookup as lookup_param};
use crate::periods::{Period, Window};
use crate::usage::{Delta, RawUsage, delta_of, lookup, process_usage, raw_usage, without_zeros};
use crate::xml::{ReportDoc, StatusDoc, error_document, status_document};

/// apisonator's content type for every answer.
pub const CONTENT_TYPE: &str = "application/vnd.3scale-v2.0+xml";

/// An HTTP answer of the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Which authorization endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthCall {
    /// `authorize.xml`: checks a predicted usage, never counts.
    Authorize,
    /// `authrep.xml`: checks and, when authorized, counts the usage.
    Authrep,
}

/// Handles `GET /transactions/authorize.xml` and `/transactions/authrep.xml`.
pub fn authorize(
    model: &Model,
    counters: &mut Counters,
    call: AuthCall,
    query: &[u8],
    options: Option<&[u8]>,
    now: i64,
) -> Answer {
    let params = match Params::parse(query) {
        Ok(params) => params,
        Err(error) => return error_answer(&syntax_error(error), Extensions::default()),
    };
    let extensions = Extensions::parse(options, params.text_of("no_body"));
    authorize_params(model, counters, call, &params, extensions, now)
        .unwrap_or_else(|error| error_answer(&error, extensions))
}

fn syntax_error(error: ParamError) -> ApiError {
    match error {
        ParamError::PercentEncoding => ApiError::BadRequest(Some(error.to_string())),
        ParamError::TypeConflict(_) => ApiError::BadRequest(None),
    }
}

/// The answer for an error: its status and `<error>` document (empty with
/// `no_body`). apisonator's exception handler drops every other header, so
/// errors never carry `3scale-rejection-reason` or limit headers.
pub fn error_answer(error: &ApiError, extensions: Extensions) -> Answer {
    let body = match error.code() {
        Some(code) if !(extensions.no_body && error.honours_no_body()) => {
            error_document(code, &error.message())
        }
        _ => String::new(),
    };
    Answer {
        status: error.status(),
        headers: vec![content_type_header()],
        body,
    }
}

fn content_type_header() -> (String, String) {
    ("content-type".to_string(), CONTENT_TYPE.to_string())
}

fn authorize_params(
    model: &Model,
    counters: &mut Counters,
    call: AuthCall,
    params: &Params,
    extensions: Extensions,
    now: i64,
) -> Result<Answer, ApiError> {
    if params.invalid_utf8 {
        return Err(ApiError::NotValidData);
    }
    let service = authenticate_service(model, params)?;
    reject_user_id(params)?;
    let usage = match params.get("usage") {
        None | Some(Node::Null) => None,
        Some(Node::Map(entries)) => Some(raw_usage(entries)),
        Some(_) => return Err(ApiError::UsageNotAHash),
    };
    let (app_index, app) = find_application(service, params)?;
    if extensions.no_body {
        // Without a body apisonator loads only the limits of the metrics in
        // the usage, and that lookup fails first on an unknown metric.
        check_metrics_exist(service, usage.as_ref())?;
    }
    let context = Context {
        service,
        app,
        app_index,
        counters,
        now,
    };
    let denial = run_validators(&context, params, usage.as_ref(), extensions.flat_usage)?;
    let answer = status_answer(&context, call, denial.as_ref(), usage.as_ref(), extensions);
    if call == AuthCall::Authrep
        && denial.is_none()
        && let Some(usage) = &usage
    {
        count(
            service,
            app_index,
            counters,
            usage,
            extensions.flat_usage,
            now,
        );
    }
    Ok(answer)
}

/// The service whose token and id were given (`provider_key` is not simulated).
fn authenticate_service<'a>(model: &'a Model, params: &Params) -> Result<&'a Service, ApiError> {
    let token = params
        .text_of("service_token")
        .filter(|token| !token.is_empty());
    let Some(token) = token else {
        return Err(ApiError::ProviderKeyOrServiceTokenRequired);
    };
    let Some(service_id) = params.stripped("service_id") else {
        return Err(ApiError::ServiceIdMissing);
    };
    model
        .service(service_id)
        .filter(|service| service.token == token)
        .ok_or_else(|| ApiError::ServiceTokenInvalid {
            token: token.to_string(),
            service_id: service_id.to_string(),
        })
}

fn reject_user_id(params: &Params) -> Result<(), ApiError> {
    match params.get("user_id") {
        None | Some(Node::Null) => Ok(()),
        Some(_) => Err(ApiError::EndUsersNoLongerSupported),
    }
}

/// The application of an authorize/authrep call (`Transactor#validate`):
/// both credentials are an error; then the service's backend version says
/// which one counts, the other being ignored.
fn find_application<'a>(
    service: &'a Service,
    params: &Params,
) -> Result<(usize, &'a Application), ApiError> {
    let (app_id, user_key) = (params.stripped("app_id"), params.stripped("user_key"));
    if app_id.is_some() && user_key.is_some() {
        return Err(ApiError::AuthenticationError);
    }
    let (app_id, user_key) = match service.backend_version {
        Some(BackendVersion::UserKey) => (
            None,
            Some(user_key.ok_or(ApiError::UserKeyInvalid(String::new()))?),
        ),
        Some(BackendVersion::AppId) => (app_id, None),
        None => (app_id, user_key),
    };
    match (app_id, user_key) {
        (Some(_), Some(_)) => Err(ApiError::AuthenticationError),
        (Some(app_id), None) => service
            .app_by_id(app_id)
            .ok_or_else(|| ApiError::ApplicationNotFound(Some(app_id.to_string()))),
        (None, Some(user_key)) => service
            .app_by_user_key(user_key)
            .ok_or_else(|| ApiError::UserKeyInvalid(user_key.to_string())),
        (None, None) => Err(ApiError::ApplicationNotFound(None)),
    }
}

fn check_metrics_exist(service: &Service, usage: Option<&RawUsage>) -> Result<(), ApiError> {
    for (name, _) in usage.into_iter().flatten() {
        if service.metric(name).is_none() {
            return Err(ApiError::MetricInvalid(name.clone()));
        }
    }
    Ok(())
}

/// What the validators and the status need to know about the application.
struct Context<'a> {
    service: &'a Service,
    app: &'a Application,
    app_index: usize,
    counters: &'a Counters,
    now: i64,
}

impl Context<'_> {
    fn current(&self, metric: &str, period: Period) -> i64 {
        self.counters
            .current(&self.service.id, self.app_index, metric, period, self.now)
    }
}

/// apisonator's validators in order; the first failure is the denial.
fn run_validators(
    context: &Context<'_>,
    params: &Params,
    usage: Option<&RawUsage>,
    flat: bool,
) -> Result<Option<Denial>, ApiError> {
    let app = context.app;
    if !app.app_keys.is_empty() {
        let given = params.text_of("app_key").map(str::trim);
        if !given.is_some_and(|key| app.app_keys.iter().any(|known| known == key)) {
            return Ok(Some(Denial::ApplicationKeyInvalid(given.map(String::from))));
        }
    }
    if app.suspended {
        return Ok(Some(Denial::ApplicationNotActive));
    }
    if within_limits(context, usage, flat)? {
        Ok(None)
    } else {
        Ok(Some(Denial::LimitsExceeded))
    }
}

/// Without a usage every limit must hold as it stands (current ≤ max); with
/// one, each limit on a metric of the processed usage must hold after it.
fn within_limits(
    context: &Context<'_>,
    usage: Option<&RawUsage>,
    flat: bool,
) -> Result<bool, ApiError> {
    let limits = &context.app.plan.limits;
    let Some(usage) = usage else {
        return Ok(limits
            .iter()
            .all(|limit| context.current(&limit.metric, limit.period) <= limit.max));
    };
    let processed = process_usage(context.service, usage, flat)?;
    Ok(limits.iter().all(|limit| {
        lookup(&processed, &limit.metric).is_none_or(|delta| {
            delta.apply(context.current(&limit.metric, limit.period)) <= limit.max
        })
    }))
}

/// The plan's limits in apisonator's report order: by metric (metric ids
/// ascend in model order), then from the longest period to the shortest.
fn ordered_limits<'a>(service: &Service, app: &'a Application) -> Vec<&'a Limit> {
    let metric_position = |name: &str| {
        service
            .metrics
            .iter()
            .position(|metric| metric.name == name)
            .unwrap_or(usize::MAX)
    };
    let mut limits: Vec<&Limit> = app.plan.limits.iter().collect();
    limits.sort_by_key(|limit| (metric_position(&limit.metric), Reverse(limit.period)));
    limits
}

/// A usage report with the numbers apisonator derives from it.
#[derive(Debug, Clone)]
struct Computed {
    metric: String,
    period: Period,
    window: Window,
    max_value: i64,
    stored: i64,
    shown: i64,
    remaining_same_calls: i64,
}

fn raw_value<'a>(usage: &'a RawUsage, metric: &str) -> Option<&'a str> {
    usage
        .iter()
        .find(|(name, _)| name == metric)
        .and_then(|(_, value)| value.as_deref())
}

/// The metric's own value in a usage plus its children's (`add_descendants_usage`).
fn with_children(service: &Service, usage: &RawUsage, metric: &str, start: i64) -> i64 {
    let own = delta_of(raw_value(usage, metric)).apply(start);
    service
        .children_of(metric)
        .into_iter()
        .fold(own, |acc, child| {
            delta_of(raw_value(usage, child)).apply(acc)
        })
}

fn compute_reports(
    context: &Context<'_>,
    call: AuthCall,
    authorized: bool,
    usage: Option<&RawUsage>,
) -> Vec<Computed> {
    // authrep's usage is actual; authorize's is only predicted and never shown as counted.
    let actual = usage.filter(|_| call == AuthCall::Authrep);
    ordered_limits(context.service, context.app)
        .into_iter()
        .map(|limit| {
            let stored = context.current(&limit.metric, limit.period);
            let shown = match actual {
                Some(actual) if authorized => {
                    with_children(context.service, actual, &limit.metric, stored)
                }
                _ => stored,
            };
            let remaining = (limit.max - shown).max(0);
            let per_call = usage.map_or(0, |usage| {
                with_children(context.service, usage, &limit.metric, 0)
            });
            let remaining_same_calls = if remaining <= 0 {
                0
            } else if per_call > 0 {
                remaining / per_call
            } else {
                -1
            };
            Computed {
                metric: limit.metric.clone(),
                period: limit.period,
                window: limit.period.window(context.now),
                max_value: limit.max,
                stored,
                shown,
                remaining_same_calls,
            }
        })
        .collect()
}

/// apisonator's comparison of two reports, called as `(candidate, current minimum)`.
/// It is not antisymmetric (an unlimited candidate beats a limited minimum),
/// so the scan order matters and is reproduced as is.
fn more_constrained(candidate: &Computed, minimum: &Computed) -> bool {
    let (one, other) = (candidate.remaining_same_calls, minimum.remaining_same_calls);
    if one == other {
        minimum.period.cmp(&candidate.period) == Ordering::Less
    } else {
        other == -1 || one < other
    }
}

fn limit_headers(
    service: &Service,
    reports: &[Computed],
    usage: Option<&RawUsage>,
    now: i64,
) -> Vec<(String, String)> {
    let relevant: Vec<&Computed> = match usage.filter(|usage| !usage.is_empty()) {
        None => reports.iter().collect(),
        Some(usage) => {
            let mut names: Vec<&str> = usage.iter().map(|(name, _)| name.as_str()).collect();
            let parents: Vec<&str> = names
                .iter()
                .filter_map(|name| service.parent_of(name))
                .collect();
            names.extend(parents);
            reports
                .iter()
                .filter(|report| names.contains(&report.metric.as_str()))
                .collect()
        }
    };
    let mut minimum: Option<&Computed> = None;
    for report in relevant {
        minimum = match minimum {
            Some(current) if !more_constrained(report, current) => Some(current),
            _ => Some(report),
        };
    }
    let header = |name: &str, value: i64| (format!("3scale-limit-{name}"), value.to_string());
    match minimum.filter(|report| report.remaining_same_calls != -1) {
        Some(report) => vec![
            header("remaining", report.remaining_same_calls),
            header("reset", report.window.end.map_or(-1, |end| end - now)),
            header("max-value", report.max_value),
        ],
        None => vec![header("remaining", -1), header("reset", -1)],
    }
}

fn status_answer(
    context: &Context<'_>,
    call: AuthCall,
    denial: Option<&Denial>,
    usage: Option<&RawUsage>,
    extensions: Extensions,
) -> Answer {
    let authorized = denial.is_none();
    let reports = compute_reports(context, call, authorized, usage);
    let mut headers = vec![content_type_header()];
    if let Some(denial) = denial.filter(|_| extensions.rejection_reason_header) {
        headers.push((
            "3scale-rejection-reason".to_string(),
            denial.code().to_string(),
        ));
    }
    if extensions.limit_headers && denial.is_none_or(|denial| *denial == Denial::LimitsExceeded) {
        headers.extend(limit_headers(context.service, &reports, usage, context.now));
    }
    let body = if extensions.no_body {
        String::new()
    } else {
        status_document(&status_doc(context, denial, &reports, extensions.hierarchy))
    };
    Answer {
        status: if authorized { 200 } else { 409 },
        headers,
        body,
    }
}

fn status_doc(
    context: &Context<'_>,
    denial: Option<&Denial>,
    reports: &[Computed],
    hierarchy: bool,
) -> StatusDoc {
    StatusDoc {
        authorized: denial.is_none(),
        reason: denial.map(Denial::message),
        plan: context.app.plan.name.clone(),
        reports: reports
            .iter()
            .map(|report| ReportDoc {
                metric: report.metric.clone(),
                period: report.period,
                window: report.window,
                max_value: report.max_value,
                current_value: report.shown,
                exceeded: report.stored > report.max_value,
            })
            .collect(),
        hierarchy: hierarchy.then(|| {
            reports
                .iter()
                .map(|report| {
                    let children = context.service.children_of(&report.metric);
                    (
                        report.metric.clone(),
                        children.into_iter().map(String::from).collect(),
                    )
                })
                .collect()
        }),
    }
}

/// Adds a usage to the application's counters (zero entries are skipped).
fn count(
    service: &Service,
    app_index: usize,
    counters: &mut Counters,
    usage: &RawUsage,
    flat: bool,
    now: i64,
) {
    let reported = without_zeros(usage);
    if reported.is_empty() {
        return;
    }
    if let Ok(processed) = process_usage(service, &reported, flat) {
        apply(service, app_index, counters, &processed, now);
    }
}

fn apply(
    service: &Service,
    app_index: usize,
    counters: &mut Counters,
    processed: &[(String, Delta)],
    now: i64,
) {
    for (metric, delta) in processed {
        counters.apply(&service.id, app_index, metric, *delta, now);
    }
}

/// The answer to a report, and why its transactions were dropped if they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportOutcome {
    pub answer: Answer,
    /// apisonator accepts the batch (202) and processes it later; a bad
    /// transaction then drops the whole batch. This says why, for the admin API.
    pub dropped: Option<ApiError>,
}

/// Handles `POST /transactions.xml`.
pub fn report(
    model: &Model,
    counters: &mut Counters,
    content_type: Option<&[u8]>,
    body: &[u8],
    options: Option<&[u8]>,
    now: i64,
) -> ReportOutcome {
    let early_extensions = Extensions::parse(options, None);
    if let Some(media_type) = invalid_media_type(content_type) {
        return rejected(&ApiError::ContentTypeInvalid(media_type), early_extensions);
    }
    let params = match Params::parse(body) {
        Ok(params) => params,
        Err(error) => return rejected(&syntax_error(error), Extensions::default()),
    };
    let extensions = Extensions::parse(options, params.text_of("no_body"));
    match accept_report(model, &params) {
        Err(error) => rejected(&error, extensions),
        Ok((service, transactions)) => {
            let dropped = process_batch(service, counters, &transactions, extensions, now).err();
            ReportOutcome {
                answer: Answer {
                    status: 202,
                    headers: vec![content_type_header()],
                    body: String::new(),
                },
                dropped,
            }
        }
    }
}

fn rejected(error: &ApiError, extensions: Extensions) -> ReportOutcome {
    ReportOutcome {
        answer: error_answer(error, extensions),
        dropped: None,
    }
}

/// Rack's media type (before `;`, lowercased) when it is neither form type.
fn invalid_media_type(content_type: Option<&[u8]>) -> Option<String> {
    let raw = String::from_utf8_lossy(content_type?);
    let media_type = raw
        .split([';', ','])
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let accepted = media_type.is_empty()
        || media_type == "application/x-www-form-urlencoded"
        || media_type == "multipart/form-data";
    (!accepted).then_some(media_type)
}

/// The synchronous checks of a report: service, encoding, transactions shape.
fn accept_report<'a>(
    model: &'a Model,
    params: &Params,
) -> Result<(&'a Service, Vec<Node>), ApiError> {
    let service = authenticate_service(model, params)?;
    if params.invalid_utf8 {
        return Err(ApiError::NotValidData);
    }
    let transactions = match params.get("transactions") {
        None | Some(Node::Null) => return Err(ApiError::TransactionsIsBlank),
        Some(Node::Text(text)) if text.is_empty() => return Err(ApiError::TransactionsIsBlank),
        Some(Node::Map(entries)) if entries.is_empty() => {
            return Err(ApiError::TransactionsIsBlank);
        }
        Some(Node::List(items)) if items.is_empty() => {
            return Err(ApiError::TransactionsIsBlank);
        }
        Some(Node::Map(entries)) => entries,
        Some(_) => return Err(ApiError::TransactionsFormatInvalid),
    };
    if transactions.iter().any(|(_, node)| *node == Node::Null) {
        return Err(ApiError::TransactionsHasNilTransaction);
    }
    let has_user_id = |node: &Node| match node {
        Node::Map(fields) => !matches!(lookup_param(fields, "user_id"), None | Some(Node::Null)),
        _ => false,
    };
    if transactions.iter().any(|(_, node)| has_user_id(node)) {
        return Err(ApiError::EndUsersNoLongerSupported);
    }
    Ok((
        service,
        transactions.iter().map(|(_, node)| node.clone()).collect(),
    ))
}

/// Validates every transaction, then counts them all, or none.
fn process_batch(
    service: &Service,
    counters: &mut Counters,
    transactions: &[Node],
    extensions: Extensions,
    now: i64,
) -> Result<(), ApiError> {
    let mut batch = Vec::new();
    for transaction in transactions {
        let Node::Map(fields) = transaction else {
            return Err(ApiError::TransactionsFormatInvalid);
        };
        let usage = match lookup_param(fields, "usage") {
            Some(Node::Map(entries)) => Some(without_zeros(&raw_usage(entries))),
            None | Some(Node::Null) => None,
            Some(_) => return Err(ApiError::TransactionsFormatInvalid),
        };
        if usage.as_ref().is_some_and(Vec::is_empty) {
            // Only zero usages: apisonator drops the transaction before any check.
            continue;
        }
        let app_index = report_application(service, fields)?;
        if let Some(usage) = usage {
            batch.push((
                app_index,
                process_usage(service, &usage, extensions.flat_usage)?,
            ));
        }
    }
    for (app_index, processed) in batch {
        apply(service, app_index, counters, &processed, now);
    }
    Ok(())
}

/// A transaction's application (`Application.extract_id!`; values are not stripped).
fn report_application(service: &Service, fields: &[(String, Node)]) -> Result<usize, ApiError> {
    let text = |name: &str| match lookup_param(fields, name) {
        Some(Node::Text(text)) => Some(text.as_str()),
        _ => None,
    };
    match (text("app_id"), text("user_key")) {
        (Some(_), Some(_)) => Err(ApiError::AuthenticationError),
        (Some(app_id), None) => service
            .app_by_id(app_id)
            .map(|(index, _)| index)
            .ok_or_else(|| ApiError::ApplicationNotFound(Some(app_id.to_string()))),
        (None, Some(user_key)) => service
            .app_by_user_key(user_key)
            .map(|(index, _)| index)
            .ok_or_else(|| ApiError::UserKeyInvalid(user_key.to_string())),
        (None, None) => Err(ApiError::ApplicationNotFound(None)),
    }
}

#[cfg(test)]
mod tests;
