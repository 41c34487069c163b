use super::*;

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// 2024-02-29 13:45:30 UTC: 30 s left in the minute, 36 870 s in the day.
const NOW: i64 = 1_709_214_330;

const MODEL: &str = r#"
services:
  - id: "1"
    token: tok
    metrics:
      - name: hits
      - name: products
        parent: hits
      - name: sales
        parent: hits
      - name: storage
    applications:
      - user_key: uk
        plan:
          name: Basic
          limits:
            - { metric: hits, period: minute, max: 3 }
            - { metric: hits, period: day, max: 10 }
            - { metric: products, period: eternity, max: 2 }
      - app_id: app
        app_keys: [secret]
        plan: { name: Pro }
      - app_id: open
        plan: { name: Open, limits: [ { metric: storage, period: hour, max: 5 } ] }
      - app_id: gone
        suspended: true
        plan: { name: Basic }
  - id: "2"
    token: tok2
    metrics: [ { name: hits } ]
"#;

const ALL_OPTIONS: &[u8] = b"rejection_reason_header=1&limit_headers=1&no_body=1";

struct Sim {
    model: Model,
    counters: Counters,
}

impl Sim {
    fn new() -> Sim {
        Sim {
            model: Model::from_yaml(MODEL).unwrap(),
            counters: Counters::default(),
        }
    }

    fn call(&mut self, call: AuthCall, query: &str, options: Option<&[u8]>) -> Answer {
        authorize(
            &self.model,
            &mut self.counters,
            call,
            query.as_bytes(),
            options,
            NOW,
        )
    }

    fn authrep(&mut self, query: &str) -> Answer {
        self.call(AuthCall::Authrep, query, Some(ALL_OPTIONS))
    }

    fn report(&mut self, body: &str, options: Option<&[u8]>) -> ReportOutcome {
        report(
            &self.model,
            &mut self.counters,
            Some(b"application/x-www-form-urlencoded"),
            body.as_bytes(),
            options,
            NOW,
        )
    }

    fn hits(&self, app: usize, metric: &str, period: Period) -> i64 {
        self.counters.current("1", app, metric, period, NOW)
    }
}

fn user_key_query(usage: &str) -> String {
    format!("service_token=tok&service_id=1&user_key=uk{usage}")
}

fn reason(answer: &Answer) -> Option<&str> {
    answer.header("3scale-rejection-reason")
}

/// (query, status, code in body) for the error precedence table.
const ERRORS: &[(&str, u16, &str)] = &[
    (
        "service_id=1&user_key=uk",
        403,
        "provider_key_or_service_token_required",
    ),
    (
        "service_token=&service_id=1&user_key=uk",
        403,
        "provider_key_or_service_token_required",
    ),
    ("service_token=tok&user_key=uk", 422, "service_id_missing"),
    (
        "service_token=tok&service_id=+&user_key=uk",
        422,
        "service_id_missing",
    ),
    (
        "service_token=bad&service_id=1&user_key=uk",
        403,
        "service_token_invalid",
    ),
    (
        "service_token=tok&service_id=9&user_key=uk",
        403,
        "service_token_invalid",
    ),
    (
        "service_token=tok2&service_id=1&user_key=uk",
        403,
        "service_token_invalid",
    ),
    (
        "service_token=tok&service_id=1&user_key=uk&user_id=u",
        400,
        "end_users_no_longer_supported",
    ),
    (
        "service_token=tok&service_id=1",
        404,
        "application_not_found",
    ),
    (
        "service_token=tok&service_id=1&user_key=uk&app_id=app",
        403,
        "authentication_error",
    ),
    (
        "service_token=tok&service_id=1&user_key=nope",
        403,
        "user_key_invalid",
    ),
    (
        "service_token=tok&service_id=1&app_id=nope",
        404,
        "application_not_found",
    ),
    (
        "service_token=tok&service_id=1&user_key=uk&usage%5Bnope%5D=1",
        404,
        "metric_invalid",
    ),
    (
        "service_token=tok&service_id=1&user_key=uk&usage%5Bhits%5D=x",
        403,
        "usage_value_invalid",
    ),
    (
        "service_token=tok&service_id=1&user_key=uk&usage%5Bhits%5D=-1",
        403,
        "usage_value_invalid",
    ),
    (
        "service_token=tok&service_id=1&user_key=%FF",
        422,
        "not_valid_data",
    ),
    (
        "service_token=tok&service_id=1&user_key=%G1",
        400,
        "bad_request",
    ),
    (
        "service_token=tok&service_id=1&usage=1&usage%5Bhits%5D=1",
        400,
        "bad_request",
    ),
];

