//! The backend's answer to an authorization call: raw answer headers → verdict →
//! limits → the `RateLimit-*` and `Retry-After` headers built from them.
//!
//! Input: the answer's headers as `name:value` lines (`:status:200`); names are
//! taken as text (lossily), values as raw bytes.
//!
//! Beyond "no panic", the target checks the property the filter's security rests
//! on: only an answer whose `:status` is exactly 200 authorizes a request.
//!
//! (The usage-report XML that the cache work parses is a different input with its
//! own target; this one stays with the authorization answer.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use threescale_wasm_auth::backend::{BackendAnswer, Verdict, verdict};
use threescale_wasm_auth::io::pairs::OwnedHeaderPairs;
use threescale_wasm_auth::model::Limits;

#[path = "../common/answer_headers.rs"]
mod answer_headers;
use answer_headers::answer_headers;

/// What `:status` says, read independently of the code under test: the first
/// `:status` header, trimmed, as a number.
fn status_of(headers: &[(String, Vec<u8>)]) -> Option<u16> {
    let (_, value) = headers.iter().find(|(name, _)| name == ":status")?;
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

fn use_limits(limits: &Limits) {
    let headers = limits.rate_limit_headers();
    assert!(headers.len() <= 3, "{headers:?}");
    for (name, value) in &headers {
        assert!(name.starts_with("ratelimit-"), "{name}");
        assert!(
            value.parse::<i64>().is_ok_and(|number| number >= 0),
            "{value}"
        );
    }
    if let Some((_, reset)) = limits.retry_after() {
        assert!(
            reset.parse::<i64>().is_ok_and(|number| number >= 0),
            "{reset}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let headers = answer_headers(data);
    let status = status_of(&headers);
    let answer = BackendAnswer::from_headers(OwnedHeaderPairs::of(&headers));
    match verdict(&answer) {
        Verdict::Authorized(limits) => {
            assert_eq!(status, Some(200), "authorized without a 200: {headers:?}");
            use_limits(&limits);
        }
        Verdict::LimitsExceeded(limits) => {
            assert_eq!(status, Some(409), "{headers:?}");
            use_limits(&limits);
        }
        Verdict::Denied { status: denied, .. } => {
            assert_eq!(status, Some(denied), "{headers:?}");
            assert!((400..500).contains(&denied), "{headers:?}");
        }
        Verdict::Unreachable(_) => assert_ne!(status, Some(200), "{headers:?}"),
    }
    // The limit headers alone, as the response step reads them.
    let limits = Limits::from_headers(
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_slice())),
    );
    use_limits(&limits);
});
