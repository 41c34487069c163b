//! The YAML reader on arbitrary text, against serde_yaml (the reader it replaced):
//! no panic, and the same answer: what serde_yaml reads, the reader reads to the
//! same JSON value, unless it refuses a feature it names (tags, complex keys,
//! directives, duplicate keys, anchors on keys, the alias budget); what serde_yaml
//! refuses, the reader refuses.
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
            assert_eq!(theirs, ours, "{text:?}");
        }
        (Ok(_), Err(error)) => assert!(
            error.problem.is_refused_feature(),
            "{text:?}: serde_yaml read it, we refused: {error}"
        ),
        (Err(error), Ok(json)) => panic!("{text:?}: serde_yaml refused ({error}), we read {json}"),
        (Err(_), Err(_)) => {}
    }
});
