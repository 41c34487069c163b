//! The 3scale Service Management API (docs/behaviour.md §7): request builders,
//! parameter encoding, and the meaning of answers.

pub mod answer;
pub mod authrep;
pub mod error_doc;
pub mod status;

pub use answer::{BackendAnswer, Unreachable, Verdict, verdict};
pub use authrep::{Report, Transaction, authorize, authrep, authrep_with_reports, report};
pub use error_doc::is_usage_error;
pub use status::{MAX_STATUS_BODY, StatusDocument, UsageReport, parse_status};
