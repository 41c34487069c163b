//! `debug_headers` (docs/behaviour.md §9, v2): APIcast's `X-3scale-Debug` convention.
//!
//! A request whose `X-3scale-Debug` header equals its service's token gets
//! response headers saying how the filter saw it: the service, the kind of
//! credential and where it was read from (never its value), the mapping rules
//! that matched and the usage. The token is compared in constant time, so that
//! response timing does not reveal how much of a guess was right. The header is
//! removed before the request goes upstream whatever its value, so the token
//! never leaves the filter.

use crate::io::percent;
use crate::mapping::{MappingRule, RuleMethod};
use crate::model::{Credential, Origin, Usages};

/// The request header that asks for debug headers (lowercase, as Envoy gives names).
pub const REQUEST_HEADER: &str = "x-3scale-debug";

/// Response header: the 3scale service id.
pub const SERVICE_ID: &str = "x-3scale-service-id";
/// Response header: the credential's kind and origin.
pub const CREDENTIALS: &str = "x-3scale-credentials";
/// Response header: the matched rules, `METHOD pattern`, comma-separated.
pub const MATCHED_RULES: &str = "x-3scale-matched-rules";
/// Response header: the usage, as 3scale's `usage[metric]=delta` parameters.
pub const USAGE: &str = "x-3scale-usage";
/// Response header: in `mode: report`, the reply the request would have had.
pub const WOULD_DENY: &str = "x-3scale-would-deny";

/// Whether `presented` equals `token`. Every byte of the longer of the two is
/// looked at whatever the contents, so the time taken depends on the lengths
/// only, not on how many leading bytes are right.
pub fn token_matches(presented: &[u8], token: &[u8]) -> bool {
    let length = presented.len().max(token.len());
    let mut difference = u8::from(presented.len() != token.len());
    for index in 0..length {
        let left = presented.get(index).copied().unwrap_or(0);
        let right = token.get(index).copied().unwrap_or(0);
        difference |= left ^ right;
    }
    std::hint::black_box(difference) == 0
}

/// What the debug headers of one request say; each part is filled in as far as
/// the request got through the flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebugReport {
    /// The selected service's id.
    pub service_id: String,
    /// The credential kind and where its values came from, once resolved.
    pub credentials: Option<String>,
    /// The matched rules as `METHOD pattern`, once rules were matched.
    pub matched_rules: Option<Vec<String>>,
    /// The usage, once rules were matched.
    pub usage: Option<String>,
    /// In `mode: report`, the kind of reply the request would have had.
    pub would_deny: Option<&'static str>,
}

impl DebugReport {
    /// A report for a request of service `service_id`.
    pub fn new(service_id: &str) -> DebugReport {
        DebugReport {
            service_id: service_id.to_owned(),
            ..DebugReport::default()
        }
    }

    /// Notes the credential's kind and origins (the values are left out).
    pub fn credential(&mut self, credential: &Credential, origins: &[Origin]) {
        let kind = credential.kind();
        let origins: Vec<String> = origins.iter().map(origin_text).collect();
        self.credentials = Some(format!("{kind} from {}", origins.join(", ")));
    }

    /// Notes the rules that matched and the usage they add up to.
    pub fn rules<'a>(
        &mut self,
        matched: impl IntoIterator<Item = &'a MappingRule>,
        usages: &Usages,
    ) {
        self.matched_rules = Some(matched.into_iter().map(rule_text).collect());
        let mut params = percent::Params::new();
        for (metric, delta) in usages.iter() {
            params.push(&format!("usage[{metric}]"), &delta.to_string());
        }
        let usage = params.finish();
        self.usage = Some(if usage.is_empty() {
            "none".to_owned()
        } else {
            usage
        });
    }

    /// The response headers.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![(SERVICE_ID.to_owned(), self.service_id.clone())];
        let credentials = self.credentials.as_deref().unwrap_or("none");
        headers.push((CREDENTIALS.to_owned(), credentials.to_owned()));
        if let Some(rules) = &self.matched_rules {
            let rules = if rules.is_empty() {
                "none".to_owned()
            } else {
                rules.join(", ")
            };
            headers.push((MATCHED_RULES.to_owned(), rules));
        }
        if let Some(usage) = &self.usage {
            headers.push((USAGE.to_owned(), usage.clone()));
        }
        if let Some(kind) = self.would_deny {
            headers.push((WOULD_DENY.to_owned(), kind.to_owned()));
        }
        headers
    }
}