#[test]
fn error_precedence_table() {
    for (query, status, code) in ERRORS {
        let mut sim = Sim::new();
        let answer = sim.call(AuthCall::Authrep, query, None);
        assert_eq!(answer.status, *status, "{query}");
        assert!(
            answer.body.contains(&format!(r#"<error code="{code}">"#)),
            "{query}: {}",
            answer.body
        );
        assert_eq!(
            reason(&answer),
            None,
            "errors carry no rejection header: {query}"
        );
    }
}

#[test]
fn error_messages_quote_the_offending_values() {
    let mut sim = Sim::new();
    let answer = sim.call(
        AuthCall::Authorize,
        "service_token=bad&service_id=1&user_key=uk",
        None,
    );
    assert_eq!(
        answer.body,
        r#"<?xml version="1.0" encoding="UTF-8"?><error code="service_token_invalid">service token "bad" or service id "1" is invalid</error>"#
    );
    let answer = sim.call(AuthCall::Authorize, &user_key_query("x"), None);
    assert!(answer.body.contains(r#"user key "ukx" is invalid"#));
}

#[test]
fn errors_with_no_body_are_empty_except_syntax_errors() {
    let mut sim = Sim::new();
    let answer = sim.call(
        AuthCall::Authrep,
        "service_token=tok&service_id=1&user_key=nope",
        Some(ALL_OPTIONS),
    );
    assert_eq!((answer.status, answer.body.as_str()), (403, ""));
    let answer = sim.call(
        AuthCall::Authrep,
        "service_token=tok&service_id=1&user_key=%FF",
        Some(ALL_OPTIONS),
    );
    assert_eq!(answer.status, 422);
    assert!(answer.body.contains("not_valid_data"));
}

#[test]
fn usage_that_is_not_a_hash_is_a_bare_403() {
    let mut sim = Sim::new();
    let answer = sim.call(AuthCall::Authrep, &user_key_query("&usage=5"), None);
    assert_eq!((answer.status, answer.body.as_str()), (403, ""));
}

#[test]
fn wrong_app_key_is_a_denial_not_an_error() {
    let mut sim = Sim::new();
    for (query, message) in [
        (
            "service_token=tok&service_id=1&app_id=app",
            "application key is missing",
        ),
        (
            "service_token=tok&service_id=1&app_id=app&app_key=",
            "application key is missing",
        ),
        (
            "service_token=tok&service_id=1&app_id=app&app_key=nope",
            r#"application key "nope" is invalid"#,
        ),
    ] {
        let answer = sim.call(
            AuthCall::Authrep,
            query,
            Some(b"rejection_reason_header=1&limit_headers=1"),
        );
        assert_eq!(answer.status, 409, "{query}");
        assert_eq!(reason(&answer), Some("application_key_invalid"));
        assert!(
            answer.body.contains(&format!("<reason>{message}</reason>")),
            "{}",
            answer.body
        );
        assert_eq!(
            answer.header("3scale-limit-remaining"),
            None,
            "only limits_exceeded has limit headers"
        );
    }
    let answer =
        sim.authrep("service_token=tok&service_id=1&app_id=app&app_key=secret&usage%5Bhits%5D=1");
    assert_eq!(answer.status, 200);
}

#[test]
fn key_check_comes_before_metric_check_with_a_body() {
    let mut sim = Sim::new();
    let query = "service_token=tok&service_id=1&app_id=app&app_key=bad&usage%5Bnope%5D=1";
    let answer = sim.call(AuthCall::Authrep, query, None);
    assert_eq!(answer.status, 409);
    // With no_body apisonator loads the usage's limits first and fails on the metric.
    let answer = sim.call(AuthCall::Authrep, query, Some(ALL_OPTIONS));
    assert_eq!(answer.status, 404);
}

#[test]
fn app_without_keys_needs_no_key() {
    let mut sim = Sim::new();
    let answer = sim.authrep("service_token=tok&service_id=1&app_id=open&app_key=anything");
    assert_eq!(answer.status, 200);
}

#[test]
fn suspended_application_is_denied() {
    let mut sim = Sim::new();
    let answer = sim.authrep("service_token=tok&service_id=1&app_id=gone&usage%5Bhits%5D=1");
    assert_eq!(
        (answer.status, reason(&answer)),
        (409, Some("application_not_active"))
    );
}

#[test]
fn authrep_counts_until_the_minute_limit() {
    let mut sim = Sim::new();
    for expected_remaining in ["2", "1", "0"] {
        let answer = sim.authrep(&user_key_query("&usage%5Bhits%5D=1"));
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("3scale-limit-remaining"),
            Some(expected_remaining)
        );
        assert_eq!(answer.header("3scale-limit-reset"), Some("30"));
        assert_eq!(answer.header("3scale-limit-max-value"), Some("3"));
        assert_eq!(answer.body, "");
    }
    let answer = sim.authrep(&user_key_query("&usage%5Bhits%5D=1"));
    assert_eq!(
        (answer.status, reason(&answer)),
        (409, Some("limits_exceeded"))
    );
    assert_eq!(answer.header("3scale-limit-remaining"), Some("0"));
    assert_eq!(answer.header("3scale-limit-reset"), Some("30"));
    assert_eq!(
        sim.hits(0, "hits", Period::Minute),
        3,
        "denied authreps do not count"
    );
    assert_eq!(sim.hits(0, "hits", Period::Day), 3);
}

#[test]
fn authorize_never_counts() {
    let mut sim = Sim::new();
    for _ in 0..5 {
        let answer = sim.call(
            AuthCall::Authorize,
            &user_key_query("&usage%5Bhits%5D=1"),
            Some(ALL_OPTIONS),
        );
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("3scale-limit-remaining"), Some("3"));
    }
    assert_eq!(sim.hits(0, "hits", Period::Minute), 0);
}

#[test]
fn delta_larger_than_one() {
    let mut sim = Sim::new();
    let answer = sim.authrep(&user_key_query("&usage%5Bhits%5D=2"));
    assert_eq!(
        answer.header("3scale-limit-remaining"),
        Some("0"),
        "(3-2)/2"
    );
    let answer = sim.authrep(&user_key_query("&usage%5Bhits%5D=2"));
    assert_eq!(answer.status, 409, "2 + 2 > 3");
    let answer = sim.authrep(&user_key_query("&usage%5Bhits%5D=1"));
    assert_eq!(answer.status, 200, "2 + 1 <= 3");
}

#[test]
fn child_usage_counts_for_the_parent() {
    let mut sim = Sim::new();
    let answer = sim.authrep(&user_key_query("&usage%5Bproducts%5D=1"));
    assert_eq!(answer.status, 200);
    assert_eq!(sim.hits(0, "hits", Period::Minute), 1);
    assert_eq!(sim.hits(0, "products", Period::Eternity), 1);
    let answer = sim.authrep(&user_key_query("&usage%5Bproducts%5D=1"));
    assert_eq!(answer.status, 200);
    // products: eternity limit 2 is now reached.
    let answer = sim.authrep(&user_key_query("&usage%5Bproducts%5D=1"));
    assert_eq!(
        (answer.status, reason(&answer)),
        (409, Some("limits_exceeded"))
    );
}

#[test]
fn parent_limit_applies_to_child_usage() {
    let mut sim = Sim::new();
    assert_eq!(
        sim.authrep(&user_key_query("&usage%5Bsales%5D=3")).status,
        200
    );
    let answer = sim.authrep(&user_key_query("&usage%5Bsales%5D=1"));
    assert_eq!(answer.status, 409, "hits/minute is full through sales");
}

#[test]
fn flat_usage_skips_the_hierarchy() {
    let mut sim = Sim::new();
    let options: &[u8] = b"rejection_reason_header=1&no_body=1&flat_usage=1";
    for _ in 0..4 {
        let answer = sim.call(
            AuthCall::Authrep,
            &user_key_query("&usage%5Bsales%5D=1"),
            Some(options),
        );
        assert_eq!(answer.status, 200);
    }
    assert_eq!(sim.hits(0, "hits", Period::Minute), 0);
    assert_eq!(sim.hits(0, "sales", Period::Minute), 4);
}

#[test]
fn limits_on_other_metrics_do_not_apply() {
    let mut sim = Sim::new();
    sim.counters.apply(
        "1",
        0,
        "hits",
        Delta {
            set: false,
            value: 50,
        },
        NOW,
    );
    let answer = sim.authrep(&user_key_query("&usage%5Bstorage%5D=1"));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("3scale-limit-remaining"), Some("-1"));
    assert_eq!(answer.header("3scale-limit-reset"), Some("-1"));
    assert_eq!(answer.header("3scale-limit-max-value"), None);
}

#[test]
fn without_usage_any_exceeded_limit_denies() {
    let mut sim = Sim::new();
    sim.counters.apply(
        "1",
        0,
        "hits",
        Delta {
            set: false,
            value: 3,
        },
        NOW,
    );
    let answer = sim.authrep(&user_key_query(""));
    assert_eq!(answer.status, 200, "3 <= 3 still holds");
    sim.counters.apply(
        "1",
        0,
        "hits",
        Delta {
            set: false,
            value: 1,
        },
        NOW,
    );
    let answer = sim.authrep(&user_key_query(""));
    assert_eq!(
        (answer.status, reason(&answer)),
        (409, Some("limits_exceeded"))
    );
}

#[test]
fn zero_usage_is_checked_but_not_counted() {
    let mut sim = Sim::new();
    let answer = sim.authrep(&user_key_query("&usage%5Bhits%5D=0"));
    assert_eq!(answer.status, 200);
    assert_eq!(sim.hits(0, "hits", Period::Eternity), 0);
}

#[test]
fn set_usage_replaces_counters() {
    let mut sim = Sim::new();
    sim.authrep(&user_key_query("&usage%5Bhits%5D=2"));
    let answer = sim.authrep(&user_key_query("&usage%5Bhits%5D=%231"));
    assert_eq!(answer.status, 200);
    assert_eq!(sim.hits(0, "hits", Period::Minute), 1);
}

#[test]
fn status_body_of_authrep_shows_the_counted_value() {
    let mut sim = Sim::new();
    let answer = sim.call(
        AuthCall::Authrep,
        &user_key_query("&usage%5Bproducts%5D=1"),
        None,
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some(CONTENT_TYPE));
    assert_eq!(
        answer.body,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><status><authorized>true</authorized><plan>Basic</plan><usage_reports>"#,
            r#"<usage_report metric="hits" period="day"><period_start>2024-02-29 00:00:00 +0000</period_start>"#,
            "<period_end>2024-03-01 00:00:00 +0000</period_end><max_value>10</max_value><current_value>1</current_value></usage_report>",
            r#"<usage_report metric="hits" period="minute"><period_start>2024-02-29 13:45:00 +0000</period_start>"#,
            "<period_end>2024-02-29 13:46:00 +0000</period_end><max_value>3</max_value><current_value>1</current_value></usage_report>",
            r#"<usage_report metric="products" period="eternity"><max_value>2</max_value><current_value>1</current_value></usage_report>"#,
            "</usage_reports></status>"
        )
    );
}

