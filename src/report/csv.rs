//! CSV: `controls.csv` (one row per test item) and `findings.csv` (one row per rule × resource).
//!
//! Both files are UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly, with
//! RFC 4180 quoting by the `csv` crate (fields holding commas, quotes or newlines are quoted; quotes
//! are doubled). Lists inside one field (reasons, digests, locations) are separated by newlines.
//!
//! **Spreadsheet formulas.** Resource ids and reasons come from the scanned account, so a text field
//! that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'` (the OWASP
//! advice against CSV injection): a spreadsheet shows it as text instead of running it. Ids, verdicts
//! and counts written by dengbao never start with those characters, so machine readers are unaffected.
//!
//! `controls.csv` columns: `id`, `layer`, `layer_en`, `control_point`, `control_point_en`,
//! `requirement`, `requirement_en`, `responsibility`, `automation`, `verdict`, `verdict_zh`, `rules`
//! (number of rules), `resources_failed`, `resources_errored` (distinct resources over the item's
//! rules), `reasons_zh`, `reasons_en`, `checklist_zh`, `checklist_en`, `evidence` (digests),
//! `verdict_with_exceptions` (results v2: the verdict once accepted risks count; empty when no
//! exceptions file was applied, `verdict` always stays the verdict without them).
//!
//! `findings.csv` columns: `control`, `rule`, `rule_title_zh`, `rule_title_en`, `rule_outcome`,
//! `rule_verdict`, `resource`, `region`, `status` (`pass`, `fail`, `error`), `reason`, `evidence`
//! (digests), `locations` (`sha256:…#JSONPath`), `excepted` (the exception id covering a failing
//! resource, which keeps its `fail` status; empty otherwise). Every resource result of every rule is a row, passes
//! included, so the rows of a rule add up to its `passed + failed + errored`.

use super::{control_digests, for_each_problem, status_str, Files, ReportInput};
use crate::results::{ResourceStatus, RuleOutcome};
use anyhow::Result;

/// File name of the per-control CSV.
pub const CONTROLS_FILE: &str = "controls.csv";
/// File name of the per-finding CSV.
pub const FINDINGS_FILE: &str = "findings.csv";

const BOM: &str = "\u{feff}";

/// Makes a text field safe to open in a spreadsheet (see the module documentation).
/// Text longer than [`crate::limits::MAX_FIELD_CHARS`] is cut first (a spreadsheet cell holds at most
/// 32,767 characters).
pub fn guard(s: &str) -> String {
    let s = crate::limits::clip(s, crate::limits::MAX_FIELD_CHARS);
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.into_owned(),
    }
}

fn outcome_str(o: RuleOutcome) -> &'static str {
    match o {
        RuleOutcome::Pass => "pass",
        RuleOutcome::Fail => "fail",
        RuleOutcome::Error => "error",
        RuleOutcome::NotApplicable => "not_applicable",
    }
}

/// A CSV writer over `out`, the byte-order mark written first.
fn writer<W: std::io::Write>(mut out: W) -> Result<::csv::Writer<W>> {
    out.write_all(BOM.as_bytes())?;
    Ok(::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out))
}

/// Writes `controls.csv` and `findings.csv` (rows streamed as they are made).
pub fn write(input: &ReportInput<'_>, files: &mut Files) -> Result<()> {
    files.write(CONTROLS_FILE, |out| controls(input, out))?;
    files.write(FINDINGS_FILE, |out| findings(input, out))
}

fn controls(input: &ReportInput<'_>, out: &mut dyn std::io::Write) -> Result<()> {
    let mut w = writer(out)?;
    w.write_record([
        "id",
        "layer",
        "layer_en",
        "control_point",
        "control_point_en",
        "requirement",
        "requirement_en",
        "responsibility",
        "automation",
        "verdict",
        "verdict_zh",
        "rules",
        "resources_failed",
        "resources_errored",
        "reasons_zh",
        "reasons_en",
        "checklist_zh",
        "checklist_en",
        "evidence",
        "verdict_with_exceptions",
    ])?;
    for c in &input.results.controls {
        let (mut failed, mut errored) = (0usize, 0usize);
        for_each_problem(c, |p| {
            match p.status {
                ResourceStatus::Fail => failed += 1,
                _ => errored += 1,
            }
            Ok(())
        })?;
        let join = |it: &mut dyn Iterator<Item = &str>| it.collect::<Vec<_>>().join("\n");
        w.write_record([
            guard(&c.id),
            guard(&c.layer),
            guard(&c.layer_en),
            guard(&c.control_point),
            guard(&c.control_point_en),
            guard(&c.requirement),
            guard(&c.requirement_en),
            guard(&c.responsibility),
            guard(&c.automation),
            c.verdict.as_str().to_string(),
            c.verdict.zh().to_string(),
            c.rules.len().to_string(),
            failed.to_string(),
            errored.to_string(),
            guard(&join(&mut c.reasons.iter().map(|r| r.zh.as_str()))),
            guard(&join(&mut c.reasons.iter().map(|r| r.en.as_str()))),
            guard(&join(&mut c.checklist.iter().map(|r| r.zh.as_str()))),
            guard(&join(&mut c.checklist.iter().map(|r| r.en.as_str()))),
            control_digests(c).join("\n"),
            c.verdict_with_exceptions
                .map(|v| v.as_str().to_string())
                .unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn findings(input: &ReportInput<'_>, out: &mut dyn std::io::Write) -> Result<()> {
    let mut w = writer(out)?;
    w.write_record([
        "control",
        "rule",
        "rule_title_zh",
        "rule_title_en",
        "rule_outcome",
        "rule_verdict",
        "resource",
        "region",
        "status",
        "reason",
        "evidence",
        "locations",
        "excepted",
    ])?;
    for c in &input.results.controls {
        for rule in &c.rules {
            for r in &rule.resources {
                w.write_record([
                    guard(&c.id),
                    guard(&rule.id),
                    guard(&rule.title.zh),
                    guard(&rule.title.en),
                    outcome_str(rule.outcome).to_string(),
                    rule.verdict.as_str().to_string(),
                    guard(&r.id),
                    guard(&r.region),
                    status_str(r.status).to_string(),
                    guard(r.reason.as_deref().unwrap_or("")),
                    guard(&r.evidence.join("\n")),
                    guard(&r.locations.join("\n")),
                    guard(rule.exception_for(&r.id, &r.region).unwrap_or("")),
                ])?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::guard;

    #[test]
    fn formula_like_text_is_neutralised() {
        assert_eq!(guard("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(guard("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(guard("snap-0a11"), "snap-0a11");
        assert_eq!(guard("不符合"), "不符合");
    }
}
