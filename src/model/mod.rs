//! The request model: what a request presents and costs, and what 3scale said of its
//! limits. A leaf: it depends on nothing else of the crate.

pub mod credential;
pub mod limits;
pub mod secret;
pub mod usages;

pub use credential::{Credential, Origin};
pub use limits::Limits;
pub use secret::{Secret, redact};
pub use usages::Usages;
