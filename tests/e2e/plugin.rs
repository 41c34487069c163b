//! The plugin configurations the cases start from.
//!
//! The identities here (service, token, keys, limits) match the simulator model
//! in `fixtures/model.yaml`; change both together.

use serde_json::{Value, json};

/// The authority the configured service answers to.
pub const HOST: &str = "api.example.com";
/// The 3scale service id.
pub const SERVICE_ID: &str = "2555417777777";
/// The service token.
pub const SERVICE_TOKEN: &str = "e2e-service-token";
/// A valid user key (application with a generous plan).
pub const USER_KEY: &str = "e2e-user-key";
/// A user key whose application allows [`LIMITED_CALLS`] calls per hour.
pub const LIMITED_USER_KEY: &str = "e2e-limited-key";
/// Calls per hour allowed to [`LIMITED_USER_KEY`].
pub const LIMITED_CALLS: usize = 3;
/// A user key made of the characters a query string treats specially.
pub const AWKWARD_USER_KEY: &str = "odd&user_key=x y";
/// An application id with [`APP_KEY`] (also used in the Basic-auth example).
pub const APP_ID: &str = "aladdin";
/// The key of [`APP_ID`].
pub const APP_KEY: &str = "opensesame";

/// The default plugin configuration: one service at [`HOST`] with user_key and
/// app_id/app_key credentials (query, header, and Basic `Authorization`), and the
/// mapping rules of docs/behaviour.md §6's example.
pub fn base(backend_cluster: &str, backend_url: &str) -> Value {
    json!({
        "api": "v1",
        "backend": {
            "name": "backend",
            "upstream": { "name": backend_cluster, "url": backend_url, "timeout": 2000 },
        },
        "services": [{
            "id": SERVICE_ID,
            "token": SERVICE_TOKEN,
            "authorities": [HOST, format!("{HOST}:*")],
            "credentials": {
                "user_key": [
                    { "query_string": { "keys": ["user_key"] } },
                    { "header": { "keys": ["x-user-key"] } },
                ],
                "app_id": [
                    { "query_string": { "keys": ["app_id"] } },
                    { "header": { "keys": ["app-id"] } },
                    basic_auth(),
                ],
                "app_key": [
                    { "query_string": { "keys": ["app_key"] } },
                    { "header": { "keys": ["app-key"] } },
                ],
            },
            "mapping_rules": [
                { "method": "GET", "pattern": "/", "usages": [{ "name": "hits", "delta": 1 }] },
                { "method": "GET", "pattern": "/products/", "usages": [{ "name": "products", "delta": 1 }] },
                {
                    "method": "any",
                    "pattern": "/products/{id}/sold",
                    "usages": [{ "name": "sales", "delta": 1 }, { "name": "products", "delta": 1 }],
                },
            ],
        }],
    })
}

/// The `Authorization: Basic` lookup query of docs/behaviour.md §5.
fn basic_auth() -> Value {
    json!({
        "header": {
            "keys": ["authorization"],
            "ops": [
                { "split": { "separator": " ", "max": 2 } },
                { "length": { "min": 2 } },
                { "drop": { "head": 1 } },
                "base64_urlsafe",
                { "split": { "max": 2 } },
            ],
        },
    })
}

/// Sets a top-level key of a plugin configuration.
pub fn set(plugin: &mut Value, key: &str, value: Value) {
    if let Some(object) = plugin.as_object_mut() {
        object.insert(key.to_owned(), value);
    }
}

/// The System access token the simulator model accepts.
pub const SYSTEM_TOKEN: &str = "e2e-access-token";

/// Makes the first service get its token and mapping rules from System (the
/// simulator serves System on the backend's listener, so the same cluster is
/// used for both).
pub fn use_system(plugin: &mut Value, backend_cluster: &str, system_url: &str) {
    set(
        plugin,
        "system",
        json!({
            "name": "system",
            "upstream": { "name": backend_cluster, "url": system_url, "timeout": 2000 },
            "token": SYSTEM_TOKEN,
            "ttl": 300,
        }),
    );
    if let Some(service) = plugin
        .pointer_mut("/services/0")
        .and_then(Value::as_object_mut)
    {
        service.remove("token");
        service.remove("mapping_rules");
    }
}
