use super::*;
use crate::config::parse;
use crate::request::PlainRequest;

fn config(yaml: &str) -> Config {
    parse(yaml.as_bytes()).unwrap()
}

fn seed(name: &str) -> Config {
    let path = format!(
        "{}/tests/fixtures/seed/{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    parse(&std::fs::read(path).unwrap()).unwrap()
}

const SHOWN: Options = Options { show_secrets: true };
const HIDDEN: Options = Options {
    show_secrets: false,
};

#[test]
fn a_user_key_request_becomes_the_flows_authrep_call() {
    let config = seed("mapping_rules");
    let request = PlainRequest::new("GET", "web.app", "/products/1/sold?user_key=secretkey123");
    let explanation = explain(&config, &request, SHOWN);
    assert_eq!(
        explanation.service,
        Some(ServiceChoice {
            index: 0,
            id: "2555417834789".into(),
            authority_glob: "*".into()
        })
    );
    let usages: Vec<(&str, u64)> = explanation
        .rules
        .as_ref()
        .unwrap()
        .usages
        .iter()
        .map(|usage| (usage.metric.as_str(), usage.delta))
        .collect();
    assert_eq!(usages, [("hits", 1), ("products", 2), ("sales", 1)]);
    let Decision::CallOut(call_out) = flow::on_request(&config, &Fetched::new(), &request, None)
    else {
        panic!("no call out");
    };
    let DecisionView::CallOut { url, cluster, .. } = &explanation.decision else {
        panic!("not a call out: {:?}", explanation.decision);
    };
    assert_eq!(cluster.as_str(), &*call_out.call.cluster);
    assert!(
        url.ends_with(call_out.call.header(":path").unwrap()),
        "{url}"
    );
    assert!(url.contains("user_key=secretkey123"));
}

#[test]
fn secrets_are_redacted_unless_shown() {
    let config = seed("mapping_rules");
    let request = PlainRequest::new("GET", "web.app", "/?user_key=secretkey123&x=1");
    let explanation = explain(&config, &request, HIDDEN);
    let text = format!("{explanation:?}");
    assert!(!text.contains("secretkey123"), "{text}");
    assert!(!text.contains("service_token&"), "{text}");
    assert_eq!(explanation.request.unwrap().path, "/?user_key=se…(12)&x=1");
    let DecisionView::CallOut { url, .. } = &explanation.decision else {
        panic!("not a call out");
    };
    assert!(url.contains("service_token=se…(13)"), "{url}");
    assert!(url.contains("user_key=se…(12)"), "{url}");
}

#[test]
fn the_app_id_stays_visible_and_the_key_and_stacks_do_not() {
    let config = seed("authorization_basic");
    let request = PlainRequest::new("GET", "web.app", "/")
        .with_header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
    let explanation = explain(&config, &request, HIDDEN);
    let credential = explanation.credential.clone().unwrap();
    assert_eq!(credential.app_id.as_deref(), Some("aladdin"));
    assert_eq!(credential.app_key.as_deref(), Some("op…(10)"));
    let lookup = explanation.lookups.first().unwrap();
    assert_eq!(lookup.steps.len(), 5);
    assert_eq!(
        lookup.outcome,
        QueryOutcome::Resolved {
            values: vec!["aladdin".into(), "op…(10)".into()]
        }
    );
    assert!(!format!("{explanation:?}").contains("opensesame"));
    assert!(!format!("{explanation:?}").contains("YWxhZGRpbjpvcGVuc2VzYW1l"));
}

#[test]
fn a_failing_op_is_named_with_its_position() {
    let config = seed("authorization_basic");
    let request = PlainRequest::new("GET", "web.app", "/").with_header("authorization", "Basic");
    let explanation = explain(&config, &request, SHOWN);
    assert_eq!(
        explanation.lookups.first().unwrap().outcome,
        QueryOutcome::OpFailed {
            index: 1,
            op: "length".into(),
            at: "[1].length".into(),
            reason: "length 1 is below the minimum 2".into(),
        }
    );
    let DecisionView::Reply { status, body, .. } = &explanation.decision else {
        panic!("not a reply");
    };
    assert_eq!(
        (*status, body.as_str()),
        (403, "Authentication parameters missing\n")
    );
}

#[test]
fn rules_after_a_matching_last_rule_are_not_evaluated() {
    let config = config(
        r#"{"api": "v1", "backend": {"upstream": {"name": "b", "url": "http://b/"}},
            "services": [{"id": "1", "token": "t",
              "credentials": {"user_key": [{"query_string": {"keys": ["k"]}}]},
              "mapping_rules": [
                {"method": "GET", "pattern": "/a", "usages": [{"name": "a", "delta": 1}], "last": true},
                {"method": "GET", "pattern": "/", "usages": [{"name": "hits", "delta": 1}]}]}]}"#,
    );
    let request = PlainRequest::new("GET", "web.app", "/a?k=1");
    let rules = explain(&config, &request, SHOWN).rules.unwrap();
    let seen: Vec<(bool, bool)> = rules
        .rules
        .iter()
        .map(|r| (r.evaluated, r.matched))
        .collect();
    assert_eq!(seen, [(true, true), (false, false)]);
    assert_eq!(
        rules.usages,
        [UsageView {
            metric: "a".into(),
            delta: 1
        }]
    );
}

#[test]
fn a_service_waiting_for_system_says_so() {
    let config = seed("minimal");
    let request = PlainRequest::new("GET", "web.app", "/?<user_key>=k");
    let explanation = explain(&config, &request, SHOWN);
    assert!(explanation.rules.is_none());
    assert!(
        explanation
            .notes
            .iter()
            .any(|note| note.contains("not available offline"))
    );
    let DecisionView::Reply { status, .. } = explanation.decision else {
        panic!("not a reply");
    };
    assert_eq!(status, 503);
}

#[test]
fn an_unknown_authority_selects_no_service() {
    let config = seed("system_and_services");
    let request = PlainRequest::new("GET", "other.example", "/?user_key=k");
    let explanation = explain(&config, &request, SHOWN);
    assert_eq!(explanation.service, None);
    assert!(explanation.lookups.is_empty());
    let DecisionView::Reply { status, reason, .. } = explanation.decision else {
        panic!("not a reply");
    };
    assert_eq!(status, 403);
    assert!(reason.contains("other.example"));
}

#[test]
fn passthrough_headers_redact_the_key_part() {
    let config = config(
        r#"{"api": "v1", "backend": {"upstream": {"name": "b", "url": "http://b/"}},
            "passthrough_metadata": true,
            "services": [{"id": "1", "token": "servicetoken",
              "credentials": {"app_id": [{"header": {"keys": ["x-id"], "ops": [{"split": {}}]}}]},
              "mapping_rules": [{"method": "GET", "pattern": "/", "usages": [{"name": "hits", "delta": 1}]}]}]}"#,
    );
    let request = PlainRequest::new("GET", "web.app", "/").with_header("x-id", "app:secretkey9");
    let DecisionView::Continue { changes, .. } = explain(&config, &request, HIDDEN).decision else {
        panic!("not a continue");
    };
    let header = |name: &str| {
        changes
            .set_headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    assert_eq!(header("x-3scale-app-id").as_deref(), Some("app:se…(10)"));
    assert_eq!(header("x-3scale-service-token").as_deref(), Some("se…(12)"));
}
