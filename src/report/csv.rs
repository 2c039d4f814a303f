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
//! rules), `reasons_zh`, `reasons_en`, `checklist_zh`, `checklist_en`, `evidence` (digests).
//!
//! `findings.csv` columns: `control`, `rule`, `rule_title_zh`, `rule_title_en`, `rule_outcome`,
//! `rule_verdict`, `resource`, `region`, `status` (`pass`, `fail`, `error`), `reason`, `evidence`
//! (digests), `locations` (`sha256:…#JSONPath`). Every resource result of every rule is a row, passes
//! included, so the rows of a rule add up to its `passed + failed + errored`.

use super::{control_digests, problems, status_str, Output, ReportInput};
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

fn finish(w: ::csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    let body = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("csv: {}", e.error()))?;
    let mut bytes = BOM.as_bytes().to_vec();
    bytes.extend(body);
    Ok(bytes)
}

/// Renders `controls.csv` and `findings.csv`.
pub fn render(input: &ReportInput<'_>) -> Result<Vec<Output>> {
    Ok(vec![
        Output {
            name: CONTROLS_FILE,
            bytes: controls(input)?,
        },
        Output {
            name: FINDINGS_FILE,
            bytes: findings(input)?,
        },
    ])
}

fn controls(input: &ReportInput<'_>) -> Result<Vec<u8>> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
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
    ])?;
    for c in &input.results.controls {
        let probs = problems(c);
        let count = |s: ResourceStatus| probs.iter().filter(|p| p.status == s).count();
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
            count(ResourceStatus::Fail).to_string(),
            count(ResourceStatus::Error).to_string(),
            guard(&join(&mut c.reasons.iter().map(|r| r.zh.as_str()))),
            guard(&join(&mut c.reasons.iter().map(|r| r.en.as_str()))),
            guard(&join(&mut c.checklist.iter().map(|r| r.zh.as_str()))),
            guard(&join(&mut c.checklist.iter().map(|r| r.en.as_str()))),
            control_digests(c).join("\n"),
        ])?;
    }
    finish(w)
}

fn findings(input: &ReportInput<'_>) -> Result<Vec<u8>> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
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
                ])?;
            }
        }
    }
    finish(w)
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
