//! Credentials found in the request reach 3scale exactly, and only them.

use super::{MODEL, assert_authrep, assert_local_reply, assert_passed, get, single_authrep};
use crate::harness::Stack;
use crate::plugin::{APP_ID, APP_KEY, AWKWARD_USER_KEY, USER_KEY};

#[test]
fn user_key_in_query_string() {
    let mut stack = Stack::start("user_key_in_query_string", MODEL, |_| {});
    let response = stack.send(&get(&format!("/?user_key={USER_KEY}")));
    let echoed = assert_passed(&response);
    assert_eq!(echoed.method, "GET");
    assert_eq!(echoed.path, format!("/?user_key={USER_KEY}"));
    let authrep = single_authrep(&stack.admin());
    assert_authrep(&authrep, &[("user_key", USER_KEY)], &[("hits", "1")]);
}

#[test]
fn user_key_in_header() {
    let mut stack = Stack::start("user_key_in_header", MODEL, |_| {});
    let response = stack.send(&get("/").header("x-user-key", USER_KEY));
    let echoed = assert_passed(&response);
    assert_eq!(
        echoed.header("x-user-key"),
        Some(USER_KEY),
        "the header goes upstream untouched"
    );
    let authrep = single_authrep(&stack.admin());
    assert_authrep(&authrep, &[("user_key", USER_KEY)], &[("hits", "1")]);
}

#[test]
fn app_id_and_app_key() {
    let mut stack = Stack::start("app_id_and_app_key", MODEL, |_| {});
    let response = stack.send(&get(&format!("/?app_id={APP_ID}&app_key={APP_KEY}")));
    assert_passed(&response);
    let authrep = single_authrep(&stack.admin());
    assert_authrep(
        &authrep,
        &[("app_id", APP_ID), ("app_key", APP_KEY)],
        &[("hits", "1")],
    );

    stack.admin().reset();
    let response = stack.send(
        &get("/")
            .header("app-id", APP_ID)
            .header("app-key", "wrong-key"),
    );
    assert_local_reply(&response, 403, "Authentication failed\n");
    let authrep = single_authrep(&stack.admin());
    assert_authrep(
        &authrep,
        &[("app_id", APP_ID), ("app_key", "wrong-key")],
        &[("hits", "1")],
    );
}

#[test]
fn basic_authorization_header() {
    let mut stack = Stack::start("basic_authorization_header", MODEL, |_| {});
    // base64("aladdin:opensesame"), the worked example of docs/behaviour.md §5.
    let response = stack.send(&get("/").header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"));
    assert_passed(&response);
    let authrep = single_authrep(&stack.admin());
    assert_authrep(
        &authrep,
        &[("app_id", APP_ID), ("app_key", APP_KEY)],
        &[("hits", "1")],
    );
}

#[test]
fn invalid_user_key() {
    let mut stack = Stack::start("invalid_user_key", MODEL, |_| {});
    let response = stack.send(&get("/?user_key=no-such-key"));
    assert_local_reply(&response, 403, "Authentication failed\n");
    let authrep = single_authrep(&stack.admin());
    assert_authrep(&authrep, &[("user_key", "no-such-key")], &[("hits", "1")]);
}

#[test]
fn credential_with_query_syntax_is_percent_encoded() {
    let mut stack = Stack::start("credential_with_query_syntax", MODEL, |_| {});
    // "odd&user_key=x y" sent form-encoded; the filter decodes it to the literal
    // value and must encode it again so it stays one parameter.
    let response = stack.send(&get("/?user_key=odd%26user_key%3Dx+y"));
    assert_passed(&response);
    let authrep = single_authrep(&stack.admin());
    assert_eq!(
        authrep.param_values("user_key"),
        vec![AWKWARD_USER_KEY.to_owned()]
    );
    assert!(
        authrep.query.contains("user_key=odd%26user_key%3Dx%20y"),
        "every byte outside the unreserved set is %XX-encoded: {}",
        authrep.query
    );
    assert_authrep(
        &authrep,
        &[("user_key", AWKWARD_USER_KEY)],
        &[("hits", "1")],
    );
}

#[test]
fn header_value_with_non_utf8_byte() {
    let mut stack = Stack::start("header_value_with_non_utf8_byte", MODEL, |_| {});
    let mut key = USER_KEY.as_bytes().to_vec();
    key.push(0xff);
    let response = stack.send(&get("/").header("x-user-key", &key));
    // The value does not resolve (docs/behaviour.md §4), so there are no credentials.
    assert_local_reply(&response, 403, "Authentication parameters missing\n");
    super::assert_no_backend_call(&stack.admin());

    // The same for a query value whose decoded bytes are not UTF-8.
    let response = stack.send(&get("/?user_key=%FF"));
    assert_local_reply(&response, 403, "Authentication parameters missing\n");
    super::assert_no_backend_call(&stack.admin());

    let response = stack.send(&get("/").header("x-user-key", USER_KEY));
    assert_passed(&response);
    let authrep = single_authrep(&stack.admin());
    assert_authrep(&authrep, &[("user_key", USER_KEY)], &[("hits", "1")]);
}
