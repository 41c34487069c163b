//! A running apisonator (the real 3scale backend), as `make test-apisonator`
//! starts it: provisioning through its internal API and reading back what it
//! counted.
//!
//! `APISONATOR_URL` (`http://127.0.0.1:PORT`) names it;
//! `APISONATOR_INTERNAL_USER`/`_PASSWORD` are the internal API's basic auth.
//! The tests that use it are built only with the `apisonator` feature, and
//! then fail (never skip) when it is not set.

use std::net::SocketAddr;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::account::{App, Credentials, Service};
use crate::http::{Request, Response};

/// A client for one running apisonator.
#[derive(Debug, Clone)]
pub struct Apisonator {
    /// Its listener.
    pub address: SocketAddr,
    authorization: String,
}

impl Apisonator {
    /// The apisonator named by the environment; fails the test without it.
    pub fn from_env() -> Apisonator {
        let url = std::env::var("APISONATOR_URL").unwrap_or_else(|_| {
            panic!("APISONATOR_URL is not set: these tests run against a real apisonator. Run them with `make test-apisonator`, which installs, starts and stops one.")
        });
        let address = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("APISONATOR_URL={url} is not http://IP:PORT: {e}"));
        let user =
            std::env::var("APISONATOR_INTERNAL_USER").unwrap_or_else(|_| "system_app".into());
        let password =
            std::env::var("APISONATOR_INTERNAL_PASSWORD").unwrap_or_else(|_| "secret".into());
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Apisonator {
            address,
            authorization: format!("Basic {credentials}"),
        }
    }

    fn internal(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        let mut request = Request::new(method, &format!("/internal{path}"))
            .header("authorization", &self.authorization);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send(self.address)
            .unwrap_or_else(|e| panic!("apisonator internal API {method} {path} failed: {e}"));
        assert!(
            (200..300).contains(&response.status),
            "apisonator internal API {method} {path}:\n{response:?}"
        );
        response
    }

    /// Creates the service, its token, metrics, applications, keys and limits.
    pub fn provision(&self, service: &Service) {
        let id = &service.id;
        let backend_version = match service.credentials {
            Credentials::UserKey => "1",
            Credentials::AppId => "2",
        };
        self.internal(
            "POST",
            "/services/",
            Some(json!({ "service": {
                "id": id, "provider_key": format!("pk-{id}"), "state": "active",
                "backend_version": backend_version, "default_service": true,
            }})),
        );
        self.internal(
            "POST",
            "/service_tokens/",
            Some(json!({ "service_tokens": { service.token.as_str(): { "service_id": id } } })),
        );
        for (name, parent) in &service.metrics {
            let mut metric = json!({ "name": name });
            if let Some(parent) = parent {
                metric["parent_id"] = json!(service.metric_id(parent).to_string());
            }
            let metric_id = service.metric_id(name);
            self.internal(
                "POST",
                &format!("/services/{id}/metrics/{metric_id}"),
                Some(json!({ "metric": metric })),
            );
        }
        for app in &service.apps {
            let plan_id = format!("plan-{}", app.id);
            let state = if app.suspended { "suspended" } else { "active" };
            let path = format!("/services/{id}/applications/{}", app.id);
            self.internal(
                "POST",
                &path,
                Some(json!({ "application": {
                    "state": state, "plan_id": plan_id, "plan_name": app.plan,
                }})),
            );
            if let Some(user_key) = &app.user_key {
                self.internal("PUT", &format!("{path}/key/{user_key}"), None);
            }
            for key in &app.app_keys {
                self.internal(
                    "POST",
                    &format!("{path}/keys/"),
                    Some(json!({ "application_key": { "value": key } })),
                );
            }
            for limit in &app.limits {
                let metric_id = service.metric_id(limit.metric);
                self.internal(
                    "PUT",
                    &format!(
                        "/services/{id}/plans/{plan_id}/usagelimits/{metric_id}/{}",
                        limit.period
                    ),
                    Some(json!({ "usagelimit": { limit.period: limit.max } })),
                );
            }
        }
    }

    /// Suspends or reinstates an application.
    pub fn set_suspended(&self, service: &Service, app_id: &str, suspended: bool) {
        let app = service
            .apps
            .iter()
            .find(|app| app.id == app_id)
            .unwrap_or_else(|| panic!("no application {app_id}"));
        let state = if suspended { "suspended" } else { "active" };
        self.internal(
            "PUT",
            &format!("/services/{}/applications/{app_id}", service.id),
            Some(json!({ "application": {
                "state": state, "plan_id": format!("plan-{app_id}"), "plan_name": app.plan,
            }})),
        );
    }

    /// The current value of `metric` in `period` for an application, from an
    /// `authorize.xml` without usage (so the plan must have a limit there; it
    /// counts nothing); 0 when the answer shows none.
    pub fn current_value(&self, service: &Service, app: &App, metric: &str, period: &str) -> u64 {
        let credentials = match &app.user_key {
            Some(key) => format!("user_key={key}"),
            None => format!(
                "app_id={}&app_key={}",
                app.id,
                app.app_keys.first().map_or("", String::as_str)
            ),
        };
        let target = format!(
            "/transactions/authorize.xml?service_token={}&service_id={}&{credentials}",
            service.token, service.id
        );
        let response = Request::get(&target)
            .send(self.address)
            .unwrap_or_else(|e| panic!("apisonator authorize failed: {e}"));
        let text = response.text();
        let opening = format!("<usage_report metric=\"{metric}\" period=\"{period}\"");
        let Some(at) = text.find(&opening) else {
            return 0;
        };
        let report = &text[at..];
        let report = &report[..report.find("</usage_report>").unwrap_or(report.len())];
        report
            .split_once("<current_value>")
            .and_then(|(_, rest)| rest.split_once("</current_value>"))
            .map(|(value, _)| value.trim().parse().unwrap())
            .unwrap_or_else(|| panic!("no current_value in {text}"))
    }

    /// The codes of report transactions apisonator could not apply (it had
    /// answered 202). Its error list also records the errors of authorize
    /// and authrep calls; those are left out (they came from a `GET`).
    pub fn report_errors(&self, service: &Service) -> Vec<String> {
        let listing = self
            .internal("GET", &format!("/services/{}/errors/", service.id), None)
            .json();
        listing
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|error| {
                error
                    .pointer("/context_info/method")
                    .and_then(Value::as_str)
                    != Some("GET")
            })
            .filter_map(|error| error.get("code").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }
}
