//! Bench-only stand-ins for host calls (`make bench ARGS=--ablation`): each
//! `ablate-*` feature of the root crate replaces one kind of host call by a
//! no-op or a VM-local equivalent, so that the benchmark shows what that kind
//! costs a request. No shipped build has any of these features.

#[cfg(feature = "ablate-clock")]
pub use clock::now;
#[cfg(feature = "ablate-headers")]
pub use headers::headers;
#[cfg(feature = "ablate-shared-data")]
pub use store::local_store;

/// The request `make bench` sends, without asking the host.
#[cfg(feature = "ablate-headers")]
mod headers {
    /// The headers of the bench's request (envoy/bench*.yaml, scripts/bench.sh).
    const REQUEST: [(&str, &[u8]); 4] = [
        (":authority", b"127.0.0.1"),
        (":path", b"/?app_id=open-app"),
        (":method", b"GET"),
        (":scheme", b"http"),
    ];

    /// The headers of the bench's request, serialized as the host hands them over.
    pub fn headers() -> Vec<u8> {
        crate::io::pairs::serialize(&REQUEST)
    }
}

/// The host clock, read once every [`clock::READ_EVERY`] calls.
#[cfg(feature = "ablate-clock")]
mod clock {
    use std::cell::Cell;
    use std::time::Duration;

    /// How many calls reuse one reading (a few milliseconds of requests).
    const READ_EVERY: u32 = 64;

    thread_local! {
        static LAST: Cell<(Duration, u32)> = const { Cell::new((Duration::ZERO, 0)) };
    }

    /// The last reading of the host clock, renewed every [`READ_EVERY`] calls.
    pub fn now() -> Duration {
        LAST.with(|last| {
            let (time, calls) = last.get();
            if calls == 0 {
                let time = super::super::host::host_now();
                last.set((time, READ_EVERY));
                time
            } else {
                last.set((time, calls - 1));
                time
            }
        })
    }
}

/// The cache's store in the VM's own memory: one worker's view only.
#[cfg(feature = "ablate-shared-data")]
mod store {
    use crate::cache::LocalStore;

    thread_local! {
        static STORE: &'static LocalStore = Box::leak(Box::default());
    }

    /// This VM's store.
    pub fn local_store() -> &'static LocalStore {
        STORE.with(|store| *store)
    }
}
