//! Resolving one lookup query against a request (docs/behaviour.md §4): read the source's value
//! for the first key found, then run the query's ops on it.
//!
//! A key is *found* when the source has a usable value for it; a present but unusable
//! value counts as absent and the next key is tried:
//!
//! - `header`: the header of that name, ASCII-lowercased first (Envoy stores header names
//!   in lowercase, so `Authorization` in a configuration still means something); its
//!   bytes must be UTF-8.
//! - `query_string`: the first parameter whose form-decoded name equals the key (so
//!   `app%5Fid` is `app_id`); its value, form-decoded, must be UTF-8. `?key` and `?key=`
//!   give `""`. When that first parameter does not decode, later ones of the same name are
//!   not tried: a request naming a parameter twice gets no second chance.
//! - `filter`: the walk of [`metadata_values`] (path of at least two segments).
//!
//! Once a key is found, its value is the query's value: ops run on it, and if they fail the
//! query fails without trying the remaining keys ("the first key found wins").

use std::sync::Arc;

use super::format::metadata_values;
use super::ops::{self, MAX_BYTES, Stack};
use super::query::{FilterSource, KeyedSource, LookupQuery};
use super::resolution::{Resolution, Unresolved};
use super::trace::{NoTrace, Trace};
use crate::io::query;
use crate::model::Origin;
use crate::request::RequestView;

/// Resolves one lookup query: the source's value for the first key found, then its ops.
pub fn resolve_query(
    query: &LookupQuery,
    request: &dyn RequestView,
) -> Result<Resolution, Unresolved> {
    resolve_query_traced(query, request, &mut NoTrace)
}

/// [`resolve_query`], telling `trace` the source's values and the stack after each op.
pub fn resolve_query_traced<T: Trace + ?Sized>(
    query: &LookupQuery,
    request: &dyn RequestView,
    trace: &mut T,
) -> Result<Resolution, Unresolved> {
    let (stack, origin, query_ops) = match query {
        LookupQuery::Header(source) => {
            let (value, origin) = header_value(source, request).ok_or(Unresolved::NotFound)?;
            (vec![value], origin, &source.ops)
        }
        LookupQuery::QueryString(source) => {
            let (value, origin) =
                query_string_value(source, request).ok_or(Unresolved::NotFound)?;
            (vec![value], origin, &source.ops)
        }
        LookupQuery::Filter(source) => (
            filter_values(source, request)?,
            Origin::Metadata,
            &source.ops,
        ),
    };
    trace.source(&origin, &stack);
    let values = ops::run_traced(query_ops, stack, trace).map_err(Unresolved::OpFailed)?;
    if values.is_empty() {
        return Err(Unresolved::EmptyStack);
    }
    Ok(Resolution { values, origin })
}

/// The value of a `header` or `query_string` query without ops, read without
/// building a stack, when it is found and within a stack's limits: what
/// [`resolve_query`] resolves it to. `None`: resolve it the general way, which
/// gives the same outcome with its reasons.
pub fn plain_value(query: &LookupQuery, request: &dyn RequestView) -> Option<(String, Origin)> {
    let (value, origin) = match query {
        LookupQuery::Header(source) if source.ops.is_empty() => header_value(source, request)?,
        LookupQuery::QueryString(source) if source.ops.is_empty() => {
            query_string_value(source, request)?
        }
        _ => return None,
    };
    // One value is within MAX_VALUES; its bytes may not be within MAX_BYTES.
    (value.len() <= MAX_BYTES).then_some((value, origin))
}

fn header_value(source: &KeyedSource, request: &dyn RequestView) -> Option<(String, Origin)> {
    source.keys.iter().find_map(|key| {
        // Loading a configuration lowercases its header keys already: a copy
        // only for keys that did not come through it.
        let lowered: Arc<str>;
        let name = if key.bytes().any(|byte| byte.is_ascii_uppercase()) {
            lowered = Arc::from(key.to_ascii_lowercase());
            &lowered
        } else {
            key
        };
        let bytes = request.header(name)?;
        let value = String::from_utf8(bytes.into_owned()).ok()?;
        Some((value, Origin::Header(Arc::clone(name))))
    })
}

fn query_string_value(source: &KeyedSource, request: &dyn RequestView) -> Option<(String, Origin)> {
    let query = request.query()?;
    source.keys.iter().find_map(|key| {
        let value = query::first_value(&query, key)?;
        Some((value, Origin::QueryParameter(Arc::clone(key))))
    })
}

