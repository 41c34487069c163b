//! The `threescale-wasm-auth` command-line companion, run as a built binary on the seed's
//! examples (tests/fixtures/seed/) and on manifests and Envoy configurations holding them.

// Integration tests are always built with `cfg(test)`; saying so lets clippy's test
// allowances (unwrap, indexing) apply to the helpers as well as the tests.
#![cfg(test)]

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_threescale-wasm-auth");

/// Exit status, stdout and stderr of one run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let output = Command::new(BIN).args(args).output().unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn seed(name: &str) -> String {
    format!(
        "{}/tests/fixtures/seed/{name}.yaml",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    )
}

/// Writes `text` to a file of this test's own, under cargo's scratch directory.
fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn explain(file: &str, request: &str, extra: &[&str]) -> Run {
    let mut args = vec!["explain", file, "--request", request];
    args.extend_from_slice(extra);
    let run = run(&args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    run
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn every_seed_example_validates_with_a_summary() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("tests/fixtures/seed");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "yaml") {
            continue;
        }
        seen += 1;
        let run = run(&["validate", path.to_str().unwrap()]);
        assert_eq!(
            run.code,
            0,
            "{}: {}{}",
            path.display(),
            run.stdout,
            run.stderr
        );
        assert!(
            run.stdout
                .starts_with(&format!("{}: valid plugin configuration\n", path.display())),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("  services: 1\n"), "{}", run.stdout);
    }
    assert_eq!(seen, 9);
}

#[test]
fn the_summary_lists_services_credentials_rules_and_system() {
    let file = seed("system_and_services");
    let run = run(&["validate", &file]);
    assert_eq!(run.code, 0);
    assert_eq!(
        lines(&run.stdout),
        [
            format!("{file}: valid plugin configuration").as_str(),
            "  backend: https://su1.3scale.net/ (cluster `outbound|443||su1.3scale.net`, timeout 1000 ms)",
            "  system: https://myaccount-admin.3scale.net/ (cluster `outbound|443||multitenant.3scale.net`, timeout 5000 ms), refreshed every 300 s",
            "  services: 1",
            "    [0] service 2555417834789: authorities *.app, 0.0.0.0, 0.0.0.0:8443",
            "        user_key: query_string [user_key]",
            "        token: static; mapping rules: 1 static + rules fetched from System (production)",
            "  extensions: none",
        ]
    );
    let basic = run_ok(&["validate", &seed("authorization_basic")]);
    assert!(basic.contains("        app_id: header [authorization] + 5 ops\n"));
    assert!(basic.contains("        app_key: header [app_key]\n"));
    let minimal = run_ok(&["validate", &seed("minimal")]);
    assert!(minimal.contains("3scale-options extensions: no_body"));
    assert!(minimal.contains("token: System; mapping rules: 0 static + rules fetched from System"));
}

