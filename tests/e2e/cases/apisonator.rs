//! The filter's scenarios against the real 3scale backend (apisonator) and,
//! as a control, against the simulator: the same account, the same requests,
//! the same expected outcome, without and with the cache.
//!
//! Built with the `apisonator` feature (`make test-apisonator`, which starts
//! apisonator and exports `APISONATOR_URL`); limits are `day` or `eternity`,
//! never periods the real clock could roll over during a test.

use std::time::Duration;

use serde_json::json;

use super::{assert_local_reply, assert_passed, get};
use crate::account::{Credentials, Service, limit};
use crate::backends::{Deployment, Kind};
use crate::envoy_config::Bootstrap;
use crate::harness::poll;
use crate::http::Response;
use crate::plugin::set;

/// How long batched reports may take to be counted (several flush intervals).
const REPORT_LIMIT: Duration = Duration::from_secs(15);
/// A limit no test reaches: apisonator shows a metric's value only where the
/// plan has a limit.
const PLENTY: u64 = 1_000_000;

/// Without the cache, or with it (flushing every second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every request asks 3scale.
    Direct,
    /// The cache decides most requests and reports usage in batches.
    Cached,
}

fn configure(mode: Mode) -> impl FnOnce(&mut Bootstrap) {
    move |bootstrap| {
        if mode == Mode::Cached {
            set(
                bootstrap.plugin_json(),
                "cache",
                json!({ "enabled": true, "ttl": 60, "flush_interval": 1 }),
            );
        }
    }
}

fn user_key_service() -> Service {
    Service::new(Credentials::UserKey)
        .app(
            "plenty",
            "Plenty",
            vec![
                limit("hits", "eternity", PLENTY),
                limit("search", "eternity", PLENTY),
            ],
        )
        .app(
            "daily",
            "Daily",
            vec![limit("hits", "day", 4), limit("hits", "eternity", PLENTY)],
        )
        .app(
            "searcher",
            "Searcher",
            vec![
                limit("search", "eternity", 3),
                limit("hits", "eternity", PLENTY),
            ],
        )
        .app("gone", "Plenty", vec![limit("hits", "eternity", PLENTY)])
        .suspended()
}

fn app_id_service() -> Service {
    Service::new(Credentials::AppId).app("app", "Pro", vec![limit("hits", "eternity", PLENTY)])
}

fn with_user_key(path: &str, service: &Service, app: &str) -> crate::http::Request {
    let key = service.find(app).user_key.clone().unwrap();
    get(&format!("{path}?user_key={key}"))
}

