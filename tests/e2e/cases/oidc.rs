//! OpenID Connect: Envoy's own `jwt_authn` filter validates the token, and the
//! filter authorizes the token's OAuth client id (`azp`, else `aud`) as the 3scale
//! `app_id` (the seed's OIDC use case, docs/behaviour.md §4's `filter` source).
//!
//! The chain is `jwt_authn` → the Wasm filter → router, as Istio builds it from a
//! `RequestAuthentication` and a `WasmPlugin` with `phase: AUTHZ`. The identity
//! provider is played by the test: it makes an ES256 key pair when the test starts,
//! gives Envoy the public half as an inline JWKS (`local_jwks`, so nothing is fetched)
//! and signs its own tokens.
//!
//! What the filter sees, as observed with Envoy 1.40: after a token is verified,
//! `jwt_authn` writes the token's payload (the JSON claims, converted to a
//! `google.protobuf.Struct`) into the request's dynamic metadata, namespace
//! `envoy.filters.http.jwt_authn`, under the field named by the provider's
//! `payload_in_metadata`:
//!
//! ```text
//! filter_metadata["envoy.filters.http.jwt_authn"] = { <payload_in_metadata>: { "azp": ..., "aud": ..., ... } }
//! ```
//!
//! That field's name is chosen by whoever writes the Envoy configuration (Istio has
//! used the issuer URL and, in later releases, `payload`), so the seed's path
//! `[envoy.filters.http.jwt_authn, "0"]` uses `"0"` to select the only entry of that
//! one-entry struct whatever its name is. The keys then pick the claim: `azp` (one
//! string), else `aud` (a string, or a list of strings that gives one value per
//! element, hence the seed's `take {head: 1}`). With `forward_payload_header`, the same
//! payload also reaches the filter as a request header: the token's payload segment,
//! base64url without padding.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde::Deserialize;
use serde_json::{Value, json};

use super::single_authrep;
use super::{assert_authrep, assert_local_reply, assert_no_backend_call, assert_passed, get};
use crate::envoy_config::Bootstrap;
use crate::harness::Stack;
use crate::http::{Request, Response};
use crate::plugin::USER_KEY;

/// The simulator model of these cases: OAuth clients as applications.
const OIDC_MODEL: &str = "oidc.yaml";
/// The token issuer (`iss`), also the provider's `payload_in_metadata` (as Istio
/// releases before 1.22 set it).
const ISSUER: &str = "https://idp.example.test/realms/e2e";
/// The `jwt_authn` provider's name.
const PROVIDER: &str = "idp";
/// The dynamic-metadata namespace `jwt_authn` writes.
const JWT_NAMESPACE: &str = "envoy.filters.http.jwt_authn";
/// The header `jwt_authn` forwards the verified payload in.
const PAYLOAD_HEADER: &str = "x-jwt-payload";
/// The routes under this prefix accept a request without a token.
const OPTIONAL_PREFIX: &str = "/public/";
/// The client id the model knows, named in `azp`.
const AZP_CLIENT: &str = "oidc-client";
/// The client id the model knows, named in `aud`.
const AUD_CLIENT: &str = "audience-client";
/// The JWKS key id of the test's key pair.
const KEY_ID: &str = "e2e-key";

/// base64url without padding, as JWS uses it.
fn base64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A stand-in identity provider: one P-256 key pair, made fresh for each test.
struct IdentityProvider {
    key: SigningKey,
}

impl IdentityProvider {
    fn generate() -> IdentityProvider {
        IdentityProvider {
            key: SigningKey::random(&mut rand_core::OsRng),
        }
    }

    /// The public key as a JWKS document (RFC 7517/7518: `kty: EC`, `crv: P-256`,
    /// the point's coordinates base64url-encoded).
    fn jwks(&self) -> String {
        let point = self.key.verifying_key().to_encoded_point(false);
        json!({
            "keys": [{
                "kty": "EC",
                "crv": "P-256",
                "alg": "ES256",
                "use": "sig",
                "kid": KEY_ID,
                "x": base64url(point.x().unwrap()),
                "y": base64url(point.y().unwrap()),
            }],
        })
        .to_string()
    }

