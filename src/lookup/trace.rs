//! An optional observer of credential resolution, for tools that explain a request
//! step by step (the `threescale-wasm-auth explain` command).
//!
//! The engine calls the observer at each step of [`resolve_traced`](super::credentials::resolve_traced):
//! a lookup query starts, its source gives the starting stack, each top-level op leaves a
//! stack, the query ends. The filter resolves through [`NoTrace`], whose methods are empty
//! and statically dispatched, so the compiled hot path calls nothing and allocates nothing
//! more than before. Ops nested inside other ops (`flat_map`, `test`, …) are not observed
//! one by one: a failure inside them is still located by [`OpFailure`](super::ops::OpFailure)'s path.

use super::op::Op;
use super::resolution::{Resolution, Unresolved};
use crate::model::Origin;

/// Receives the steps of credential resolution. Every method does nothing by default.
pub trait Trace {
    /// The lookup query at `index` of the credential list `list` (`user_key`, `app_id`
    /// or `app_key`) starts.
    fn query(&mut self, list: &'static str, index: usize) {
        let _ = (list, index);
    }

    /// The query's source gave `values` (the starting stack, bottom first), read from `origin`.
    fn source(&mut self, origin: &Origin, values: &[String]) {
        let _ = (origin, values);
    }

    /// The top-level op at `index` of the query's ops succeeded and left `stack`.
    fn op(&mut self, index: usize, op: &Op, stack: &[String]) {
        let _ = (index, op, stack);
    }

    /// The query ended: resolved, or why not.
    fn outcome(&mut self, result: Result<&Resolution, &Unresolved>) {
        let _ = result;
    }

    /// Whether the observer looks at anything: when it does not, a query
    /// without ops that finds its value is resolved without a stack (what the
    /// filter does for every request).
    fn observes(&self) -> bool {
        true
    }
}

/// The observer that observes nothing: what the filter uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTrace;

impl Trace for NoTrace {
    fn observes(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup::{CredentialQueries, resolve, resolve_traced};
    use crate::request::PlainRequest;

    /// Writes every call down as one line.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl Trace for Recorder {
        fn query(&mut self, list: &'static str, index: usize) {
            self.0.push(format!("query {list}[{index}]"));
        }
        fn source(&mut self, origin: &Origin, values: &[String]) {
            self.0.push(format!("source {origin} {values:?}"));
        }
        fn op(&mut self, index: usize, op: &Op, stack: &[String]) {
            self.0.push(format!("op [{index}] {} {stack:?}", op.name()));
        }
        fn outcome(&mut self, result: Result<&Resolution, &Unresolved>) {
            self.0.push(match result {
                Ok(resolution) => format!("resolved {:?}", resolution.values),
                Err(why) => format!("unresolved: {why}"),
            });
        }
    }

    const BASIC: &str = r#"{
        "user_key": [{"query_string": {"keys": ["user_key"]}}],
        "app_id": [
            {"header": {"keys": ["authorization"], "ops": [
                {"split": {"separator": " ", "max": 2}}, {"length": {"min": 2}}]}},
            {"header": {"keys": ["authorization"], "ops": [
                {"split": {"separator": " ", "max": 2}}, {"drop": {"head": 1}},
                "base64_urlsafe", {"split": {"max": 2}}]}}
        ],
        "app_key": [{"header": {"keys": ["x-app-key"]}}]
    }"#;

    #[test]
    fn records_every_query_its_source_and_each_op_in_order() {
        let queries: CredentialQueries = serde_json::from_str(BASIC).unwrap();
        let request = PlainRequest::new("GET", "web.app", "/")
            .with_header("authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
        let mut recorder = Recorder::default();
        let resolved = resolve_traced(&queries, &request, &mut recorder);
        assert_eq!(resolved, resolve(&queries, &request));
        assert!(resolved.is_some());
        assert_eq!(
            recorder.0,
            [
                "query user_key[0]",
                "unresolved: no key has a usable value",
                "query app_id[0]",
                r#"source header `authorization` ["Basic YWxhZGRpbjpvcGVuc2VzYW1l"]"#,
                r#"op [0] split ["Basic", "YWxhZGRpbjpvcGVuc2VzYW1l"]"#,
                r#"op [1] length ["Basic", "YWxhZGRpbjpvcGVuc2VzYW1l"]"#,
                r#"resolved ["Basic", "YWxhZGRpbjpvcGVuc2VzYW1l"]"#,
            ]
        );
    }

    #[test]
    fn a_failing_op_ends_the_ops_seen_and_the_next_query_runs() {
        let queries: CredentialQueries = serde_json::from_str(BASIC).unwrap();
        let request =
            PlainRequest::new("GET", "web.app", "/").with_header("authorization", "YWxhZGRpbjpv");
        let mut recorder = Recorder::default();
        assert_eq!(resolve_traced(&queries, &request, &mut recorder), None);
        assert_eq!(
            recorder.0,
            [
                "query user_key[0]",
                "unresolved: no key has a usable value",
                "query app_id[0]",
                r#"source header `authorization` ["YWxhZGRpbjpv"]"#,
                r#"op [0] split ["YWxhZGRpbjpv"]"#,
                "unresolved: op `length` at [1].length failed: length 1 is below the minimum 2",
                "query app_id[1]",
                r#"source header `authorization` ["YWxhZGRpbjpv"]"#,
                r#"op [0] split ["YWxhZGRpbjpv"]"#,
                "unresolved: op `drop` at [1].drop failed: the stack is empty afterwards",
            ]
        );
    }

    #[test]
    fn an_app_key_query_is_traced_after_an_app_id_without_key() {
        let queries: CredentialQueries = serde_json::from_str(
            r#"{"app_id": [{"header": {"keys": ["x-app-id"]}}],
                "app_key": [{"header": {"keys": ["x-app-key"]}}]}"#,
        )
        .unwrap();
        let request = PlainRequest::new("GET", "web.app", "/")
            .with_header("x-app-id", "id")
            .with_header("x-app-key", "key");
        let mut recorder = Recorder::default();
        resolve_traced(&queries, &request, &mut recorder);
        assert_eq!(
            recorder.0,
            [
                "query app_id[0]",
                r#"source header `x-app-id` ["id"]"#,
                r#"resolved ["id"]"#,
                "query app_key[0]",
                r#"source header `x-app-key` ["key"]"#,
                r#"resolved ["key"]"#,
            ]
        );
    }
}
