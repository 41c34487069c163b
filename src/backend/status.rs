//! The `<status>` document of an authorization answer (docs/behaviour.md §7), read
//! without an XML crate.
//!
//! Only the shapes apisonator writes are understood: elements, attributes in
//! double or single quotes, text with the five predefined entities and numeric
//! character references, a `<?xml …?>` declaration, comments. Anything else
//! (CDATA, doctype, unbalanced tags, nesting deeper than [`MAX_DEPTH`]) makes
//! the document unreadable; the parser returns `None` and never panics.

/// The largest `<status>` body the filter reads. A plan with every metric
/// limited for every period stays far below it; a larger answer is not read
/// whole (it then does not parse, and is not cached).
pub const MAX_STATUS_BODY: usize = 256 * 1024;

/// Deepest element nesting accepted (apisonator's documents have 4 levels).
const MAX_DEPTH: usize = 16;

/// One `<usage_report>`: a limit on a metric for a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// The metric's system name.
    pub metric: String,
    /// The period's name (`minute` … `eternity`).
    pub period: String,
    /// When the period ends, in seconds since the Unix epoch (`None` for eternity).
    pub period_end: Option<u64>,
    /// The limit.
    pub max_value: i64,
    /// The metric's value in the period (for an authorized authrep, including
    /// the call's own usage).
    pub current_value: i64,
}

/// What a `<status>` document says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusDocument {
    /// `<authorized>true</authorized>`.
    pub authorized: bool,
    /// `<reason>`, for denials.
    pub reason: Option<String>,
    /// Every usage report, in document order.
    pub reports: Vec<UsageReport>,
    /// With `hierarchy=1`: (parent, children) of each reported metric.
    pub hierarchy: Vec<(String, Vec<String>)>,
}

impl StatusDocument {
    /// The parent of `metric` according to the hierarchy section, if any.
    pub fn parent_of(&self, metric: &str) -> Option<&str> {
        self.hierarchy
            .iter()
            .find(|(_, children)| children.iter().any(|child| child == metric))
            .map(|(parent, _)| parent.as_str())
    }
}

/// Reads a `<status>` document; `None` when it is not one, or is malformed.
pub fn parse_status(xml: &[u8]) -> Option<StatusDocument> {
    let text = std::str::from_utf8(xml).ok()?;
    let mut reader = StatusReader::default();
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = text;
    loop {
        let Some(open) = rest.find('<') else {
            // Only whitespace may follow the root element.
            return (stack.is_empty() && rest.trim().is_empty() && reader.seen_root)
                .then_some(reader.document);
        };
        let (before, tag_and_more) = rest.split_at(open);
        if !before.trim().is_empty() {
            if stack.is_empty() {
                return None;
            }
            reader.text(&stack, &unescape(before)?)?;
        }
        let (token, after) = next_token(tag_and_more)?;
        rest = after;
        match token {
            Token::Skip => {}
            Token::Open {
                name,
                attributes,
                closed,
            } => {
                if stack.is_empty() && reader.seen_root {
                    return None;
                }
                stack.push(name);
                if stack.len() > MAX_DEPTH {
                    return None;
                }
                reader.open(&stack, attributes)?;
                if closed {
                    stack.pop();
                }
            }
            Token::Close { name } => {
                if stack.pop() != Some(name) {
                    return None;
                }
                reader.close(&stack, name)?;
            }
        }
    }
}

enum Token<'a> {
    /// A declaration, processing instruction or comment.
    Skip,
    Open {
        name: &'a str,
        attributes: &'a str,
        closed: bool,
    },
    Close {
        name: &'a str,
    },
}

/// Reads the markup at the start of `text` (which starts with `<`).
fn next_token(text: &str) -> Option<(Token<'_>, &str)> {
    if let Some(rest) = text.strip_prefix("<?") {
        let end = rest.find("?>")?;
        return Some((Token::Skip, rest.get(end + 2..)?));
    }
    if let Some(rest) = text.strip_prefix("<!--") {
        let end = rest.find("-->")?;
        return Some((Token::Skip, rest.get(end + 3..)?));
    }
    let rest = text.strip_prefix('<')?;
    let end = tag_end(rest)?;
    let inside = rest.get(..end)?;
    let after = rest.get(end + 1..)?;
    if let Some(name) = inside.strip_prefix('/') {
        let name = name.trim_end();
        return is_name(name).then_some((Token::Close { name }, after));
    }
    let (inside, closed) = match inside.strip_suffix('/') {
        Some(inside) => (inside, true),
        None => (inside, false),
    };
    let name_end = inside
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(inside.len());
    let (name, attributes) = inside.split_at(name_end);
    is_name(name).then_some((
        Token::Open {
            name,
            attributes,
            closed,
        },
        after,
    ))
}

