//! `envoy-config FILE`: a standalone Envoy configuration running the filter with the
//! file's plugin configuration: a listener, the Wasm filter (the configuration embedded
//! as a JSON string), the router, a placeholder cluster for the protected service, and
//! one cluster per 3scale upstream, named as the configuration names it (the filter
//! calls clusters by those names) and reaching the host of its URL.

use std::net::IpAddr;

use serde_json::Value;
use threescale_wasm_auth::config::{Config, Upstream};
// A YAML double-quoted scalar: JSON string syntax is a subset of it.
use threescale_wasm_auth::json_text::quoted;

use crate::Failure;
use crate::args::EnvoyArgs;
use crate::input::Embedded;
use crate::load::load;

/// Where the system's CA bundle usually is (Debian, Ubuntu, Alpine, Envoy's images).
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Runs `envoy-config`.
pub fn run(args: &EnvoyArgs) -> Result<String, Failure> {
    let loaded = load(&args.file)?;
    let (embedded, config) = loaded.select(args.config)?;
    let plugin_json = plugin_json(embedded)?;
    let clusters = threescale_clusters(&config)?;
    let upstream_name = placeholder_name(&clusters);
    Ok(render(&Rendering {
        source: &loaded.label(embedded),
        port: args.port,
        wasm: &args.wasm,
        plugin_json: &plugin_json,
        upstream_name: &upstream_name,
        clusters: &clusters,
    }))
}

/// The plugin configuration as compact JSON, whatever syntax it was written in.
fn plugin_json(embedded: &Embedded) -> Result<String, Failure> {
    let text = embedded
        .text
        .as_ref()
        .map_err(|why| Failure::Invalid(why.clone()))?;
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|error| Failure::Invalid(error.to_string()))?
    } else {
        serde_yaml::from_str(text).map_err(|error| Failure::Invalid(error.to_string()))?
    };
    serde_json::to_string(&value).map_err(|error| Failure::Invalid(error.to_string()))
}

/// One 3scale upstream as an Envoy cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cluster {
    /// The cluster name the configuration uses.
    name: String,
    /// Which upstreams use it (`backend`, `system`).
    role: String,
    host: String,
    port: u16,
    tls: bool,
}

fn threescale_clusters(config: &Config) -> Result<Vec<Cluster>, Failure> {
    let mut upstreams = vec![("backend", &config.backend.upstream)];
    if let Some(system) = &config.system {
        upstreams.push(("system", &system.upstream));
    }
    let mut clusters: Vec<Cluster> = Vec::new();
    for (role, upstream) in upstreams {
        let cluster = cluster(role, upstream);
        match clusters.iter_mut().find(|known| known.name == cluster.name) {
            Some(known)
                if (&known.host, known.port, known.tls)
                    == (&cluster.host, cluster.port, cluster.tls) =>
            {
                known.role.push_str(" and ");
                known.role.push_str(role);
            }
            Some(known) => {
                return Err(Failure::Invalid(format!(
                    "the {} and {role} upstreams share the cluster name `{}` but not the host: one Envoy cluster cannot serve both",
                    known.role, cluster.name
                )));
            }
            None => clusters.push(cluster),
        }
    }
    Ok(clusters)
}

fn cluster(role: &str, upstream: &Upstream) -> Cluster {
    let tls = upstream.url.scheme == "https";
    let (host, port) = split_authority(&upstream.url.authority);
    Cluster {
        name: upstream.name.to_string(),
        role: role.to_owned(),
        host,
        port: port.unwrap_or(if tls { 443 } else { 80 }),
        tls,
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_authority(authority: &str) -> (String, Option<u16>) {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        let port = after.strip_prefix(':').and_then(|port| port.parse().ok());
        return (host.to_owned(), port);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => match port.parse() {
            Ok(port) => (host.to_owned(), Some(port)),
            Err(_) => (authority.to_owned(), None),
        },
        None => (authority.to_owned(), None),
    }
}

/// `upstream`, unless a 3scale cluster already has that name.
fn placeholder_name(clusters: &[Cluster]) -> String {
    let mut name = "upstream".to_owned();
    while clusters.iter().any(|cluster| cluster.name == name) {
        name.push_str("_service");
    }
    name
}

struct Rendering<'a> {
    source: &'a str,
    port: u16,
    wasm: &'a str,
    plugin_json: &'a str,
    upstream_name: &'a str,
    clusters: &'a [Cluster],
}

