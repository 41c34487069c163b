//! Credential lookup: sources, the `ops` stack machine, and credential resolution
//! (SPEC sections 4 and 5).

pub mod credentials;
pub mod format;
pub mod op;
pub mod ops;
mod protobuf;
pub mod query;
pub mod source;
pub mod stack_index;
pub mod trace;

pub use credentials::{
    Credential, CredentialQueries, Origin, ResolvedCredentials, resolve, resolve_traced,
};
pub use op::Op;
pub use query::LookupQuery;
pub use trace::{NoTrace, Trace};
