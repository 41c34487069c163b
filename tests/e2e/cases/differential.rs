//! The simulator against the real 3scale backend: the same account on both,
//! the same calls sent to each directly over HTTP, in lockstep, and the
//! answers compared: status, the headers the filter reads, and the document
//! (`<status>` or `<error>`) with the order of elements set aside.
//!
//! Built with the `apisonator` feature (`make test-apisonator`). Differences
//! the simulator keeps on purpose are listed in docs/simulator.md.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::account::{Credentials, Service, limit, sim_model};
use crate::apisonator::Apisonator;
use crate::harness::{Scratch, Sim};
use crate::http::{Request, Response};

/// The headers compared (besides the status and the document).
const COMPARED_HEADERS: [&str; 4] = [
    "content-type",
    "3scale-rejection-reason",
    "3scale-limit-remaining",
    "3scale-limit-max-value",
];
/// `3scale-limit-reset` is seconds to a period's end: the two backends answer
/// a moment apart, so it may differ by this much.
const RESET_SLACK: i64 = 2;

const REASONS: &str = "rejection_reason_header=1&limit_headers=1";

fn account() -> (Service, Service) {
    let user_keys = Service::new(Credentials::UserKey)
        .app(
            "plenty",
            "Plenty",
            vec![
                limit("hits", "eternity", 1000),
                limit("hits", "day", 500),
                limit("search", "eternity", 1000),
            ],
        )
        .app("daily", "Daily", vec![limit("hits", "day", 3)])
        .app("searcher", "Searcher", vec![limit("search", "eternity", 2)])
        .app("free", "Free", Vec::new())
        .app("gone", "Plenty", vec![limit("hits", "day", 10)])
        .suspended();
    let app_ids =
        Service::new(Credentials::AppId).app("app", "Pro", vec![limit("hits", "eternity", 1000)]);
    (user_keys, app_ids)
}

/// One call, described once and sent to both backends.
struct Call {
    what: String,
    request: Request,
}

fn call(what: &str, method: &str, target: &str, options: &str) -> Call {
    let mut request = Request::new(method, target);
    if !options.is_empty() {
        request = request.header("3scale-options", options);
    }
    Call {
        what: what.to_owned(),
        request,
    }
}

/// The query of a call for `service`: token, id, then `rest`.
fn query(service: &Service, rest: &str) -> String {
    let mut query = format!("service_token={}&service_id={}", service.token, service.id);
    if !rest.is_empty() {
        query.push('&');
        query.push_str(rest);
    }
    query
}

fn user_key(service: &Service, app: &str) -> String {
    format!("user_key={}", service.find(app).user_key.clone().unwrap())
}

fn report(service: &Service, transactions: &[(&str, &str)]) -> Call {
    let mut body = query(service, "");
    for (at, (credential, usage)) in transactions.iter().enumerate() {
        body.push_str(&format!(
            "&transactions%5B{at}%5D%5B{credential}&transactions%5B{at}%5D%5Busage%5D%5B{usage}"
        ));
    }
    let request = Request::new("POST", "/transactions.xml")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    Call {
        what: format!("report {transactions:?}"),
        request,
    }
}

