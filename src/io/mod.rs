//! The data the core exchanges with the host: calls to make, replies to send, changes
//! to a request that goes upstream, and the one query-string parser and percent-encoding.
//! Depends only on `model`.

pub mod call;
pub mod forward;
pub mod pairs;
pub mod percent;
pub mod query;
pub mod reply;
pub mod scan;

pub use call::{HeaderValue, HttpCall};
pub use forward::{Admission, Forward, HeaderWrite};
pub use reply::{LocalReply, ReplyKind};
