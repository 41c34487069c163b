//! Which cache buckets have been created, so that exactly one worker creates each.
//!
//! A bucket's first write cannot be versioned: the key does not exist yet, and
//! Proxy-Wasm cannot create a key only if it is absent. Two workers that both read
//! a bucket as absent would both write it unconditionally, the second erasing
//! what the first wrote and whatever was added to it in between (a flight, or a
//! hit's usage). So a worker creates a bucket only once it has claimed it here: a
//! bit per bucket, set by a versioned write in a store key created (with no bit
//! set) when a plugin starts ([`prepare`]). A worker that finds the bit set reads
//! the bucket again (its creator writes it right after claiming it) and then
//! writes it with its version like any other change; if the bucket is still
//! absent after as many attempts as a conflict gets, the change is given up the
//! same way (a request goes to 3scale). A bucket whose creator claimed it and
//! then failed to write it would stay absent, its applications never cached;
//! Envoy fails a shared-data write only on a version conflict, which an
//! unconditional write cannot have.
//!
//! The bits are kept in shards of 8,192 buckets (1 KB at most, after a format
//! byte), so that a claim copies little whatever `max_entries` is: one shard
//! with the default (2,500 buckets, 314 bytes once all are created). A plugin
//! prepares at most 64 shards; buckets beyond them (a `max_entries` above
//! 2,097,152) are created unconditionally, as before this existed. Shards are
//! read and written only when a bucket is absent, never on a hit.

use super::store::{MAX_ATTEMPTS, Store, WriteError, create_if_absent};
use crate::io::percent::push_decimal;

/// The store keys of the shards start with this (no secret in them: they may be logged).
pub const CREATED_PREFIX: &str = "threescale-wasm-auth.cache.created.";
/// Buckets per shard.
const SHARD_BUCKETS: u32 = 8 * 1024;
/// Shards a plugin prepares.
const MOST_SHARDS: u32 = 64;
/// The first byte of a shard, before its bits: the format. Never empty, because
/// Envoy returns an empty value as no value.
const FORMAT: u8 = 1;

/// The store key of the shard that holds the bit of `bucket`.
fn shard_key(bucket: u32) -> String {
    let mut key = String::with_capacity(CREATED_PREFIX.len() + 6);
    key.push_str(CREATED_PREFIX);
    push_decimal(&mut key, u64::from(bucket / SHARD_BUCKETS));
    key
}

/// Creates the shards for `buckets` buckets (at most [`MOST_SHARDS`]), empty,
/// where they are absent (a plugin with the cache starts), before any of the
/// plugin's requests can create a bucket. Plugins that start at once may both
/// create a shard: both write it empty, and a claim made between their two
/// writes is lost only for a bucket still absent at that moment.
pub fn prepare(store: &dyn Store, buckets: u32) {
    let shards = buckets.div_ceil(SHARD_BUCKETS).min(MOST_SHARDS);
    for shard in 0..shards {
        // Left absent by a failed write: its buckets are then created
        // unconditionally, as before this existed.
        create_if_absent(store, &shard_key(shard * SHARD_BUCKETS), &[FORMAT]);
    }
}

/// Whether this worker may create the absent `bucket` with an unconditional
/// write: it claimed the bucket, or there is no shard to claim it in (beyond
/// the prepared ones, or one that could not be created). `false` when
/// another worker claimed it first (or the store would not take the claim):
/// read the bucket again.
pub fn may_create(store: &dyn Store, bucket: u32) -> bool {
    let key = shard_key(bucket);
    let within = bucket % SHARD_BUCKETS;
    let (byte, bit) = (1 + (within / 8) as usize, 1u8 << (within % 8));
    for _ in 0..MAX_ATTEMPTS {
        let Some(read) = store.read(&key) else {
            return true;
        };
        let mut bits = read.bytes;
        if bits.first() != Some(&FORMAT) {
            // Another format: started over in this one.
            bits = vec![FORMAT];
        }
        if bits.get(byte).is_some_and(|set| set & bit != 0) {
            return false;
        }
        if bits.len() <= byte {
            bits.resize(byte + 1, 0);
        }
        if let Some(set) = bits.get_mut(byte) {
            *set |= bit;
        }
        match store.write(&key, &bits, read.cas) {
            Ok(()) => return true,
            Err(WriteError::Conflict) => continue,
            Err(WriteError::Failed) => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::store::MemoryStore;

    fn shard(store: &MemoryStore, number: u32) -> Vec<u8> {
        store
            .read(&format!("{CREATED_PREFIX}{number}"))
            .unwrap()
            .bytes
    }

    #[test]
    fn each_bucket_is_claimed_once() {
        let store = MemoryStore::default();
        prepare(&store, 2_500);
        assert_eq!(store.keys(), vec![format!("{CREATED_PREFIX}0")]);
        assert!(may_create(&store, 9));
        assert!(!may_create(&store, 9), "claimed already");
        assert!(may_create(&store, 0));
        assert!(may_create(&store, 8));
        assert!(!may_create(&store, 0));
        assert_eq!(shard(&store, 0), vec![FORMAT, 0b1, 0b11]);
    }

    #[test]
    fn shards_hold_8192_buckets_and_at_most_64_are_prepared() {
        let store = MemoryStore::default();
        prepare(&store, u32::MAX);
        assert_eq!(store.keys().len(), 64);
        assert!(may_create(&store, 8_191));
        assert!(may_create(&store, 8_192));
        assert_eq!(shard(&store, 0).len(), 1 + 1_024);
        assert_eq!(shard(&store, 1), vec![FORMAT, 0b1]);
        let beyond = 64 * 8_192;
        assert!(may_create(&store, beyond));
        assert!(may_create(&store, beyond), "unprotected, as before");
        assert!(may_create(&store, u32::MAX));
        assert_eq!(store.keys().len(), 64, "nothing written beyond");
    }

    #[test]
    fn without_a_shard_a_bucket_is_created_as_before() {
        let store = MemoryStore::default();
        assert!(may_create(&store, 3));
        assert!(may_create(&store, 3));
        assert!(store.keys().is_empty(), "nothing claimed");
    }

    #[test]
    fn preparing_keeps_the_claims() {
        let store = MemoryStore::default();
        prepare(&store, 8);
        assert!(may_create(&store, 5));
        prepare(&store, 8);
        assert!(!may_create(&store, 5));
    }

    #[test]
    fn a_claim_conflicting_with_another_is_retried_and_a_broken_store_claims_nothing() {
        let store = MemoryStore::default();
        prepare(&store, 8);
        let mut other_worker = Some(1);
        *store.interloper.borrow_mut() = Some(Box::new(move |store: &MemoryStore| {
            if let Some(bucket) = other_worker.take() {
                assert!(may_create(store, bucket));
            }
        }));
        assert!(may_create(&store, 2));
        *store.interloper.borrow_mut() = None;
        assert_eq!(shard(&store, 0), vec![FORMAT, 0b110]);
        store.conflicts.set(MAX_ATTEMPTS);
        assert!(!may_create(&store, 3), "endless conflicts");
        store.broken.set(true);
        assert!(!may_create(&store, 4));
    }

    #[test]
    fn a_shard_of_another_format_is_started_over() {
        let store = MemoryStore::default();
        store.force(&format!("{CREATED_PREFIX}0"), &[9, 0xff]);
        assert!(may_create(&store, 3));
        assert_eq!(shard(&store, 0), vec![FORMAT, 0b1000]);
    }
}