fn filter_values(source: &FilterSource, request: &dyn RequestView) -> Result<Stack, Unresolved> {
    if source.path.len() < 2 {
        return Err(Unresolved::ShortPath);
    }
    let metadata = request.metadata().ok_or(Unresolved::NotFound)?;
    metadata_values(&metadata, &source.path, &source.keys).ok_or(Unresolved::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::query::first_value as query_parameter;
    use crate::lookup::protobuf::encode::{jwt_metadata, list, number, string};
    use crate::request::PlainRequest;

    fn query(json: &str) -> LookupQuery {
        serde_json::from_str(json).unwrap()
    }

    fn get(path: &str) -> PlainRequest {
        PlainRequest::new("GET", "web.app", path)
    }

    fn resolved(query_json: &str, request: &PlainRequest) -> Option<(Vec<String>, Origin)> {
        resolve_query(&query(query_json), request)
            .ok()
            .map(|resolution| (resolution.values, resolution.origin))
    }

    fn header(value: &str, name: &str) -> Option<(Vec<String>, Origin)> {
        Some((vec![value.to_owned()], Origin::Header(name.into())))
    }

    fn parameter(value: &str, name: &str) -> Option<(Vec<String>, Origin)> {
        Some((vec![value.to_owned()], Origin::QueryParameter(name.into())))
    }

    #[test]
    fn header_by_exact_name() {
        let request = get("/").with_header("x-api-key", "secret");
        assert_eq!(
            resolved(r#"{"header": {"keys": ["x-api-key"]}}"#, &request),
            header("secret", "x-api-key")
        );
        assert_eq!(
            resolved(r#"{"header": {"keys": ["x-api"]}}"#, &request),
            None
        );
    }

    #[test]
    fn header_keys_are_lowercased() {
        let request = get("/").with_header("authorization", "Basic x");
        assert_eq!(
            resolved(r#"{"header": {"keys": ["Authorization"]}}"#, &request),
            header("Basic x", "authorization")
        );
    }

    #[test]
    fn header_keys_are_tried_in_order() {
        let request = get("/").with_header("b", "2").with_header("a", "1");
        assert_eq!(
            resolved(r#"{"header": {"keys": ["c", "b", "a"]}}"#, &request),
            header("2", "b")
        );
        assert_eq!(
            resolved(r#"{"header": {"keys": ["a", "b"]}}"#, &request),
            header("1", "a")
        );
    }

    #[test]
    fn non_utf8_header_is_skipped() {
        let request = get("/")
            .with_header_bytes("x-key", b"\xff\xfe")
            .with_header("x-other", "fine");
        assert_eq!(
            resolved(r#"{"header": {"keys": ["x-key"]}}"#, &request),
            None
        );
        assert_eq!(
            resolved(r#"{"header": {"keys": ["x-key", "x-other"]}}"#, &request),
            header("fine", "x-other")
        );
    }

    #[test]
    fn empty_header_value_resolves_to_empty_string() {
        let request = get("/").with_header("x-key", "");
        assert_eq!(
            resolved(r#"{"header": {"keys": ["x-key"]}}"#, &request),
            header("", "x-key")
        );
    }

    #[test]
    fn no_keys_never_resolve() {
        let request = get("/?a=1").with_header("a", "1");
        assert_eq!(
            resolve_query(&query(r#"{"header": {"keys": []}}"#), &request),
            Err(Unresolved::NotFound)
        );
        assert_eq!(
            resolved(r#"{"query_string": {"keys": []}}"#, &request),
            None
        );
    }

    #[test]
    fn query_parameter_by_name() {
        let request = get("/path?user_key=abc&other=1");
        assert_eq!(
            resolved(r#"{"query_string": {"keys": ["user_key"]}}"#, &request),
            parameter("abc", "user_key")
        );
        assert_eq!(
            resolved(
                r#"{"query_string": {"keys": ["missing", "other"]}}"#,
                &request
            ),
            parameter("1", "other")
        );
    }

    #[test]
    fn query_values_are_form_decoded() {
        let cases = [
            ("k=a%2Bb", Some("a+b")),
            ("k=a+b", Some("a b")),
            ("k=a%20b%3d", Some("a b=")),
            ("k=%ZZ", Some("%ZZ")),
            ("k=100%", Some("100%")),
            ("k=%4", Some("%4")),
            ("k=%C3%B1", Some("ñ")),
            ("k=%FF", None),
            ("k=%C3", None),
            ("k=a=b", Some("a=b")),
        ];
        for (query_string, expected) in cases {
            assert_eq!(
                query_parameter(query_string, "k").as_deref(),
                expected,
                "{query_string}"
            );
        }
    }

    #[test]
    fn first_of_repeated_parameters_wins() {
        assert_eq!(query_parameter("k=1&k=2", "k").as_deref(), Some("1"));
        // The first one does not decode: the second one is not a fallback.
        assert_eq!(query_parameter("k=%FF&k=2", "k"), None);
    }

    #[test]
    fn bare_and_empty_parameters_are_empty_strings() {
        assert_eq!(query_parameter("a&b=", "a").as_deref(), Some(""));
        assert_eq!(query_parameter("a&b=", "b").as_deref(), Some(""));
        assert_eq!(query_parameter("a&b=", "c"), None);
        assert_eq!(query_parameter("&&a=1&&", "a").as_deref(), Some("1"));
    }

    #[test]
    fn parameter_names_are_compared_decoded() {
        assert_eq!(
            query_parameter("app%5Fid=1", "app_id").as_deref(),
            Some("1")
        );
        assert_eq!(query_parameter("my+key=1", "my key").as_deref(), Some("1"));
        assert_eq!(query_parameter("app%5Fid=1", "app%5Fid"), None);
        assert_eq!(query_parameter("%FF=1", "\u{fffd}"), None);
    }

    #[test]
    fn parameter_names_are_case_sensitive() {
        assert_eq!(query_parameter("User_Key=1", "user_key"), None);
    }

    #[test]
    fn query_string_of_the_request_path() {
        let request = get("/a?k=v#frag");
        assert_eq!(
            resolved(r#"{"query_string": {"keys": ["k"]}}"#, &request),
            parameter("v", "k")
        );
        let request = get("/a?x=1#k=v");
        assert_eq!(
            resolved(r#"{"query_string": {"keys": ["k"]}}"#, &request),
            None
        );
        let request = get("/a");
        assert_eq!(
            resolved(r#"{"query_string": {"keys": ["k"]}}"#, &request),
            None
        );
    }

    #[test]
    fn undecodable_query_value_falls_to_the_next_key() {
        let request = get("/?a=%FF&b=ok");
        assert_eq!(
            resolved(r#"{"query_string": {"keys": ["a", "b"]}}"#, &request),
            parameter("ok", "b")
        );
    }

    const JWT_FILTER: &str = r#"{"filter": {"path": ["envoy.filters.http.jwt_authn", "0"],
        "keys": ["azp", "aud"]}}"#;

    #[test]
    fn filter_reads_jwt_authn_metadata() {
        let request = get("/").with_metadata(jwt_metadata(vec![
            ("azp", string("client")),
            ("aud", list(vec![string("a"), string("b")])),
        ]));
        assert_eq!(
            resolved(JWT_FILTER, &request),
            Some((vec!["client".into()], Origin::Metadata))
        );
    }

    #[test]
    fn filter_gives_every_value_of_a_list() {
        let request = get("/").with_metadata(jwt_metadata(vec![
            ("aud", list(vec![string("a"), string("b")])),
            ("exp", number(1.0)),
        ]));
        assert_eq!(
            resolved(JWT_FILTER, &request),
            Some((vec!["a".into(), "b".into()], Origin::Metadata))
        );
    }

    #[test]
    fn filter_without_metadata_does_not_resolve() {
        assert_eq!(
            resolve_query(&query(JWT_FILTER), &get("/")),
            Err(Unresolved::NotFound)
        );
        let request = get("/").with_metadata(b"\xff\xff\xff".to_vec());
        assert_eq!(
            resolve_query(&query(JWT_FILTER), &request),
            Err(Unresolved::NotFound)
        );
    }

    #[test]
    fn filter_path_needs_two_segments() {
        let request = get("/").with_metadata(jwt_metadata(vec![("azp", string("client"))]));
        let short =
            r#"{"filter": {"path": ["envoy.filters.http.jwt_authn"], "keys": ["verified_jwt"]}}"#;
        assert_eq!(
            resolve_query(&query(short), &request),
            Err(Unresolved::ShortPath)
        );
    }

    #[test]
    fn failing_ops_fail_the_query_without_trying_other_keys() {
        let request = get("/").with_header("a", "1").with_header("b", "2");
        let failing = r#"{"header": {"keys": ["a", "b"], "ops": ["fail"]}}"#;
        assert!(matches!(
            resolve_query(&query(failing), &request),
            Err(Unresolved::OpFailed(_))
        ));
    }

    #[test]
    fn op_failures_name_the_failing_op_and_its_position() {
        let request = get("/").with_header("authorization", "Basic");
        let basic = r#"{"header": {"keys": ["authorization"],
            "ops": [{"split": {"separator": " "}}, {"length": {"min": 2}}]}}"#;
        let why = resolve_query(&query(basic), &request).unwrap_err();
        assert_eq!(
            why.to_string(),
            "op `length` at [1].length failed: length 1 is below the minimum 2"
        );
    }
}
