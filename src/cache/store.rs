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

/// A value and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The stored bytes.
    pub bytes: Vec<u8>,
    /// The version to name when writing it back (`None`: the store gave none).
    pub cas: Option<u32>,
}

/// A key-value store with compare-and-swap writes.
pub trait Store {
    /// The value under `key`, or `None` when there is none.
    fn read(&self, key: &str) -> Option<Versioned>;

    /// Writes `bytes` under `key` if its version is still `cas` (unconditionally
    /// when `cas` is `None`: creating a key cannot be conditional in Proxy-Wasm).
    fn write(&self, key: &str, bytes: &[u8], cas: Option<u32>) -> Result<(), WriteError>;
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
        fn read(&self, key: &str) -> Option<Versioned> {
            self.values.borrow().get(key).map(|(bytes, cas)| Versioned {
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
