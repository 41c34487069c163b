//! The field path at a position of JSON text.
//!
//! serde_json reports where a data error happened (the line and column of the
//! last byte it read), not in which field. Tracking the field while
//! deserializing (`serde_path_to_error`) wraps every visitor of every
//! configuration type, which was about 76 KB of the module for an error path.
//! Instead, when deserialization fails, this scanner reads the text again up to
//! that position and keeps the stack of keys and list indexes it is inside.
//!
//! The text is untrusted: no indexing, no recursion, and any byte sequence gives
//! some path (at worst a shorter one).

use super::path::{FieldPath, Segment};

/// What the JSON reader was at when it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reached {
    /// The value being read or just read: a map key's value (the key itself when
    /// the reader stopped right after it), a list item, or the list or map just closed.
    pub path: FieldPath,
    /// The last thing read was a map key (only whitespace since).
    pub after_key: bool,
}

/// The field a data error is about, from where in `json` the reader stopped: the
/// value it had just read (a string that is no valid pattern), the map or list it
/// had just closed (a missing field) or opened (a list where a number belongs), or
/// the key it had just read when that key is unknown. Any other error right after
/// a key is about the map (a key naming no variant of an enum written as a
/// one-key map, a second key in such a map, a field given twice).
pub fn data_error_path(json: &str, error: &serde_json::Error) -> FieldPath {
    let message = error.to_string();
    let mut end = offset_of(json, error.line(), error.column());
    if let Some(at) = unread_opening(json, end, &message) {
        end = at.saturating_add(1);
    }
    let reached = path_at(json, end);
    let mut path = reached.path;
    if reached.after_key && !message.starts_with("unknown field") {
        path.0.pop();
    }
    path
}

/// Where the list or map that `message` refuses opens, when the reader stopped
/// just before it: refusing a list or a map by its first byte, serde_json reads
/// no further. (A visitor that does not take lists refuses one after its `[`.)
fn unread_opening(json: &str, end: usize, message: &str) -> Option<usize> {
    let opening = if message.starts_with("invalid type: sequence") {
        b'['
    } else if message.starts_with("invalid type: map") {
        b'{'
    } else {
        return None;
    };
    let rest = json.as_bytes().get(end..)?;
    let skipped = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let at = end.saturating_add(skipped);
    (rest.get(skipped) == Some(&opening)).then_some(at)
}

/// One open list or map.
enum Frame {
    /// A map, with the key whose value comes or came last (none before a key).
    Map(Option<String>),
    /// A list, with the index of the item read last (none before its first).
    List(Option<usize>),
}

/// The path of what a JSON reader had read when it stopped `end` bytes into `json`.
pub fn path_at(json: &str, end: usize) -> Reached {
    let bytes = json.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut after_key = false;
    let mut at = 0;
    while at < end {
        let Some(&byte) = bytes.get(at) else {
            break;
        };
        let mut next = at.saturating_add(1);
        let mut read_key = false;
        if let Some(Frame::List(index @ None)) = stack.last_mut()
            && !byte.is_ascii_whitespace()
            && byte != b']'
        {
            *index = Some(0);
        }
        match byte {
            b'{' => stack.push(Frame::Map(None)),
            b'[' => stack.push(Frame::List(None)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Map(key)) => *key = None,
                Some(Frame::List(index)) => {
                    *index = Some(index.map_or(0, |index| index.saturating_add(1)));
                }
                None => {}
            },
            b'"' => {
                next = string_end(bytes, at);
                if let Some(Frame::Map(key @ None)) = stack.last_mut() {
                    *key = Some(key_text(json.get(at..next).unwrap_or_default()));
                    read_key = true;
                }
            }
            _ => {}
        }
        if !byte.is_ascii_whitespace() {
            after_key = read_key;
        }
        at = next;
    }
    let segments = stack
        .into_iter()
        .filter_map(|frame| match frame {
            Frame::Map(key) => key.map(Segment::Key),
            Frame::List(index) => index.map(Segment::Index),
        })
        .collect();
    Reached {
        path: FieldPath(segments),
        after_key,
    }
}

/// The byte after the string that starts with the `"` at `start` (the end of the
/// text when it is not closed).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start.saturating_add(1);
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => return at.saturating_add(1),
            b'\\' => at = at.saturating_add(2),
            _ => at = at.saturating_add(1),
        }
    }
    bytes.len()
}

/// A key as the deserializer saw it: escapes resolved (`"a\u0062"` is `ab`).
fn key_text(quoted: &str) -> String {
    serde_json::from_str(quoted).unwrap_or_else(|_| quoted.trim_matches('"').to_owned())
}

/// The byte offset of serde_json's line and column: lines count from 1, and the
/// column is the number of bytes read on that line.
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    line_start.saturating_add(column).min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(json: &str, end: usize) -> String {
        path_at(json, end).path.to_string()
    }

    /// The path just after the first occurrence of `marker` in `json`.
    fn path_after(json: &str, marker: &str) -> (String, bool) {
        let end = json.find(marker).unwrap() + marker.len();
        let reached = path_at(json, end);
        (reached.path.to_string(), reached.after_key)
    }

    #[test]
    fn keys_values_and_indexes() {
        let json = r#"{"a": {"b": [1, {"c": "x,]}"}, 3]}, "d": true}"#;
        assert_eq!(path_after(json, r#""a""#), ("a".into(), true));
        assert_eq!(path_after(json, r#""a": "#), ("a".into(), false));
        assert_eq!(path_after(json, "[1"), ("a.b[0]".into(), false));
        assert_eq!(path_after(json, "[1, "), ("a.b[1]".into(), false));
        assert_eq!(path_after(json, "\"b\": ["), ("a.b".into(), false));
        assert_eq!(path_after(json, r#""x,]}""#), ("a.b[1].c".into(), false));
        assert_eq!(path_after(json, r#""x,]}"}"#), ("a.b[1]".into(), false));
        assert_eq!(path_after(json, "3]"), ("a.b".into(), false));
        assert_eq!(path_after(json, "3]}"), ("a".into(), false));
        assert_eq!(path_after(json, "3]}, "), ("(top level)".into(), false));
        assert_eq!(path_after(json, "true"), ("d".into(), false));
        assert_eq!(path(json, json.len()), "(top level)");
        assert_eq!(path(json, 0), "(top level)");
    }

    #[test]
    fn escaped_keys_and_quotes() {
        let json = r#"{"a\"b": {"c\u0064": "\\"}}"#;
        assert_eq!(path_after(json, r#""c\u0064""#), ("a\"b.cd".into(), true));
        assert_eq!(path_after(json, r#""\\""#), ("a\"b.cd".into(), false));
    }

    #[test]
    fn any_text_and_offset_gives_a_path() {
        for json in [
            "",
            "\"",
            "{\"",
            "{\"a",
            "]]]}}",
            "[{\"a\\",
            "{\"\\u12\": 1}",
            "é{\"é\":[",
        ] {
            for end in 0..=json.len() + 2 {
                let _ = path_at(json, end);
            }
        }
    }

    #[test]
    fn offsets_of_lines_and_columns() {
        let text = "{\n  \"a\": 1,\n  \"b\": x\n}";
        assert_eq!(offset_of(text, 1, 1), 1);
        assert_eq!(offset_of(text, 3, 7), text.find('x').unwrap());
        assert_eq!(offset_of(text, 9, 9), text.len());
        assert_eq!(offset_of(text, 0, 0), 0);
    }
}
