//! The plugin configuration parser on arbitrary bytes (YAML or JSON, as Envoy hands it over).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = threescale_wasm_auth::config::parse(data);
});
