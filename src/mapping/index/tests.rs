//! The index against the reference: random rule lists and requests must give
//! the same usages, in the same order, through [`match_indexed`] as through
//! [`match_rules`] over the static then the fetched rules.

use super::*;
use crate::mapping::{Usage, match_rules};
use crate::test_rng::XorShift;

const METHODS: &[&str] = &["GET", "get", "POST", "any", "ANY", "DELETE", "PATCH"];
const REQUEST_METHODS: &[&str] = &["GET", "get", "POST", "DELETE", "PUT", "Patch"];
/// Pieces of patterns: literals that share prefixes, placeholders, repeated `/`,
/// placeholder characters, a non-ASCII character.
const PATTERN_PIECES: &[&str] = &[
    "/", "/", "/", "a", "b", "ab", "ba", "1", "{id}", "{x}", "//", "-", ".", "é", "%20", "v1/",
];
const PATH_PIECES: &[&str] = &[
    "/", "/", "/", "a", "b", "ab", "ba", "1", "42", "//", "-", ".", "é", "%20", "v1/", "@", ":",
];
const QUERY_PIECES: &[&str] = &["", "", "", "?q=1", "?q={v}", "?q=", "?r=2&q=1", "?q"];
const REQUEST_QUERIES: &[&str] = &["", "", "?q=1", "?q=2", "?r=2&q=1", "?q=", "?q", "?x=%20"];
const METRICS: &[&str] = &["hits", "a", "b", "c"];

fn pattern(rng: &mut XorShift) -> String {
    let mut pattern = String::from("/");
    for _ in 0..rng.below(5) {
        pattern.push_str(rng.pick(PATTERN_PIECES));
    }
    if rng.below(5) == 0 {
        pattern.push('$');
    }
    pattern.push_str(rng.pick(QUERY_PIECES));
    pattern
}

fn path(rng: &mut XorShift) -> String {
    let mut path = String::from("/");
    for _ in 0..rng.below(6) {
        path.push_str(rng.pick(PATH_PIECES));
    }
    path.push_str(rng.pick(REQUEST_QUERIES));
    path
}

fn rule(rng: &mut XorShift) -> MappingRule {
    let usages = (0..1 + rng.below(2))
        .map(|_| Usage::new(rng.pick(METRICS), 1 + rng.below(3) as u64).unwrap())
        .collect();
    let last = rng.below(8) == 0;
    MappingRule::new(rng.pick(METHODS), &pattern(rng), usages, last).unwrap()
}

fn rules(rng: &mut XorShift, most: usize) -> Vec<MappingRule> {
    (0..rng.below(most + 1)).map(|_| rule(rng)).collect()
}

fn describe(rules: &[MappingRule]) -> Vec<String> {
    rules
        .iter()
        .map(|rule| {
            format!(
                "{:?} {} last={}",
                rule.method,
                rule.pattern.as_str(),
                rule.last
            )
        })
        .collect()
}

#[test]
fn index_agrees_with_linear_evaluation_on_random_rules_and_requests() {
    let mut rng = XorShift::new(0x5eed_0017);
    let mut matched = 0;
    for case in 0..4000 {
        let statics = rules(&mut rng, 12);
        let fetched = rules(&mut rng, 6);
        let with_fetched = rng.below(2) == 0;
        let static_set = RuleSet::new(statics.clone());
        let fetched_set = RuleSet::new(fetched.clone());
        for _ in 0..8 {
            let method = rng.pick(REQUEST_METHODS);
            let request = path(&mut rng);
            let linear = if with_fetched {
                match_rules(statics.iter().chain(&fetched), method, &request)
            } else {
                match_rules(&statics, method, &request)
            };
            let indexed = match_indexed(
                &static_set,
                with_fetched.then_some(&fetched_set),
                method,
                &request,
            );
            assert_eq!(
                indexed,
                linear,
                "case {case}: {method} {request}\nstatic {:#?}\nfetched {:#?}",
                describe(&statics),
                describe(if with_fetched { &fetched } else { &[] })
            );
            matched += usize::from(!linear.is_empty());
        }
    }
    // The generator must produce matches often enough for the comparison to mean something.
    assert!(matched > 5000, "only {matched} requests matched");
}

