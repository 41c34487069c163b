//! The deployment examples users copy:
//! - `examples/istio/`: every `WasmPlugin` against Istio's CRD schema
//!   (`tests/fixtures/schemas/`), its `pluginConfig` through the filter's own configuration
//!   parser after the conversion Istio makes, and the ServiceEntry/DestinationRule pairs its
//!   upstream clusters need;
//! - `examples/compose/`: the Compose file's wiring, and its Envoy configuration through
//!   `envoy --mode validate` (which also runs the filter's configuration check). The Compose
//!   file itself is validated by Compose in `make test-compose`;
//! - `examples/prometheus/`: the alert rules through `promtool check rules` and their unit
//!   tests (`promtool test rules`), and the Grafana dashboard's structure; both may name only
//!   series the filter exports. (`tests/e2e/cases/prometheus.rs` runs them in a real Prometheus.)

// Integration tests are always built with `cfg(test)`; saying so lets the project's clippy test
// allowances (unwrap, panic, indexing) cover the helpers as well as the tests.
#![cfg(test)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::{Value, json};

const ISTIO_DIR: &str = "examples/istio";
/// Istio resources elsewhere: the OpenID Connect pair (RequestAuthentication + WasmPlugin).
const OIDC_ISTIO: &str = "examples/oidc/istio.yaml";
const COMPOSE_DIR: &str = "examples/compose";
const SCHEMA: &str = "tests/fixtures/schemas/wasmplugin.strict.schema.json";
/// Where the compose stack mounts the module inside the Envoy container.
const COMPOSE_WASM_PATH: &str = "/etc/envoy/threescale_wasm_auth.wasm";
/// What `make build` writes, relative to the repository root.
const BUILT_WASM: &str = "target/threescale_wasm_auth.wasm";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every YAML document of a file, as JSON values (what kubectl sends the API server).
fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|document| {
            Value::deserialize(document)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        })
        .filter(|document| !document.is_null())
        .collect()
}

/// `(file name, resource)` for every resource under examples/istio/ and in the OIDC example.
fn istio_resources() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join(ISTIO_DIR))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no YAML files in {ISTIO_DIR}");
    files.push(repo_root().join(OIDC_ISTIO));
    files
        .iter()
        .flat_map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            yaml_documents(path)
                .into_iter()
                .map(move |resource| (name.clone(), resource))
        })
        .collect()
}

fn resources_of_kind(kind: &str) -> Vec<(String, Value)> {
    istio_resources()
        .into_iter()
        .filter(|(_, resource)| resource["kind"] == kind)
        .collect()
}

fn wasm_plugins() -> Vec<(String, Value)> {
    let plugins = resources_of_kind("WasmPlugin");
    assert!(!plugins.is_empty(), "no WasmPlugin in {ISTIO_DIR}");
    plugins
}

/// Every number as a float, as Istio's YAML → protobuf `Struct` → JSON conversion leaves them.
fn numbers_as_floats(value: Value) -> Value {
    match value {
        Value::Number(number) => json!(number.as_f64().unwrap()),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_floats).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, field)| (key, numbers_as_floats(field)))
                .collect(),
        ),
        other => other,
    }
}

/// The plugin configuration string Istio hands the module for a `pluginConfig`: compact JSON,
/// keys sorted (serde_json's map is ordered), numbers as floats.
fn istio_plugin_configuration(plugin_config: &Value) -> String {
    serde_json::to_string(&numbers_as_floats(plugin_config.clone())).unwrap()
}

