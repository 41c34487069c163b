//! The filter's metrics as an operator's Prometheus sees them: a real Prometheus
//! (the Debian package `make test` installs) scrapes Envoy's admin
//! `/stats/prometheus`, and PromQL through its HTTP API returns the request,
//! denial, would-deny (`mode: report`), cache and backend-latency series after
//! requests whose fate is known.
//! The example alert rules (`examples/prometheus/alerts.yaml`) are loaded into it
//! and must evaluate without errors, and every expression of the example Grafana
//! dashboard must run and every series it names must be in the scrape.

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use super::{MODEL, assert_local_reply, assert_passed, get};
use crate::harness::{Process, Scratch, Stack, closed_port, poll, repo_root};
use crate::http::Request;
use crate::plugin::{USER_KEY, set};

/// How long Prometheus may take to come up, and a series to reach a value
/// (scrapes are every second; Envoy merges histograms every 5 s).
const PROMETHEUS_LIMIT: Duration = Duration::from_secs(30);
/// The example alert rules and dashboard.
const ALERTS: &str = "examples/prometheus/alerts.yaml";
const DASHBOARD: &str = "examples/prometheus/grafana-dashboard.json";

/// A Prometheus server scraping one Envoy, stopped when dropped (before its
/// scratch directory is removed: field order is drop order).
struct PrometheusServer {
    process: Process,
    address: SocketAddr,
    _scratch: Scratch,
}

