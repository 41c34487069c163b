//! Usage values and the metric hierarchy, as apisonator processes them.

use crate::errors::ApiError;
use crate::model::Service;
use crate::params::Node;

/// A usage as sent: metric name (as written) and value (`None` when the
/// parameter was not a string), in parameter order.
pub type RawUsage = Vec<(String, Option<String>)>;

/// Reads the `usage` map of a request or transaction.
pub fn raw_usage(entries: &[(String, Node)]) -> RawUsage {
    entries
        .iter()
        .map(|(name, node)| {
            let value = match node {
                Node::Text(text) => Some(text.clone()),
                _ => None,
            };
            (name.clone(), value)
        })
        .collect()
}

/// A usage value: `N` adds to the counter, `#N` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    pub set: bool,
    pub value: i64,
}

impl Delta {
    /// apisonator's reading of a value (`Usage.get_from`): a leading `#` sets,
    /// anything else is Ruby's `to_i` (leading digits, else 0).
    pub fn parse(raw: &str) -> Delta {
        match raw.strip_prefix('#') {
            Some(rest) => Delta {
                set: true,
                value: ruby_to_i(rest),
            },
            None => Delta {
                set: false,
                value: ruby_to_i(raw),
            },
        }
    }

    /// The counter after applying this value to `previous`.
    pub fn apply(self, previous: i64) -> i64 {
        if self.set {
            self.value
        } else {
            previous.saturating_add(self.value)
        }
    }
}

/// The value of an optional raw usage entry (`nil.to_i` is 0).
pub fn delta_of(raw: Option<&str>) -> Delta {
    raw.map(Delta::parse).unwrap_or(Delta {
        set: false,
        value: 0,
    })
}

/// Ruby's `String#to_i`: optional leading whitespace and sign, then digits.
pub fn ruby_to_i(text: &str) -> i64 {
    let trimmed = text.trim_start();
    let (negative, digits) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let magnitude = digits
        .chars()
        .map_while(|c| c.to_digit(10))
        .fold(0_i64, |acc, digit| {
            acc.saturating_mul(10).saturating_add(i64::from(digit))
        });
    if negative { -magnitude } else { magnitude }
}

