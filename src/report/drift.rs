//! Drift (a [`Diff`]) and accepted risks (exceptions) as text, Markdown and HTML. Reports show drift
//! only when given a diff file (`report --diff`): they stay functions of their inputs.

use super::html::esc;
use crate::drift::{Diff, ResourceChange};
use crate::results::{ResourceStatus, Results};
use std::fmt::Write;

fn status(s: Option<ResourceStatus>) -> &'static str {
    match s {
        None => "absent",
        Some(ResourceStatus::Pass) => "pass",
        Some(ResourceStatus::Fail) => "fail",
        Some(ResourceStatus::Error) => "error",
    }
}

fn verdict(v: Option<crate::verdict::Verdict>) -> &'static str {
    v.map_or("absent", |v| v.as_str())
}

/// The sections of a diff: title and lines, the same for every format.
fn sections(d: &Diff) -> Vec<(&'static str, Vec<String>)> {
    let res = |list: &[ResourceChange]| -> Vec<String> {
        list.iter()
            .map(|c| {
                format!(
                    "{} [{}] rule {}: {} → {}{}",
                    c.key.resource,
                    c.key.region,
                    c.key.rule,
                    status(c.old),
                    status(c.new),
                    c.excepted
                        .as_ref()
                        .map(|x| format!(" (excepted: {x})"))
                        .unwrap_or_default()
                )
            })
            .collect()
    };
    vec![
        (
            "Items whose verdict changed",
            d.items_changed
                .iter()
                .map(|c| format!("{}: {} → {}", c.item, verdict(c.old), verdict(c.new)))
                .collect(),
        ),
        ("Resources newly failing", res(&d.newly_failing)),
        ("Resources fixed", res(&d.fixed)),
        ("Resources that appeared", res(&d.appeared)),
        ("Resources that disappeared", res(&d.disappeared)),
        ("Other status changes", res(&d.status_changed)),
        (
            "Resources whose deciding values changed (same status)",
            d.values_changed
                .iter()
                .map(|c| {
                    let changes: Vec<String> = c
                        .changes
                        .iter()
                        .map(|v| format!("{}: {} → {}", v.path, v.old.join(", "), v.new.join(", ")))
                        .collect();
                    format!(
                        "{} [{}] rule {}: {}; {}",
                        c.key.resource,
                        c.key.region,
                        c.key.rule,
                        status(Some(c.status)),
                        changes.join("; ")
                    )
                })
                .collect(),
        ),
    ]
}

fn heading(d: &Diff) -> Vec<String> {
    let mut out = vec![format!(
        "{} ({}) → {} ({})",
        d.old.label, d.old.finished_at, d.new.label, d.new.finished_at
    )];
    if d.not_comparable.is_empty() {
        out.push(
            "comparable: same provider, accounts, framework, mapping version, regions and scope"
                .into(),
        );
    } else {
        out.push(format!(
            "NOT COMPARABLE ({}); nothing counts as `new`",
            d.not_comparable.join("; ")
        ));
    }
    if let Some(why) = &d.values_not_compared {
        out.push(format!("deciding values not compared ({why})"));
    }
    out
}

/// Plain text for a terminal.
pub fn text(d: &Diff) -> String {
    let mut o = heading(d).join("\n") + "\n";
    if d.is_empty() {
        o.push_str("no change\n");
    }
    for (title, lines) in sections(d) {
        if !lines.is_empty() {
            let _ = writeln!(o, "\n{title} ({}):", lines.len());
            for l in lines {
                let _ = writeln!(o, "  {l}");
            }
        }
    }
    o
}

/// Markdown (also the drift section of report.md).
pub fn markdown(d: &Diff) -> String {
    let esc = super::markdown::escape;
    let mut o = String::from("## 变化 / Drift\n\n");
    for h in heading(d) {
        let _ = writeln!(o, "{}  ", esc(&h));
    }
    if d.is_empty() {
        o.push_str("\nno change\n");
    }
    for (title, lines) in sections(d) {
        if !lines.is_empty() {
            let _ = writeln!(o, "\n### {title} ({})\n", lines.len());
            for l in lines {
                let _ = writeln!(o, "- {}", esc(&l));
            }
        }
    }
    o
}

/// The drift section of report.html.
pub fn html_section(d: &Diff) -> String {
    let mut o = String::from("<section id=\"drift\"><h2>变化 / Drift</h2>");
    for h in heading(d) {
        let _ = write!(o, "<p>{}</p>", esc(&h));
    }
    if d.is_empty() {
        o.push_str("<p>no change</p>");
    }
    for (title, lines) in sections(d) {
        if !lines.is_empty() {
            let _ = write!(o, "<h3>{} ({})</h3><ul>", esc(title), lines.len());
            for l in lines {
                let _ = write!(o, "<li>{}</li>", esc(&l));
            }
            o.push_str("</ul>");
        }
    }
    o.push_str("</section>\n");
    o
}

/// A standalone HTML page of a diff (`diff --format html`).
pub fn html_page(d: &Diff) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">\n<title>dengbao drift</title>\n</head>\n<body>\n{}</body>\n</html>\n",
        html_section(d)
    )
}

/// Lines saying which exceptions were applied and which resources they cover (empty without
/// exceptions).
fn exception_lines(r: &Results) -> Vec<String> {
    let Some(applied) = &r.exceptions else {
        return Vec::new();
    };
    let mut out = vec![format!(
        "Exceptions file {} applied as of {}: excepted resources keep their `fail` status; items show the verdict without and with exceptions.",
        applied.file_digest, applied.as_of
    )];
    for x in &applied.exceptions {
        out.push(format!(
            "{} [{}] item {} rule {} resource {}: {} resource(s); reason: {}; approver: {}; ticket: {}; expires {}",
            x.id, x.state, x.item, x.rule, x.resource, x.resources, x.reason, x.approver, x.ticket, x.expires
        ));
    }
    for c in &r.controls {
        if let Some(w) = c.verdict_with_exceptions.filter(|w| *w != c.verdict) {
            out.push(format!(
                "{}: {} without exceptions, {} with exceptions",
                c.id,
                c.verdict.as_str(),
                w.as_str()
            ));
        }
        for rule in &c.rules {
            for x in &rule.excepted {
                out.push(format!(
                    "{} rule {}: {} [{}] fail, excepted ({})",
                    c.id, rule.id, x.resource, x.region, x.exception
                ));
            }
        }
    }
    out
}

/// The accepted-risks section of report.md (empty without exceptions).
pub fn exceptions_markdown(r: &Results) -> String {
    let lines = exception_lines(r);
    if lines.is_empty() {
        return String::new();
    }
    let mut o = String::from("\n## 已接受风险 / Exceptions (accepted risks)\n\n");
    for l in lines {
        let _ = writeln!(o, "- {}", super::markdown::escape(&l));
    }
    o
}

/// The accepted-risks section of report.html (empty without exceptions).
pub fn exceptions_html(r: &Results) -> String {
    let lines = exception_lines(r);
    if lines.is_empty() {
        return String::new();
    }
    let mut o = String::from(
        "<section id=\"exceptions\"><h2>已接受风险 / Exceptions (accepted risks)</h2><ul>",
    );
    for l in lines {
        let _ = write!(o, "<li>{}</li>", esc(&l));
    }
    o.push_str("</ul></section>\n");
    o
}
