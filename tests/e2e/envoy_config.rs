//! Envoy bootstrap rendering: one listener with the Wasm filter, the 3scale
//! backend cluster (named the Istio way) and the echo upstream cluster.
//!
//! Every address Envoy binds is port 0 (the kernel picks a free port, so parallel
//! tests never share one) and listeners set `enable_reuse_port: false`, so a
//! stray Envoy can never silently share a test's port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// The name of the listener the filter sits on.
pub const LISTENER_NAME: &str = "threescale_e2e";
/// The host name of the 3scale backend in the plugin configuration.
pub const BACKEND_HOST: &str = "backend.3scale.test";
/// The name of the echo upstream cluster.
pub const UPSTREAM_CLUSTER: &str = "outbound|80||echo.app.test";

/// The Istio-style cluster name of the 3scale backend on `port`.
pub fn backend_cluster(port: u16) -> String {
    format!("outbound|{port}||{BACKEND_HOST}")
}

/// The plugin configuration, as JSON or as raw text (to test rejections).
#[derive(Debug, Clone)]
pub enum PluginConfiguration {
    /// Serialized compactly, as Istio would hand it over.
    Json(Value),
    /// Handed over exactly as written.
    Raw(String),
}

/// Everything that varies between the tests' Envoy configurations.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// The filter module.
    pub wasm: PathBuf,
    /// The name of the 3scale backend cluster (what the plugin configuration names).
    pub backend_cluster: String,
    /// Where the 3scale backend cluster points.
    pub backend: SocketAddr,
    /// Where the echo upstream cluster points.
    pub upstream: SocketAddr,
    /// The plugin configuration.
    pub plugin: PluginConfiguration,
    /// Envoy worker threads (`--concurrency`).
    pub concurrency: u32,
    /// Envoy's log level (`--log-level`), for every component but `wasm`.
    pub log_level: &'static str,
    /// The `wasm` component's log level, which the filter follows
    /// (`--component-log-level wasm:...`).
    pub wasm_log_level: &'static str,
    /// HTTP filters placed before the Wasm filter, in order (e.g. `jwt_authn`).
    pub filters_before: Vec<Value>,
    /// The connection manager's `request_timeout` (e.g. `"0.5s"`): Envoy ends
    /// a request still waiting after it (a 504 once the request was read).
    pub request_timeout: Option<String>,
    /// Where the listener comes from: `false` puts it in the bootstrap; `true`
    /// makes Envoy read it from a file (LDS through the file system, see
    /// [`Bootstrap::render`]), so a test can replace it, as Istio does on every
    /// WasmPlugin change.
    pub listener_from_file: bool,
    /// Envoy's `--drain-time-s`: how long a replaced listener's connections and
    /// a graceful `drain_listeners` last.
    pub drain_time_s: Option<u32>,
}

impl Bootstrap {
    /// A bootstrap for the simulator at `backend`/`upstream` with the default
    /// plugin configuration of [`crate::plugin::base`].
    pub fn new(wasm: &Path, backend: SocketAddr, upstream: SocketAddr) -> Bootstrap {
        let backend_cluster = backend_cluster(backend.port());
        let backend_url = format!("http://{BACKEND_HOST}:{}/", backend.port());
        Bootstrap {
            plugin: PluginConfiguration::Json(crate::plugin::base(&backend_cluster, &backend_url)),
            wasm: wasm.to_owned(),
            backend_cluster,
            backend,
            upstream,
            concurrency: 1,
            log_level: "info",
            wasm_log_level: "debug",
            filters_before: Vec::new(),
            request_timeout: None,
            listener_from_file: false,
            drain_time_s: None,
        }
    }

    /// The plugin configuration as JSON, for tests that change it in place.
    pub fn plugin_json(&mut self) -> &mut Value {
        match &mut self.plugin {
            PluginConfiguration::Json(value) => value,
            PluginConfiguration::Raw(_) => panic!("the plugin configuration is raw text"),
        }
    }

