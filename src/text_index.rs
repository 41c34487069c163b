//! A hash map from texts of the configuration to positions, shared by the service index
//! (authority literals) and the YAML reader (anchor names), so that the module holds
//! one such map's code.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Texts to positions, hashed with [`Fnv`].
pub type TextIndex = HashMap<Box<str>, usize, BuildHasherDefault<Fnv>>;

/// The FNV-1a hash. A request looks up its authority up to three times; with the
/// standard library's keyed hash (SipHash) that was most of what 1,000 services
/// cost a request over one (`make bench-core`). The keys come from the
/// configuration, not from requests, so there is nothing for a keyed hash to
/// defend: a request can only probe the table, never fill it.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
