//! Heap bytes a parsed configuration keeps per mapping rule and per service, the
//! rule index built at the first match, and the peak while parsing (issue 17):
//! counted by a global allocator, so this test binary holds this one test only
//! (other tests would allocate at the same time). `cargo test --test memory --
//! --nocapture` prints the figures.
//!
//! In a Wasm VM the memory only grows, so the peak while the configuration is read
//! (its text, what is kept, what is freed again) is what stays resident; the
//! bounds below say what may be kept per rule, so that a copy of the text, a
//! string or a compiled form per rule, or an index built while the text is
//! still in memory, makes this test fail.

// Integration tests are always built with `cfg(test)`; saying so lets clippy's test
// allowances (unwrap) cover the helpers too.
#![cfg(test)]
// A counting allocator has to implement `GlobalAlloc`, which is an unsafe trait;
// it only forwards to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use threescale_wasm_auth::config;
use threescale_wasm_auth::mapping::{MappingRule, RuleSet, Usage, match_indexed};

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

/// A metric name as long as some real ones; every rule counts it, so a copy of it
/// per rule would show in the bytes per rule.
const METRIC: &str = "hits_of_the_resource_api_counted_by_every_mapping_rule_of_the_list";

/// Rule `index`: the shape scripts/bench-scale.py generates (four methods in turn).
fn rule_json(index: usize) -> String {
    let method = ["GET", "POST", "PUT", "DELETE"][index % 4];
    format!(
        r#"{{"method":"{method}","pattern":"{}","usages":[{{"name":"{METRIC}","delta":1}}]}}"#,
        pattern(index)
    )
}

fn pattern(index: usize) -> String {
    format!("/api/v{}/resource-{index}/{{id}}/items", index % 3)
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

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// What reading a configuration costs, in heap bytes above the start.
struct Cost {
    config: config::Config,
    /// Kept by the parsed configuration.
    kept: usize,
    /// The most alive at once while parsing.
    peak: usize,
}

fn parse_cost(text: &str) -> Cost {
    let before = live();
    PEAK.store(before, Ordering::Relaxed);
    let config = config::parse(text.as_bytes()).unwrap();
    Cost {
        config,
        kept: live() - before,
        peak: PEAK.load(Ordering::Relaxed) - before,
    }
}

/// Heap bytes the first match adds to a rule list: its index.
fn index_cost(rules: &RuleSet) -> usize {
    let before = live();
    let usages = match_indexed(rules, None, "GET", "/api/v0/resource-0/1/items");
    assert_eq!(usages.get(METRIC), Some(1));
    drop(usages);
    live() - before
}

/// Heap bytes kept by `count` rules built one by one (as fetched from System) and
/// put in a [`RuleSet`], per rule.
fn fetched_rules_cost(count: usize) -> usize {
    let before = live();
    let rules: Vec<MappingRule> = (0..count)
        .map(|n| {
            let usages = vec![Usage::new(METRIC, 1).unwrap()];
            MappingRule::new("GET", &pattern(n), usages, false).unwrap()
        })
        .collect();
    let set = RuleSet::new(rules);
    let kept = live() - before;
    drop(set);
    kept / count
}

/// At most this many bytes per rule besides its own struct and its pattern's
/// text: what one rule owns alone is its pattern; the method, the metric names
/// and the usage list are shared by the rules that have the same. A usage list
/// or a name of its own would be at least a pointer more (the metric name here
/// is longer than that), a compiled form or a copy of the rule's text more still.
const SLACK_PER_RULE: usize = std::mem::size_of::<usize>();

#[test]
fn bytes_per_rule_and_per_service() {
    const RULES: usize = 10_000;
    let one = config_json(1, 1);
    let rules = config_json(1, RULES);
    let services = config_json(1_000, 10);
    let one = parse_cost(&one);
    let many = parse_cost(&rules);
    let per_service = parse_cost(&services);

    let per_rule = (many.kept - one.kept) / (RULES - 1);
    let pattern_bytes = (0..RULES).map(|n| pattern(n).len()).sum::<usize>() / RULES;
    let struct_bytes = std::mem::size_of::<MappingRule>();
    let rule_set = &many.config.services[0].mapping_rules;
    let index = index_cost(rule_set);
    let index_per_rule = index / RULES;
    let second_match = index_cost(rule_set);
    let fetched_per_rule = fetched_rules_cost(RULES);
    let per_service_with_10_rules = (per_service.kept - one.kept) / 999;
    println!(
        "1 rule: {} bytes kept, {} peak while parsing",
        one.kept, one.peak
    );
    println!(
        "10,000 rules ({} bytes of JSON): {} bytes kept, {} peak; {per_rule} bytes per rule \
         ({struct_bytes} of struct, {pattern_bytes} of pattern); index at the first match: \
         {index} bytes, {index_per_rule} per rule; fetched rules: {fetched_per_rule} bytes per rule",
        rules.len(),
        many.kept,
        many.peak,
    );
    println!(
        "1,000 services x 10 rules ({} bytes of JSON): {} bytes kept, {} peak; \
         {per_service_with_10_rules} bytes per service",
        services.len(),
        per_service.kept,
        per_service.peak,
    );

    let per_rule_bound = struct_bytes + pattern_bytes + SLACK_PER_RULE;
    assert!(
        per_rule <= per_rule_bound,
        "{per_rule} bytes per rule parsed, more than {per_rule_bound}"
    );
    assert!(
        fetched_per_rule <= per_rule_bound,
        "{fetched_per_rule} bytes per fetched rule, more than {per_rule_bound}"
    );
    // Parsing leaves the index to the first match, and that match builds it once.
    assert!(index_per_rule > 0, "the index was built while parsing");
    assert_eq!(second_match, 0, "the index was built twice");
    // A radix tree of n keys has at most 2n nodes; a node is six words (where its
    // label, rules and children are in the tree's arrays), and a rule's position
    // one more. A node of its own on the heap per rule, or a copy of each
    // prefix, would need more.
    let index_bound = (2 * 6 + 1) * std::mem::size_of::<usize>();
    assert!(
        index_per_rule <= index_bound,
        "{index_per_rule} bytes of index per rule, more than {index_bound}"
    );
    // What is freed again while parsing (the copies of shared names, the room a
    // block of rules has to spare) stays well below what is kept: in a Wasm VM it
    // stays resident as well. Grown in one piece by doubling, the list of 10,000
    // rules would have had room for 16,384 (over 40% of what is kept here).
    let transient = many.peak - many.kept;
    assert!(
        transient <= many.kept / 10,
        "parsing 10,000 rules peaked {transient} bytes above the {} it keeps",
        many.kept
    );
    // A service is its struct, its authorities, credentials and ten rules: well
    // under a kilobyte of its own, plus its entries in the service index.
    let per_service_bound = 10 * per_rule_bound + 2_048;
    assert!(
        per_service_with_10_rules <= per_service_bound,
        "{per_service_with_10_rules} bytes per service, more than {per_service_bound}"
    );
}