    /// A compact JWS: `header.payload.signature`, each part base64url without padding;
    /// the ES256 signature is `r || s` (RFC 7518 section 3.4).
    fn sign(&self, claims: &Value) -> String {
        let header = json!({ "alg": "ES256", "typ": "JWT", "kid": KEY_ID });
        let signing_input = format!(
            "{}.{}",
            base64url(header.to_string()),
            base64url(claims.to_string())
        );
        let signature: Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", base64url(signature.to_bytes()))
    }
}

/// Claims of a token valid for an hour, with `extra` added (or replacing).
fn claims(extra: Value) -> Value {
    let issued = now();
    let mut claims = json!({
        "iss": ISSUER,
        "sub": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "iat": issued,
        "exp": issued + 3600,
        "typ": "Bearer",
    });
    if let (Some(all), Value::Object(more)) = (claims.as_object_mut(), extra) {
        all.extend(more);
    }
    claims
}

/// The `jwt_authn` filter with one provider for `idp`: a token is required
/// everywhere except under [`OPTIONAL_PREFIX`], where a request without one passes
/// (what Istio's `RequestAuthentication` builds: a present token must be valid).
fn jwt_authn(idp: &IdentityProvider, payload_in_metadata: &str, payload_header: bool) -> Value {
    let mut provider = json!({
        "issuer": ISSUER,
        "local_jwks": { "inline_string": idp.jwks() },
        "payload_in_metadata": payload_in_metadata,
        "forward": false,
    });
    if payload_header {
        provider["forward_payload_header"] = json!(PAYLOAD_HEADER);
    }
    json!({
        "name": JWT_NAMESPACE,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": { PROVIDER: provider },
            "rules": [
                {
                    "match": { "prefix": OPTIONAL_PREFIX },
                    "requires": { "requires_any": { "requirements": [
                        { "provider_name": PROVIDER },
                        { "allow_missing": {} },
                    ] } },
                },
                { "match": { "prefix": "/" }, "requires": { "provider_name": PROVIDER } },
            ],
        },
    })
}

/// The seed's `filter` lookup query: the only entry under `jwt_authn`'s namespace,
/// then `azp` or `aud`, keeping the first value.
fn seed_metadata_query() -> Value {
    json!({ "filter": {
        "path": [JWT_NAMESPACE, "0"],
        "keys": ["azp", "aud"],
        "ops": [{ "take": { "head": 1 } }],
    } })
}

/// The seed's header lookup query, in its `json: [{keys: ...}]` form.
fn seed_header_query() -> Value {
    json!({ "header": {
        "keys": [PAYLOAD_HEADER],
        "ops": [
            "base64_urlsafe",
            { "json": [{ "keys": ["azp", "aud"] }] },
            { "take": { "head": 1 } },
        ],
    } })
}

/// Replaces the service's credentials: `app_id` from `app_id_queries`, and a
/// `user_key` query parameter as the fallback for requests without a token.
fn oidc_credentials(bootstrap: &mut Bootstrap, app_id_queries: Value) {
    let credentials = json!({
        "user_key": [{ "query_string": { "keys": ["user_key"] } }],
        "app_id": app_id_queries,
    });
    *bootstrap
        .plugin_json()
        .pointer_mut("/services/0/credentials")
        .unwrap() = credentials;
}

/// A simulator with the OIDC model and Envoy with `jwt_authn` (payload in metadata
/// under `payload_in_metadata`) before the filter, whose `app_id` comes from
/// `app_id_queries`.
fn oidc_stack(
    test: &str,
    idp: &IdentityProvider,
    payload_in_metadata: &str,
    payload_header: bool,
    app_id_queries: Value,
) -> Stack {
    Stack::start(test, OIDC_MODEL, |bootstrap| {
        bootstrap.filters_before = vec![jwt_authn(idp, payload_in_metadata, payload_header)];
        oidc_credentials(bootstrap, app_id_queries);
    })
}

/// A request for `target` with `token` as its bearer token.
fn with_token(target: &str, token: &str) -> Request {
    get(target).header("authorization", format!("Bearer {token}"))
}

/// Checks that the request passed and that 3scale was asked about exactly `app_id`
/// (no app key: an OAuth client id comes alone).
fn assert_authorized_app(stack: &Stack, response: &Response, app_id: &str) {
    assert_passed(response);
    let authrep = single_authrep(&stack.admin());
    assert_authrep(&authrep, &[("app_id", app_id)], &[("hits", "1")]);
    stack.admin().reset();
}

