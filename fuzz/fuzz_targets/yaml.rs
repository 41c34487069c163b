//! The YAML reader on arbitrary text, against serde_yaml (the reader it replaced):
//! no panic, and the same answer: what serde_yaml reads, the reader reads to the
//! same JSON value, unless it refuses a feature it names (tags, complex keys,
//! directives, duplicate keys, anchors on keys, the alias budget); what serde_yaml
//! refuses, the reader refuses.
//!
//! Floats are the same up to serde_json's rounding: the reader hands a float's
//! digits to serde_json, whose best-effort parser may round a number with more
//! digits than an f64 holds (`222…2`, 45 digits) a unit or two in the last place
//! away from Rust's correctly rounded parser, which serde_yaml used. A JSON
//! configuration's floats are read by the same serde_json.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use threescale_wasm_auth::yaml::{self, Problem};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = yaml::parse(text).and_then(|root| yaml::to_json(&root));
    if matches!(&ours, Err(error) if error.problem == Problem::TooDeep) {
        // libyaml's scanner is slow on deep flow nesting; nothing to compare.
        return;
    }
    let theirs = serde_yaml::from_str::<Value>(text)
        .map(|value| serde_json::from_str::<Value>(&value.to_string()).ok());
    match (theirs, ours) {
        (Ok(theirs), Ok(json)) => {
            let ours = serde_json::from_str::<Value>(&json).ok();
            let same = match (&theirs, &ours) {
                (Some(theirs), Some(ours)) => same_value(theirs, ours),
                _ => theirs == ours,
            };
            assert!(
                same,
                "{text:?}: serde_yaml read {theirs:?}, we read {ours:?}"
            );
        }
        (Ok(_), Err(error)) => assert!(
            error.problem.is_refused_feature(),
            "{text:?}: serde_yaml read it, we refused: {error}"
        ),
        (Err(error), Ok(json)) => panic!("{text:?}: serde_yaml refused ({error}), we read {json}"),
        (Err(_), Err(_)) => {}
    }
});

/// Equal values, floats compared up to a few units in the last place.
fn same_value(theirs: &Value, ours: &Value) -> bool {
    match (theirs, ours) {
        (Value::Array(theirs), Value::Array(ours)) => {
            theirs.len() == ours.len() && theirs.iter().zip(ours).all(|(a, b)| same_value(a, b))
        }
        (Value::Object(theirs), Value::Object(ours)) => {
            theirs.len() == ours.len()
                && theirs
                    .iter()
                    .all(|(key, a)| ours.get(key).is_some_and(|b| same_value(a, b)))
        }
        (Value::Number(a), Value::Number(b)) if a.is_f64() && b.is_f64() => {
            match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) => close(a, b),
                _ => false,
            }
        }
        _ => theirs == ours,
    }
}

/// Within 4 units in the last place: serde_json's best-effort rounding, nothing more.
fn close(a: f64, b: f64) -> bool {
    a == b
        || (a.is_sign_positive() == b.is_sign_positive() && a.to_bits().abs_diff(b.to_bits()) <= 4)
}
