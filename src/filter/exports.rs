//! The hooks the module exports (`exports.txt` lists them; `make wasm` checks none
//! other is left), and the contexts they are for: one [`Root`] per plugin
//! configuration, one [`Http`] per request.
//!
//! A hook for a context the host never created (which the host does not do) is
//! answered as a plugin without a configuration would be: a request is refused.
// `#[unsafe(no_mangle)]` is what exports a hook, and the host's memory requests
// hand out raw pointers.
#![allow(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::mem::MaybeUninit;

use super::abi::{self, Action};
use super::http::Http;
use super::root::Root;

/// The contexts of this VM, by the host's ids.
#[derive(Default)]
struct Contexts {
    roots: HashMap<u32, Root, IdHash>,
    /// Boxed: a request's state is a few hundred bytes, and the table moves its
    /// entries as it grows.
    requests: HashMap<u32, Box<Http>, IdHash>,
}

/// Context ids and call tokens are small counters: a multiplication spreads them
/// over the table (the default hasher is made for keys an attacker picks).
type IdHash = BuildHasherDefault<IdHasher>;

#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.write_u64(u64::from(id));
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = (self.0 ^ id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

thread_local! {
    static CONTEXTS: RefCell<Contexts> = RefCell::new(Contexts::default());
    /// The context whose hook runs: a call it dispatches is answered to it.
    static ACTIVE: Cell<u32> = const { Cell::new(0) };
    /// The calls in flight: token to the context that made the call.
    static CALLS: RefCell<HashMap<u32, u32, IdHash>> = RefCell::new(HashMap::default());
}

/// Remembers that the running hook's context made the call `token`.
pub fn register_call(token: u32) {
    let owner = ACTIVE.with(Cell::get);
    CALLS.with(|calls| {
        if let Ok(mut calls) = calls.try_borrow_mut() {
            calls.insert(token, owner);
        }
    });
}

/// Runs `work` on the contexts, with `id` as the active context; `fallback` if
/// they are in use (a hook inside a hook, which the host does not do).
fn with_contexts<T>(id: u32, fallback: T, work: impl FnOnce(&mut Contexts) -> T) -> T {
    ACTIVE.with(|active| active.set(id));
    CONTEXTS.with(|contexts| match contexts.try_borrow_mut() {
        Ok(mut contexts) => work(&mut contexts),
        Err(_) => {
            log::error!("a hook for context {id} ran inside another hook");
            fallback
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_abi_version_0_2_1() {}

unsafe extern "C" {
    /// The module's static constructors (the WASI reactor's first step).
    fn __wasm_call_ctors();
}

/// The host calls it once, before any other export.
#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    // SAFETY: called once, first, as the WASI reactor model requires.
    unsafe { __wasm_call_ctors() };
    super::log::install();
}

/// Memory for a value the host returns: a boxed slice of exactly `size` bytes,
/// which `abi` takes back as a `Vec<u8>` of that capacity.
#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    let memory: Box<[MaybeUninit<u8>]> = Box::new_uninit_slice(size);
    Box::into_raw(memory).cast::<u8>()
}

/// A new context: a root (no parent) or a request of the root `parent`.
#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_context_create(id: u32, parent: u32) {
    with_contexts(id, (), |contexts| {
        if parent == 0 {
            contexts.roots.insert(id, Root::default());
            return;
        }
        let request = match contexts.roots.get(&parent) {
            Some(root) => root.new_request(),
            None => Http::unconfigured(),
        };
        contexts.requests.insert(id, Box::new(request));
    });
}

/// A root's configuration: 1 if taken, 0 if refused.
#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_configure(id: u32, _size: usize) -> u32 {
    with_contexts(id, 0, |contexts| {
        let taken = contexts.roots.get_mut(&id).is_some_and(Root::on_configure);
        u32::from(taken)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_tick(id: u32) {
    with_contexts(id, (), |contexts| {
        if let Some(root) = contexts.roots.get_mut(&id) {
            root.on_tick();
        }
        forget_orphan_calls(contexts);
    });
}

/// Forgets the calls of contexts that are gone: the host cancels a call when its
/// context ends, and no answer comes to remove it (a request the client gave up
/// while it waited for 3scale). On the timer rather than at every request's end.
fn forget_orphan_calls(contexts: &Contexts) {
    CALLS.with(|calls| {
        if let Ok(mut calls) = calls.try_borrow_mut() {
            calls.retain(|_, owner| {
                contexts.requests.contains_key(owner) || contexts.roots.contains_key(owner)
            });
        }
    });
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_request_headers(id: u32, _headers: usize, _end: u32) -> Action {
    with_contexts(id, Action::Pause, |contexts| {
        match contexts.requests.get_mut(&id) {
            Some(request) => request.on_request_headers(),
            None => Http::unconfigured().on_request_headers(),
        }
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_response_headers(id: u32, _headers: usize, _end: u32) -> Action {
    with_contexts(id, Action::Continue, |contexts| {
        contexts
            .requests
            .get_mut(&id)
            .map_or(Action::Continue, |request| request.on_response_headers())
    })
}

/// The answer to a call, handed to the context that made it (the host's id
/// here is not always that one).
#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_http_call_response(
    _id: u32,
    token: u32,
    _headers: usize,
    body_size: usize,
    _trailers: usize,
) {
    let owner = CALLS.with(|calls| calls.try_borrow_mut().ok()?.remove(&token));
    let Some(owner) = owner else {
        log::warn!("an answer to call {token}, which no context made");
        return;
    };
    if let Err(status) = abi::set_effective_context(owner) {
        log::warn!("could not switch to context {owner} for an answer: {status:?}");
        return;
    }
    with_contexts(owner, (), |contexts| {
        if let Some(request) = contexts.requests.get_mut(&owner) {
            request.on_http_call_response(body_size);
        } else if let Some(root) = contexts.roots.get_mut(&owner) {
            root.on_http_call_response(token, body_size);
        }
    });
}

/// The context ends: 1 when it is done, 0 when a root still waits for answers
/// (it calls `proxy_done` then).
#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_done(id: u32) -> u32 {
    with_contexts(id, 1, |contexts| {
        if let Some(request) = contexts.requests.get_mut(&id) {
            request.on_done();
            return 1;
        }
        let done = contexts.roots.get_mut(&id).is_none_or(Root::on_done);
        u32::from(done)
    })
}

/// The context is gone (its calls in flight too: the host cancels them).
#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_delete(id: u32) {
    with_contexts(id, (), |contexts| {
        if contexts.requests.remove(&id).is_none() {
            contexts.roots.remove(&id);
        }
    });
}
