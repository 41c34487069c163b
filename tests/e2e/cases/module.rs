//! The shipped module's exports (src/filter/exports.txt), and what Envoy does in
//! place of the hooks it no longer exports: a request body held while the filter
//! waits for 3scale, and an answer's body, pass through untouched.

use super::{MODEL, assert_authrep, assert_passed, single_authrep};
use crate::harness::{Stack, artifacts};
use crate::http::Request;
use crate::plugin::{HOST, USER_KEY};

/// The export names in `module`, a WebAssembly binary, in order.
fn exports_of(module: &[u8]) -> Vec<String> {
    let mut reader = Reader {
        bytes: module,
        at: 8,
    };
    assert_eq!(
        module.get(..8),
        Some(&b"\0asm\x01\0\0\0"[..]),
        "not a WebAssembly module"
    );
    while reader.at < module.len() {
        let id = reader.byte();
        let size = reader.leb();
        let end = reader.at + size;
        if id == 7 {
            let count = reader.leb();
            return (0..count)
                .map(|_| {
                    let length = reader.leb();
                    let name = String::from_utf8(reader.take(length).to_vec())
                        .expect("an export name is UTF-8");
                    reader.byte();
                    reader.leb();
                    name
                })
                .collect();
        }
        reader.at = end;
    }
    Vec::new()
}

/// A cursor over a module's bytes (tests panic on a malformed module).
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        let byte = self.bytes[self.at];
        self.at += 1;
        byte
    }

    fn take(&mut self, length: usize) -> &[u8] {
        let taken = &self.bytes[self.at..self.at + length];
        self.at += length;
        taken
    }

    /// An unsigned LEB128 number.
    fn leb(&mut self) -> usize {
        let mut value = 0;
        let mut shift = 0;
        loop {
            let byte = self.byte();
            value |= usize::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return value;
            }
            shift += 7;
        }
    }
}

#[test]
fn the_module_exports_exactly_the_listed_hooks() {
    let listed: Vec<&str> = include_str!("../../../src/filter/exports.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let module = std::fs::read(artifacts().wasm).expect("the module is readable");
    let mut exported = exports_of(&module);
    exported.sort();
    let mut expected: Vec<String> = listed.iter().map(|name| (*name).to_owned()).collect();
    expected.sort();
    assert_eq!(exported, expected, "the module's exports");
}

/// A POST whose body Envoy holds while the filter waits for the authrep call,
/// and an upstream answer with a body: the module exports no body hook, so Envoy
/// hands both on as they are.
#[test]
fn bodies_pass_through_a_request_that_waited_for_3scale() {
    let mut stack = Stack::start("module_bodies", MODEL, |_| {});
    let body: String = (0..40_000).map(|i| format!("{i:05}\n")).collect();
    let request = Request::new("POST", &format!("/products/1/sold?user_key={USER_KEY}"))
        .host(HOST)
        .body(&body);
    let response = stack.send(&request);
    let echoed = assert_passed(&response);
    assert_eq!(echoed.method, "POST");
    assert_eq!(
        response.json()["body"].as_str(),
        Some(body.as_str()),
        "the upstream's echo of the body ({} bytes sent)",
        body.len()
    );
    assert_authrep(
        &single_authrep(&stack.admin()),
        &[("user_key", USER_KEY)],
        &[("sales", "1"), ("products", "1")],
    );
}
