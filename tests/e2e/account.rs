//! A 3scale account (services, metrics, applications, limits) written once and
//! set up on either backend: as a simulator model (YAML) or provisioned into a
//! running apisonator through its internal API ([`crate::apisonator`]).
//!
//! Identities are made unique per account, so the tests sharing one apisonator
//! never see each other's services or counters.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One limit of an application's plan.
#[derive(Debug, Clone)]
pub struct Limit {
    /// The metric's name.
    pub metric: &'static str,
    /// `day`, `eternity`, ... (never `minute` or `hour` in counting tests: the
    /// real clock rolls them over).
    pub period: &'static str,
    /// The most allowed in the period.
    pub max: u64,
}

/// An application and its plan.
#[derive(Debug, Clone)]
pub struct App {
    /// The application id (apisonator's; the simulator's `app_id` when the
    /// service takes app ids).
    pub id: String,
    /// The user key of a user_key service's application.
    pub user_key: Option<String>,
    /// The keys of an app_id service's application.
    pub app_keys: Vec<String>,
    /// Suspended applications are denied with `application_not_active`.
    pub suspended: bool,
    /// The plan's name (`<plan>` in answers).
    pub plan: &'static str,
    /// The plan's limits.
    pub limits: Vec<Limit>,
}

impl App {
    /// The name the simulator's `/_sim/usage` gives the application.
    pub fn sim_label(&self) -> String {
        match &self.user_key {
            Some(key) => format!("user_key:{key}"),
            None => self.id.clone(),
        }
    }
}

/// Which credentials a service takes (apisonator's `backend_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// `backend_version` 1: `user_key`.
    UserKey,
    /// `backend_version` 2: `app_id` and `app_key`.
    AppId,
}

/// A service with its metrics and applications.
#[derive(Debug, Clone)]
pub struct Service {
    /// The service id (digits, unique per account).
    pub id: String,
    /// The service token.
    pub token: String,
    /// What identifies applications.
    pub credentials: Credentials,
    /// Metric names with their parent (one level, as the simulator allows).
    pub metrics: Vec<(&'static str, Option<&'static str>)>,
    /// The applications.
    pub apps: Vec<App>,
}

impl Service {
    /// A service with unique id and token, and `hits` with the child `search`.
    pub fn new(credentials: Credentials) -> Service {
        let serial = unique_serial();
        Service {
            id: format!("7{serial}"),
            token: format!("token-{serial}"),
            credentials,
            metrics: vec![("hits", None), ("search", Some("hits"))],
            apps: Vec::new(),
        }
    }

    /// Adds an application; for a user_key service its key is `<name>-<service id>`,
    /// for an app_id service its id is that and its key `<name>-key`.
    pub fn app(mut self, name: &str, plan: &'static str, limits: Vec<Limit>) -> Service {
        let id = format!("{name}-{}", self.id);
        let (user_key, app_keys) = match self.credentials {
            Credentials::UserKey => (Some(format!("uk-{id}")), Vec::new()),
            Credentials::AppId => (None, vec![format!("{name}-key")]),
        };
        self.apps.push(App {
            id,
            user_key,
            app_keys,
            suspended: false,
            plan,
            limits,
        });
        self
    }

    /// Suspends the application added last.
    pub fn suspended(mut self) -> Service {
        if let Some(app) = self.apps.last_mut() {
            app.suspended = true;
        }
        self
    }

    /// The application named `name` in [`Service::app`].
    pub fn find(&self, name: &str) -> &App {
        let id = format!("{name}-{}", self.id);
        self.apps
            .iter()
            .find(|app| app.id == id)
            .unwrap_or_else(|| panic!("no application {name} in service {}", self.id))
    }

    /// The metric's id in apisonator (its position, from 1).
    pub fn metric_id(&self, name: &str) -> usize {
        self.metrics
            .iter()
            .position(|(metric, _)| *metric == name)
            .map(|at| at + 1)
            .unwrap_or_else(|| panic!("no metric {name}"))
    }
}

/// A limit.
pub fn limit(metric: &'static str, period: &'static str, max: u64) -> Limit {
    Limit {
        metric,
        period,
        max,
    }
}

fn unique_serial() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let serial = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}{serial:04}", std::process::id())
}

/// The simulator model (YAML) of these services.
pub fn sim_model(services: &[&Service]) -> String {
    let mut yaml = String::from("services:\n");
    for service in services {
        let backend_version = match service.credentials {
            Credentials::UserKey => 1,
            Credentials::AppId => 2,
        };
        let _ = writeln!(
            yaml,
            "  - id: \"{}\"\n    token: {}\n    backend_version: \"{backend_version}\"",
            service.id, service.token
        );
        yaml.push_str("    metrics:\n");
        for (name, parent) in &service.metrics {
            let _ = writeln!(yaml, "      - name: {name}");
            if let Some(parent) = parent {
                let _ = writeln!(yaml, "        parent: {parent}");
            }
        }
        yaml.push_str("    applications:\n");
        for app in &service.apps {
            match (&app.user_key, service.credentials) {
                (Some(key), _) => {
                    let _ = writeln!(yaml, "      - user_key: \"{key}\"");
                }
                (None, _) => {
                    let _ = writeln!(yaml, "      - app_id: \"{}\"", app.id);
                    let keys: Vec<String> =
                        app.app_keys.iter().map(|k| format!("\"{k}\"")).collect();
                    let _ = writeln!(yaml, "        app_keys: [{}]", keys.join(", "));
                }
            }
            let _ = writeln!(yaml, "        suspended: {}", app.suspended);
            let _ = writeln!(yaml, "        plan:\n          name: {}", app.plan);
            yaml.push_str("          limits:\n");
            if app.limits.is_empty() {
                yaml.truncate(yaml.len() - "          limits:\n".len());
            }
            for limit in &app.limits {
                let _ = writeln!(
                    yaml,
                    "            - {{ metric: {}, period: {}, max: {} }}",
                    limit.metric, limit.period, limit.max
                );
            }
        }
    }
    yaml
}
