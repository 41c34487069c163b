//! apisonator's XML documents: `<status>` answers and `<error>` documents.

use std::fmt::Write as _;

use crate::periods::{Period, Window, format_time};

const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Escapes element text the way Ruby's Builder does (`&`, `<`, `>`).
pub fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Escapes an attribute value (also `"`).
pub fn escape_attribute(text: &str) -> String {
    escape_text(text).replace('"', "&quot;")
}

/// `<error code="…">message</error>`.
pub fn error_document(code: &str, message: &str) -> String {
    format!(
        r#"{DECLARATION}<error code="{}">{}</error>"#,
        escape_attribute(code),
        escape_text(message)
    )
}

/// One `<usage_report>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDoc {
    pub metric: String,
    pub period: Period,
    pub window: Window,
    pub max_value: i64,
    /// The value shown: stored, plus this call's usage when authrep authorized it.
    pub current_value: i64,
    /// The stored value is already over the limit.
    pub exceeded: bool,
}

/// A `<status>` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusDoc {
    pub authorized: bool,
    pub reason: Option<String>,
    pub plan: String,
    pub reports: Vec<ReportDoc>,
    /// With the `hierarchy` extension: each report's metric and its children.
    pub hierarchy: Option<Vec<(String, Vec<String>)>>,
}

/// Renders a status answer body.
pub fn status_document(status: &StatusDoc) -> String {
    let mut xml = String::from(DECLARATION);
    xml.push_str("<status>");
    if status.authorized {
        xml.push_str("<authorized>true</authorized>");
    } else {
        let reason = status.reason.as_deref().unwrap_or_default();
        let _ = write!(
            xml,
            "<authorized>false</authorized><reason>{}</reason>",
            escape_text(reason)
        );
    }
    let _ = write!(xml, "<plan>{}</plan>", escape_text(&status.plan));
    if !status.reports.is_empty() {
        xml.push_str("<usage_reports>");
        for report in &status.reports {
            push_report(&mut xml, report);
        }
        xml.push_str("</usage_reports>");
    }
    if let Some(hierarchy) = &status.hierarchy {
        xml.push_str("<hierarchy>");
        for (metric, children) in hierarchy {
            let _ = write!(
                xml,
                r#"<metric name="{}" children="{}"/>"#,
                escape_attribute(metric),
                escape_attribute(&children.join(" "))
            );
        }
        xml.push_str("</hierarchy>");
    }
    xml.push_str("</status>");
    xml
}

fn push_report(xml: &mut String, report: &ReportDoc) {
    let _ = write!(
        xml,
        r#"<usage_report metric="{}" period="{}"{}>"#,
        escape_attribute(&report.metric),
        report.period.name(),
        if report.exceeded {
            r#" exceeded="true""#
        } else {
            ""
        }
    );
    if let Some(end) = report.window.end {
        let _ = write!(
            xml,
            "<period_start>{}</period_start><period_end>{}</period_end>",
            format_time(report.window.start),
            format_time(end)
        );
    }
    let _ = write!(
        xml,
        "<max_value>{}</max_value><current_value>{}</current_value></usage_report>",
        report.max_value, report.current_value
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_709_214_330; // 2024-02-29 13:45:30

    fn report(period: Period, current: i64, exceeded: bool) -> ReportDoc {
        ReportDoc {
            metric: "hits".into(),
            period,
            window: period.window(NOW),
            max_value: 5,
            current_value: current,
            exceeded,
        }
    }

    #[test]
    fn authorized_status_with_reports() {
        let doc = StatusDoc {
            authorized: true,
            reason: None,
            plan: "Basic".into(),
            reports: vec![
                report(Period::Minute, 1, false),
                report(Period::Eternity, 2, false),
            ],
            hierarchy: None,
        };
        assert_eq!(
            status_document(&doc),
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><status><authorized>true</authorized><plan>Basic</plan>"#,
                r#"<usage_reports><usage_report metric="hits" period="minute">"#,
                "<period_start>2024-02-29 13:45:00 +0000</period_start><period_end>2024-02-29 13:46:00 +0000</period_end>",
                "<max_value>5</max_value><current_value>1</current_value></usage_report>",
                r#"<usage_report metric="hits" period="eternity"><max_value>5</max_value><current_value>2</current_value></usage_report>"#,
                "</usage_reports></status>"
            )
        );
    }

    #[test]
    fn denied_status_with_reason_exceeded_and_hierarchy() {
        let doc = StatusDoc {
            authorized: false,
            reason: Some("usage limits are exceeded".into()),
            plan: "A&B".into(),
            reports: vec![report(Period::Eternity, 6, true)],
            hierarchy: Some(vec![("hits".into(), vec!["a".into(), "b".into()])]),
        };
        let xml = status_document(&doc);
        assert!(xml.contains(
            "<authorized>false</authorized><reason>usage limits are exceeded</reason><plan>A&amp;B</plan>"
        ));
        assert!(xml.contains(r#"<usage_report metric="hits" period="eternity" exceeded="true">"#));
        assert!(
            xml.ends_with(
                r#"<hierarchy><metric name="hits" children="a b"/></hierarchy></status>"#
            )
        );
    }

    #[test]
    fn no_reports_means_no_usage_reports_element() {
        let doc = StatusDoc {
            authorized: true,
            reason: None,
            plan: "Free".into(),
            reports: vec![],
            hierarchy: None,
        };
        assert!(!status_document(&doc).contains("usage_reports"));
    }

    #[test]
    fn error_documents_escape() {
        assert_eq!(
            error_document("user_key_invalid", r#"user key "<k>" is invalid"#),
            r#"<?xml version="1.0" encoding="UTF-8"?><error code="user_key_invalid">user key "&lt;k&gt;" is invalid</error>"#
        );
    }
}