/// The calls, in order (later ones see the usage earlier ones counted).
fn calls(u: &Service, a: &Service) -> Vec<Call> {
    let authrep = |rest: &str| format!("/transactions/authrep.xml?{}", query(u, rest));
    let authorize = |rest: &str| format!("/transactions/authorize.xml?{}", query(u, rest));
    let plenty = user_key(u, "plenty");
    let daily = user_key(u, "daily");
    let searcher = user_key(u, "searcher");
    let free = user_key(u, "free");
    let gone = user_key(u, "gone");
    let hits = "usage%5Bhits%5D=1";
    let search = "usage%5Bsearch%5D=1";
    let app = a.find("app");
    let app_authrep = |rest: &str| format!("/transactions/authrep.xml?{}", query(a, rest));
    let with = |extra: &str| format!("{REASONS}&{extra}");
    let mut calls = vec![
        call(
            "authrep",
            "GET",
            &authrep(&format!("{plenty}&{hits}")),
            REASONS,
        ),
        call(
            "authrep, no options",
            "GET",
            &authrep(&format!("{plenty}&{hits}")),
            "",
        ),
        call(
            "authorize without usage",
            "GET",
            &authorize(&plenty),
            REASONS,
        ),
        call(
            "authorize with usage",
            "GET",
            &authorize(&format!("{plenty}&{hits}")),
            REASONS,
        ),
        call(
            "authrep hierarchy",
            "GET",
            &authrep(&format!("{plenty}&{search}")),
            &with("hierarchy=1"),
        ),
        call(
            "authrep flat_usage",
            "GET",
            &authrep(&format!("{plenty}&{search}")),
            &with("flat_usage=1"),
        ),
        call(
            "authorize after flat_usage",
            "GET",
            &authorize(&plenty),
            &with("hierarchy=1"),
        ),
        call(
            "authrep no_body",
            "GET",
            &authrep(&format!("{plenty}&{hits}")),
            &with("no_body=1"),
        ),
        call(
            "authrep usage 3",
            "GET",
            &authrep(&format!("{plenty}&usage%5Bhits%5D=3")),
            REASONS,
        ),
        call(
            "authrep #set",
            "GET",
            &authrep(&format!("{plenty}&usage%5Bhits%5D=%23200")),
            REASONS,
        ),
        call(
            "authrep zero usage",
            "GET",
            &authrep(&format!("{plenty}&usage%5Bhits%5D=0")),
            REASONS,
        ),
        call(
            "no limits",
            "GET",
            &authrep(&format!("{free}&{hits}")),
            REASONS,
        ),
        call(
            "suspended",
            "GET",
            &authrep(&format!("{gone}&{hits}")),
            REASONS,
        ),
        call(
            "suspended no_body",
            "GET",
            &authrep(&format!("{gone}&{hits}")),
            &with("no_body=1"),
        ),
        call(
            "unknown user_key",
            "GET",
            &authrep(&format!("user_key=nope&{hits}")),
            REASONS,
        ),
        call(
            "unknown metric",
            "GET",
            &authrep(&format!("{plenty}&usage%5Bnosuch%5D=1")),
            REASONS,
        ),
        call(
            "unknown metric no_body",
            "GET",
            &authrep(&format!("{plenty}&usage%5Bnosuch%5D=1")),
            &with("no_body=1"),
        ),
        call(
            "invalid usage value",
            "GET",
            &authrep(&format!("{plenty}&usage%5Bhits%5D=abc")),
            REASONS,
        ),
        call("no credentials", "GET", &authrep(hits), REASONS),
        call(
            "app_id on a user_key service",
            "GET",
            &authrep(&format!("app_id={}&{hits}", app.id)),
            REASONS,
        ),
        call(
            "bad token",
            "GET",
            &format!(
                "/transactions/authrep.xml?service_token=bad&service_id={}&{plenty}&{hits}",
                u.id
            ),
            REASONS,
        ),
        call(
            "unknown service",
            "GET",
            &format!(
                "/transactions/authrep.xml?service_token={}&service_id=999&{plenty}&{hits}",
                u.token
            ),
            REASONS,
        ),
        call(
            "no token",
            "GET",
            &format!("/transactions/authrep.xml?service_id={}&{plenty}", u.id),
            REASONS,
        ),
        call(
            "no service id",
            "GET",
            &format!(
                "/transactions/authrep.xml?service_token={}&{plenty}",
                u.token
            ),
            REASONS,
        ),
        call(
            "app_id",
            "GET",
            &app_authrep(&format!(
                "app_id={}&app_key={}&{hits}",
                app.id, app.app_keys[0]
            )),
            REASONS,
        ),
        call(
            "wrong app_key",
            "GET",
            &app_authrep(&format!("app_id={}&app_key=wrong&{hits}", app.id)),
            REASONS,
        ),
        call(
            "missing app_key",
            "GET",
            &app_authrep(&format!("app_id={}&{hits}", app.id)),
            REASONS,
        ),
        call(
            "unknown app_id",
            "GET",
            &app_authrep(&format!("app_id=nope&app_key=x&{hits}")),
            REASONS,
        ),
        call(
            "user_key on an app_id service",
            "GET",
            &app_authrep(&format!("{plenty}&{hits}")),
            REASONS,
        ),
    ];
    for n in 1..=4 {
        calls.push(call(
            &format!("daily authrep {n}"),
            "GET",
            &authrep(&format!("{daily}&{hits}")),
            REASONS,
        ));
    }
    calls.extend([
        call(
            "daily authorize without usage",
            "GET",
            &authorize(&daily),
            REASONS,
        ),
        call(
            "daily authorize with usage",
            "GET",
            &authorize(&format!("{daily}&{hits}")),
            REASONS,
        ),
        call(
            "daily limited no_body",
            "GET",
            &authrep(&format!("{daily}&{hits}")),
            &with("no_body=1"),
        ),
        report(
            u,
            &[(
                &format!("user_key%5D={}", u.find("daily").user_key.clone().unwrap()),
                "hits%5D=2",
            )],
        ),
        call(
            "daily over the limit",
            "GET",
            &authrep(&format!("{daily}&{hits}")),
            REASONS,
        ),
        call("daily over, no options", "GET", &authorize(&daily), ""),
    ]);
    for n in 1..=3 {
        calls.push(call(
            &format!("searcher {n}"),
            "GET",
            &authrep(&format!("{searcher}&{search}")),
            &with("hierarchy=1"),
        ));
    }
    calls.push(report(
        u,
        &[(
            &format!("user_key%5D={}", u.find("plenty").user_key.clone().unwrap()),
            "hits%5D=5",
        )],
    ));
    calls.push(call(
        "after the report",
        "GET",
        &authorize(&plenty),
        REASONS,
    ));
    calls.push(Call {
        what: "report with a bad token".into(),
        request: Request::new("POST", "/transactions.xml")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("service_token=bad&service_id={}&transactions%5B0%5D%5Buser_key%5D=x&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1", u.id)),
    });
    calls
}