    /// Points the 3scale backend cluster somewhere else (the plugin configuration
    /// keeps naming the same cluster).
    pub fn backend_endpoint(&mut self, endpoint: SocketAddr) {
        self.backend = endpoint;
    }

    /// The bootstrap as JSON text (Envoy reads `.json` files as JSON); with
    /// [`Bootstrap::listener_from_file`], the listener is read from `lds_path`
    /// (written with [`Bootstrap::render_lds`]).
    pub fn render(&self, lds_path: &Path) -> String {
        let clusters = json!([
            cluster(&self.backend_cluster, self.backend),
            cluster(UPSTREAM_CLUSTER, self.upstream),
        ]);
        let bootstrap = if self.listener_from_file {
            json!({
                "node": { "id": "e2e", "cluster": "e2e" },
                "admin": { "address": socket_address(any_local_port()) },
                "static_resources": { "clusters": clusters },
                "dynamic_resources": {
                    "lds_config": {
                        "resource_api_version": "V3",
                        "path_config_source": { "path": lds_path.display().to_string() },
                    },
                },
            })
        } else {
            json!({
                "admin": { "address": socket_address(any_local_port()) },
                "static_resources": { "listeners": [self.listener()], "clusters": clusters },
            })
        };
        serde_json::to_string_pretty(&bootstrap).unwrap()
    }

    /// The listener as an LDS answer (what [`Bootstrap::lds_path`] holds).
    pub fn render_lds(&self) -> String {
        let mut listener = self.listener();
        if let Value::Object(fields) = &mut listener {
            fields.insert(
                "@type".into(),
                json!("type.googleapis.com/envoy.config.listener.v3.Listener"),
            );
        }
        serde_json::to_string_pretty(&json!({ "resources": [listener] })).unwrap()
    }

    /// The listener with the filter.
    fn listener(&self) -> Value {
        let plugin_text = match &self.plugin {
            PluginConfiguration::Json(value) => value.to_string(),
            PluginConfiguration::Raw(text) => text.clone(),
        };
        let mut listener = listener(&self.wasm, &plugin_text, &self.filters_before);
        if let Some(timeout) = &self.request_timeout {
            let manager = "/filter_chains/0/filters/0/typed_config";
            if let Some(Value::Object(manager)) = listener.pointer_mut(manager) {
                manager.insert("request_timeout".into(), json!(timeout));
            }
        }
        listener
    }
}

/// 127.0.0.1 port 0: the kernel picks a free port.
fn any_local_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn socket_address(address: SocketAddr) -> Value {
    json!({ "socket_address": { "address": address.ip().to_string(), "port_value": address.port() } })
}

fn listener(wasm: &Path, plugin_text: &str, filters_before: &[Value]) -> Value {
    let mut http_filters = filters_before.to_vec();
    http_filters.push(wasm_filter(wasm, plugin_text));
    http_filters.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
    }));
    json!({
        "name": LISTENER_NAME,
        "address": socket_address(any_local_port()),
        "enable_reuse_port": false,
        "filter_chains": [{
            "filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": "e2e",
                    "route_config": {
                        "name": "local",
                        "virtual_hosts": [{
                            "name": "everything",
                            "domains": ["*"],
                            "routes": [{ "match": { "prefix": "/" }, "route": { "cluster": UPSTREAM_CLUSTER } }],
                        }],
                    },
                    "http_filters": http_filters,
                },
            }],
        }],
    })
}

fn wasm_filter(wasm: &Path, plugin_text: &str) -> Value {
    json!({
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "threescale-wasm-auth",
                "root_id": "threescale-wasm-auth",
                "failure_policy": "FAIL_RELOAD",
                "vm_config": {
                    "vm_id": "threescale-wasm-auth",
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": { "local": { "filename": wasm.display().to_string() } },
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": plugin_text,
                },
            },
        },
    })
}

fn cluster(name: &str, endpoint: SocketAddr) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "0.25s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": socket_address(endpoint) } }] }],
        },
    })
}
