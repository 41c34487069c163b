//! Service token and mapping rules fetched from System (SPEC section 8).

use std::time::Duration;

use super::{MODEL, assert_authrep, assert_passed, get, single_authrep};
use crate::envoy_config::BACKEND_HOST;
use crate::harness::{Stack, poll};
use crate::http::Response;
use crate::plugin::{SERVICE_ID, SYSTEM_TOKEN, USER_KEY, use_system};

/// How long the filter may take to fetch its first System configuration.
const FIRST_FETCH_LIMIT: Duration = Duration::from_secs(10);

#[test]
fn token_and_rules_from_system() {
    let mut stack = Stack::start("token_and_rules_from_system", MODEL, |bootstrap| {
        let cluster = bootstrap.backend_cluster.clone();
        let url = format!("http://system.3scale.test:{}/", bootstrap.backend.port());
        use_system(bootstrap.plugin_json(), &cluster, &url);
    });
    let request = get(&format!("/products/?user_key={USER_KEY}"));
    // Until the first fetch has answered, the service counts as unreachable (503).
    let mut last: Option<Response> = None;
    let passed = poll(FIRST_FETCH_LIMIT, || {
        let response = stack.send(&request);
        let ok = response.status == 200;
        last = Some(response.clone());
        ok.then_some(response)
    });
    let Some(response) = passed else {
        panic!("no request passed once System was fetched; last answer:\n{last:?}");
    };
    assert_passed(&response);

    let requests = stack.admin().requests();
    let fetches: Vec<_> = requests
        .iter()
        .filter(|r| r.path.starts_with("/admin/api/services/"))
        .collect();
    let fetch = fetches
        .first()
        .unwrap_or_else(|| panic!("no System fetch in {requests:#?}"));
    assert_eq!(fetch.method, "GET");
    assert_eq!(
        fetch.path,
        format!("/admin/api/services/{SERVICE_ID}/proxy/configs/production/latest.json")
    );
    assert_eq!(
        fetch.param_values("access_token"),
        vec![SYSTEM_TOKEN.to_owned()]
    );
    assert_eq!(
        fetch.header(":authority").or(fetch.header("host")),
        Some(format!("system.3scale.test:{}", stack.sim.backend.port()).as_str()),
        "{fetch:?}"
    );

    // The fetched token and rules are used: GET / hits 1 and GET /products/ products 2.
    stack.admin().reset();
    let response = stack.send(&request);
    assert_passed(&response);
    let authrep = single_authrep(&stack.admin());
    assert_authrep(
        &authrep,
        &[("user_key", USER_KEY)],
        &[("hits", "1"), ("products", "2")],
    );
    assert_eq!(
        authrep.header("host"),
        Some(format!("{BACKEND_HOST}:{}", stack.sim.backend.port()).as_str()),
        "{authrep:?}"
    );
}