fn schema_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo_root().join(SCHEMA)).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, resource: &Value) -> Vec<String> {
    validator
        .iter_errors(resource)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

#[test]
fn every_wasm_plugin_matches_the_crd_schema() {
    let validator = schema_validator();
    for (file, plugin) in wasm_plugins() {
        let errors = schema_errors(&validator, &plugin);
        assert!(errors.is_empty(), "{file}: {errors:#?}");
    }
}

#[test]
fn the_schema_rejects_what_the_api_server_would() {
    let validator = schema_validator();
    let (_, plugin) = wasm_plugins().into_iter().next().unwrap();

    let mut maistra_selector = plugin.clone();
    maistra_selector["spec"]["selector"] = json!({ "labels": { "app": "productpage" } });
    assert!(!schema_errors(&validator, &maistra_selector).is_empty());

    let mut fail_typo = plugin.clone();
    fail_typo["spec"]["failStrategy"] = json!("FAIL_RESTART");
    assert!(!schema_errors(&validator, &fail_typo).is_empty());

    let mut digest_with_prefix = plugin;
    digest_with_prefix["spec"]["sha256"] = json!(format!("sha256:{}", "a".repeat(64)));
    assert!(!schema_errors(&validator, &digest_with_prefix).is_empty());
}

/// The CRD's CEL rule the JSON Schema cannot express.
#[test]
fn each_wasm_plugin_attaches_one_way() {
    for (file, plugin) in wasm_plugins() {
        let ways = ["selector", "targetRef", "targetRefs"]
            .into_iter()
            .filter(|way| plugin["spec"].get(way).is_some())
            .count();
        assert_eq!(
            ways, 1,
            "{file}: exactly one of selector/targetRef/targetRefs"
        );
    }
}

#[test]
fn the_examples_cover_sidecar_gateway_waypoint_and_service() {
    let mut shown = BTreeSet::new();
    for (_, plugin) in wasm_plugins() {
        let spec = &plugin["spec"];
        if spec["selector"]["matchLabels"].is_object() {
            shown.insert("sidecar selector".to_string());
        }
        for target in spec["targetRefs"].as_array().into_iter().flatten() {
            shown.insert(format!(
                "{}/{}/{}",
                target["group"].as_str().unwrap(),
                target["kind"].as_str().unwrap(),
                target["name"].as_str().unwrap()
            ));
        }
    }
    let expected: BTreeSet<String> = [
        "sidecar selector",
        "gateway.networking.k8s.io/Gateway/bookinfo-gateway",
        "gateway.networking.k8s.io/Gateway/waypoint",
        "/Service/reviews",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(shown, expected);
}

#[test]
fn wasm_plugins_authorize_after_authentication_and_never_fail_open() {
    for (file, plugin) in wasm_plugins() {
        let spec = &plugin["spec"];
        assert_eq!(spec["phase"], "AUTHZ", "{file}: runs after jwt_authn");
        assert_eq!(spec["failStrategy"], "FAIL_RELOAD", "{file}");
        assert!(
            spec["url"].as_str().unwrap().starts_with("oci://"),
            "{file}: the module comes from the OCI image"
        );
        assert!(
            spec.get("sha256").is_some(),
            "{file}: shows where the digest goes"
        );
    }
}

#[test]
fn plugin_configs_parse_as_istio_hands_them_over() {
    for (file, plugin) in wasm_plugins() {
        let configuration = istio_plugin_configuration(&plugin["spec"]["pluginConfig"]);
        assert!(configuration.starts_with('{'), "{file}: {configuration}");
        let config = threescale_wasm_auth::config::parse(configuration.as_bytes())
            .unwrap_or_else(|error| panic!("{file}: pluginConfig is rejected: {error}"));
        assert!(!config.services.is_empty(), "{file}");
        assert!(config.warnings.is_empty(), "{file}: {:?}", config.warnings);
    }
}

/// The upstreams a plugin configuration names (`backend`, and `system` when present).
fn upstreams(plugin_config: &Value) -> Vec<&Value> {
    ["backend", "system"]
        .into_iter()
        .filter_map(|part| plugin_config.get(part))
        .map(|part| &part["upstream"])
        .collect()
}

#[test]
fn upstream_clusters_are_declared_with_tls_origination() {
    let entries = resources_of_kind("ServiceEntry");
    let rules = resources_of_kind("DestinationRule");
    for (file, plugin) in wasm_plugins() {
        for upstream in upstreams(&plugin["spec"]["pluginConfig"]) {
            let cluster = upstream["name"].as_str().unwrap();
            let url = upstream["url"].as_str().unwrap();
            let Some(("outbound", rest)) = cluster.split_once('|') else {
                panic!("{file}: `{cluster}` is not an Istio outbound cluster name");
            };
            let (port, host) = rest.split_once("||").unwrap();
            assert_eq!(port, "443", "{file}: {cluster}");
            assert!(url.starts_with("https://"), "{file}: {url}");

            let declared = entries.iter().any(|(_, entry)| {
                let spec = &entry["spec"];
                spec["hosts"].as_array().unwrap().iter().any(|h| h == host)
                    && spec["ports"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["number"] == 443)
                    && spec["location"] == "MESH_EXTERNAL"
            });
            assert!(declared, "{file}: no ServiceEntry for {host}:443");

            let tls = rules
                .iter()
                .find(|(_, rule)| rule["spec"]["host"] == host)
                .map(|(_, rule)| &rule["spec"]["trafficPolicy"]["tls"])
                .unwrap_or_else(|| panic!("{file}: no DestinationRule for {host}"));
            assert_eq!(tls["mode"], "SIMPLE", "{file}: {host}");
            assert_eq!(tls["sni"], host, "{file}: {host}");
        }
    }
}

fn compose_file() -> Value {
    let documents = yaml_documents(&repo_root().join(COMPOSE_DIR).join("docker-compose.yaml"));
    assert_eq!(documents.len(), 1);
    documents.into_iter().next().unwrap()
}

fn compose_envoy_config_text() -> String {
    std::fs::read_to_string(repo_root().join(COMPOSE_DIR).join("envoy.yaml")).unwrap()
}

/// `(host path relative to the repository root, container path)` of a service's mounts;
/// every mount must be read-only.
fn read_only_mounts(service: &Value) -> Vec<(PathBuf, String)> {
    service["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|volume| {
            let volume = volume.as_str().unwrap();
            let parts: Vec<&str> = volume.split(':').collect();
            assert_eq!(parts.len(), 3, "{volume}: host:container:ro");
            assert_eq!(parts[2], "ro", "{volume} is mounted read-only");
            let host = Path::new(COMPOSE_DIR).join(parts[0]);
            (normalize(&host), parts[1].to_string())
        })
        .collect()
}

/// Resolves `.` and `..` without touching the file system (the wasm may not be built yet).
fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => assert!(normal.pop(), "{}", path.display()),
            other => normal.push(other),
        }
    }
    normal
}

