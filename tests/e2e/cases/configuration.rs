//! Configurations: a bad plugin configuration is refused, Istio's float
//! numbers are accepted, the standalone `envoy/` files are valid, and the demo
//! script works end to end.

use std::fs;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use super::{MODEL, assert_authrep, assert_passed, get, single_authrep};
use crate::envoy_config::{Bootstrap, PluginConfiguration};
use crate::harness::{
    Envoy, Scratch, Stack, artifacts, closed_port, repo_root, run_with_limit, sim_bin,
};
use crate::plugin::USER_KEY;

/// How long Envoy may take to refuse a configuration and exit.
const REFUSAL_LIMIT: Duration = Duration::from_secs(20);
/// The `.wasm` path `envoy/envoy.yaml` names, relative to the repository root.
const DEMO_WASM_PATH: &str = "target/threescale_wasm_auth.wasm";

/// Starts Envoy with `plugin` and checks that it refuses it, naming `field` in its log.
fn assert_refused(test: &str, plugin: PluginConfiguration, expected_in_log: &[&str]) {
    let scratch = Scratch::new(test);
    let nowhere = SocketAddr::from(([127, 0, 0, 1], closed_port()));
    let mut bootstrap = Bootstrap::new(&artifacts().wasm, nowhere, nowhere);
    bootstrap.plugin = plugin;
    let mut envoy = Envoy::spawn(&scratch, &bootstrap);
    let status = envoy.wait_exit(REFUSAL_LIMIT);
    let log = envoy.log();
    assert!(
        status.is_some_and(|s| !s.success()),
        "Envoy must refuse the configuration and exit with an error (status {status:?}); log:\n{log}"
    );
    assert!(
        log.contains("Unable to create Wasm plugin"),
        "Envoy names the plugin failure:\n{log}"
    );
    for expected in expected_in_log {
        assert!(
            log.contains(expected),
            "the log must mention `{expected}`:\n{log}"
        );
    }
}

#[test]
fn bad_configuration_is_refused() {
    let nowhere = SocketAddr::from(([127, 0, 0, 1], closed_port()));
    let mut plugin = crate::plugin::base(
        "outbound|1||backend.3scale.test",
        &format!("http://{nowhere}/"),
    );
    plugin["services"][0]["credentials"]["user_key"][0]["query_string"]["kyes"] =
        json!(["user_key"]);
    assert_refused(
        "bad_configuration",
        PluginConfiguration::Json(plugin),
        &["services[0].credentials.user_key[0].query_string.kyes"],
    );
}

#[test]
fn empty_configuration_is_refused() {
    assert_refused(
        "empty_configuration",
        PluginConfiguration::Raw(String::new()),
        &[],
    );
}

/// A configuration under `envoy/` with the `.wasm` path replaced by the one under test.
fn standalone_config(name: &str) -> String {
    let text = fs::read_to_string(repo_root().join("envoy").join(name)).unwrap();
    assert!(
        text.contains(DEMO_WASM_PATH),
        "envoy/{name} loads {DEMO_WASM_PATH}"
    );
    text.replace(DEMO_WASM_PATH, &artifacts().wasm.display().to_string())
}

/// Checks the rules every standalone configuration follows, then has Envoy
/// validate it (which also runs the filter's configuration check).
fn assert_standalone_config_valid(name: &str) {
    let text = standalone_config(name);
    assert_follows_standalone_rules(name, &text);
    assert_envoy_accepts(name, text);
}

/// The rules of every configuration under `envoy/`: Istio-style cluster names
/// (when it has clusters), no port sharing, and a Wasm VM that is reloaded,
/// never failed open (when it loads one).
fn assert_follows_standalone_rules(name: &str, text: &str) {
    let config: Value = serde_yaml::from_str(text).unwrap();

    let clusters = config
        .pointer("/static_resources/clusters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for cluster in clusters {
        let cluster_name = cluster["name"].as_str().unwrap();
        assert!(
            cluster_name.starts_with("outbound|"),
            "{name}: cluster `{cluster_name}` is named the Istio way"
        );
    }
    let listeners = config
        .pointer("/static_resources/listeners")
        .and_then(Value::as_array)
        .unwrap();
    for listener in listeners {
        assert_eq!(
            listener["enable_reuse_port"],
            json!(false),
            "{name}: {listener}"
        );
    }
    let compact = serde_json::to_string(&config).unwrap();
    assert!(
        !compact.contains("FAIL_OPEN"),
        "{name}: the wasm filter must not fail open"
    );
    if compact.contains("envoy.filters.http.wasm") {
        assert!(
            compact.contains("\"failure_policy\":\"FAIL_RELOAD\""),
            "{name}: a crashed VM is reloaded"
        );
    }
}