fn render(r: &Rendering<'_>) -> String {
    let mut out = format!(
        r#"# Standalone Envoy configuration running the threescale-wasm-auth filter, generated by
# `threescale-wasm-auth envoy-config` from {source}.
# Check it with `envoy --mode validate -c FILE`, run it with `envoy -c FILE`.
#
#   0.0.0.0:{port} -> threescale-wasm-auth (Wasm, V8) -> router -> cluster {upstream}
#
# The module is read from {wasm}.
static_resources:
  listeners:
    - name: threescale_wasm_auth
      address:
        socket_address: {{ address: 0.0.0.0, port_value: {port} }}
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: threescale_wasm_auth
                route_config:
                  name: local_route
                  virtual_hosts:
                    - name: protected
                      domains: ["*"]
                      routes:
                        - match: {{ prefix: "/" }}
                          route: {{ cluster: {upstream_quoted} }}
                http_filters:
                  - name: envoy.filters.http.wasm
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
                      config:
                        name: threescale-wasm-auth
                        root_id: threescale-wasm-auth
                        # A crashed VM is recreated. Never FAIL_OPEN: it would let
                        # unauthenticated traffic through.
                        failure_policy: FAIL_RELOAD
                        vm_config:
                          vm_id: threescale-wasm-auth
                          runtime: envoy.wasm.runtime.v8
                          code:
                            local:
                              filename: {wasm_quoted}
                        # The plugin configuration: the JSON Istio would hand the filter,
                        # as one escaped string.
                        configuration:
                          "@type": type.googleapis.com/google.protobuf.StringValue
                          value: {plugin}
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    # PLACEHOLDER: the service the filter protects. Replace the address and port
    # (and add a TLS transport_socket if it speaks HTTPS).
    - name: {upstream_quoted}
      type: STRICT_DNS
      connect_timeout: 5s
      load_assignment:
        cluster_name: {upstream_quoted}
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {{ address: 127.0.0.1, port_value: 8080 }}
"#,
        source = r.source.replace('\n', " "),
        port = r.port,
        upstream = r.upstream_name,
        upstream_quoted = quoted(r.upstream_name),
        wasm = r.wasm.replace('\n', " "),
        wasm_quoted = quoted(r.wasm),
        plugin = quoted(r.plugin_json),
    );
    for cluster in r.clusters {
        out.push_str(&render_cluster(cluster));
    }
    out
}

fn render_cluster(cluster: &Cluster) -> String {
    let is_ip = cluster.host.parse::<IpAddr>().is_ok();
    let discovery = if is_ip {
        "type: STATIC"
    } else {
        "type: LOGICAL_DNS\n      dns_lookup_family: V4_PREFERRED"
    };
    let name = quoted(&cluster.name);
    let mut out = format!(
        r#"    # 3scale {role} ({scheme}://{host}:{port}). The filter calls it by this name, the
    # upstream `name` in the plugin configuration.
    - name: {name}
      {discovery}
      connect_timeout: 5s
      load_assignment:
        cluster_name: {name}
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address:
                    socket_address: {{ address: {host_quoted}, port_value: {port} }}
"#,
        role = cluster.role,
        scheme = if cluster.tls { "https" } else { "http" },
        host = cluster.host,
        host_quoted = quoted(&cluster.host),
        port = cluster.port,
    );
    if cluster.tls {
        let host = quoted(&cluster.host);
        out.push_str(&format!(
            r#"      # TLS with the server's certificate checked against the system CA bundle and
      # the host name.
      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
          sni: {host}
          common_tls_context:
            validation_context:
              trusted_ca: {{ filename: {CA_BUNDLE} }}
              match_typed_subject_alt_names:
                - san_type: DNS
                  matcher: {{ exact: {host} }}
"#
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_split_into_host_and_port() {
        assert_eq!(split_authority("a.b"), ("a.b".into(), None));
        assert_eq!(split_authority("a.b:8081"), ("a.b".into(), Some(8081)));
        assert_eq!(split_authority("[::1]:9"), ("::1".into(), Some(9)));
        assert_eq!(split_authority("[::1]"), ("::1".into(), None));
    }

    #[test]
    fn the_placeholder_avoids_3scale_cluster_names() {
        let cluster = Cluster {
            name: "upstream".into(),
            role: "backend".into(),
            host: "h".into(),
            port: 1,
            tls: false,
        };
        assert_eq!(placeholder_name(&[]), "upstream");
        assert_eq!(placeholder_name(&[cluster]), "upstream_service");
    }

    #[test]
    fn quoted_strings_are_yaml_double_quoted_scalars() {
        let text = "{\"a\": \"x\\\"y\", \"b\": \"é\\n\"}";
        let yaml = format!("value: {}\n", quoted(text));
        let parsed: std::collections::BTreeMap<String, String> =
            serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(parsed.get("value").map(String::as_str), Some(text));
    }
}
