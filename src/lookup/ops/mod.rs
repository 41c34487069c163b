//! Running ops on a stack of values.
//! STUB: to be replaced.

use super::op::Op;

/// The value stack; index 0 is the bottom.
pub type Stack = Vec<String>;

/// Why a sequence of ops failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("op #{index} (`{op}`) failed: {reason}")]
pub struct OpFailure {
    /// Position of the failing op in its sequence.
    pub index: usize,
    /// Name of the failing op.
    pub op: &'static str,
    /// What went wrong.
    pub reason: String,
}

/// Runs ops in sequence.
pub fn run(ops: &[Op], stack: Stack) -> Result<Stack, OpFailure> {
    if ops.is_empty() && !stack.is_empty() {
        Ok(stack)
    } else {
        Err(OpFailure {
            index: 0,
            op: "stub",
            reason: "not implemented".into(),
        })
    }
}
