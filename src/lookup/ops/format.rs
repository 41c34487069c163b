//! Format ops: `json` and `protobuf` pop a document and push the values found in
//! it (docs/behaviour.md §5); the document walk lives in `crate::lookup::format`.
//!
//! `protobuf` reads the value's bytes; since stack values are UTF-8 text, only
//! documents whose encoding happens to be UTF-8 reach it.

use super::{Reason, Stack, pop_top};
use crate::lookup::format::{json_values, protobuf_struct_values};
use crate::lookup::op::Document;

/// `json`: pops a JSON document and pushes its values at `path` and `keys`, in order.
#[inline(never)]
pub(super) fn json(document: &Document, mut stack: Stack) -> Result<Stack, Reason> {
    let text = pop_top(&mut stack)?;
    let values =
        json_values(&text, &document.path, &document.keys).ok_or(Reason::NoDocumentValue)?;
    stack.extend(values);
    Ok(stack)
}

/// `protobuf`: pops a binary `google.protobuf.Struct` and pushes its values, in order.
#[inline(never)]
pub(super) fn protobuf(document: &Document, mut stack: Stack) -> Result<Stack, Reason> {
    let bytes = pop_top(&mut stack)?;
    let values = protobuf_struct_values(bytes.as_bytes(), &document.path, &document.keys)
        .ok_or(Reason::NoDocumentValue)?;
    stack.extend(values);
    Ok(stack)
}
