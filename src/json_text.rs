//! Writing JSON text by hand, for the few places that produce it: a JSON string
//! literal needs no `serde_json::Value` (whose code would otherwise stay in the
//! module for this alone).

/// Appends `text` as a JSON string literal (quotes, `\` and control characters escaped).
pub fn push_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `text` as a JSON string literal.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len().saturating_add(2));
    push_string(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_read_back_as_written() {
        for text in [
            "",
            "plain",
            "a\"b\\c",
            "\u{0}\u{1f}\n\r\t\u{8}\u{c}",
            "é ☃ 𝄞",
            "\u{7f}",
        ] {
            let json = quoted(text);
            assert_eq!(
                serde_json::from_str::<String>(&json).unwrap(),
                text,
                "{json}"
            );
            assert_eq!(json, serde_json::to_string(text).unwrap());
        }
    }
}
