//! Mapping-rule patterns and authority globs: compile one part of the input,
//! match it against the other; the path normal form the rules see, which must
//! be its own normal form and hold no dot segment; and the rule index and the
//! service index, which must give what trying every rule (or glob) in turn gives.
//!
//! Input: `<pattern>\0<subject>`; without a `\0` the input is both. Several
//! patterns may be given, separated by `\n`: they make one rule list (and one
//! glob per service).
#![no_main]

use libfuzzer_sys::fuzz_target;
use threescale_wasm_auth::glob::Glob;
use threescale_wasm_auth::mapping::{
    MappingRule, Pattern, RuleSet, Usage, match_indexed, match_rules,
};
use threescale_wasm_auth::path::normalize;
use threescale_wasm_auth::service_index::ServiceIndex;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, subject) = text.split_once('\0').unwrap_or((&text, &text));
    let normal = normalize(subject);
    assert_eq!(normalize(&normal), normal, "normal form of {subject:?}");
    let normal_path = normal.split_once('?').map_or(&*normal, |(path, _)| path);
    assert!(
        !normal_path
            .split('/')
            .any(|segment| segment == "." || segment == ".."),
        "dot segment left in {normal:?} from {subject:?}"
    );
    if let Ok(compiled) = Pattern::compile(pattern) {
        let _ = compiled.matches(subject);
        let _ = compiled.matches(&normal);
        let _ = compiled.matches(pattern);
        let _ = compiled.as_str();
    }
    if let Ok(compiled) = Glob::compile(pattern) {
        let _ = compiled.matches(subject);
        let _ = compiled.matches(pattern);
    }
    index_agrees_with_linear_evaluation(pattern, subject);
});

fn index_agrees_with_linear_evaluation(patterns: &str, subject: &str) {
    let rules: Vec<MappingRule> = patterns
        .split('\n')
        .enumerate()
        .filter_map(|(n, pattern)| {
            let method = ["GET", "any", "POST"][n % 3];
            let usages = vec![Usage::new(&format!("m{}", n % 4), 1).ok()?];
            MappingRule::new(method, pattern, usages, n % 5 == 4).ok()
        })
        .collect();
    let set = RuleSet::new(rules.clone());
    for method in ["GET", "post"] {
        assert_eq!(
            match_indexed(&set, None, method, subject),
            match_rules(&rules, method, subject)
        );
    }
    let globs: Vec<Vec<Glob>> = patterns
        .split('\n')
        .filter_map(|pattern| Glob::compile(pattern).ok())
        .map(|glob| vec![glob])
        .collect();
    let index = ServiceIndex::from_globs(globs.iter().map(Vec::as_slice));
    let linear = globs
        .iter()
        .position(|globs| globs.iter().any(|glob| glob.matches(subject)));
    assert_eq!(index.select(subject), linear);
}
