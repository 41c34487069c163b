//! Query-string and header handling: `header` and `query_string` lookups with
//! keys from the input, the form decoder, and the request target (scheme,
//! authority, path) as the flow rebuilds it.
//!
//! Input: fields separated by `0xFF`: the lookup keys as `\n`-separated lines,
//! `:path`, `:authority`, `:scheme`, `x-forwarded-proto`, then one header value
//! per key (in key order, raw bytes). Missing fields leave those headers out.
//!
//! Beyond "no panic", the target checks that a lookup finds exactly what the
//! request holds: a header lookup's value is the header's bytes, a query lookup's
//! value is that parameter's decoded value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threescale_wasm_auth::flow::Target;
use threescale_wasm_auth::flow::target::{normalise_authority, scheme_of};
use threescale_wasm_auth::io::percent::decode_form;
use threescale_wasm_auth::io::query::{first_value, query_of};
use threescale_wasm_auth::lookup::query::{KeyedSource, LookupQuery};
use threescale_wasm_auth::lookup::source::resolve_query;
use threescale_wasm_auth::model::Origin;
use threescale_wasm_auth::request::{PlainRequest, RequestView};

const PSEUDO: [&str; 4] = [":path", ":authority", ":scheme", "x-forwarded-proto"];

fn keyed(keys: &[String]) -> KeyedSource {
    KeyedSource {
        keys: keys.iter().map(|key| key.as_str().into()).collect(),
        ops: Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|&byte| byte == 0xFF);
    let keys: Vec<String> = String::from_utf8_lossy(fields.next().unwrap_or_default())
        .split('\n')
        .map(str::to_owned)
        .collect();
    let mut request = PlainRequest::default();
    for name in PSEUDO {
        if let Some(value) = fields.next() {
            request = request.with_header_bytes(name, value);
        }
    }
    for key in &keys {
        if let Some(value) = fields.next() {
            request = request.with_header_bytes(&key.to_ascii_lowercase(), value);
        }
    }

    if let Ok(resolution) = resolve_query(&LookupQuery::Header(keyed(&keys)), &request) {
        let Origin::Header(name) = &resolution.origin else {
            panic!("a header lookup resolved from {:?}", resolution.origin);
        };
        let bytes = request.header(name).expect("the header the lookup read");
        assert_eq!(
            resolution.values,
            vec![String::from_utf8_lossy(&bytes).into_owned()]
        );
    }

    let query = request.query();
    if let Ok(resolution) = resolve_query(&LookupQuery::QueryString(keyed(&keys)), &request) {
        let Origin::QueryParameter(name) = &resolution.origin else {
            panic!("a query lookup resolved from {:?}", resolution.origin);
        };
        let query = query.as_deref().expect("a query lookup needs a query");
        assert_eq!(
            Some(&resolution.values),
            first_value(query, name).map(|v| vec![v]).as_ref()
        );
    }
    if let Some(query) = &query {
        for key in &keys {
            let _ = first_value(query, key);
        }
        for pair in query.split('&') {
            let _ = decode_form(pair);
        }
    }

    if let Some(target) = Target::of(&request) {
        let scheme = scheme_of(&request);
        for text in [scheme.as_str(), &target.authority] {
            assert!(
                !text.bytes().any(|byte| byte.is_ascii_uppercase()),
                "{target:?}"
            );
        }
        let _ = normalise_authority(&scheme, target.path.to_string());
        let _ = query_of(&target.path);
    }
});
