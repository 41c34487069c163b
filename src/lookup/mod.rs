//! Credential lookup: sources, the `ops` stack machine, and credential resolution
//! (docs/behaviour.md §4 and §5).

pub mod credentials;
pub mod failure;
pub mod format;
pub mod node;
pub mod op;
pub mod ops;
pub mod protobuf;
pub mod query;
pub mod resolution;
pub mod source;
pub mod stack_index;
pub mod trace;

pub use credentials::{CredentialQueries, ResolvedCredentials, resolve, resolve_traced};
pub use op::Op;
pub use query::LookupQuery;
pub use resolution::{Resolution, Unresolved};
pub use trace::{NoTrace, Trace};