/// What is compared of an answer.
#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    headers: BTreeMap<String, String>,
    reset: Option<i64>,
    document: Option<Element>,
}

fn seen(response: &Response) -> Seen {
    let headers = COMPARED_HEADERS
        .iter()
        .filter_map(|name| Some(((*name).to_owned(), response.header(name)?)))
        .collect();
    let text = response.text();
    let document = if text.trim().is_empty() {
        None
    } else {
        Some(parse(&text).unwrap_or_else(|| panic!("not XML: {text:?}")))
    };
    Seen {
        status: response.status,
        headers,
        reset: response
            .header("3scale-limit-reset")
            .map(|value| value.trim().parse().unwrap()),
        document,
    }
}

fn same(sim: &Seen, real: &Seen) -> bool {
    let resets_close = match (sim.reset, real.reset) {
        (Some(a), Some(b)) => (a - b).abs() <= RESET_SLACK,
        (a, b) => a == b,
    };
    sim.status == real.status
        && sim.headers == real.headers
        && sim.document == real.document
        && resets_close
}

#[test]
fn the_simulator_answers_as_apisonator_does() {
    let (user_keys, app_ids) = account();
    let apisonator = Apisonator::from_env();
    apisonator.provision(&user_keys);
    apisonator.provision(&app_ids);
    let scratch = Scratch::new("differential");
    let model = scratch.file("model.yaml");
    std::fs::write(&model, sim_model(&[&user_keys, &app_ids])).unwrap();
    let mut sim = Sim::start(&scratch, &model);
    let mut differences = Vec::new();
    for call in calls(&user_keys, &app_ids) {
        let ask = |address: SocketAddr| {
            call.request
                .send(address)
                .unwrap_or_else(|e| panic!("{}: {e}", call.what))
        };
        let (sim_answer, real_answer) = (ask(sim.backend), ask(apisonator.address));
        let (sim_seen, real_seen) = (seen(&sim_answer), seen(&real_answer));
        if !same(&sim_seen, &real_seen) {
            differences.push(format!(
                "{}:\n  simulator:  {sim_seen:?}\n  apisonator: {real_seen:?}\n  request: {:?}",
                call.what, call.request
            ));
        }
    }
    sim.assert_running();
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// An XML element with its attributes, text and children, the children in a
/// canonical order (the comparison sets their order aside).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

/// Parses the small documents 3scale answers with (no comments, CDATA or
/// entities beyond the five predefined ones).
fn parse(text: &str) -> Option<Element> {
    let mut rest = text.trim();
    if rest.starts_with("<?") {
        rest = rest.get(rest.find("?>")? + 2..)?.trim_start();
    }
    let (element, rest) = element(rest)?;
    rest.trim().is_empty().then_some(element)
}

fn element(text: &str) -> Option<(Element, &str)> {
    let text = text.strip_prefix('<')?;
    let end = text.find('>')?;
    let (tag, mut rest) = (text.get(..end)?, text.get(end + 1..)?);
    let empty = tag.ends_with('/');
    let tag = tag.trim_end_matches('/');
    let (name, attributes_text) = tag.split_once(' ').unwrap_or((tag, ""));
    let mut attributes = attributes(attributes_text)?;
    attributes.sort();
    let mut element = Element {
        name: name.to_owned(),
        attributes,
        text: String::new(),
        children: Vec::new(),
    };
    if empty {
        return Some((element, rest));
    }
    let close = format!("</{name}>");
    loop {
        if let Some(after) = rest.strip_prefix(close.as_str()) {
            element.children.sort();
            element.text = unescape(element.text.trim());
            return Some((element, after));
        }
        if rest.starts_with('<') {
            let (child, after) = self::element(rest)?;
            element.children.push(child);
            rest = after;
        } else {
            let end = rest.find('<')?;
            element.text.push_str(rest.get(..end)?);
            rest = rest.get(end..)?;
        }
    }
}

fn attributes(text: &str) -> Option<Vec<(String, String)>> {
    let mut attributes = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        let (value, after) = after.split_once('"')?;
        attributes.push((name.trim().to_owned(), unescape(value)));
        rest = after.trim_start();
    }
    Some(attributes)
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}