impl PrometheusServer {
    /// Starts Prometheus on a free local port with a configuration that scrapes
    /// `envoy_admin` every second and loads the example alert rules.
    fn start(test: &str, envoy_admin: SocketAddr) -> PrometheusServer {
        let scratch = Scratch::new(test);
        let config = scratch.file("prometheus.yml");
        let rules = repo_root().join(ALERTS);
        let document = json!({
            "global": { "scrape_interval": "1s", "evaluation_interval": "1s" },
            "rule_files": [rules.display().to_string()],
            "scrape_configs": [{
                "job_name": "envoy",
                "metrics_path": "/stats/prometheus",
                "static_configs": [{ "targets": [envoy_admin.to_string()] }],
            }],
        });
        // JSON is YAML: Prometheus reads it as its configuration file.
        fs::write(&config, document.to_string()).unwrap();
        let address = SocketAddr::from(([127, 0, 0, 1], closed_port()));
        let mut command = Command::new(prometheus_bin());
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                scratch.file("data").display()
            ))
            .arg(format!("--web.listen-address={address}"));
        let mut process = Process::spawn("prometheus", command, scratch.file("prometheus.log"));
        let ready = poll(PROMETHEUS_LIMIT, || {
            process.assert_running();
            let response = Request::get("/-/ready").send(address).ok()?;
            (response.status == 200).then_some(())
        });
        assert!(
            ready.is_some(),
            "Prometheus did not become ready within {PROMETHEUS_LIMIT:?}:\n{}",
            process.log_tail(40)
        );
        PrometheusServer {
            process,
            address,
            _scratch: scratch,
        }
    }

    /// A GET on the HTTP API; fails the test unless the answer is `success`.
    fn api(&mut self, path_and_query: &str) -> Value {
        self.process.assert_running();
        let response = Request::get(path_and_query)
            .send(self.address)
            .unwrap_or_else(|e| panic!("Prometheus {path_and_query} failed: {e}"));
        let body = response.json();
        assert_eq!(
            body["status"], "success",
            "Prometheus {path_and_query}:\n{response:?}"
        );
        body["data"].clone()
    }

    /// The result vector of an instant PromQL query.
    fn query(&mut self, promql: &str) -> Vec<Value> {
        let encoded: String = url::form_urlencoded::byte_serialize(promql.as_bytes()).collect();
        let data = self.api(&format!("/api/v1/query?query={encoded}"));
        assert_eq!(data["resultType"], "vector", "{promql}: {data}");
        data["result"].as_array().cloned().unwrap_or_default()
    }

    /// The value of a query that gives one sample, if it does.
    fn scalar(&mut self, promql: &str) -> Option<f64> {
        match self.query(promql).as_slice() {
            [sample] => sample["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }

    /// Waits until `promql` gives one sample accepted by `wanted`, and returns it.
    fn wait_for(&mut self, promql: &str, wanted: impl Fn(f64) -> bool) -> f64 {
        let seen = poll(PROMETHEUS_LIMIT, || {
            self.scalar(promql).filter(|value| wanted(*value))
        });
        seen.unwrap_or_else(|| {
            panic!(
                "`{promql}` did not reach the expected value within {PROMETHEUS_LIMIT:?}; it gives {:?}",
                self.query(promql)
            )
        })
    }
}

/// The Prometheus binary: `PROMETHEUS_BIN`, else `prometheus` on the `PATH`
/// (`make test` installs Debian's package when it is missing).
fn prometheus_bin() -> PathBuf {
    let bin = std::env::var_os("PROMETHEUS_BIN").map_or_else(|| "prometheus".into(), PathBuf::from);
    let found = Command::new(&bin).arg("--version").output();
    assert!(
        found.is_ok_and(|output| output.status.success()),
        "{} cannot be run: install Prometheus (`make test` installs the Debian package `prometheus`) or set PROMETHEUS_BIN",
        bin.display()
    );
    bin
}

/// Every `threescale_wasm_auth_*` series name in `text`.
fn series_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .match_indices("threescale_wasm_auth_")
        .map(|(start, _)| {
            text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Every PromQL expression of the example dashboard, with Grafana's
/// `$__rate_interval` replaced by a window Prometheus can evaluate.
fn dashboard_expressions() -> Vec<String> {
    let text = fs::read_to_string(repo_root().join(DASHBOARD)).unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .map(|target| {
            target["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "1m")
        })
        .collect()
}

#[test]
fn prometheus_scrapes_the_filter_series_and_runs_the_examples() {
    // Report mode at the top, enforce for the service: a request for no service
    // is let through and counted as a would-be denial.
    let mut stack = Stack::start("prometheus_scrape", MODEL, |bootstrap| {
        let plugin = bootstrap.plugin_json();
        set(
            plugin,
            "cache",
            json!({ "enabled": true, "ttl": 60, "flush_interval": 1 }),
        );
        set(plugin, "mode", json!("report"));
        plugin["services"][0]["mode"] = json!("enforce");
    });
    let mut prometheus = PrometheusServer::start("prometheus_server", stack.envoy.admin);
    prometheus.wait_for("up{job=\"envoy\"}", |up| up == 1.0);

    // Three authorized requests (the first a cache miss, the rest hits), one
    // refused by 3scale, one without credentials.
    for _ in 0..3 {
        assert_passed(&stack.send(&get(&format!("/?user_key={USER_KEY}"))));
    }
    let denied = stack.send(&get("/?user_key=not-a-known-key"));
    assert_local_reply(&denied, 403, "Authentication failed\n");
    let missing = stack.send(&get("/"));
    assert_local_reply(&missing, 403, "Authentication parameters missing\n");
    assert_passed(&stack.send(&Request::get("/").host("unknown.example.org")));

    let authorized = "threescale_wasm_auth_requests_authorized";
    prometheus.wait_for(authorized, |value| value == 3.0);
    prometheus.wait_for("threescale_wasm_auth_requests_denied", |value| value == 1.0);
    prometheus.wait_for("threescale_wasm_auth_requests_no_credentials", |value| {
        value == 1.0
    });
    prometheus.wait_for("threescale_wasm_auth_requests_limited", |value| {
        value == 0.0
    });
    prometheus.wait_for(
        "threescale_wasm_auth_requests_would_deny_unknown_service",
        |value| value == 1.0,
    );
    prometheus.wait_for("threescale_wasm_auth_requests_unknown_service", |value| {
        value == 0.0
    });
    prometheus.wait_for("threescale_wasm_auth_cache_hits", |hits| hits >= 2.0);
    prometheus.wait_for("threescale_wasm_auth_cache_misses", |misses| misses >= 1.0);
    let calls = prometheus.wait_for("threescale_wasm_auth_backend_calls", |calls| calls >= 2.0);
    prometheus.wait_for("threescale_wasm_auth_backend_latency_ms_count", |count| {
        count == calls
    });
    let median = prometheus.wait_for(
        "histogram_quantile(0.5, sum by (le) (threescale_wasm_auth_backend_latency_ms_bucket))",
        f64::is_finite,
    );
    assert!(median >= 0.0, "median backend latency {median}");

    // Every series the examples name is in the scrape.
    let alerts = fs::read_to_string(repo_root().join(ALERTS)).unwrap();
    let dashboard = fs::read_to_string(repo_root().join(DASHBOARD)).unwrap();
    let mut named = series_names(&alerts);
    named.extend(series_names(&dashboard));
    named.sort();
    named.dedup();
    assert!(named.len() >= 15, "{named:?}");
    for name in &named {
        let series = prometheus.query(&format!("{{__name__=\"{name}\", job=\"envoy\"}}"));
        assert!(!series.is_empty(), "{name} is not in the scrape");
    }
    // Every dashboard expression runs.
    for expression in dashboard_expressions() {
        prometheus.query(&expression);
    }
    // The alert rules are loaded and evaluate without errors.
    let rules = poll(PROMETHEUS_LIMIT, || {
        let data = prometheus.api("/api/v1/rules");
        let rules: Vec<Value> = data["groups"]
            .as_array()?
            .iter()
            .flat_map(|group| group["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        let evaluated = rules
            .iter()
            .all(|rule| rule["health"] == "ok" && rule["lastEvaluation"] != "0001-01-01T00:00:00Z");
        (evaluated && !rules.is_empty()).then_some(rules)
    });
    let rules = rules.unwrap_or_else(|| {
        panic!(
            "the example rules did not all evaluate: {}",
            prometheus.api("/api/v1/rules")
        )
    });
    assert_eq!(
        rules.len(),
        alerts.matches("- alert:").count() + alerts.matches("- record:").count()
    );
}
