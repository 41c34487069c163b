//! The ops of the stack machine as configuration data.
//! STUB: to be replaced by the real Op enum.

use serde::Deserialize;

/// One op.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Op(pub serde_json::Value);
