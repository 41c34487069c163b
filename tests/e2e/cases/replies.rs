//! The filter's own replies, in the order of docs/behaviour.md §3, and usage counting.

use super::{
    MODEL, assert_authrep, assert_local_reply, assert_no_backend_call, assert_passed, get,
    single_authrep,
};
use crate::harness::Stack;
use crate::http::Request;
use crate::plugin::{LIMITED_CALLS, LIMITED_USER_KEY, USER_KEY};

#[test]
fn no_credentials() {
    let mut stack = Stack::start("no_credentials", MODEL, |_| {});
    let response = stack.send(&get("/"));
    assert_local_reply(&response, 403, "Authentication parameters missing\n");
    assert_no_backend_call(&stack.admin());
}

#[test]
fn unknown_service() {
    let mut stack = Stack::start("unknown_service", MODEL, |_| {});
    let request = Request::get(&format!("/?user_key={USER_KEY}")).host("other.example.org");
    let response = stack.send(&request);
    assert_local_reply(&response, 403, "Unknown service\n");
    assert_no_backend_call(&stack.admin());
}

#[test]
fn no_mapping_rule() {
    let mut stack = Stack::start("no_mapping_rule", MODEL, |_| {});
    let request = Request::new("POST", &format!("/orders?user_key={USER_KEY}"))
        .host(crate::plugin::HOST)
        .body("{}");
    let response = stack.send(&request);
    assert_local_reply(&response, 404, "No Mapping Rule matched\n");
    assert_no_backend_call(&stack.admin());
}

#[test]
fn mapping_rule_usages_are_summed_in_order() {
    let mut stack = Stack::start("mapping_rule_usages", MODEL, |_| {});
    let response = stack.send(&get(&format!("/products/1/sold?user_key={USER_KEY}")));
    let echoed = assert_passed(&response);
    assert_eq!(echoed.path, format!("/products/1/sold?user_key={USER_KEY}"));
    let authrep = single_authrep(&stack.admin());
    assert_authrep(
        &authrep,
        &[("user_key", USER_KEY)],
        &[("hits", "1"), ("products", "2"), ("sales", "1")],
    );
}

/// Sends [`LIMITED_CALLS`] allowed requests and one more that must be refused.
fn exhaust_limit(stack: &mut Stack) {
    let request = get(&format!("/?user_key={LIMITED_USER_KEY}"));
    for call in 1..=LIMITED_CALLS {
        let response = stack.send(&request);
        assert_eq!(
            response.status, 200,
            "call {call} of {LIMITED_CALLS} is allowed:\n{response:?}"
        );
    }
    let response = stack.send(&request);
    assert_local_reply(&response, 429, "Usage limit exceeded\n");
    let authreps = stack.admin().requests_to("/transactions/authrep.xml");
    assert_eq!(
        authreps.len(),
        LIMITED_CALLS + 1,
        "one authrep per request: {authreps:#?}"
    );
    for authrep in &authreps {
        assert_authrep(authrep, &[("user_key", LIMITED_USER_KEY)], &[("hits", "1")]);
    }
}

#[test]
fn limits_exceeded_after_allowed_calls() {
    let mut stack = Stack::start("limits_exceeded", MODEL, |_| {});
    exhaust_limit(&mut stack);
}

#[test]
fn two_worker_threads() {
    let mut stack = Stack::start("two_worker_threads", MODEL, |bootstrap| {
        bootstrap.concurrency = 2
    });
    exhaust_limit(&mut stack);
    // Several connections at once, so both workers' VMs serve requests.
    let listener = stack.envoy.listener;
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                get(&format!("/?user_key={USER_KEY}"))
                    .send(listener)
                    .map(|r| r.status)
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap().unwrap(), 200);
    }
    stack.envoy.assert_healthy();
    let per_worker = stack.envoy.stats("worker_[0-9].downstream_cx_total");
    assert_eq!(per_worker.len(), 2, "two workers: {per_worker:?}");
    assert!(
        per_worker.iter().all(|(_, connections)| *connections > 0),
        "both workers (each with its own VM) served connections: {per_worker:?}"
    );
}