#[test]
fn authorize_body_shows_stored_values() {
    let mut sim = Sim::new();
    sim.authrep(&user_key_query("&usage%5Bhits%5D=1"));
    let answer = sim.call(
        AuthCall::Authorize,
        &user_key_query("&usage%5Bhits%5D=1"),
        None,
    );
    assert!(answer.body.contains(
        r#"period="minute"><period_start>2024-02-29 13:45:00 +0000</period_start><period_end>2024-02-29 13:46:00 +0000</period_end><max_value>3</max_value><current_value>1</current_value>"#
    ), "{}", answer.body);
}

#[test]
fn denial_body_marks_exceeded_reports() {
    let mut sim = Sim::new();
    sim.counters.apply(
        "1",
        0,
        "hits",
        Delta {
            set: false,
            value: 4,
        },
        NOW,
    );
    let answer = sim.call(
        AuthCall::Authrep,
        &user_key_query("&usage%5Bhits%5D=1"),
        None,
    );
    assert_eq!(answer.status, 409);
    assert!(
        answer
            .body
            .contains("<authorized>false</authorized><reason>usage limits are exceeded</reason>")
    );
    assert!(
        answer
            .body
            .contains(r#"<usage_report metric="hits" period="minute" exceeded="true">"#)
    );
    assert!(answer.body.contains("<current_value>4</current_value>"));
}

#[test]
fn hierarchy_extension_lists_children() {
    let mut sim = Sim::new();
    let answer = sim.call(
        AuthCall::Authorize,
        &user_key_query(""),
        Some(b"hierarchy=1"),
    );
    assert!(answer.body.contains(
        r#"<hierarchy><metric name="hits" children="products sales"/><metric name="hits" children="products sales"/><metric name="products" children=""/></hierarchy>"#
    ), "{}", answer.body);
}

#[test]
fn limit_headers_prefer_the_longer_period_on_ties() {
    let mut sim = Sim::new();
    // minute: 3-0 left, day: 10-7 = 3 left: the day wins the tie.
    sim.counters.apply(
        "1",
        0,
        "hits",
        Delta {
            set: false,
            value: 7,
        },
        NOW - 3_600,
    );
    let answer = sim.call(
        AuthCall::Authorize,
        &user_key_query("&usage%5Bhits%5D=1"),
        Some(ALL_OPTIONS),
    );
    assert_eq!(answer.header("3scale-limit-remaining"), Some("3"));
    assert_eq!(answer.header("3scale-limit-reset"), Some("36870"));
    assert_eq!(answer.header("3scale-limit-max-value"), Some("10"));
}

#[test]
fn limit_headers_with_parent_metric_in_scope() {
    let mut sim = Sim::new();
    let answer = sim.call(
        AuthCall::Authorize,
        &user_key_query("&usage%5Bproducts%5D=1"),
        Some(ALL_OPTIONS),
    );
    // products/eternity: 2 left; hits/minute: 3 left; the eternity report is most constrained.
    assert_eq!(answer.header("3scale-limit-remaining"), Some("2"));
    assert_eq!(answer.header("3scale-limit-reset"), Some("-1"));
    assert_eq!(answer.header("3scale-limit-max-value"), Some("2"));
}

#[test]
fn limit_headers_without_limits_are_unconstrained() {
    let mut sim = Sim::new();
    let answer =
        sim.authrep("service_token=tok&service_id=1&app_id=app&app_key=secret&usage%5Bhits%5D=1");
    assert_eq!(answer.header("3scale-limit-remaining"), Some("-1"));
    assert_eq!(answer.header("3scale-limit-reset"), Some("-1"));
}

#[test]
fn report_counts_always() {
    let mut sim = Sim::new();
    let outcome = sim.report(
        "service_token=tok&service_id=1&transactions%5B0%5D%5Buser_key%5D=uk&transactions%5B0%5D%5Busage%5D%5Bproducts%5D=7\
         &transactions%5B1%5D%5Bapp_id%5D=open&transactions%5B1%5D%5Busage%5D%5Bstorage%5D=2",
        None,
    );
    assert_eq!(
        (outcome.answer.status, outcome.answer.body.as_str()),
        (202, "")
    );
    assert_eq!(outcome.dropped, None);
    assert_eq!(
        sim.hits(0, "hits", Period::Minute),
        7,
        "over the limit: reports are not checked"
    );
    assert_eq!(sim.hits(0, "products", Period::Eternity), 7);
    assert_eq!(sim.hits(2, "storage", Period::Hour), 2);
}

#[test]
fn report_with_flat_usage() {
    let mut sim = Sim::new();
    sim.report(
        "service_token=tok&service_id=1&transactions%5B0%5D%5Buser_key%5D=uk&transactions%5B0%5D%5Busage%5D%5Bproducts%5D=1",
        Some(b"flat_usage=1"),
    );
    assert_eq!(sim.hits(0, "hits", Period::Minute), 0);
    assert_eq!(sim.hits(0, "products", Period::Minute), 1);
}

#[test]
fn report_batch_is_all_or_nothing() {
    let mut sim = Sim::new();
    let outcome = sim.report(
        "service_token=tok&service_id=1&transactions%5B0%5D%5Buser_key%5D=uk&transactions%5B0%5D%5Busage%5D%5Bhits%5D=1\
         &transactions%5B1%5D%5Buser_key%5D=nope&transactions%5B1%5D%5Busage%5D%5Bhits%5D=1",
        None,
    );
    assert_eq!(outcome.answer.status, 202);
    assert_eq!(
        outcome.dropped,
        Some(ApiError::UserKeyInvalid("nope".into()))
    );
    assert_eq!(sim.hits(0, "hits", Period::Minute), 0);
}

#[test]
fn report_synchronous_errors() {
    let cases: &[(&str, u16, &str)] = &[
        (
            "transactions%5B0%5D%5Buser_key%5D=uk",
            403,
            "provider_key_or_service_token_required",
        ),
        (
            "service_token=tok&service_id=1",
            400,
            "transactions_is_blank",
        ),
        (
            "service_token=tok&service_id=1&transactions=x",
            400,
            "transactions_format_invalid",
        ),
        (
            "service_token=tok&service_id=1&transactions%5B0%5D",
            400,
            "transactions_has_nil_transaction",
        ),
        (
            "service_token=tok&service_id=1&transactions%5B0%5D%5Buser_id%5D=u",
            400,
            "end_users_no_longer_supported",
        ),
        (
            "service_token=no&service_id=1&transactions%5B0%5D%5Buser_key%5D=uk",
            403,
            "service_token_invalid",
        ),
    ];
    for (body, status, code) in cases {
        let mut sim = Sim::new();
        let outcome = sim.report(body, None);
        assert_eq!(outcome.answer.status, *status, "{body}");
        assert!(
            outcome.answer.body.contains(code),
            "{body}: {}",
            outcome.answer.body
        );
    }
}

#[test]
fn report_rejects_other_content_types() {
    let mut sim = Sim::new();
    let outcome = report(
        &sim.model,
        &mut sim.counters,
        Some(b"application/json; charset=utf-8"),
        b"{}",
        None,
        NOW,
    );
    assert_eq!(outcome.answer.status, 400);
    assert!(
        outcome
            .answer
            .body
            .contains("invalid Content-Type: application/json")
    );
}

#[test]
fn report_with_only_zero_usage_skips_the_application_check() {
    let mut sim = Sim::new();
    let outcome = sim.report(
        "service_token=tok&service_id=1&transactions%5B0%5D%5Buser_key%5D=nope&transactions%5B0%5D%5Busage%5D%5Bhits%5D=0",
        None,
    );
    assert_eq!(outcome.dropped, None);
}

#[test]
fn report_with_unknown_metric_is_dropped() {
    let mut sim = Sim::new();
    let outcome = sim.report(
        "service_token=tok&service_id=1&transactions%5B0%5D%5Buser_key%5D=uk&transactions%5B0%5D%5Busage%5D%5Bnope%5D=1",
        None,
    );
    assert_eq!(outcome.answer.status, 202);
    assert_eq!(
        outcome.dropped,
        Some(ApiError::MetricInvalid("nope".into()))
    );
}

#[test]
fn deprecated_no_body_parameter() {
    let mut sim = Sim::new();
    let answer = sim.call(AuthCall::Authorize, &user_key_query("&no_body=true"), None);
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
}

#[test]
fn counters_reset_with_the_period() {
    let mut sim = Sim::new();
    for _ in 0..3 {
        sim.authrep(&user_key_query("&usage%5Bhits%5D=1"));
    }
    let next_minute = Period::Minute.window(NOW).end.unwrap();
    let answer = authorize(
        &sim.model,
        &mut sim.counters,
        AuthCall::Authrep,
        user_key_query("&usage%5Bhits%5D=1").as_bytes(),
        Some(ALL_OPTIONS),
        next_minute,
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("3scale-limit-remaining"), Some("2"));
    assert_eq!(answer.header("3scale-limit-reset"), Some("60"));
}

#[test]
fn credentials_are_stripped() {
    let mut sim = Sim::new();
    let answer = sim.authrep("service_token=tok&service_id=+1+&user_key=+uk+");
    assert_eq!(answer.status, 200);
}

#[test]
fn unconstrained_candidate_wins_the_scan_like_apisonator() {
    let report = |period, remaining_same_calls| Computed {
        metric: "hits".into(),
        period,
        window: Period::Minute.window(NOW),
        max_value: 1,
        stored: 0,
        shown: 0,
        remaining_same_calls,
    };
    assert!(more_constrained(
        &report(Period::Day, 1),
        &report(Period::Minute, 1)
    ));
    assert!(!more_constrained(
        &report(Period::Minute, 1),
        &report(Period::Day, 1)
    ));
    assert!(more_constrained(
        &report(Period::Day, 0),
        &report(Period::Day, -1)
    ));
    assert!(more_constrained(
        &report(Period::Day, -1),
        &report(Period::Day, 5)
    ));
    assert!(!more_constrained(
        &report(Period::Day, 6),
        &report(Period::Day, 5)
    ));
}

#[test]
fn the_backend_version_says_which_credential_counts() {
    let model = r#"
services:
  - id: "1"
    token: tok
    backend_version: "1"
    metrics: [ { name: hits } ]
    applications: [ { user_key: uk, plan: { name: Basic } } ]
  - id: "2"
    token: tok2
    backend_version: "2"
    metrics: [ { name: hits } ]
    applications: [ { app_id: app, app_keys: [k], plan: { name: Pro } } ]
"#;
    let mut sim = Sim {
        model: Model::from_yaml(model).unwrap(),
        counters: Counters::default(),
    };
    let mut ask = |query: &str| {
        let answer = sim.call(AuthCall::Authorize, query, None);
        (answer.status, answer.body)
    };
    let error = |code: &str, message: &str| {
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><error code="{code}">{message}</error>"#)
    };
    assert_eq!(ask("service_token=tok&service_id=1&user_key=uk").0, 200);
    for user_key_missing in [
        "service_token=tok&service_id=1",
        "service_token=tok&service_id=1&app_id=app",
    ] {
        assert_eq!(
            ask(user_key_missing),
            (403, error("user_key_invalid", "user key is missing"))
        );
    }
    assert_eq!(
        ask("service_token=tok2&service_id=2&app_id=app&app_key=k").0,
        200
    );
    for app_id_missing in [
        "service_token=tok2&service_id=2",
        "service_token=tok2&service_id=2&user_key=uk",
    ] {
        assert_eq!(
            ask(app_id_missing),
            (
                404,
                error("application_not_found", "application id is missing")
            )
        );
    }
    assert_eq!(
        ask("service_token=tok2&service_id=2&app_id=app&user_key=uk").0,
        403,
        "both are an error whatever the version"
    );
}
