//! The store the cache's entries live in, shared by every worker's VM.
//!
//! Proxy-Wasm shared data is the production store (`filter::shared`): a map
//! from keys to bytes where every write bumps a version (`cas`), and a write
//! that names an outdated version fails. The core only needs this trait, so
//! its tests use [`MemoryStore`], which can also inject version conflicts.

/// Why a write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The value changed since it was read; read again and retry.
    #[error("the value changed since it was read")]
    Conflict,
    /// The store refused the write.
    #[error("the shared store refused the write")]
    Failed,
}

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// A value and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The stored bytes.
    pub bytes: Vec<u8>,
    /// The version to name when writing it back (`None`: the store gave none).
    pub cas: Option<u32>,
}

/// Attempts at a read-change-write of one key before giving up (the caller then
/// falls back to 3scale, or tries again later).
pub const MAX_ATTEMPTS: usize = 16;

/// Writes `initial` under `key` if it is absent: the one unconditional write of a
/// key that versioned writes change afterwards. A failed write leaves it absent.
pub fn create_if_absent(store: &dyn Store, key: &str, initial: &[u8]) {
    if store.read(key).is_none() {
        let _ = store.write(key, initial, None);
    }
}

/// A key-value store with compare-and-swap writes.
pub trait Store {
    /// The value under `key`, or `None` when there is none.
    fn read(&self, key: &str) -> Option<Versioned>;

    /// Writes `bytes` under `key` if its version is still `cas` (unconditionally
    /// when `cas` is `None`: creating a key cannot be conditional in Proxy-Wasm).
    fn write(&self, key: &str, bytes: &[u8], cas: Option<u32>) -> Result<(), WriteError>;
}

/// A [`Store`] in the VM's own memory with Proxy-Wasm's version semantics (one
/// version counter for every key, as Envoy's shared data keeps it): for running
/// the core without a host, in `make bench-core` and the `ablate-shared-data`
/// build. One worker's view only.
#[derive(Default)]
pub struct LocalStore {
    values: RefCell<HashMap<String, (Vec<u8>, u32)>>,
    next_cas: Cell<u32>,
}

impl Store for LocalStore {
    fn read(&self, key: &str) -> Option<Versioned> {
        let values = self.values.try_borrow().ok()?;
        let (bytes, cas) = values.get(key)?;
        Some(Versioned {
            bytes: bytes.clone(),
            cas: Some(*cas),
        })
    }

    fn write(&self, key: &str, bytes: &[u8], cas: Option<u32>) -> Result<(), WriteError> {
        let mut values = self
            .values
            .try_borrow_mut()
            .map_err(|_| WriteError::Failed)?;
        if let (Some(expected), Some((_, current))) = (cas, values.get(key))
            && expected != *current
        {
            return Err(WriteError::Conflict);
        }
        let next = self.next_cas.get().wrapping_add(1);
        self.next_cas.set(next);
        values.insert(key.to_owned(), (bytes.to_vec(), next));
        Ok(())
    }
}

/// The number of keys only: the values hold credentials.
impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.values.try_borrow().map(|values| values.len()).ok();
        f.debug_struct("LocalStore").field("keys", &keys).finish()
    }
}

#[cfg(test)]
pub use memory::MemoryStore;

#[cfg(test)]
mod memory {
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;

    use super::{Store, Versioned, WriteError};

    /// A change made by "another worker" before a write.
    pub type Interloper = Box<dyn FnMut(&MemoryStore)>;

    /// An in-memory [`Store`] for tests, with Proxy-Wasm's version semantics.
    #[derive(Default)]
    pub struct MemoryStore {
        values: RefCell<HashMap<String, (Vec<u8>, u32)>>,
        next_cas: Cell<u32>,
        /// Writes that fail with a conflict before the next one succeeds.
        pub conflicts: Cell<usize>,
        /// Every write fails.
        pub broken: Cell<bool>,
        /// Called before each write, to let "another worker" change the store.
        pub interloper: RefCell<Option<Interloper>>,
        /// Called after each successful write, to let "another worker" write after it.
        pub follower: RefCell<Option<Interloper>>,
    }

    impl MemoryStore {
        /// Writes without any check (what another worker does).
        pub fn force(&self, key: &str, bytes: &[u8]) {
            let cas = self.bump();
            self.values
                .borrow_mut()
                .insert(key.to_owned(), (bytes.to_vec(), cas));
        }

        /// Every key.
        pub fn keys(&self) -> Vec<String> {
            let mut keys: Vec<String> = self.values.borrow().keys().cloned().collect();
            keys.sort();
            keys
        }

        fn bump(&self) -> u32 {
            let cas = self.next_cas.get() + 1;
            self.next_cas.set(cas);
            cas
        }
    }

    impl Store for MemoryStore {
        /// An empty value reads as none, as Envoy returns it (no data pointer).
        fn read(&self, key: &str) -> Option<Versioned> {
            self.values
                .borrow()
                .get(key)
                .filter(|(bytes, _)| !bytes.is_empty())
                .map(|(bytes, cas)| Versioned {
                    bytes: bytes.clone(),
                    cas: Some(*cas),
                })
        }

        fn write(&self, key: &str, bytes: &[u8], cas: Option<u32>) -> Result<(), WriteError> {
            let hook = self.interloper.borrow_mut().take();
            if let Some(mut hook) = hook {
                hook(self);
                *self.interloper.borrow_mut() = Some(hook);
            }
            if self.broken.get() {
                return Err(WriteError::Failed);
            }
            if self.conflicts.get() > 0 {
                self.conflicts.set(self.conflicts.get() - 1);
                return Err(WriteError::Conflict);
            }
            let current = self.values.borrow().get(key).map(|(_, cas)| *cas);
            if let (Some(expected), Some(current)) = (cas, current)
                && expected != current
            {
                return Err(WriteError::Conflict);
            }
            self.force(key, bytes);
            let hook = self.follower.borrow_mut().take();
            if let Some(mut hook) = hook {
                hook(self);
                *self.follower.borrow_mut() = Some(hook);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_store_refuses_a_write_that_names_an_old_version() {
        let store = LocalStore::default();
        assert_eq!(store.read("k"), None);
        store.write("k", b"one", None).unwrap();
        let first = store.read("k").unwrap();
        assert_eq!(first.bytes, b"one");
        store.write("k", b"two", first.cas).unwrap();
        assert_eq!(
            store.write("k", b"three", first.cas),
            Err(WriteError::Conflict)
        );
        assert_eq!(store.read("k").unwrap().bytes, b"two");
        assert!(!format!("{store:?}").contains("two"));
    }
}