/// Checks a refusal by `jwt_authn` itself: 401 with its reason, and no call to 3scale.
fn assert_rejected_by_jwt_authn(stack: &Stack, response: &Response, reason: &str) {
    assert_eq!(
        response.status, 401,
        "expected jwt_authn's 401:\n{response:?}"
    );
    assert_eq!(response.text(), reason, "jwt_authn's reason:\n{response:?}");
    assert_no_backend_call(&stack.admin());
}

#[test]
fn oidc_azp_in_jwt_authn_metadata_is_the_app_id() {
    let idp = IdentityProvider::generate();
    let mut stack = oidc_stack(
        "oidc_azp_in_metadata",
        &idp,
        ISSUER,
        false,
        json!([seed_metadata_query()]),
    );
    let token = idp.sign(&claims(json!({
        "azp": AZP_CLIENT,
        "aud": [AUD_CLIENT, "account"],
    })));
    let response = stack.send(&with_token("/", &token));
    assert_authorized_app(&stack, &response, AZP_CLIENT);
    let echoed = assert_passed(&response);
    assert_eq!(
        echoed.header_values("authorization"),
        Vec::<&str>::new(),
        "with `forward: false` jwt_authn removes the token before the request goes on"
    );
}

#[test]
fn oidc_aud_is_the_app_id_without_azp() {
    let idp = IdentityProvider::generate();
    let mut stack = oidc_stack(
        "oidc_aud_without_azp",
        &idp,
        ISSUER,
        false,
        json!([seed_metadata_query()]),
    );
    // `aud` as one string.
    let token = idp.sign(&claims(json!({ "aud": AUD_CLIENT })));
    let response = stack.send(&with_token("/", &token));
    assert_authorized_app(&stack, &response, AUD_CLIENT);

    // `aud` as a list: every element is a value, `take {head: 1}` keeps the first.
    let token = idp.sign(&claims(json!({ "aud": [AUD_CLIENT, "account", "broker"] })));
    let response = stack.send(&with_token("/", &token));
    assert_authorized_app(&stack, &response, AUD_CLIENT);
}

#[test]
fn oidc_aud_list_without_take_sends_the_second_audience_as_app_key() {
    // Why the seed keeps `take {head: 1}`: without it, a two-value stack means
    // app_id and app_key (docs/behaviour.md §4), so the second audience is sent as a key
    // (which 3scale ignores only for applications without keys, as here).
    let idp = IdentityProvider::generate();
    let mut stack = oidc_stack(
        "oidc_aud_list_without_take",
        &idp,
        ISSUER,
        false,
        json!([{ "filter": { "path": [JWT_NAMESPACE, "0"], "keys": ["azp", "aud"] } }]),
    );
    let token = idp.sign(&claims(json!({ "aud": [AUD_CLIENT, "account"] })));
    let response = stack.send(&with_token("/", &token));
    assert_passed(&response);
    let authrep = single_authrep(&stack.admin());
    assert_authrep(
        &authrep,
        &[("app_id", AUD_CLIENT), ("app_key", "account")],
        &[("hits", "1")],
    );
}