/// The rules that match, in evaluation order, stopping after a matching `last`
/// rule: the same walk as `mapping::match_rules`, keeping the rules.
pub fn matching_rules<'a>(
    rules: impl IntoIterator<Item = &'a MappingRule>,
    method: &str,
    path_and_query: &str,
) -> Vec<&'a MappingRule> {
    let mut matched = Vec::new();
    for rule in rules {
        if rule.matches(method, path_and_query) {
            matched.push(rule);
            if rule.last {
                break;
            }
        }
    }
    matched
}

/// An origin without the backquotes of its log form (header values have no
/// use for them).
fn origin_text(origin: &Origin) -> String {
    match origin {
        Origin::Header(name) => format!("header {name}"),
        Origin::QueryParameter(name) => format!("query parameter {name}"),
        Origin::Metadata => "filter metadata".to_owned(),
    }
}

fn rule_text(rule: &MappingRule) -> String {
    let method = match &rule.method {
        RuleMethod::Any => "ANY",
        RuleMethod::Exact(method) => method,
    };
    format!("{method} {}", rule.pattern.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Usage;
    use crate::model::Secret;

    #[test]
    fn token_comparison_needs_every_byte_and_the_length() {
        assert!(token_matches(b"s3cret-token", b"s3cret-token"));
        assert!(token_matches(b"", b""));
        for presented in [
            &b"s3cret-tokeN"[..],
            b"S3cret-token",
            b"s3cret-toke",
            b"s3cret-token\0",
            b"",
        ] {
            assert!(!token_matches(presented, b"s3cret-token"), "{presented:?}");
        }
    }

    fn rule(method: &str, pattern: &str, last: bool) -> MappingRule {
        MappingRule::new(method, pattern, vec![Usage::new("hits", 1).unwrap()], last).unwrap()
    }

    #[test]
    fn matching_rules_stop_after_a_matching_last_rule() {
        let rules = [
            rule("GET", "/", false),
            rule("POST", "/", false),
            rule("any", "/a", true),
            rule("GET", "/a/b", false),
        ];
        let texts: Vec<String> = matching_rules(&rules, "GET", "/a/b")
            .into_iter()
            .map(rule_text)
            .collect();
        assert_eq!(texts, ["GET /", "ANY /a"]);
    }

    #[test]
    fn headers_name_kind_origin_rules_and_usage_never_values() {
        let mut report = DebugReport::new("42");
        report.credential(
            &Credential::AppId {
                app_id: "the-app".into(),
                app_key: Some(Secret::new("the-key")),
            },
            &[
                Origin::Header("x-app-id".into()),
                Origin::QueryParameter("app_key".into()),
            ],
        );
        let rules = [rule("GET", "/p/{id}", false), rule("any", "/", false)];
        let mut usages = Usages::default();
        usages.add(&"hits".into(), 2);
        usages.add(&"p".into(), 1);
        report.rules(&rules, &usages);
        report.would_deny = Some("limited");
        assert_eq!(
            report.headers(),
            [
                ("x-3scale-service-id", "42"),
                (
                    "x-3scale-credentials",
                    "app_id+app_key from header x-app-id, query parameter app_key"
                ),
                ("x-3scale-matched-rules", "GET /p/{id}, ANY /"),
                ("x-3scale-usage", "usage%5Bhits%5D=2&usage%5Bp%5D=1"),
                ("x-3scale-would-deny", "limited"),
            ]
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
        );
        let text = format!("{:?}", report.headers());
        assert!(
            !text.contains("the-key") && !text.contains("the-app"),
            "{text}"
        );
    }

    #[test]
    fn a_report_says_how_far_the_request_got() {
        let report = DebugReport::new("7");
        assert_eq!(
            report.headers(),
            [
                ("x-3scale-service-id".to_owned(), "7".to_owned()),
                ("x-3scale-credentials".to_owned(), "none".to_owned()),
            ]
        );
        let mut report = DebugReport::new("7");
        report.credential(&Credential::UserKey(Secret::new("k")), &[Origin::Metadata]);
        report.rules([], &Usages::default());
        let headers = report.headers();
        assert_eq!(headers[1].1, "user_key from filter metadata");
        assert_eq!(headers[2].1, "none");
        assert_eq!(headers[3].1, "none");
    }
}
