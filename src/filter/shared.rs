//! The cache's store: Proxy-Wasm shared data, one map per VM id that every
//! worker's VM sees, with versioned (compare-and-swap) writes.

use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;

use crate::cache::{Store, Versioned, WriteError};

/// Proxy-Wasm shared data.
pub struct SharedData;

impl Store for SharedData {
    fn read(&self, key: &str) -> Option<Versioned> {
        match hostcalls::get_shared_data(key) {
            Ok((Some(bytes), cas)) => Some(Versioned { bytes, cas }),
            Ok((None, _)) => None,
            Err(status) => {
                log::warn!("could not read shared data `{key}`: {status:?}");
                None
            }
        }
    }

    fn write(&self, key: &str, bytes: &[u8], cas: Option<u32>) -> Result<(), WriteError> {
        match hostcalls::set_shared_data(key, Some(bytes), cas) {
            Ok(()) => Ok(()),
            Err(Status::CasMismatch) => Err(WriteError::Conflict),
            Err(status) => {
                log::warn!("could not write shared data `{key}`: {status:?}");
                Err(WriteError::Failed)
            }
        }
    }
}