/// Lists longer than a block: positions, order and matches across block boundaries.
#[test]
fn rule_sets_of_several_blocks_agree_with_linear_evaluation() {
    let mut rng = XorShift::new(0xb10c_0017);
    for length in [BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 7] {
        // Without `last`, every rule of a long list can still add its usages.
        let rules: Vec<MappingRule> = (0..length)
            .map(|_| MappingRule {
                last: false,
                ..rule(&mut rng)
            })
            .collect();
        let set = RuleSet::new(rules.clone());
        assert_eq!(set.len(), length);
        assert!(set.iter().eq(rules.iter()), "{length} rules out of order");
        assert_eq!(set.get(length - 1), rules.last());
        assert_eq!(set.get(length), None);
        let mut matched = 0;
        for _ in 0..300 {
            let method = rng.pick(REQUEST_METHODS);
            let request = path(&mut rng);
            let linear = match_rules(&rules, method, &request);
            assert_eq!(
                match_indexed(&set, None, method, &request),
                linear,
                "{length} rules: {method} {request}"
            );
            matched += usize::from(!linear.is_empty());
        }
        assert!(matched > 100, "only {matched} requests matched");
    }
}

#[test]
fn candidates_are_ascending_and_include_every_matching_rule() {
    let mut rng = XorShift::new(0x0123_4567);
    for case in 0..2000 {
        let rules = rules(&mut rng, 30);
        let index = RuleIndex::build(&rules);
        let mut candidates = Vec::new();
        for _ in 0..8 {
            let method = rng.pick(REQUEST_METHODS);
            let request = path(&mut rng);
            let request_path = request.split('?').next().unwrap();
            index.candidates(method, request_path, &mut candidates);
            assert!(candidates.windows(2).all(|w| w[0] < w[1]), "case {case}");
            for (position, rule) in rules.iter().enumerate() {
                if rule.matches(method, &request) {
                    assert!(
                        candidates.contains(&position),
                        "case {case}: rule {position} {:?} {} matches {method} {request} but is no candidate",
                        rule.method,
                        rule.pattern.as_str()
                    );
                }
            }
        }
    }
}

#[test]
fn the_index_leaves_out_rules_that_cannot_match() {
    let rules: Vec<MappingRule> = (0..1000)
        .map(|n| {
            let usages = vec![Usage::new("hits", 1).unwrap()];
            MappingRule::new("GET", &format!("/resource-{n}/items"), usages, false).unwrap()
        })
        .chain([
            MappingRule::new("any", "/{x}", vec![Usage::new("all", 1).unwrap()], false).unwrap(),
        ])
        .collect();
    let index = RuleIndex::build(&rules);
    let mut candidates = Vec::new();
    index.candidates("GET", "/resource-999/items/7", &mut candidates);
    assert_eq!(candidates, [999, 1000]);
    index.candidates("POST", "/resource-999/items/7", &mut candidates);
    assert_eq!(candidates, [1000]);
    index.candidates("GET", "//resource-12//items", &mut candidates);
    assert_eq!(candidates, [12, 1000]);
}

#[test]
fn a_last_static_rule_also_ends_the_fetched_ones() {
    let hits = |name: &str| vec![Usage::new(name, 1).unwrap()];
    let statics = RuleSet::new(vec![
        MappingRule::new("GET", "/a", hits("static"), true).unwrap(),
    ]);
    let fetched = RuleSet::new(vec![
        MappingRule::new("GET", "/", hits("fetched"), false).unwrap(),
    ]);
    let usages = match_indexed(&statics, Some(&fetched), "GET", "/a");
    assert_eq!(usages.iter().collect::<Vec<_>>(), [("static", 1)]);
    let usages = match_indexed(&statics, Some(&fetched), "GET", "/b");
    assert_eq!(usages.iter().collect::<Vec<_>>(), [("fetched", 1)]);
}

#[test]
fn vector_table_through_the_index() {
    let rows = crate::vectors::rows(
        "mapping.tsv",
        include_str!("../../../tests/vectors/mapping.tsv"),
        5,
    );
    assert!(rows.len() >= 35);
    for row in rows {
        let [rule_method, rule_pattern, request_method, path_and_query] = row.fields[..] else {
            panic!("line {}: expected 4 fields", row.line);
        };
        let usages = vec![Usage::new("hits", 1).unwrap()];
        let rules = RuleSet::new(vec![
            MappingRule::new(rule_method, rule_pattern, usages, false).unwrap(),
        ]);
        // The request in normal form, as the flow matches it.
        let normal = crate::path::normalize(path_and_query);
        let matched = !match_indexed(&rules, None, request_method, &normal).is_empty();
        assert_eq!(matched, row.expected, "line {}", row.line);
    }
}

#[test]
fn deserializes_as_a_list_and_keeps_the_rules_in_order() {
    let json = r#"[{"method": "GET", "pattern": "/b", "usages": [{"name": "b", "delta": 1}]},
                   {"method": "GET", "pattern": "/", "usages": [{"name": "a", "delta": 1}]}]"#;
    let rules: RuleSet = serde_json::from_str(json).unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules.get(0).unwrap().pattern.as_str(), "/b");
    assert_eq!(
        match_indexed(&rules, None, "GET", "/b")
            .iter()
            .collect::<Vec<_>>(),
        [("b", 1), ("a", 1)]
    );
}
