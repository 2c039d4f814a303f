//! Markdown: `summary.md`, short enough to paste into a ticket or a pull request.
//!
//! It holds the scan line, a table of counts per verdict, then every 不符合, 部分符合 and 无法判定
//! item (worst first) with its requirement, reasons in Chinese and English and the resources that
//! failed or could not be read (at most [`MAX_RESOURCES`] per item), and finally the number of items
//! that need manual review. Compliant and not-applicable items are only counted.
//!
//! Text from results is escaped for CommonMark: characters with Markdown meaning are
//! backslash-escaped and `<`, `>`, `&` become entities, so evidence-derived strings (resource ids,
//! error messages) cannot inject links, HTML or table cells. Ids are written as code spans.

use super::{by_severity, problems, status_label, Output, ReportInput};
use crate::verdict::Verdict;
use anyhow::Result;
use std::fmt::Write;

/// File name of the Markdown summary.
pub const FILE: &str = "summary.md";

/// At most this many resources are listed per item; the rest are counted.
pub const MAX_RESOURCES: usize = 20;

/// Escapes text for CommonMark (inline context, one line).
/// Text longer than [`crate::limits::MAX_FIELD_CHARS`] is cut before it is escaped.
pub fn escape(s: &str) -> String {
    let s = crate::limits::clip(s, crate::limits::MAX_FIELD_CHARS);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span holding `s` verbatim (fenced with enough backticks; newlines become spaces).
/// Text longer than [`crate::limits::MAX_FIELD_CHARS`] is cut first.
pub fn code(s: &str) -> String {
    let s = crate::limits::clip(s, crate::limits::MAX_FIELD_CHARS).replace(['\n', '\r'], " ");
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    if longest > 0 || s.starts_with(' ') || s.ends_with(' ') {
        format!("{fence} {s} {fence}")
    } else {
        format!("{fence}{s}{fence}")
    }
}

/// Renders `summary.md`.
pub fn render(input: &ReportInput<'_>) -> Result<Vec<Output>> {
    Ok(vec![Output {
        name: FILE,
        bytes: summary(input).into_bytes(),
    }])
}

fn summary(input: &ReportInput<'_>) -> String {
    let r = input.results;
    let s = &r.summary;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# 等级保护测评结果 / MLPS 2.0 assessment: {}\n",
        escape(&r.framework.name)
    );
    let _ = writeln!(
        o,
        "{} ({}) · {} / {} / {} · {}\n",
        escape(&r.framework.name_en),
        escape(&r.framework.standard),
        code(&r.scan.provider),
        code(&r.scan.partition),
        r.scan
            .accounts
            .iter()
            .map(|a| code(a))
            .collect::<Vec<_>>()
            .join(", "),
        r.scan
            .regions
            .iter()
            .map(|a| code(a))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        o,
        "扫描时间 Scan: {} → {} · 证据包 Pack {} · {} {}\n",
        escape(&r.scan.started_at),
        escape(&r.scan.finished_at),
        code(&r.scan.pack_digest),
        escape(&r.tool.name),
        escape(&r.tool.version)
    );
    let _ = writeln!(o, "| 结论 Verdict | 数量 Items |\n|---|---:|");
    for v in Verdict::ALL {
        let _ = writeln!(o, "| {} `{}` | {} |", v.zh(), v.as_str(), s.get(v));
    }
    let _ = writeln!(o, "| **合计 Total** | **{}** |\n", s.total);

    for v in by_severity().into_iter().filter(|v| {
        matches!(
            v,
            Verdict::NonCompliant | Verdict::PartiallyCompliant | Verdict::Error
        )
    }) {
        let items: Vec<_> = r.controls.iter().filter(|c| c.verdict == v).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(o, "## {} `{}` ({})\n", v.zh(), v.as_str(), items.len());
        for c in items {
            let _ = writeln!(
                o,
                "### {} {} / {}\n",
                code(&c.id),
                escape(&c.control_point),
                escape(&c.control_point_en)
            );
            let _ = writeln!(
                o,
                "> {}  \n> {}\n",
                escape(&c.requirement),
                escape(&c.requirement_en)
            );
            for reason in &c.reasons {
                let _ = writeln!(o, "- {}  \n  {}", escape(&reason.zh), escape(&reason.en));
            }
            let probs = problems(c);
            if !probs.is_empty() {
                let _ = writeln!(
                    o,
                    "\n未通过或无法读取的资源 Resources that failed or could not be read:\n"
                );
                for p in probs.iter().take(MAX_RESOURCES) {
                    let (zh, en) = status_label(p.status);
                    let _ = writeln!(
                        o,
                        "- {} ({}) — {zh} {en}; {}",
                        code(&p.id),
                        escape(&p.region),
                        p.rules
                            .iter()
                            .map(|r| code(r))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                if probs.len() > MAX_RESOURCES {
                    let _ = writeln!(
                        o,
                        "- … 另有 {n} 项 / and {n} more (findings.csv lists them all)",
                        n = probs.len() - MAX_RESOURCES
                    );
                }
            }
            o.push('\n');
        }
    }

    let manual: Vec<_> = r
        .controls
        .iter()
        .filter(|c| c.verdict == Verdict::Manual)
        .map(|c| code(&c.id))
        .collect();
    let _ = writeln!(
        o,
        "## 需人工核查 `manual` ({})\n\n{} 项需按检查清单人工核查 / {} item(s) need manual review with their checklists \
(`dengbao controls show ID`, or the HTML report):{}{}\n",
        manual.len(),
        manual.len(),
        manual.len(),
        if manual.is_empty() { "" } else { " " },
        manual.join(", ")
    );
    let partial_checklists = r
        .controls
        .iter()
        .filter(|c| c.verdict != Verdict::Manual && !c.checklist.is_empty())
        .count();
    if partial_checklists > 0 {
        let _ = writeln!(
            o,
            "另有 {partial_checklists} 个自动判定项附带人工核查清单 / {partial_checklists} automatically judged item(s) also carry a checklist.\n"
        );
    }
    let _ = writeln!(
        o,
        "{} 符合 `compliant` and {} 不适用 `not_applicable` items are counted above and listed in the other reports.",
        s.compliant, s.not_applicable
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown_and_html() {
        assert_eq!(
            escape("a|b <img src=x> [l](u) *x*"),
            "a\\|b &lt;img src=x&gt; \\[l\\](u) \\*x\\*"
        );
        assert_eq!(code("snap-1"), "`snap-1`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
