//! The filter in Envoy in front of either 3scale backend: our simulator, or a
//! running apisonator (`make test-apisonator`), with the same account set up
//! on it ([`crate::account`]). The echo upstream is always the simulator's.
//! Built with the `apisonator` feature only (`make test-apisonator`).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::account::{App, Service, sim_model};
use crate::apisonator::Apisonator;
use crate::envoy_config::Bootstrap;
use crate::harness::Stack;
use crate::http::Request;

/// Which 3scale backend the filter talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `threescale-sim`, with the account as its model.
    Sim,
    /// The apisonator of `APISONATOR_URL`, provisioned with the account.
    Apisonator,
}

/// A stack whose 3scale backend is a [`Kind`].
pub struct Deployment {
    /// Envoy, and the simulator (the backend, or only the echo upstream).
    pub stack: Stack,
    apisonator: Option<Apisonator>,
}

impl Deployment {
    /// Sets up `services` on the backend, then starts Envoy with the filter
    /// serving the first of them ([`plugin_for`]), changed by `configure`.
    pub fn start(
        kind: Kind,
        test: &str,
        services: &[&Service],
        configure: impl FnOnce(&mut Bootstrap),
    ) -> Deployment {
        let model = model_file(test, services);
        let model = model.to_str().expect("a UTF-8 path");
        let first = services.first().expect("at least one service");
        match kind {
            Kind::Sim => {
                let stack = Stack::start(test, model, |b| {
                    plugin_for(b.plugin_json(), first);
                    configure(b);
                });
                Deployment {
                    stack,
                    apisonator: None,
                }
            }
            Kind::Apisonator => {
                let apisonator = Apisonator::from_env();
                for service in services {
                    apisonator.provision(service);
                }
                let stack = Stack::start(test, model, |b| {
                    b.backend_endpoint(apisonator.address);
                    plugin_for(b.plugin_json(), first);
                    configure(b);
                });
                Deployment {
                    stack,
                    apisonator: Some(apisonator),
                }
            }
        }
    }

    /// What the backend counted for an application's `metric` in `period`
    /// (on apisonator the plan must have a limit there).
    pub fn counted(&self, service: &Service, app: &App, metric: &str, period: &str) -> u64 {
        if let Some(apisonator) = &self.apisonator {
            return apisonator.current_value(service, app, metric, period);
        }
        assert!(
            service.apps.iter().any(|known| known.id == app.id),
            "{} is not an application of service {}",
            app.id,
            service.id
        );
        let label = app.sim_label();
        self.stack
            .admin()
            .usage()
            .into_iter()
            .filter(|(application, name, per, _)| {
                *application == label && name == metric && per == period
            })
            .map(|(_, _, _, value)| value)
            .sum()
    }

    /// The codes of report transactions the backend could not apply (it
    /// answered 202 and dropped their batch).
    pub fn report_errors(&self, service: &Service) -> Vec<String> {
        if let Some(apisonator) = &self.apisonator {
            return apisonator.report_errors(service);
        }
        let errors = Request::get("/_sim/errors")
            .send(self.stack.sim.backend)
            .unwrap_or_else(|e| panic!("simulator /_sim/errors failed: {e}"))
            .json();
        errors
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|error| error.get("code").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    /// Suspends an application on the backend.
    pub fn suspend(&self, service: &Service, app: &App) {
        if let Some(apisonator) = &self.apisonator {
            apisonator.set_suspended(service, &app.id, true);
            return;
        }
        self.stack
            .admin()
            .suspend(&service.id, &app.sim_label(), true);
    }
}

/// Writes the simulator model of `services` to a file of its own.
fn model_file(test: &str, services: &[&Service]) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-models");
    fs::create_dir_all(&directory).unwrap();
    let path = directory.join(format!("{test}-{}.yaml", std::process::id()));
    fs::write(&path, sim_model(services)).unwrap();
    path
}

/// The plugin configuration's first service becomes `service`, with mapping
/// rules for its metrics: `GET /api` counts `hits`, `GET /search` the child
/// `search`, and `GET /typo` a metric 3scale does not know.
pub fn plugin_for(plugin: &mut Value, service: &Service) {
    let Some(first) = plugin
        .pointer_mut("/services/0")
        .and_then(Value::as_object_mut)
    else {
        panic!("the plugin configuration has no service");
    };
    first.insert("id".into(), json!(service.id));
    first.insert("token".into(), json!(service.token));
    first.insert(
        "mapping_rules".into(),
        json!([
            { "method": "GET", "pattern": "/api", "usages": [{ "name": "hits", "delta": 1 }] },
            { "method": "GET", "pattern": "/search", "usages": [{ "name": "search", "delta": 1 }] },
            { "method": "GET", "pattern": "/typo", "usages": [{ "name": "nosuch", "delta": 1 }] },
        ]),
    );
}
