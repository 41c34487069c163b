//! Form parameters the way apisonator (Rack) sees them.
//!
//! Rack decodes `application/x-www-form-urlencoded` text strictly (a bad `%`
//! escape is a 400) and nests bracketed names: `usage%5Bhits%5D=1` becomes
//! `{"usage" => {"hits" => "1"}}`. Keys keep the order of their first
//! appearance and a repeated key keeps its first position with the last value.

/// A decoded parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A name without `=` (Rack gives it a `nil` value).
    Null,
    Text(String),
    Map(Vec<(String, Node)>),
    List(Vec<Node>),
}

/// Why a parameter string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("Invalid query parameters: invalid %-encoding")]
    PercentEncoding,
    #[error("parameter `{0}` is used both as a value and as a nested structure")]
    TypeConflict(String),
}

/// Top-level parameters, plus whether any byte sequence was not UTF-8.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub entries: Vec<(String, Node)>,
    pub invalid_utf8: bool,
}

impl Params {
    /// Parses `a=1&b%5Bc%5D=2` (query string or form body).
    pub fn parse(text: &[u8]) -> Result<Params, ParamError> {
        let mut params = Params::default();
        for piece in text.split(|byte| *byte == b'&') {
            let (raw_key, raw_value) = match piece.iter().position(|byte| *byte == b'=') {
                Some(at) => (
                    piece.get(..at).unwrap_or_default(),
                    Some(piece.get(at + 1..).unwrap_or_default()),
                ),
                None => (piece, None),
            };
            let key = params.text(&decode_component(raw_key)?);
            if key.is_empty() {
                continue;
            }
            let value = match raw_value {
                Some(raw) => Node::Text(params.text(&decode_component(raw)?)),
                None => Node::Null,
            };
            insert(&mut params.entries, &key, value)?;
        }
        Ok(params)
    }

    fn text(&mut self, bytes: &[u8]) -> String {
        match std::str::from_utf8(bytes) {
            Ok(text) => text.to_string(),
            Err(_) => {
                self.invalid_utf8 = true;
                String::from_utf8_lossy(bytes).into_owned()
            }
        }
    }

    /// The node of a top-level parameter.
    pub fn get(&self, name: &str) -> Option<&Node> {
        lookup(&self.entries, name)
    }

    /// A top-level parameter that is a string (not nil, not nested).
    pub fn text_of(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Node::Text(text)) => Some(text),
            _ => None,
        }
    }

    /// apisonator's `normalize_non_empty_keys!`: strings are stripped, and a
    /// blank or non-string value counts as absent.
    pub fn stripped(&self, name: &str) -> Option<&str> {
        self.text_of(name)
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }
}

/// The value of `name` in an ordered map.
pub fn lookup<'a>(entries: &'a [(String, Node)], name: &str) -> Option<&'a Node> {
    entries
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, node)| node)
}

/// Percent-decodes one form component: `+` is a space, `%XX` a byte.
pub fn decode_component(raw: &[u8]) -> Result<Vec<u8>, ParamError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'+' => out.push(b' '),
            b'%' => {
                let high = bytes.next().and_then(|b| hex_value(*b));
                let low = bytes.next().and_then(|b| hex_value(*b));
                match (high, low) {
                    (Some(high), Some(low)) => out.push(high * 16 + low),
                    _ => return Err(ParamError::PercentEncoding),
                }
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// Splits `usage[hits]` into `usage` and `["hits"]`; `[]` is an empty segment.
fn split_key(key: &str) -> (&str, Vec<&str>) {
    let head_end = key.find('[').unwrap_or(key.len());
    let (head, mut rest) = key.split_at(head_end);
    let mut segments = Vec::new();
    while let Some(inner) = rest.strip_prefix('[') {
        match inner.find(']') {
            Some(close) => {
                segments.push(inner.get(..close).unwrap_or_default());
                rest = inner.get(close + 1..).unwrap_or_default();
            }
            None => break,
        }
    }
    if head.is_empty() {
        // `[x]=1`: Rack takes the first bracketed name as the key.
        if let Some((first, others)) = segments.split_first() {
            return (first, others.to_vec());
        }
    }
    (head, segments)
}

fn insert(entries: &mut Vec<(String, Node)>, key: &str, value: Node) -> Result<(), ParamError> {
    let (head, segments) = split_key(key);
    insert_path(entries, head, &segments, value, key)
}

fn insert_path(
    entries: &mut Vec<(String, Node)>,
    name: &str,
    segments: &[&str],
    value: Node,
    full_key: &str,
) -> Result<(), ParamError> {
    let Some((first, rest)) = segments.split_first() else {
        set_entry(entries, name, value);
        return Ok(());
    };
    let conflict = || ParamError::TypeConflict(full_key.to_string());
    if first.is_empty() {
        // `name[]=v` appends to a list; deeper array forms are not used by 3scale clients.
        if !rest.is_empty() {
            return Err(conflict());
        }
        return match entry_slot(entries, name, || Node::List(Vec::new())) {
            Some(Node::List(items)) => {
                items.push(value);
                Ok(())
            }
            _ => Err(conflict()),
        };
    }
    match entry_slot(entries, name, || Node::Map(Vec::new())) {
        Some(Node::Map(children)) => insert_path(children, first, rest, value, full_key),
        _ => Err(conflict()),
    }
}

fn set_entry(entries: &mut Vec<(String, Node)>, name: &str, value: Node) {
    match entries.iter_mut().find(|(key, _)| key == name) {
        Some((_, slot)) => *slot = value,
        None => entries.push((name.to_string(), value)),
    }
}

/// The node stored under `name`, created with `make` when missing or nil.
fn entry_slot<'a>(
    entries: &'a mut Vec<(String, Node)>,
    name: &str,
    make: impl Fn() -> Node,
) -> Option<&'a mut Node> {
    if !entries.iter().any(|(key, _)| key == name) {
        entries.push((name.to_string(), make()));
    }
    let slot = entries
        .iter_mut()
        .find(|(key, _)| key == name)
        .map(|(_, node)| node)?;
    if *slot == Node::Null {
        *slot = make();
    }
    Some(slot)
}