#[test]
fn compose_stack_wires_envoy_the_module_and_the_simulator() {
    let compose = compose_file();
    let services = &compose["services"];
    let envoy = &services["envoy"];
    assert_eq!(envoy["image"], "envoyproxy/envoy:v1.40.0");

    let mounts = read_only_mounts(envoy);
    assert!(
        mounts.contains(&(PathBuf::from(BUILT_WASM), COMPOSE_WASM_PATH.to_string())),
        "the module `make build` writes is mounted where envoy.yaml loads it: {mounts:?}"
    );
    let command: Vec<&str> = envoy["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap())
        .collect();
    let config_at = command
        .iter()
        .position(|arg| *arg == "-c")
        .map(|at| command[at + 1])
        .unwrap();
    assert!(
        mounts.contains(&(
            PathBuf::from(COMPOSE_DIR).join("envoy.yaml"),
            config_at.into()
        )),
        "envoy.yaml is mounted where `-c` reads it: {mounts:?}"
    );

    for name in ["threescale-sim", "api"] {
        let service = &services[name];
        assert_eq!(
            service["build"]["dockerfile"],
            "examples/compose/sim.Dockerfile"
        );
        for (host, _) in read_only_mounts(service) {
            assert!(
                repo_root().join(&host).is_file(),
                "{name}: {}",
                host.display()
            );
        }
    }
    assert!(
        repo_root()
            .join(COMPOSE_DIR)
            .join("sim.Dockerfile")
            .is_file()
    );

    let text = compose_envoy_config_text();
    assert!(text.contains(COMPOSE_WASM_PATH));
    let config: Value = serde_yaml::from_str(&text).unwrap();
    let compact = serde_json::to_string(&config).unwrap();
    assert!(compact.contains("\"failure_policy\":\"FAIL_RELOAD\""));
    assert!(!compact.contains("FAIL_OPEN"));
}

/// Every cluster the compose Envoy defines, `name → (address, port)`.
fn compose_clusters(config: &Value) -> Vec<(String, String, u64)> {
    config["static_resources"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cluster| {
            let address = &cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
                ["address"]["socket_address"];
            (
                cluster["name"].as_str().unwrap().to_string(),
                address["address"].as_str().unwrap().to_string(),
                address["port_value"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn compose_envoy_reaches_the_services_it_names() {
    let config: Value = serde_yaml::from_str(&compose_envoy_config_text()).unwrap();
    let clusters = compose_clusters(&config);
    let compose = compose_file();
    for (name, address, port) in &clusters {
        assert_eq!(
            name,
            &format!("outbound|{port}||{address}"),
            "named the Istio way"
        );
        let service = &compose["services"][address.as_str()];
        let listens = serde_json::to_string(&service["command"]).unwrap();
        assert!(
            listens.contains(&format!("\"0.0.0.0:{port}\"")),
            "Compose service `{address}` listens on {port}: {listens}"
        );
    }

    let wasm = config.pointer(
        "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters/0/typed_config/config",
    )
    .unwrap();
    let plugin_text = wasm["configuration"]["value"].as_str().unwrap();
    let plugin = threescale_wasm_auth::config::parse(plugin_text.as_bytes()).unwrap();
    let backend_cluster = plugin.backend.upstream.name.to_string();
    assert!(
        clusters.iter().any(|(name, _, _)| *name == backend_cluster),
        "the backend cluster `{backend_cluster}` is defined"
    );
}

/// Reads a path-valued variable that `make test` exports; fails (never skips) without it.
fn required_file(var: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var_os(var).unwrap_or_else(|| {
        panic!("{var} is not set; run `make test`, which builds and exports it")
    }));
    assert!(path.is_file(), "{var}={} does not exist", path.display());
    path
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Envoy and the .wasm: run by `make test`"
)]
fn compose_envoy_config_validates_in_envoy() {
    let envoy = required_file("ENVOY_BIN");
    let wasm = required_file("THREESCALE_WASM");
    let text = compose_envoy_config_text().replace(COMPOSE_WASM_PATH, &wasm.display().to_string());
    let scratch = std::env::temp_dir().join(format!("threescale-compose-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let config = scratch.join("envoy.yaml");
    std::fs::write(&config, text).unwrap();

    let output = Command::new(envoy)
        .arg("--mode")
        .arg("validate")
        .arg("-c")
        .arg(&config)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&scratch).unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{log}");
    assert!(log.contains("OK"), "{log}");
}

// --- examples/prometheus/: alert rules and the Grafana dashboard ------------------------------

const PROMETHEUS_DIR: &str = "examples/prometheus";

/// The filter's series as Envoy's `/stats/prometheus` names them: `.` becomes `_`, and a
/// histogram is its `_bucket`, `_sum` and `_count` series.
fn filter_series() -> BTreeSet<String> {
    use threescale_wasm_auth::metrics::{Metric, MetricType};
    Metric::ALL
        .iter()
        .flat_map(|metric| {
            let base = metric.name().replace('.', "_");
            match metric.metric_type() {
                MetricType::Counter => vec![base],
                MetricType::Histogram => ["_bucket", "_sum", "_count"]
                    .iter()
                    .map(|suffix| format!("{base}{suffix}"))
                    .collect(),
            }
        })
        .collect()
}

/// Every `threescale_wasm_auth_*` name in a text (PromQL, or a file holding some).
fn referenced_series(text: &str) -> BTreeSet<String> {
    text.match_indices("threescale_wasm_auth_")
        .map(|(start, _)| {
            text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Runs promtool (installed with Debian's `prometheus` by `make test`).
fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(repo_root().join(PROMETHEUS_DIR))
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run promtool ({error}): `make test` installs the Debian package `prometheus`, which provides it")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs promtool (Debian's prometheus): run by `make test`, which installs it"
)]
fn alert_rules_pass_promtool_check_and_their_unit_tests() {
    let checked = promtool(&["check", "rules", "alerts.yaml"]);
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = promtool(&["test", "rules", "alerts.test.yaml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn alert_rules_name_only_series_the_filter_exports() {
    let text =
        std::fs::read_to_string(repo_root().join(PROMETHEUS_DIR).join("alerts.yaml")).unwrap();
    let named = referenced_series(&text);
    let known = filter_series();
    let unknown: Vec<&String> = named.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "alerts.yaml names unknown series: {unknown:?}"
    );
    for needed in [
        "threescale_wasm_auth_requests_unavailable",
        "threescale_wasm_auth_backend_errors",
        "threescale_wasm_auth_backend_latency_ms_bucket",
        "threescale_wasm_auth_requests_denied",
    ] {
        assert!(named.contains(needed), "alerts.yaml does not use {needed}");
    }
}

#[test]
fn grafana_dashboard_is_well_formed_and_names_real_series() {
    let path = repo_root()
        .join(PROMETHEUS_DIR)
        .join("grafana-dashboard.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()));
    for key in ["title", "uid"] {
        assert!(
            dashboard[key].as_str().is_some_and(|v| !v.is_empty()),
            "no {key}"
        );
    }
    assert!(dashboard["schemaVersion"].is_u64(), "no schemaVersion");
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|variable| variable["type"] == "datasource" && variable["query"] == "prometheus")
        .filter_map(|variable| variable["name"].as_str())
        .collect();
    assert_eq!(
        variables,
        ["datasource"],
        "one Prometheus data-source variable"
    );
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 6, "only {} panels", panels.len());
    let mut ids = BTreeSet::new();
    let mut used = BTreeSet::new();
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or_default();
        assert!(!title.is_empty(), "a panel without a title: {panel}");
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "{title}: duplicate id"
        );
        assert!(panel["type"].is_string(), "{title}: no type");
        for key in ["h", "w", "x", "y"] {
            assert!(panel["gridPos"][key].is_u64(), "{title}: gridPos.{key}");
        }
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}: no targets");
        let mut ref_ids = BTreeSet::new();
        for target in targets {
            assert!(
                ref_ids.insert(target["refId"].as_str().unwrap()),
                "{title}: refId"
            );
            let expr = target["expr"].as_str().unwrap();
            let names = referenced_series(expr);
            assert!(
                !names.is_empty(),
                "{title}: `{expr}` names no filter series"
            );
            used.extend(names);
        }
    }
    let known = filter_series();
    let unknown: Vec<&String> = used.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard names unknown series: {unknown:?}"
    );
    for family in [
        "threescale_wasm_auth_requests_authorized",
        "threescale_wasm_auth_requests_denied",
        "threescale_wasm_auth_cache_hits",
        "threescale_wasm_auth_backend_latency_ms_bucket",
    ] {
        assert!(
            used.contains(family),
            "the dashboard does not show {family}"
        );
    }
    // Every counter the filter exports is on the dashboard.
    let missing: Vec<&String> = known
        .iter()
        .filter(|name| !name.starts_with("threescale_wasm_auth_backend_latency_ms"))
        .filter(|name| !used.contains(*name))
        .collect();
    assert!(missing.is_empty(), "not on the dashboard: {missing:?}");
}
