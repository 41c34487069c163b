//! The `<status>` parser (the body of 3scale's authorization answers) on
//! arbitrary bytes, then what the cache makes of a document it accepts: an
//! entry, a merge with an older one, a hit check, and the round trip of a
//! bucket holding both entries through the binary form the shared store holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threescale_wasm_auth::backend::parse_status;
use threescale_wasm_auth::cache::{Answer, AppKey, Entry, decode_bucket, encode_bucket};
use threescale_wasm_auth::model::{Credential, Usages};

/// A fixed "now" (Unix ms), so runs are reproducible.
const NOW: u64 = 1_700_000_000_000;
const TTL_MS: u64 = 60_000;

fuzz_target!(|data: &[u8]| {
    let Some(document) = parse_status(data) else {
        return;
    };
    for report in &document.reports {
        let _ = document.parent_of(&report.metric);
    }
    let credential = Credential::UserKey("key".into());
    let key = AppKey {
        service_id: "1",
        credential: &credential,
    };
    // Every reported metric, the first with the largest delta (saturation).
    let usages = Usages(
        document
            .reports
            .iter()
            .enumerate()
            .map(|(at, report)| {
                (
                    report.metric.as_str().into(),
                    if at == 0 { u64::MAX } else { 1 },
                )
            })
            .collect(),
    );
    let mut first = Entry::from_answer(
        &key,
        Answer::Authorized(&document),
        None,
        &usages,
        NOW,
        TTL_MS,
        true,
    );
    let _ = first.check(&usages, NOW);
    first.add_usage(&usages, NOW);
    let merged = Entry::from_answer(
        &key,
        Answer::LimitsExceeded(&document),
        Some(&first),
        &usages,
        NOW,
        TTL_MS,
        false,
    );
    let _ = merged.check(&usages, NOW);
    let bucket = [first, merged];
    let back = decode_bucket(&encode_bucket(&bucket)).expect("an encoded bucket decodes");
    assert_eq!(back, bucket, "entries survive the shared store's encoding");
});