/// The `3scale-options` extensions the simulator understands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extensions {
    pub rejection_reason_header: bool,
    pub limit_headers: bool,
    pub no_body: bool,
    pub hierarchy: bool,
    pub flat_usage: bool,
}

impl Extensions {
    /// Reads the `3scale-options` header value and the deprecated `no_body`
    /// request parameter. Boolean extensions are on only when exactly `1`;
    /// `no_body` is on for any value except `0` and `false` (apisonator accepts
    /// the old `no_body=true`). An undecodable header enables nothing.
    pub fn parse(header: Option<&[u8]>, no_body_param: Option<&str>) -> Extensions {
        let options = header
            .and_then(|value| Params::parse(value).ok())
            .unwrap_or_default();
        let is_one = |name: &str| options.text_of(name) == Some("1");
        let no_body = options.text_of("no_body").or(no_body_param);
        Extensions {
            rejection_reason_header: is_one("rejection_reason_header"),
            limit_headers: is_one("limit_headers"),
            hierarchy: is_one("hierarchy"),
            flat_usage: is_one("flat_usage"),
            no_body: no_body.is_some_and(|value| value != "0" && value != "false"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Node {
        Node::Text(value.to_string())
    }

    #[test]
    fn decodes_percent_and_plus() {
        assert_eq!(decode_component(b"a%5Bb%5D+c").unwrap(), b"a[b] c");
        assert_eq!(decode_component(b"%zz"), Err(ParamError::PercentEncoding));
        assert_eq!(decode_component(b"abc%4"), Err(ParamError::PercentEncoding));
    }

    #[test]
    fn nests_bracketed_names_in_order() {
        let params =
            Params::parse(b"service_id=1&usage%5Bhits%5D=1&usage%5Bproducts%5D=2").unwrap();
        assert_eq!(params.text_of("service_id"), Some("1"));
        assert_eq!(
            params.get("usage"),
            Some(&Node::Map(vec![
                ("hits".to_string(), text("1")),
                ("products".to_string(), text("2")),
            ]))
        );
    }

    #[test]
    fn repeated_key_keeps_first_position_and_last_value() {
        let params = Params::parse(b"a=1&b=2&a=3").unwrap();
        assert_eq!(
            params.entries,
            vec![("a".to_string(), text("3")), ("b".to_string(), text("2"))]
        );
    }

    #[test]
    fn name_without_equals_is_null_and_empty_names_are_skipped() {
        let params = Params::parse(b"flag&=x&&b=").unwrap();
        assert_eq!(
            params.entries,
            vec![
                ("flag".to_string(), Node::Null),
                ("b".to_string(), text(""))
            ]
        );
    }

    #[test]
    fn deep_transactions_structure() {
        let params = Params::parse(
            b"transactions%5B0%5D%5Buser_key%5D=k&transactions%5B0%5D%5Busage%5D%5Bhits%5D=7",
        )
        .unwrap();
        let Some(Node::Map(transactions)) = params.get("transactions") else {
            panic!("transactions is not a map");
        };
        let Some(Node::Map(first)) = lookup(transactions, "0") else {
            panic!("no transaction 0");
        };
        assert_eq!(lookup(first, "user_key"), Some(&text("k")));
        assert_eq!(
            lookup(first, "usage"),
            Some(&Node::Map(vec![("hits".to_string(), text("7"))]))
        );
    }

    #[test]
    fn value_then_nested_is_a_conflict() {
        assert!(matches!(
            Params::parse(b"usage=1&usage%5Bhits%5D=1"),
            Err(ParamError::TypeConflict(_))
        ));
    }

    #[test]
    fn list_params() {
        let params = Params::parse(b"k%5B%5D=1&k%5B%5D=2").unwrap();
        assert_eq!(
            params.get("k"),
            Some(&Node::List(vec![text("1"), text("2")]))
        );
    }

    #[test]
    fn invalid_utf8_is_flagged_not_fatal() {
        let params = Params::parse(b"user_key=%FF%FE").unwrap();
        assert!(params.invalid_utf8);
        assert!(params.text_of("user_key").is_some());
    }

    #[test]
    fn stripped_treats_blank_as_absent() {
        let params = Params::parse(b"app_id=+&user_key=+k+").unwrap();
        assert_eq!(params.stripped("app_id"), None);
        assert_eq!(params.stripped("user_key"), Some("k"));
    }

    #[test]
    fn extensions_from_header() {
        let ext = Extensions::parse(
            Some(b"rejection_reason_header=1&limit_headers=1&no_body=1&hierarchy=1"),
            None,
        );
        assert!(ext.rejection_reason_header && ext.limit_headers && ext.no_body && ext.hierarchy);
        assert!(!ext.flat_usage);
        let ext = Extensions::parse(Some(b"flat_usage=1&limit_headers=true"), None);
        assert!(ext.flat_usage && !ext.limit_headers);
    }

    #[test]
    fn no_body_values() {
        assert!(Extensions::parse(Some(b"no_body=true"), None).no_body);
        assert!(!Extensions::parse(Some(b"no_body=0"), None).no_body);
        assert!(!Extensions::parse(Some(b"no_body=false"), None).no_body);
        assert!(Extensions::parse(None, Some("yes")).no_body);
        assert!(!Extensions::parse(None, None).no_body);
        assert_eq!(Extensions::parse(Some(b"%zz"), None), Extensions::default());
    }
}
