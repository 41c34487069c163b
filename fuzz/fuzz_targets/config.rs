//! The plugin configuration parser on arbitrary bytes (YAML or JSON, as Envoy hands it over),
//! and the scanner that finds a data error's field in JSON text, at an offset the first byte picks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threescale_wasm_auth::config::json_path::path_at;

fuzz_target!(|data: &[u8]| {
    let _ = threescale_wasm_auth::config::parse(data);
    if let (Some(&first), Ok(text)) = (data.first(), std::str::from_utf8(data)) {
        let _ = path_at(text, usize::from(first) * text.len() / 255);
    }
});
