//! System's proxy-configuration answer parser on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = threescale_wasm_auth::system::proxy_config::parse(data);
});