#[test]
fn oidc_invalid_tokens_never_reach_3scale() {
    let idp = IdentityProvider::generate();
    let mut stack = oidc_stack(
        "oidc_invalid_tokens",
        &idp,
        ISSUER,
        false,
        json!([seed_metadata_query()]),
    );
    let expired = claims(json!({ "azp": AZP_CLIENT, "exp": now() - 3600, "iat": now() - 7200 }));
    let response = stack.send(&with_token("/", &idp.sign(&expired)));
    assert_rejected_by_jwt_authn(&stack, &response, "Jwt is expired");

    let impostor = IdentityProvider::generate();
    let forged = impostor.sign(&claims(json!({ "azp": AZP_CLIENT })));
    let response = stack.send(&with_token("/", &forged));
    assert_rejected_by_jwt_authn(&stack, &response, "Jwt verification fails");

    // Signed with the right key, but by another issuer.
    let elsewhere = idp.sign(&claims(
        json!({ "azp": AZP_CLIENT, "iss": "https://other.test/" }),
    ));
    let response = stack.send(&with_token("/", &elsewhere));
    assert_rejected_by_jwt_authn(&stack, &response, "Jwt issuer is not configured");

    // A valid token whose signature was tampered with.
    let genuine = idp.sign(&claims(json!({ "azp": AZP_CLIENT })));
    let (signed, signature) = genuine.rsplit_once('.').unwrap();
    // One character changed early in the signature: still well-formed base64url.
    let mut changed: Vec<char> = signature.chars().collect();
    changed[10] = if changed[10] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{signed}.{}", changed.into_iter().collect::<String>());
    let response = stack.send(&with_token("/", &tampered));
    assert_rejected_by_jwt_authn(&stack, &response, "Jwt verification fails");

    // Where a token is optional, a present but invalid one is still refused.
    let response = stack.send(&with_token(
        &format!("{OPTIONAL_PREFIX}?user_key={USER_KEY}"),
        &idp.sign(&expired),
    ));
    assert_rejected_by_jwt_authn(&stack, &response, "Jwt is expired");

    // Where a token is required, none at all is refused too, whatever else is sent.
    let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
    assert_rejected_by_jwt_authn(&stack, &response, "Jwt is missing");

    // The valid token passes on the same Envoy.
    let response = stack.send(&with_token("/", &genuine));
    assert_authorized_app(&stack, &response, AZP_CLIENT);
}

#[test]
fn oidc_no_token_on_an_optional_route_uses_the_fallback_credentials() {
    let idp = IdentityProvider::generate();
    let mut stack = oidc_stack(
        "oidc_optional_route",
        &idp,
        ISSUER,
        false,
        json!([seed_metadata_query()]),
    );
    let target = format!("{OPTIONAL_PREFIX}?user_key={USER_KEY}");
    let response = stack.send(&get(&target));
    assert_passed(&response);
    let authrep = single_authrep(&stack.admin());
    assert_authrep(&authrep, &[("user_key", USER_KEY)], &[("hits", "1")]);
    stack.admin().reset();

    // No token and no fallback: the filter's own reply.
    let response = stack.send(&get(OPTIONAL_PREFIX));
    assert_local_reply(&response, 403, "Authentication parameters missing\n");
    assert_no_backend_call(&stack.admin());

    // A token on the same route is used.
    let token = idp.sign(&claims(json!({ "azp": AZP_CLIENT })));
    let response = stack.send(&with_token(OPTIONAL_PREFIX, &token));
    assert_authorized_app(&stack, &response, AZP_CLIENT);
}

#[test]
fn oidc_zero_selects_the_payload_whatever_its_metadata_name() {
    // Later Istio releases name the entry `payload`; "0" finds it as well as the
    // issuer-named entry of the other cases. Naming the entry explicitly also works,
    // and "0" indexes a list: the first audience, without any op.
    let idp = IdentityProvider::generate();
    let mut stack = oidc_stack(
        "oidc_zero_any_name",
        &idp,
        "payload",
        false,
        json!([
            { "filter": { "path": [JWT_NAMESPACE, "payload"], "keys": ["azp"] } },
            { "filter": { "path": [JWT_NAMESPACE, "0", "aud"], "keys": ["0"] } },
        ]),
    );
    let token = idp.sign(&claims(json!({ "azp": AZP_CLIENT, "aud": "ignored" })));
    let response = stack.send(&with_token("/", &token));
    assert_authorized_app(&stack, &response, AZP_CLIENT);

    let token = idp.sign(&claims(json!({ "aud": [AUD_CLIENT, "account"] })));
    let response = stack.send(&with_token("/", &token));
    assert_authorized_app(&stack, &response, AUD_CLIENT);

    let mut stack = oidc_stack(
        "oidc_zero_seed_query_payload",
        &idp,
        "payload",
        false,
        json!([seed_metadata_query()]),
    );
    let response = stack.send(&with_token("/", &token));
    assert_authorized_app(&stack, &response, AUD_CLIENT);
}

#[test]
fn oidc_wrong_metadata_path_does_not_resolve() {
    // A path naming an entry that is not there finds nothing: no credentials.
    let idp = IdentityProvider::generate();
    let mut stack = oidc_stack(
        "oidc_wrong_metadata_path",
        &idp,
        ISSUER,
        false,
        json!([{ "filter": { "path": [JWT_NAMESPACE, "payload"], "keys": ["azp"] } }]),
    );
    let token = idp.sign(&claims(json!({ "azp": AZP_CLIENT })));
    let response = stack.send(&with_token("/", &token));
    assert_local_reply(&response, 403, "Authentication parameters missing\n");
    assert_no_backend_call(&stack.admin());
}