/// Waits until the backend has counted `expected` for the metric, then checks
/// that it stays there a little longer (nothing counted twice).
fn assert_counted(
    deployment: &Deployment,
    service: &Service,
    app: &str,
    metric: &str,
    period: &str,
    expected: u64,
) {
    let app = service.find(app);
    let counted = || deployment.counted(service, app, metric, period);
    let reached = poll(REPORT_LIMIT, || (counted() >= expected).then_some(()));
    assert!(
        reached.is_some(),
        "{} counted {} {metric} per {period} for {}, expected {expected}",
        "3scale",
        counted(),
        app.id
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(counted(), expected, "{metric} per {period} of {}", app.id);
}

fn statuses(responses: &[Response]) -> Vec<u16> {
    responses.iter().map(|r| r.status).collect()
}

pub fn user_key_requests_are_allowed_and_counted(kind: Kind, mode: Mode) {
    let service = user_key_service();
    let mut deployment = Deployment::start(kind, "real_user_key", &[&service], configure(mode));
    for _ in 0..5 {
        assert_passed(
            &deployment
                .stack
                .send(&with_user_key("/api", &service, "plenty")),
        );
    }
    assert_counted(&deployment, &service, "plenty", "hits", "eternity", 5);
}

pub fn app_id_and_app_key(kind: Kind, mode: Mode) {
    let service = app_id_service();
    let mut deployment = Deployment::start(kind, "real_app_id", &[&service], configure(mode));
    let app = service.find("app");
    let good = get(&format!(
        "/api?app_id={}&app_key={}",
        app.id, app.app_keys[0]
    ));
    for _ in 0..3 {
        assert_passed(&deployment.stack.send(&good));
    }
    let wrong = get(&format!("/api?app_id={}&app_key=wrong", app.id));
    assert_local_reply(
        &deployment.stack.send(&wrong),
        403,
        "Authentication failed\n",
    );
    let unknown = get("/api?app_id=nobody&app_key=x");
    assert_local_reply(
        &deployment.stack.send(&unknown),
        403,
        "Authentication failed\n",
    );
    assert_counted(&deployment, &service, "app", "hits", "eternity", 3);
}

pub fn a_child_metric_counts_for_its_parent(kind: Kind, mode: Mode) {
    let service = user_key_service();
    let mut deployment = Deployment::start(kind, "real_hierarchy", &[&service], configure(mode));
    for _ in 0..2 {
        assert_passed(
            &deployment
                .stack
                .send(&with_user_key("/search", &service, "plenty")),
        );
    }
    assert_passed(
        &deployment
            .stack
            .send(&with_user_key("/api", &service, "plenty")),
    );
    assert_counted(&deployment, &service, "plenty", "search", "eternity", 2);
    assert_counted(&deployment, &service, "plenty", "hits", "eternity", 3);
}

pub fn a_suspended_application_is_denied(kind: Kind, mode: Mode) {
    let service = user_key_service();
    let mut deployment = Deployment::start(kind, "real_suspended", &[&service], configure(mode));
    for _ in 0..2 {
        let response = deployment
            .stack
            .send(&with_user_key("/api", &service, "gone"));
        assert_local_reply(&response, 403, "Authentication failed\n");
    }
    assert_counted(&deployment, &service, "gone", "hits", "eternity", 0);
}

pub fn unknown_credentials_are_denied(kind: Kind, mode: Mode) {
    let service = user_key_service();
    let mut deployment = Deployment::start(kind, "real_unknown", &[&service], configure(mode));
    for _ in 0..2 {
        let response = deployment.stack.send(&get("/api?user_key=nobody-knows-me"));
        assert_local_reply(&response, 403, "Authentication failed\n");
    }
    assert_passed(
        &deployment
            .stack
            .send(&with_user_key("/api", &service, "plenty")),
    );
}

pub fn a_day_limit_is_enforced(kind: Kind, mode: Mode) {
    let service = user_key_service();
    let mut deployment = Deployment::start(kind, "real_day_limit", &[&service], configure(mode));
    let responses: Vec<Response> = (0..7)
        .map(|_| {
            deployment
                .stack
                .send(&with_user_key("/api", &service, "daily"))
        })
        .collect();
    assert_eq!(statuses(&responses), [200, 200, 200, 200, 429, 429, 429]);
    assert_local_reply(responses.last().unwrap(), 429, "Usage limit exceeded\n");
    assert_counted(&deployment, &service, "daily", "hits", "day", 4);
    assert_counted(&deployment, &service, "daily", "hits", "eternity", 4);
}

pub fn an_eternity_limit_on_a_child_metric_is_enforced(kind: Kind, mode: Mode) {
    let service = user_key_service();
    let mut deployment = Deployment::start(kind, "real_child_limit", &[&service], configure(mode));
    let responses: Vec<Response> = (0..5)
        .map(|_| {
            deployment
                .stack
                .send(&with_user_key("/search", &service, "searcher"))
        })
        .collect();
    assert_eq!(statuses(&responses), [200, 200, 200, 429, 429]);
    // The parent has no such limit.
    assert_passed(
        &deployment
            .stack
            .send(&with_user_key("/api", &service, "searcher")),
    );
    assert_counted(&deployment, &service, "searcher", "search", "eternity", 3);
    assert_counted(&deployment, &service, "searcher", "hits", "eternity", 4);
}

/// Many requests from concurrent clients for two applications: what 3scale
/// counted equals what the filter allowed.
pub fn counted_usage_equals_allowed_requests(kind: Kind, mode: Mode) {
    let service = user_key_service();
    let deployment = Deployment::start(kind, "real_counted", &[&service], configure(mode));
    let envoy = &deployment.stack.envoy;
    let per_app = 30;
    let allowed: Vec<(String, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = ["plenty", "daily"]
            .into_iter()
            .map(|app| {
                let service = &service;
                scope.spawn(move || {
                    let allowed = (0..per_app)
                        .map(|_| envoy.send(&with_user_key("/api", service, app)))
                        .filter(|response| response.status == 200)
                        .count();
                    (app.to_owned(), allowed)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (app, allowed) in allowed {
        let expected = if app == "daily" { 4 } else { per_app };
        assert_eq!(allowed, expected, "allowed for {app}");
        assert_counted(
            &deployment,
            &service,
            &app,
            "hits",
            "eternity",
            allowed as u64,
        );
    }
}

/// An application suspended in 3scale is denied: at once without the cache,
/// once its entry expires (ttl 1 s) with it.
pub fn a_suspended_application_is_denied_after_the_ttl(kind: Kind, mode: Mode) {
    let service = user_key_service();
    let mut deployment = Deployment::start(kind, "real_revoked", &[&service], |bootstrap| {
        configure(mode)(bootstrap);
        if mode == Mode::Cached {
            set(
                bootstrap.plugin_json(),
                "cache",
                json!({ "enabled": true, "ttl": 1, "flush_interval": 1 }),
            );
        }
    });
    let request = with_user_key("/api", &service, "plenty");
    assert_passed(&deployment.stack.send(&request));
    deployment.suspend(&service, service.find("plenty"));
    let denied = poll(REPORT_LIMIT, || {
        let response = deployment.stack.envoy.send(&request);
        (response.status != 200).then_some(response)
    })
    .expect("the suspended application was never denied");
    assert_local_reply(&denied, 403, "Authentication failed\n");
}

/// One request names a metric 3scale does not know, among the allowed
/// requests of two applications: it is refused (403), and every other
/// request's usage is counted, nothing dropped (issue 15: with the cache it
/// was allowed, and its batched report made apisonator drop the whole batch).
pub fn an_unknown_metric_loses_no_other_usage(kind: Kind, mode: Mode) {
    let service = user_key_service();
    let mut deployment =
        Deployment::start(kind, "real_unknown_metric", &[&service], configure(mode));
    let mut send =
        |path: &str, app: &str| deployment.stack.send(&with_user_key(path, &service, app));
    for _ in 0..3 {
        assert_passed(&send("/api", "plenty"));
        assert_passed(&send("/api", "daily"));
    }
    assert_local_reply(&send("/typo", "plenty"), 403, "Authentication failed\n");
    // Not a denial of the application: its next requests are allowed.
    for _ in 0..2 {
        assert_passed(&send("/api", "plenty"));
    }
    assert_passed(&send("/search", "plenty"));
    assert_counted(&deployment, &service, "plenty", "hits", "eternity", 6);
    assert_counted(&deployment, &service, "plenty", "search", "eternity", 1);
    assert_counted(&deployment, &service, "daily", "hits", "eternity", 3);
    assert_eq!(deployment.report_errors(&service), Vec::<String>::new());
}

/// Tests of each scenario on both backends, without and with the cache.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::{Kind, Mode};

                #[test]
                fn on_sim() {
                    super::$name(Kind::Sim, Mode::Direct);
                }

                #[test]
                fn on_sim_cached() {
                    super::$name(Kind::Sim, Mode::Cached);
                }

                #[test]
                fn on_apisonator() {
                    super::$name(Kind::Apisonator, Mode::Direct);
                }

                #[test]
                fn on_apisonator_cached() {
                    super::$name(Kind::Apisonator, Mode::Cached);
                }
            }
        )*
    };
}

scenarios!(
    user_key_requests_are_allowed_and_counted,
    app_id_and_app_key,
    a_child_metric_counts_for_its_parent,
    a_suspended_application_is_denied,
    unknown_credentials_are_denied,
    a_day_limit_is_enforced,
    an_eternity_limit_on_a_child_metric_is_enforced,
    counted_usage_equals_allowed_requests,
    a_suspended_application_is_denied_after_the_ttl,
    an_unknown_metric_loses_no_other_usage,
);
