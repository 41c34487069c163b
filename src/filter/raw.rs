//! The one host call the SDK has no allocation-free form of: a whole header
//! map as the host serialized it (the SDK's `get_map_bytes` copies every name
//! and value into a `String` and a `Vec` of its own: measured with
//! `make bench-instr`, README "The benchmark").
// The only unsafe code of the crate: an import of the host, declared as the
// SDK declares it, and taking ownership of the buffer the host filled.
#![allow(unsafe_code)]

use proxy_wasm::types::{MapType, Status};

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: MapType,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> Status;
}

/// The serialized pairs of `map` ([`crate::io::pairs::HeaderPairs`] reads them);
/// empty when the host has none or refuses.
pub fn header_map_pairs(map: MapType) -> Vec<u8> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a pointer and a size into the two locations, which
    // live for the whole call.
    let status = unsafe { proxy_get_header_map_pairs(map, &mut data, &mut size) };
    if !matches!(status, Status::Ok) || data.is_null() {
        return Vec::new();
    }
    // SAFETY: the host obtained `data` from the SDK's `proxy_on_memory_allocate`,
    // which allocates exactly `size` bytes with the global allocator, alignment 1,
    // and filled them; nothing else owns them (the SDK's own reader does the same).
    unsafe { Vec::from_raw_parts(data, size, size) }
}