/// Claims whose JSON text is not a multiple of 3 bytes long, so that its base64url
/// form without padding is one that padding-strict decoders refuse.
fn claims_needing_padding(extra: Value) -> Value {
    let mut claims = claims(extra);
    let mut nonce = String::new();
    while claims.to_string().len().is_multiple_of(3) {
        nonce.push('n');
        claims["nonce"] = json!(nonce);
    }
    claims
}

#[test]
fn oidc_app_id_from_the_forwarded_payload_header() {
    let idp = IdentityProvider::generate();
    let mut stack = oidc_stack(
        "oidc_payload_header",
        &idp,
        ISSUER,
        true,
        json!([seed_header_query()]),
    );
    let token = idp.sign(&claims_needing_padding(json!({ "azp": AZP_CLIENT })));
    let response = stack.send(&with_token("/", &token));
    let echoed = assert_passed(&response);
    let forwarded = echoed.header(PAYLOAD_HEADER).unwrap().to_owned();
    assert!(
        !forwarded.contains('=') && !forwarded.len().is_multiple_of(4),
        "jwt_authn forwards the payload as unpadded base64url: {forwarded}"
    );
    assert_eq!(
        forwarded,
        token.split('.').nth(1).unwrap(),
        "the header holds the token's payload segment"
    );
    assert_authorized_app(&stack, &response, AZP_CLIENT);

    let token = idp.sign(&claims_needing_padding(
        json!({ "aud": [AUD_CLIENT, "account"] }),
    ));
    let response = stack.send(&with_token("/", &token));
    assert_authorized_app(&stack, &response, AUD_CLIENT);
}

#[test]
fn oidc_client_supplied_payload_header_is_removed_by_jwt_authn() {
    // A client cannot forge the forwarded payload: jwt_authn removes a
    // client-supplied `x-jwt-payload` on every route its rules cover, also where a
    // token may be missing, and a verified token's payload replaces it.
    let idp = IdentityProvider::generate();
    let mut stack = oidc_stack(
        "oidc_forged_payload_header",
        &idp,
        ISSUER,
        true,
        json!([seed_header_query()]),
    );
    let forged = base64url(json!({ "azp": AZP_CLIENT }).to_string());
    let response = stack.send(&get(OPTIONAL_PREFIX).header(PAYLOAD_HEADER, &forged));
    assert_local_reply(&response, 403, "Authentication parameters missing\n");
    assert_no_backend_call(&stack.admin());

    let target = format!("{OPTIONAL_PREFIX}?user_key={USER_KEY}");
    let response = stack.send(&get(&target).header(PAYLOAD_HEADER, &forged));
    let echoed = assert_passed(&response);
    assert_eq!(echoed.header_values(PAYLOAD_HEADER), Vec::<&str>::new());
    let authrep = single_authrep(&stack.admin());
    assert_authrep(&authrep, &[("user_key", USER_KEY)], &[("hits", "1")]);
    stack.admin().reset();

    let token = idp.sign(&claims(json!({ "azp": "another-client" })));
    let response = stack.send(&with_token("/", &token).header(PAYLOAD_HEADER, &forged));
    assert_local_reply(&response, 403, "Authentication failed\n");
    let authrep = single_authrep(&stack.admin());
    assert_authrep(&authrep, &[("app_id", "another-client")], &[("hits", "1")]);
}