/// The position of the `>` that ends a tag, skipping quoted attribute values.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote = None;
    for (at, c) in text.char_indices() {
        match (quote, c) {
            (None, '>') => return Some(at),
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if open == c => quote = None,
            _ => {}
        }
    }
    None
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// The value of attribute `wanted` in a tag's attribute text.
fn attribute(attributes: &str, wanted: &str) -> Option<String> {
    let mut rest = attributes.trim_start();
    while !rest.is_empty() {
        let equals = rest.find('=')?;
        let name = rest.get(..equals)?.trim();
        let value_part = rest.get(equals + 1..)?.trim_start();
        let quote = value_part
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\''))?;
        let value_text = value_part.get(1..)?;
        let close = value_text.find(quote)?;
        if name == wanted {
            return unescape(value_text.get(..close)?);
        }
        rest = value_text.get(close + 1..)?.trim_start();
    }
    None
}

/// Replaces entity and character references; `None` on an unknown or broken one.
fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp)?);
        let after = rest.get(amp + 1..)?;
        let semi = after.find(';')?;
        let entity = after.get(..semi)?;
        out.push(entity_char(entity)?);
        rest = after.get(semi + 1..)?;
    }
    out.push_str(rest);
    Some(out)
}

fn entity_char(entity: &str) -> Option<char> {
    match entity {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = entity.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Collects the parts of a `<status>` document as its elements go by.
#[derive(Default)]
struct StatusReader {
    document: StatusDocument,
    seen_root: bool,
    /// The `<usage_report>` being read: metric, period and its fields so far.
    report: Option<PartialReport>,
}

#[derive(Default)]
struct PartialReport {
    metric: String,
    period: String,
    period_end: Option<u64>,
    max_value: Option<i64>,
    current_value: Option<i64>,
}

impl StatusReader {
    fn open(&mut self, stack: &[&str], attributes: &str) -> Option<()> {
        match stack {
            ["status"] => self.seen_root = true,
            [first, ..] if *first != "status" => return None,
            ["status", "usage_reports", "usage_report"] => {
                self.report = Some(PartialReport {
                    metric: attribute(attributes, "metric")?,
                    period: attribute(attributes, "period")?,
                    ..PartialReport::default()
                });
            }
            ["status", "hierarchy", "metric"] => {
                let name = attribute(attributes, "name")?;
                let children = attribute(attributes, "children").unwrap_or_default();
                let children = children.split_whitespace().map(str::to_owned).collect();
                self.document.hierarchy.push((name, children));
            }
            _ => {}
        }
        Some(())
    }

    fn text(&mut self, stack: &[&str], text: &str) -> Option<()> {
        let text = text.trim();
        match stack {
            ["status", "authorized"] => {
                self.document.authorized = match text {
                    "true" => true,
                    "false" => false,
                    _ => return None,
                };
            }
            ["status", "reason"] => self.document.reason = Some(text.to_owned()),
            ["status", "usage_reports", "usage_report", field] => {
                let report = self.report.as_mut()?;
                match *field {
                    "period_end" => report.period_end = Some(parse_time(text)?),
                    "max_value" => report.max_value = Some(text.parse().ok()?),
                    "current_value" => report.current_value = Some(text.parse().ok()?),
                    _ => {}
                }
            }
            _ => {}
        }
        Some(())
    }

    fn close(&mut self, stack: &[&str], name: &str) -> Option<()> {
        if let (["status", "usage_reports"], "usage_report") = (stack, name) {
            let report = self.report.take()?;
            self.document.reports.push(UsageReport {
                metric: report.metric,
                period: report.period,
                period_end: report.period_end,
                max_value: report.max_value?,
                current_value: report.current_value?,
            });
        }
        Some(())
    }
}

/// `2024-02-29 13:46:00 +0000` (apisonator's format) as Unix seconds; `None`
/// for anything else or a time before the epoch.
pub fn parse_time(text: &str) -> Option<u64> {
    let mut parts = text.split_ascii_whitespace();
    let (date, time, offset) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let mut date = date.splitn(3, '-');
    let year: i64 = date.next()?.parse().ok()?;
    let month: i64 = date.next()?.parse().ok()?;
    let day: i64 = date.next()?.parse().ok()?;
    let mut time = time.splitn(3, ':');
    let hour: i64 = time.next()?.parse().ok()?;
    let minute: i64 = time.next()?.parse().ok()?;
    let second: i64 = time.next()?.parse().ok()?;
    let valid = (1..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..=60).contains(&second);
    if !valid {
        return None;
    }
    let offset_seconds = parse_offset(offset)?;
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
        - offset_seconds;
    u64::try_from(seconds).ok()
}

/// `+0000`, `-0530`: seconds east of UTC.
fn parse_offset(offset: &str) -> Option<i64> {
    let (sign, digits) = match offset.strip_prefix('+') {
        Some(digits) => (1, digits),
        None => (-1, offset.strip_prefix('-')?),
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits.get(..2)?.parse().ok()?;
    let minutes: i64 = digits.get(2..)?.parse().ok()?;
    Some(sign * (hours * 3_600 + minutes * 60))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's method).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTHORIZED: &str = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?><status><authorized>true</authorized><plan>Basic</plan>"#,
        r#"<usage_reports><usage_report metric="hits" period="minute">"#,
        "<period_start>2024-02-29 13:45:00 +0000</period_start><period_end>2024-02-29 13:46:00 +0000</period_end>",
        "<max_value>5</max_value><current_value>1</current_value></usage_report>",
        r#"<usage_report metric="products" period="eternity" exceeded="true"><max_value>5</max_value><current_value>6</current_value></usage_report>"#,
        r#"</usage_reports><hierarchy><metric name="hits" children="products sales"/></hierarchy></status>"#
    );

    #[test]
    fn reads_an_authorized_document_with_reports_and_hierarchy() {
        let document = parse_status(AUTHORIZED.as_bytes()).unwrap();
        assert!(document.authorized);
        assert_eq!(document.reason, None);
        assert_eq!(
            document.reports,
            vec![
                UsageReport {
                    metric: "hits".into(),
                    period: "minute".into(),
                    period_end: Some(1_709_214_360),
                    max_value: 5,
                    current_value: 1,
                },
                UsageReport {
                    metric: "products".into(),
                    period: "eternity".into(),
                    period_end: None,
                    max_value: 5,
                    current_value: 6,
                },
            ]
        );
        assert_eq!(document.parent_of("sales"), Some("hits"));
        assert_eq!(document.parent_of("hits"), None);
    }

    #[test]
    fn reads_a_denial_with_an_escaped_reason() {
        let xml = "<status>\n  <authorized>false</authorized>\n  <reason>usage limits &amp; more &#x41;</reason>\n  <plan>P</plan>\n</status>\n";
        let document = parse_status(xml.as_bytes()).unwrap();
        assert!(!document.authorized);
        assert_eq!(document.reason.as_deref(), Some("usage limits & more A"));
        assert!(document.reports.is_empty());
    }

    #[test]
    fn single_quotes_comments_and_spaces_are_fine() {
        let xml = "<!-- c --><status ><authorized>true</authorized><usage_reports><usage_report period='day' metric='a&lt;b'><max_value> 3 </max_value><current_value>0</current_value></usage_report></usage_reports></status >";
        let document = parse_status(xml.as_bytes()).unwrap();
        assert_eq!(document.reports[0].metric, "a<b");
        assert_eq!(document.reports[0].max_value, 3);
    }

    #[test]
    fn malformed_documents_are_refused() {
        let cases: &[&str] = &[
            "",
            "garbage",
            "<error code=\"x\">m</error>",
            "<status><authorized>maybe</authorized></status>",
            "<status><authorized>true</status>",
            "<status></status><status></status>",
            "<status><usage_reports><usage_report metric=\"h\" period=\"day\"><max_value>x</max_value></usage_report></usage_reports></status>",
            "<status><usage_reports><usage_report metric=\"h\"><max_value>1</max_value><current_value>1</current_value></usage_report></usage_reports></status>",
            "<status><usage_reports><usage_report metric=\"h\" period=\"day\"><max_value>1</max_value></usage_report></usage_reports></status>",
            "<status><reason>&bogus;</reason></status>",
            "<status><reason>&#xFFFFFFFF;</reason></status>",
            "<status attr=\"unterminated></status>",
            "<status>",
            "text<status></status>",
        ];
        for case in cases {
            assert_eq!(parse_status(case.as_bytes()), None, "{case:?}");
        }
        let deep = format!("<status>{}{}</status>", "<a>".repeat(40), "</a>".repeat(40));
        assert_eq!(parse_status(deep.as_bytes()), None);
        assert_eq!(parse_status(&[0xFF, b'<']), None);
    }

    #[test]
    fn never_panics_on_truncations_and_byte_noise() {
        let bytes = AUTHORIZED.as_bytes();
        for end in 0..bytes.len() {
            let _ = parse_status(bytes.get(..end).unwrap());
        }
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2000 {
            let mut noisy = bytes.to_vec();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % noisy.len() as u64) as usize;
                noisy[at] = b"<>/=\"'&;# a"[(state >> 32) as usize % 11];
            }
            let _ = parse_status(&noisy);
        }
    }

    #[test]
    fn times_in_apisonator_format() {
        assert_eq!(parse_time("1970-01-01 00:00:00 +0000"), Some(0));
        assert_eq!(parse_time("2024-02-29 13:45:30 +0000"), Some(1_709_214_330));
        assert_eq!(parse_time("2024-02-29 14:45:30 +0100"), Some(1_709_214_330));
        assert_eq!(parse_time("2024-02-29 13:45:30 -0030"), Some(1_709_216_130));
        for bad in [
            "",
            "2024-02-29",
            "2024-13-01 00:00:00 +0000",
            "2024-02-29 24:00:00 +0000",
            "2024-02-29 13:45:30 0000",
            "2024-02-29 13:45:30 +00",
            "1969-12-31 23:59:59 +0000",
            "2024-02-29 13:45:30 +0000 extra",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }
}
