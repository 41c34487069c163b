//! Mapping-rule patterns and authority globs: compile one part of the input,
//! match it against the other; and the path normal form the rules see, which
//! must be its own normal form and hold no dot segment.
//!
//! Input: `<pattern>\0<subject>`; without a `\0` the input is both.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threescale_wasm_auth::glob::Glob;
use threescale_wasm_auth::mapping::Pattern;
use threescale_wasm_auth::path::normalize;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, subject) = text.split_once('\0').unwrap_or((&text, &text));
    let normal = normalize(subject);
    assert_eq!(normalize(&normal), normal, "normal form of {subject:?}");
    let normal_path = normal.split_once('?').map_or(&*normal, |(path, _)| path);
    assert!(
        !normal_path.split('/').any(|segment| segment == "." || segment == ".."),
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
});