/// An example file of `examples/oidc/`.
fn oidc_example(name: &str) -> String {
    let path = crate::harness::repo_root().join("examples/oidc").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The module path the standalone example names, replaced by the build's.
const EXAMPLE_MODULE_PATH: &str = "/etc/envoy/threescale_wasm_auth.wasm";

#[test]
fn oidc_example_envoy_configuration_validates() {
    // `--mode validate` also loads the module and configures it, so this checks the
    // inline plugin configuration in the real VM as well.
    let artifacts = crate::harness::artifacts();
    let scratch = crate::harness::Scratch::new("oidc_example_validates");
    let example = oidc_example("envoy.yaml");
    assert!(
        example.contains(EXAMPLE_MODULE_PATH),
        "the example names {EXAMPLE_MODULE_PATH}"
    );
    let config = scratch.file("envoy.yaml");
    std::fs::write(
        &config,
        example.replace(EXAMPLE_MODULE_PATH, &artifacts.wasm.display().to_string()),
    )
    .unwrap();
    let mut command = std::process::Command::new(&artifacts.envoy_bin);
    command.arg("--mode").arg("validate").arg("-c").arg(&config);
    let (status, output) = crate::harness::run_with_limit(
        "envoy --mode validate",
        command,
        scratch.file("validate.log"),
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    assert!(
        status.success() && output.contains(" OK"),
        "examples/oidc/envoy.yaml does not validate ({status}):\n{output}"
    );
}

/// The inline plugin configuration of the standalone example.
fn standalone_plugin_configuration() -> String {
    let bootstrap: serde_yaml::Value = serde_yaml::from_str(&oidc_example("envoy.yaml")).unwrap();
    let bootstrap = serde_json::to_value(bootstrap).unwrap();
    let filters = bootstrap
        .pointer(
            "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters",
        )
        .and_then(Value::as_array)
        .unwrap();
    let names: Vec<&str> = filters
        .iter()
        .filter_map(|filter| filter.get("name").and_then(Value::as_str))
        .collect();
    assert_eq!(
        names,
        [
            JWT_NAMESPACE,
            "envoy.filters.http.wasm",
            "envoy.filters.http.router"
        ],
        "jwt_authn must run before the module"
    );
    let wasm = filters[1].pointer("/typed_config/config").unwrap();
    assert_eq!(wasm["failure_policy"], "FAIL_RELOAD");
    wasm.pointer("/configuration/value")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned()
}

/// The WasmPlugin's `pluginConfig` as the JSON Istio hands the module: integers
/// become floats on the way.
fn istio_plugin_configuration() -> String {
    let documents: Vec<Value> = serde_yaml::Deserializer::from_str(&oidc_example("istio.yaml"))
        .map(|document| {
            serde_json::to_value(serde_yaml::Value::deserialize(document).unwrap()).unwrap()
        })
        .collect();
    let kinds: Vec<&str> = documents
        .iter()
        .filter_map(|document| document.get("kind").and_then(Value::as_str))
        .collect();
    assert_eq!(kinds, ["RequestAuthentication", "WasmPlugin"]);
    let plugin = &documents[1];
    assert_eq!(plugin.pointer("/spec/phase"), Some(&json!("AUTHZ")));
    assert_eq!(
        plugin.pointer("/spec/selector"),
        documents[0].pointer("/spec/selector"),
        "both select the same workloads"
    );
    let mut config = plugin.pointer("/spec/pluginConfig").unwrap().clone();
    integers_to_floats(&mut config);
    config.to_string()
}

fn integers_to_floats(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64() {
                *value = json!(float);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integers_to_floats),
        Value::Object(fields) => fields.values_mut().for_each(integers_to_floats),
        _ => {}
    }
}

#[test]
fn oidc_example_plugin_configurations_parse() {
    use threescale_wasm_auth::lookup::LookupQuery;
    let standalone =
        threescale_wasm_auth::config::parse(standalone_plugin_configuration().as_bytes())
            .unwrap_or_else(|e| panic!("examples/oidc/envoy.yaml plugin configuration: {e}"));
    let istio_text = istio_plugin_configuration();
    assert!(
        istio_text.contains("5000.0"),
        "Istio-style floats: {istio_text}"
    );
    let istio = threescale_wasm_auth::config::parse(istio_text.as_bytes())
        .unwrap_or_else(|e| panic!("examples/oidc/istio.yaml pluginConfig: {e}"));
    assert_eq!(
        standalone.services[0].credentials, istio.services[0].credentials,
        "the two examples read the same credentials"
    );
    let [LookupQuery::Filter(query)] = istio.services[0].credentials.app_id.as_slice() else {
        panic!(
            "app_id is one filter query: {:?}",
            istio.services[0].credentials.app_id
        );
    };
    assert_eq!(query.path, [JWT_NAMESPACE, "0"]);
    assert_eq!(query.keys, ["azp", "aud"]);
}