/// apisonator's `sane_value?`: `\A\s*#?\d+\s*\Z`.
pub fn is_sane(raw: &str) -> bool {
    let body = raw.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\u{b}');
    let digits = body.strip_prefix('#').unwrap_or(body);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// Validates a usage and resolves the hierarchy (`process_usage`): each value
/// must be sane and each metric known (checked in order, value first); then,
/// unless `flat`, a child's value is added to its parent (a `#` set is copied).
pub fn process_usage(
    service: &Service,
    raw: &RawUsage,
    flat: bool,
) -> Result<Vec<(String, Delta)>, ApiError> {
    let mut usage: Vec<(String, Delta)> = Vec::new();
    for (name, value) in raw {
        let name = name.trim();
        let sane_value = value.as_deref().filter(|value| is_sane(value));
        let Some(sane_value) = sane_value else {
            return Err(ApiError::UsageValueInvalid {
                metric: name.to_string(),
                value: value.clone(),
            });
        };
        if service.metric(name).is_none() {
            return Err(ApiError::MetricInvalid(name.to_string()));
        }
        upsert(&mut usage, name, Delta::parse(sane_value));
    }
    if !flat {
        add_to_parents(service, &mut usage);
    }
    Ok(usage)
}

fn add_to_parents(service: &Service, usage: &mut Vec<(String, Delta)>) {
    let children: Vec<(String, Delta)> = usage.clone();
    for (name, delta) in children {
        let Some(parent) = service.parent_of(&name) else {
            continue;
        };
        let parent_delta = if delta.set {
            delta
        } else {
            // Ruby's `to_i` of a `#N` string already there is 0.
            let base = lookup(usage, parent)
                .filter(|existing| !existing.set)
                .map_or(0, |existing| existing.value);
            Delta {
                set: false,
                value: base.saturating_add(delta.value),
            }
        };
        upsert(usage, parent, parent_delta);
    }
}

/// The delta of a metric in a processed usage.
pub fn lookup(usage: &[(String, Delta)], metric: &str) -> Option<Delta> {
    usage
        .iter()
        .find(|(name, _)| name == metric)
        .map(|(_, delta)| *delta)
}

fn upsert(usage: &mut Vec<(String, Delta)>, metric: &str, delta: Delta) {
    match usage.iter_mut().find(|(name, _)| name == metric) {
        Some((_, slot)) => *slot = delta,
        None => usage.push((metric.to_string(), delta)),
    }
}

/// Drops entries whose value is exactly `0` (apisonator reports nothing for them).
pub fn without_zeros(raw: &RawUsage) -> RawUsage {
    raw.iter()
        .filter(|(_, value)| value.as_deref() != Some("0"))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    fn service() -> Service {
        let model = Model::from_yaml(
            r#"
services:
  - id: "1"
    token: t
    metrics:
      - name: hits
      - name: products
        parent: hits
      - name: sales
        parent: hits
      - name: storage
"#,
        )
        .unwrap();
        model.services[0].clone()
    }

    fn raw(pairs: &[(&str, &str)]) -> RawUsage {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), Some(value.to_string())))
            .collect()
    }

    fn add(value: i64) -> Delta {
        Delta { set: false, value }
    }

    #[test]
    fn sane_values() {
        for good in ["1", " 12 ", "#5", "0", "\t7\n"] {
            assert!(is_sane(good), "{good:?}");
        }
        for bad in ["", " ", "-1", "1.5", "abc", "#", "##1", "1 2", "+1"] {
            assert!(!is_sane(bad), "{bad:?}");
        }
    }

    #[test]
    fn delta_semantics() {
        assert_eq!(Delta::parse("#5").apply(100), 5);
        assert_eq!(Delta::parse("3").apply(4), 7);
        assert_eq!(Delta::parse(" #5").apply(4), 4);
        assert_eq!(delta_of(None).apply(9), 9);
        assert_eq!(ruby_to_i("99999999999999999999999"), i64::MAX);
    }

    #[test]
    fn children_count_for_their_parent() {
        let usage = process_usage(
            &service(),
            &raw(&[("products", "2"), ("sales", "3")]),
            false,
        )
        .unwrap();
        assert_eq!(lookup(&usage, "hits"), Some(add(5)));
        assert_eq!(lookup(&usage, "products"), Some(add(2)));
    }

    #[test]
    fn explicit_parent_is_added_to() {
        let usage =
            process_usage(&service(), &raw(&[("hits", "1"), ("products", "2")]), false).unwrap();
        assert_eq!(lookup(&usage, "hits"), Some(add(3)));
    }

    #[test]
    fn flat_usage_leaves_parents_alone() {
        let usage = process_usage(&service(), &raw(&[("products", "2")]), true).unwrap();
        assert_eq!(lookup(&usage, "hits"), None);
        assert_eq!(usage.len(), 1);
    }

    #[test]
    fn set_values_are_copied_to_the_parent() {
        let usage = process_usage(&service(), &raw(&[("products", "#4")]), false).unwrap();
        assert_eq!(
            lookup(&usage, "hits"),
            Some(Delta {
                set: true,
                value: 4
            })
        );
    }

    #[test]
    fn value_is_checked_before_metric() {
        assert_eq!(
            process_usage(&service(), &raw(&[("nope", "x")]), false),
            Err(ApiError::UsageValueInvalid {
                metric: "nope".into(),
                value: Some("x".into())
            })
        );
        assert_eq!(
            process_usage(&service(), &raw(&[("nope", "1")]), false),
            Err(ApiError::MetricInvalid("nope".into()))
        );
    }

    #[test]
    fn errors_follow_parameter_order() {
        assert_eq!(
            process_usage(&service(), &raw(&[("nope", "1"), ("hits", "x")]), false),
            Err(ApiError::MetricInvalid("nope".into()))
        );
    }

    #[test]
    fn metric_names_are_stripped() {
        let usage = process_usage(&service(), &raw(&[(" hits ", "1")]), false).unwrap();
        assert_eq!(lookup(&usage, "hits"), Some(add(1)));
    }

    #[test]
    fn non_string_value_is_invalid() {
        let usage = vec![("hits".to_string(), None)];
        assert!(matches!(
            process_usage(&service(), &usage, false),
            Err(ApiError::UsageValueInvalid { value: None, .. })
        ));
    }

    #[test]
    fn zero_entries_are_dropped_for_reporting() {
        assert_eq!(
            without_zeros(&raw(&[("hits", "0"), ("storage", "2"), ("sales", "00")])),
            raw(&[("storage", "2"), ("sales", "00")])
        );
    }
}