/// Has Envoy validate `text` as `envoy/{name}`, from the repository root (where
/// the relative paths in those files start).
fn assert_envoy_accepts(name: &str, text: String) {
    let scratch = Scratch::new("standalone_config");
    let path = scratch.file(name);
    fs::write(&path, text).unwrap();
    let mut command = Command::new(&artifacts().envoy_bin);
    command
        .arg("--mode")
        .arg("validate")
        .arg("-c")
        .arg(&path)
        .current_dir(repo_root());
    let (status, output) = run_with_limit(
        "envoy --mode validate",
        command,
        scratch.file("validate.log"),
        REFUSAL_LIMIT,
    )
    .unwrap();
    assert!(status.success(), "envoy/{name} must validate:\n{output}");
    assert!(output.contains("OK"), "{output}");
}

#[test]
fn standalone_envoy_yaml_is_valid() {
    assert_standalone_config_valid("envoy.yaml");
}

#[test]
fn bench_envoy_yaml_is_valid() {
    assert_standalone_config_valid("bench.yaml");
}

#[test]
fn bench_cache_envoy_yaml_is_valid() {
    assert_standalone_config_valid("bench-cache.yaml");
}

#[test]
fn bench_baseline_yaml_is_valid() {
    let name = "bench-baseline.yaml";
    let text = fs::read_to_string(repo_root().join("envoy").join(name)).unwrap();
    assert!(
        !text.contains("envoy.filters.http.wasm"),
        "{name} is the reference without any filter"
    );
    assert_follows_standalone_rules(name, &text);
    assert_envoy_accepts(name, text);
}

/// The module of the bench-only filters, as `envoy/bench-{header,callout}.yaml`
/// name it (relative to the repository root).
const BENCH_FILTERS_WASM_PATH: &str =
    "bench/filters/target/wasm32-wasip1/release/bench_filters.wasm";
/// How long building the bench-only filters may take (a cold build on a busy machine).
const BENCH_FILTERS_BUILD_LIMIT: Duration = Duration::from_secs(600);

/// Builds the bench-only filters (`bench/filters`, a workspace of its own) the
/// way `scripts/bench.sh` does, so that Envoy can load them.
fn build_bench_filters() {
    let scratch = Scratch::new("bench_filters_build");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--target", "wasm32-wasip1"])
        .arg("--manifest-path")
        .arg(repo_root().join("bench/filters/Cargo.toml"))
        .current_dir(repo_root());
    let (status, output) = run_with_limit(
        "cargo build (bench/filters)",
        command,
        scratch.file("build.log"),
        BENCH_FILTERS_BUILD_LIMIT,
    )
    .unwrap();
    assert!(status.success(), "bench/filters must build:\n{output}");
}

#[test]
fn bench_reference_filter_yamls_are_valid() {
    build_bench_filters();
    for name in ["bench-header.yaml", "bench-callout.yaml"] {
        let text = fs::read_to_string(repo_root().join("envoy").join(name)).unwrap();
        assert!(
            text.contains(BENCH_FILTERS_WASM_PATH),
            "envoy/{name} loads {BENCH_FILTERS_WASM_PATH}"
        );
        assert_follows_standalone_rules(name, &text);
        assert_envoy_accepts(name, text);
    }
}

#[test]
fn demo_script_shows_each_status() {
    let scratch = Scratch::new("demo_script");
    let artifacts = artifacts();
    let mut command = Command::new("bash");
    command
        .arg(repo_root().join("scripts/demo.sh"))
        .arg("--once")
        .arg("--no-build")
        .env("THREESCALE_SIM", sim_bin())
        .env("THREESCALE_WASM", &artifacts.wasm)
        .env("ENVOY_BIN", &artifacts.envoy_bin)
        .env("DEMO_RUN_DIR", scratch.file("run"))
        .current_dir(repo_root());
    let (status, output) = run_with_limit(
        "demo.sh",
        command,
        scratch.file("demo.log"),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(status.success(), "scripts/demo.sh --once failed:\n{output}");
    for status in ["HTTP 200", "HTTP 403", "HTTP 404", "HTTP 429"] {
        assert!(
            output.contains(status),
            "the demo shows {status}:\n{output}"
        );
    }
    assert!(
        output.contains("usage"),
        "the demo prints the usage counted by the simulator:\n{output}"
    );
}

/// Every integer in `value` turned into a float, as Istio does to `pluginConfig`.
fn floats_for_integers(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64() {
                *value = json!(float);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(floats_for_integers),
        Value::Object(fields) => fields.values_mut().for_each(floats_for_integers),
        _ => {}
    }
}

#[test]
fn istio_float_numbers_are_accepted() {
    let mut stack = Stack::start("istio_float_numbers", MODEL, |bootstrap| {
        floats_for_integers(bootstrap.plugin_json());
        let text = bootstrap.plugin_json().to_string();
        assert!(text.contains("\"timeout\":2000.0"), "{text}");
    });
    let response = stack.send(&get(&format!("/products/1/sold?user_key={USER_KEY}")));
    assert_passed(&response);
    assert_authrep(
        &single_authrep(&stack.admin()),
        &[("user_key", USER_KEY)],
        &[("hits", "1"), ("products", "2"), ("sales", "1")],
    );
}