fn run_ok(args: &[&str]) -> String {
    let run = run(args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    run.stdout
}

#[test]
fn extensions_switched_on_are_listed() {
    let yaml = std::fs::read_to_string(seed("user_key")).unwrap()
        + "failure_policy: allow\nstrip_credentials: true\nerrors:\n  auth_missing: {status: 401}\n";
    let path = scratch("extensions.yaml", &yaml);
    let out = run_ok(&["validate", path.to_str().unwrap()]);
    assert!(
        out.contains(
            "  extensions: failure_policy: allow, errors: auth_missing, strip_credentials\n"
        ),
        "{out}"
    );
}

#[test]
fn an_invalid_configuration_shows_path_line_column_and_context() {
    let yaml = std::fs::read_to_string(seed("user_key")).unwrap().replace(
        "            keys:\n              - <user_key>\n        - header:",
        "            key: [x]\n        - header:",
    );
    let path = scratch("invalid.yaml", &yaml);
    let run = run(&["validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "{}: invalid plugin configuration at `services[0].credentials.user_key[0].query_string.key` (line 18, column",
            path.display()
        )),
        "{first}"
    );
    assert!(
        first.ends_with("unknown field `key`, expected `keys` or `ops`"),
        "{first}"
    );
    assert!(
        run.stdout.contains("> 18 |             key: [x]\n"),
        "{}",
        run.stdout
    );
}

const MANIFESTS: &str = "apiVersion: v1
kind: Service
metadata:
  name: web
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: threescale-auth
spec:
  url: oci://registry.example/threescale-wasm-auth:0.1
  phase: AUTHZ
  pluginConfig:
    api: v1
    backend:
      upstream:
        name: outbound|443||su1.3scale.net
        url: https://su1.3scale.net/
    services:
      - id: \"1\"
        token: t
        credentials:
          user_key:
            - query_string:
                keys: [user_key]
        mapping_rules:
          - method: GET
            pattern: /
            usages: [{name: hits, delta: 0}]
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: second
spec:
  pluginConfig: {api: v1, backend: {upstream: {name: b, url: \"http://b/\"}}, services: [{id: \"2\", token: t, credentials: {app_id: [{header: {keys: [x-app-id]}}]}, mapping_rules: [{method: GET, pattern: /, usages: [{name: hits, delta: 1}]}]}]}
";

#[test]
fn wasm_plugin_documents_are_checked_with_positions_in_the_embedded_text_and_the_file() {
    let path = scratch("manifests.yaml", MANIFESTS);
    let name = path.display().to_string();
    let run = run(&["validate", &name]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let out = lines(&run.stdout);
    assert_eq!(
        out[0],
        format!(
            "{name}, document 2 (WasmPlugin `threescale-auth`), spec.pluginConfig: invalid plugin configuration at `services[0].mapping_rules[0].usages[0].delta` (line 16, column 38 of the embedded text; line 29, column 42 of {name}): usage delta is 0; it must be a positive integer"
        )
    );
    assert_eq!(
        out[3],
        "> 29 |             usages: [{name: hits, delta: 0}]"
    );
    assert!(
        run.stdout.contains(&format!(
            "{name}, document 3 (WasmPlugin `second`), spec.pluginConfig: valid plugin configuration\n"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .ends_with("1 of 2 plugin configurations are invalid\n")
    );
}

#[test]
fn the_wasm_filter_of_an_envoy_configuration_is_found_and_checked() {
    let envoy = format!(
        "{}/envoy/envoy.yaml",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    );
    let out = run_ok(&["validate", &envoy]);
    assert!(out.starts_with(&format!(
        "{envoy}, Wasm filter `envoy.filters.http.wasm` at static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0] (plugin `threescale-wasm-auth`): valid plugin configuration\n"
    )), "{out}");
    let broken = std::fs::read_to_string(&envoy)
        .unwrap()
        .replace("\"timeout\": 5000", "\"timeout\": 0");
    let path = scratch("envoy-broken.yaml", &broken);
    let run = run(&["validate", path.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("invalid plugin configuration at `backend.upstream.timeout` (line 8, column 18 of the embedded text; line 58, column 46 of"),
        "{}",
        run.stdout
    );
}

#[test]
fn usage_errors_exit_with_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["validate"],
        &["validate", "/nonexistent/config.yaml"],
        &["explain", "x.yaml"],
        &["envoy-config", "x.yaml", "--port", "http"],
    ] {
        let run = run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with("threescale-wasm-auth: "),
            "{}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
    }
    let help = run(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(
        help.stdout
            .contains("threescale-wasm-auth explain FILE --request")
    );
}

#[test]
fn explain_a_user_key_request() {
    let out = explain(
        &seed("user_key"),
        "GET https://API.example.com:443/products?page=2",
        &["-H", "<user_key>: 0123456789abcdef"],
    )
    .stdout;
    assert_eq!(
        lines(&out),
        [
            "request: GET https://api.example.com/products?page=2",
            "service: 2555417834789 (services[0]): authority `api.example.com` matches `*`",
            "credentials:",
            "  user_key[0] query_string [<user_key>]",
            "      -> not resolved: no key has a usable value",
            "  user_key[1] header [<user_key>]: found in header `<user_key>`",
            "      source                [\"01…(16)\"]",
            "      -> resolved: [\"01…(16)\"]",
            "  chosen: user_key 01…(16) (from header `<user_key>`)",
            "  (user keys, app keys, tokens and stack values are redacted; --show-secrets shows them)",
            "mapping rules: 1 static",
            "  [0] GET / -> hits +1: MATCH",
            "  usages: hits +1",
            "decision: call 3scale and wait for the answer",
            "  GET https://su1.3scale.net/transactions/authrep.xml?service_id=2555417834789&service_token=se…(13)&user_key=01…(16)&usage%5Bhits%5D=1",
            "  3scale-options: rejection_reason_header=1&limit_headers=1&no_body=1",
            "  (cluster `outbound|443||su1.3scale.net`, timeout 1000 ms)",
            "  answer 200: the request continues upstream",
            "  answer 409 with 3scale-rejection-reason limits_exceeded: reply 429",
            "  answer any other 4xx: reply 403",
            "  answer 5xx, timeout or no answer: reply 503 (failure_policy: deny)",
        ]
    );
}

#[test]
fn explain_an_app_id_and_app_key_request() {
    let out = explain(
        &seed("app_id_app_key"),
        "GET https://api.example.com/?<app_id>=my-app",
        &["-H", "<app_key>: secret-app-key"],
    )
    .stdout;
    assert!(out.contains("  app_id[0] query_string [<app_id>]: found in query parameter `<app_id>`\n      source                [\"my-app\"]\n      -> resolved: [\"my-app\"]\n"), "{out}");
    assert!(out.contains("  app_key[0] query_string [<app_key>]\n      -> not resolved: no key has a usable value\n"), "{out}");
    assert!(
        out.contains("  app_key[1] header [<app_key>]: found in header `<app_key>`\n"),
        "{out}"
    );
    assert!(out.contains("  chosen: app_id my-app, app_key se…(14) (from query parameter `<app_id>`, header `<app_key>`)\n"), "{out}");
    assert!(
        out.contains("&app_id=my-app&app_key=se…(14)&usage%5Bhits%5D=1\n"),
        "{out}"
    );
    assert!(!out.contains("secret-app-key"));
}

#[test]
fn explain_the_basic_auth_pipeline_op_by_op() {
    let out = explain(
        &seed("authorization_basic"),
        "GET https://api.example.com/",
        &[
            "-H",
            "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            "--show-secrets",
        ],
    )
    .stdout;
    let expected = "  app_id[0] header [authorization] + 5 ops: found in header `authorization`
      source                [\"Basic YWxhZGRpbjpvcGVuc2VzYW1l\"]
      [0] split             [\"Basic\", \"YWxhZGRpbjpvcGVuc2VzYW1l\"]
      [1] length            [\"Basic\", \"YWxhZGRpbjpvcGVuc2VzYW1l\"]
      [2] drop              [\"YWxhZGRpbjpvcGVuc2VzYW1l\"]
      [3] base64_urlsafe    [\"aladdin:opensesame\"]
      [4] split             [\"aladdin\", \"opensesame\"]
      -> resolved: [\"aladdin\", \"opensesame\"]
  chosen: app_id aladdin, app_key opensesame (from header `authorization`)
";
    assert!(out.contains(expected), "{out}");
    assert!(out.contains("&app_id=aladdin&app_key=opensesame&"));
}

#[test]
fn explain_the_jwt_in_a_header_pipeline() {
    // {"azp":"my-client","aud":"other"}, base64url without padding.
    let payload = "eyJhenAiOiJteS1jbGllbnQiLCJhdWQiOiJvdGhlciJ9";
    let header = format!("x-jwt-payload: {payload}");
    let out = explain(
        &seed("jwt_header"),
        "GET https://api.example.com/",
        &["-H", &header, "--show-secrets"],
    )
    .stdout;
    let expected = format!(
        "      source                [\"{payload}\"]
      [0] base64_urlsafe    [\"{{\\\"azp\\\":\\\"my-client\\\",\\\"aud\\\":\\\"other\\\"}}\"]
      [1] json              [\"my-client\"]
      [2] take              [\"my-client\"]
      -> resolved: [\"my-client\"]
  chosen: app_id my-client (from header `x-jwt-payload`)
"
    );
    assert!(out.contains(&expected), "{out}");
}

#[test]
fn explain_names_the_failing_op() {
    let run = explain(
        &seed("authorization_long"),
        "GET https://api.example.com/",
        &["-H", "authorization: Bearer abc", "--show-secrets"],
    );
    let expected = "      source                [\"Bearer abc\"]
      [0] split             [\"Bearer\", \"abc\"]
      [1] length            [\"Bearer\", \"abc\"]
      [2] reverse           [\"abc\", \"Bearer\"]
      -> FAILED: op `glob` at [3].glob: no glob pattern matches the value
  chosen: none
";
    assert!(run.stdout.contains(expected), "{}", run.stdout);
    assert!(run.stdout.contains(
        "decision: reply 403 (no lookup query resolved to a credential)\n  content-type: text/plain; charset=utf-8\n  powered-by: 3scale\n  body: \"Authentication parameters missing\\n\"\n"
    ), "{}", run.stdout);
}

#[test]
fn explain_when_no_mapping_rule_matches() {
    let out = explain(
        &seed("mapping_rules"),
        "POST https://api.example.com/orders?user_key=0123456789abcdef",
        &[],
    )
    .stdout;
    assert!(out.contains("mapping rules: 3 static\n  [0] GET / -> hits +1: no match\n  [1] GET /products/ -> products +1: no match\n  [2] ANY /products/{id}/sold -> sales +1, products +1: no match\n  usages: none\n"), "{out}");
    assert!(
        out.contains(
            "decision: reply 404 (no mapping rule matches POST /orders?user_key=01…(16))\n"
        ),
        "{out}"
    );
    assert!(out.contains("  body: \"No Mapping Rule matched\\n\"\n"));
    assert!(!out.contains("0123456789abcdef"));
}

#[test]
fn secrets_are_redacted_unless_asked_for() {
    let request = "GET https://api.example.com/products/1/sold?user_key=0123456789abcdef";
    let redacted = explain(&seed("mapping_rules"), request, &[]).stdout;
    let shown = explain(&seed("mapping_rules"), request, &["--show-secrets"]).stdout;
    assert!(!redacted.contains("0123456789abcdef"), "{redacted}");
    assert!(!redacted.contains("service_token=service_token"));
    assert!(redacted.contains("service_token=se…(13)&user_key=01…(16)&usage%5Bhits%5D=1&usage%5Bproducts%5D=2&usage%5Bsales%5D=1"));
    assert!(shown.contains("service_token=service_token&user_key=0123456789abcdef&usage%5Bhits%5D=1&usage%5Bproducts%5D=2&usage%5Bsales%5D=1"), "{shown}");
    assert!(shown.contains(
        "request: GET https://api.example.com/products/1/sold?user_key=0123456789abcdef\n"
    ));
    assert!(!shown.contains("are redacted"));
}

#[test]
fn json_output_parses_and_carries_the_same_steps() {
    let run = explain(
        &seed("authorization_basic"),
        "GET https://api.example.com/",
        &[
            "-H",
            "authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["service"]["id"], "2555417834789");
    assert_eq!(json["lookups"][0]["steps"].as_array().unwrap().len(), 5);
    assert_eq!(json["lookups"][0]["steps"][4]["stack"][0], "aladdin");
    assert_eq!(json["lookups"][0]["steps"][4]["stack"][1], "op…(10)");
    assert_eq!(json["credential"]["app_id"], "aladdin");
    assert_eq!(json["credential"]["app_key"], "op…(10)");
    assert_eq!(json["rules"]["usages"][0]["metric"], "hits");
    assert_eq!(json["decision"]["action"], "call_out");
    assert_eq!(json["decision"]["cluster"], "outbound|443||su1.3scale.net");
    assert!(!run.stdout.contains("opensesame"));
}

#[test]
fn explain_reads_jwt_claims_from_a_metadata_file() {
    let metadata = scratch(
        "metadata.json",
        r#"{"envoy.filters.http.jwt_authn": {"verified_jwt": {"azp": "my-client", "aud": ["x"], "exp": 1}}}"#,
    );
    let out = explain(
        &seed("oidc"),
        "GET https://api.example.com/",
        &["--metadata", metadata.to_str().unwrap()],
    )
    .stdout;
    assert!(out.contains("  app_id[0] filter envoy.filters.http.jwt_authn/0 keys [azp, aud] + 1 op: found in filter metadata\n      source                [\"my-client\"]\n"), "{out}");
    assert!(out.contains("  chosen: app_id my-client (from filter metadata)\n"));
    let without = explain(&seed("oidc"), "GET https://api.example.com/", &[]).stdout;
    assert!(without.contains("decision: reply 403 (no lookup query resolved to a credential)"));
}

#[test]
fn explain_says_when_system_would_supply_what_is_missing() {
    let out = explain(
        &seed("minimal"),
        "GET https://api.example.com/?<user_key>=k",
        &[],
    )
    .stdout;
    assert!(out.contains("note: service 2555417834780 has no static service token and no mapping rules: it takes them from System at run time, which is not available offline;"), "{out}");
    assert!(out.contains("decision: reply 503 ("), "{out}");
    let with_rules = explain(
        &seed("system_and_services"),
        "GET https://web.app/?user_key=k",
        &[],
    )
    .stdout;
    assert!(with_rules.contains("note: this configuration uses System: rules fetched from it would be evaluated after the static rules shown; they are not available offline\n"), "{with_rules}");
    assert!(with_rules.contains("decision: call 3scale"));
}

#[test]
fn explain_an_unknown_authority() {
    let out = explain(
        &seed("system_and_services"),
        "GET https://other.example/",
        &[],
    )
    .stdout;
    assert!(out.contains("service: none matches\n"), "{out}");
    assert!(out.contains("decision: reply 403 (no service's authorities match `other.example`)\n"));
}

#[test]
fn explain_picks_one_of_several_configurations() {
    let path = scratch("explain-manifests.yaml", MANIFESTS);
    let name = path.to_str().unwrap();
    let several = run(&["explain", name, "--request", "GET https://a/"]);
    assert_eq!(several.code, 2);
    assert!(
        several
            .stderr
            .contains("holds 2 plugin configurations; choose one with --config N")
    );
    let invalid = run(&[
        "explain",
        name,
        "--config",
        "1",
        "--request",
        "GET https://a/",
    ]);
    assert_eq!(invalid.code, 1);
    assert!(invalid.stdout.contains("usage delta is 0"));
    let out = explain(
        name,
        "GET https://a/",
        &["--config", "2", "-H", "x-app-id: app"],
    )
    .stdout;
    assert!(out.contains("service: 2 (services[0])"), "{out}");
}

fn envoy_config_for(name: &str, extra: &[&str]) -> String {
    let file = seed(name);
    let mut args = vec!["envoy-config", file.as_str()];
    args.extend_from_slice(extra);
    run_ok(&args)
}

#[test]
fn envoy_config_embeds_the_configuration_as_json_and_names_clusters_as_it_does() {
    let yaml = envoy_config_for("system_and_services", &["--port", "18080"]);
    let envoy: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
    let listener = &envoy["static_resources"]["listeners"][0];
    assert_eq!(listener["address"]["socket_address"]["port_value"], 18080);
    let hcm = &listener["filter_chains"][0]["filters"][0]["typed_config"];
    let wasm = &hcm["http_filters"][0]["typed_config"]["config"];
    assert_eq!(wasm["failure_policy"], "FAIL_RELOAD");
    let embedded: serde_json::Value =
        serde_json::from_str(wasm["configuration"]["value"].as_str().unwrap()).unwrap();
    let original: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(seed("system_and_services")).unwrap())
            .unwrap();
    assert_eq!(embedded, original);
    assert_eq!(hcm["http_filters"][1]["name"], "envoy.filters.http.router");
    let clusters: Vec<&str> = envoy["static_resources"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cluster| cluster["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        clusters,
        [
            "upstream",
            "outbound|443||su1.3scale.net",
            "outbound|443||multitenant.3scale.net"
        ]
    );
    let system = &envoy["static_resources"]["clusters"][2];
    let address = &system["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
        ["socket_address"];
    assert_eq!(address["address"], "myaccount-admin.3scale.net");
    assert_eq!(address["port_value"], 443);
    assert_eq!(
        system["transport_socket"]["typed_config"]["sni"],
        "myaccount-admin.3scale.net"
    );
    // What it prints is itself an Envoy configuration `validate` understands.
    let path = scratch("generated-envoy.yaml", &yaml);
    let out = run_ok(&["validate", path.to_str().unwrap()]);
    assert!(
        out.contains("(plugin `threescale-wasm-auth`): valid plugin configuration\n"),
        "{out}"
    );
}

#[test]
fn envoy_config_refuses_an_invalid_configuration() {
    let path = scratch("envoy-invalid.yaml", "api: v2\n");
    let run = run(&["envoy-config", path.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("invalid plugin configuration at `api`"),
        "{}",
        run.stdout
    );
}

/// The generated configuration in the real Envoy, which loads the module and hands it the
/// configuration (`--mode validate` creates the Wasm plugin). Needs `ENVOY_BIN` and
/// `THREESCALE_WASM`, which `make test` exports; without them there is nothing to run.
#[test]
fn envoy_config_passes_envoy_validation() {
    let (Some(envoy), Some(wasm)) = (
        std::env::var_os("ENVOY_BIN"),
        std::env::var_os("THREESCALE_WASM"),
    ) else {
        eprintln!("ENVOY_BIN or THREESCALE_WASM not set: Envoy validation not run");
        return;
    };
    let wasm = wasm.to_str().unwrap().to_owned();
    for name in [
        "system_and_services",
        "authorization_long",
        "oidc",
        "minimal",
    ] {
        let yaml = envoy_config_for(name, &["--wasm", &wasm]);
        let path = scratch(&format!("envoy-{name}.yaml"), &yaml);
        let output = Command::new(&envoy)
            .args(["--mode", "validate", "-c"])
            .arg(&path)
            .args(["--log-level", "error"])
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{name}: {all}");
        assert!(all.contains(" OK"), "{name}: {all}");
    }
}
