//! The cache's store: Proxy-Wasm shared data, one map per VM id that every
//! worker's VM sees, with versioned (compare-and-swap) writes.

use super::abi::{self, Status};

use crate::cache::{Store, Versioned, WriteError};

/// Proxy-Wasm shared data.
pub struct SharedData;

impl Store for SharedData {
    fn read(&self, key: &str) -> Option<Versioned> {
        match abi::shared_data(key) {
            Ok((Some(bytes), cas)) => Some(Versioned { bytes, cas }),
            Ok((None, _)) => None,
            Err(status) => {
                log::warn!("could not read shared data `{key}`: {status:?}");
                None
            }
        }
    }

    fn write(&self, key: &str, bytes: &[u8], cas: Option<u32>) -> Result<(), WriteError> {
        match abi::set_shared_data(key, bytes, cas.unwrap_or(0)) {
            Ok(()) => Ok(()),
            Err(Status::CAS_MISMATCH) => Err(WriteError::Conflict),
            Err(status) => {
                log::warn!("could not write shared data `{key}`: {status:?}");
                Err(WriteError::Failed)
            }
        }
    }
}
