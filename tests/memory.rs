//! Heap bytes a parsed configuration keeps per mapping rule and per service, and
//! the peak while parsing (issue 17): counted by a global allocator, so this test
//! binary holds this one test only (other tests would allocate at the same time).
//! `cargo test --test memory -- --nocapture` prints the figures.

// Integration tests are always built with `cfg(test)`; saying so lets clippy's test
// allowances (unwrap) cover the helpers too.
#![cfg(test)]
// A counting allocator has to implement `GlobalAlloc`, which is an unsafe trait;
// it only forwards to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use threescale_wasm_auth::config;
use threescale_wasm_auth::mapping::{MappingRule, RuleSet, Usage};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let live = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                + (new_size - layout.size());
            PEAK.fetch_max(live, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Rule `index`: the shape scripts/bench-scale.py generates.
fn rule_json(index: usize) -> String {
    format!(
        r#"{{"method":"GET","pattern":"/api/v{}/resource-{index}/{{id}}/items","usages":[{{"name":"hits","delta":1}}]}}"#,
        index % 3
    )
}

fn config_json(services: usize, rules: usize) -> String {
    let rules: Vec<String> = (0..rules).map(rule_json).collect();
    let services: Vec<String> = (0..services)
        .map(|n| {
            format!(
                r#"{{"id":"{n}","token":"t","authorities":["svc-{n}.example.com","svc-{n}.example.com:*"],"credentials":{{"app_id":[{{"query_string":{{"keys":["app_id"]}}}}]}},"mapping_rules":[{}]}}"#,
                rules.join(",")
            )
        })
        .collect();
    format!(
        r#"{{"api":"v1","backend":{{"upstream":{{"name":"b","url":"http://b/"}}}},"services":[{}]}}"#,
        services.join(",")
    )
}

/// Heap bytes kept by the parsed configuration, and the peak above the start while parsing.
fn parse_cost(text: &str) -> (usize, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let parsed = config::parse(text.as_bytes()).unwrap();
    let kept = LIVE.load(Ordering::Relaxed) - before;
    let peak = PEAK.load(Ordering::Relaxed) - before;
    drop(parsed);
    (kept, peak)
}

fn fetched_rules_cost(rules: usize) -> usize {
    let rules: Vec<MappingRule> = (0..rules)
        .map(|n| {
            let usages = vec![Usage::new("hits", 1).unwrap()];
            let pattern = format!("/api/v{}/resource-{n}/{{id}}/items", n % 3);
            MappingRule::new("GET", &pattern, usages, false).unwrap()
        })
        .collect();
    let before = LIVE.load(Ordering::Relaxed);
    let set = RuleSet::new(rules);
    let index = LIVE.load(Ordering::Relaxed) - before;
    drop(set);
    index
}

#[test]
fn bytes_per_rule_and_per_service() {
    let one = config_json(1, 1);
    let rules = config_json(1, 10_000);
    let services = config_json(1_000, 10);
    let (one_kept, one_peak) = parse_cost(&one);
    let (rules_kept, rules_peak) = parse_cost(&rules);
    let (services_kept, services_peak) = parse_cost(&services);
    let per_rule = (rules_kept - one_kept) / 9_999;
    let per_service_with_10_rules = (services_kept - one_kept) / 999;
    let index_per_rule = fetched_rules_cost(10_000) / 10_000;
    println!("1 rule: {one_kept} bytes kept, {one_peak} peak while parsing");
    println!(
        "10,000 rules ({} bytes of JSON): {rules_kept} bytes kept, {rules_peak} peak; {per_rule} bytes per rule, of which the index {index_per_rule}",
        rules.len()
    );
    println!(
        "1,000 services x 10 rules ({} bytes of JSON): {services_kept} bytes kept, {services_peak} peak; {per_service_with_10_rules} bytes per service",
        services.len()
    );
    // Bounds far above what is measured, to catch a copy of the text or a regex per rule.
    assert!(per_rule < 1_000, "{per_rule} bytes per rule");
    assert!(
        index_per_rule < 250,
        "{index_per_rule} bytes of index per rule"
    );
    assert!(
        per_service_with_10_rules < 12_000,
        "{per_service_with_10_rules} bytes per service"
    );
}
