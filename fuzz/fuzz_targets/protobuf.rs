//! The protobuf reader (`lookup::protobuf`) against prost's generated decoders: every
//! input is refused by both or decoded by both to the same content, as a `Struct` and as
//! an Envoy `Metadata` (`Node::canonical`: a struct's fields as a map holds them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use threescale_wasm_auth::lookup::node::Node;
use threescale_wasm_auth::lookup::protobuf::{decode_filter_metadata, decode_struct};

#[path = "../common/prost_reference.rs"]
mod prost_reference;
use prost_reference::{reference_metadata, reference_struct};

fuzz_target!(|data: &[u8]| {
    // As `Debug` text: a NaN number is not equal to itself.
    let ours = decode_struct(data).map(|node| node.canonical());
    assert_eq!(format!("{ours:?}"), format!("{:?}", reference_struct(data)));
    let ours = decode_filter_metadata(data).map(|node| node.canonical());
    assert_eq!(format!("{ours:?}"), format!("{:?}", reference_metadata(data)));
});
