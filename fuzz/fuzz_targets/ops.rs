//! The op stack machine: a list of ops as JSON, then the starting stack.
//!
//! Input: `<ops as JSON>\0<value>\n<value>\n...`. Inputs whose first part is not a
//! valid op list are rejected early; the seeds start libFuzzer off with valid lists.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threescale_wasm_auth::lookup::Op;
use threescale_wasm_auth::lookup::ops::run;

/// Keeps a single input from building huge op lists that only measure serde.
const MAX_OPS_BYTES: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let (ops_bytes, stack_bytes) = match data.iter().position(|&byte| byte == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    if ops_bytes.len() > MAX_OPS_BYTES {
        return;
    }
    let Ok(ops) = serde_json::from_slice::<Vec<Op>>(ops_bytes) else {
        return;
    };
    let stack: Vec<String> = String::from_utf8_lossy(stack_bytes)
        .split('\n')
        .map(str::to_owned)
        .collect();
    let _ = run(&ops, stack);
});
