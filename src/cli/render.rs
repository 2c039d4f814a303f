//! Terminal rendering of catalogs, probes and results (Chinese and English side by side).

use crate::app::Loaded;
use crate::catalog::{Automation, Control};
use crate::probes::{ProbeCatalog, Scope};
use crate::results::Results;
use crate::verdict::Verdict;
use comfy_table::{presets, Cell, ContentArrangement, Table};
use std::fmt::Write;

fn table(headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic);
    // On a terminal comfy-table measures the width itself; piped output wraps at $COLUMNS or 120.
    match terminal_width() {
        Some((w, _)) => {
            t.set_width(w);
        }
        None if !std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
            t.set_width(120);
        }
        None => {}
    }
    t.set_header(headers.iter().map(Cell::new));
    // Identifiers are never wrapped; the prose columns take what width is left.
    if let Some(col) = t.column_mut(0) {
        col.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
    }
    t
}

fn terminal_width() -> Option<(u16, u16)> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .map(|w| (w, 0))
}

/// Automation level of `c` for `provider`: its mapping's when mapped, else manual.
pub fn automation_for(loaded: &Loaded, c: &Control, provider: &str) -> Automation {
    loaded
        .rules
        .mapping(&c.id, provider)
        .map(|m| m.automation)
        .unwrap_or(Automation::Manual)
}

/// How far a provider's mappings automate the catalog's test items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Items whose API evidence decides every criterion.
    pub full: usize,
    /// Items judged from API evidence, with a checklist of what remains.
    pub partial: usize,
    /// Manual items with mapped rules: API evidence attached, judged by hand.
    pub manual_with_evidence: usize,
    /// Manual items without any mapping.
    pub manual: usize,
}

impl Coverage {
    /// The coverage of `provider`'s mappings.
    pub fn of(loaded: &Loaded, provider: &str) -> Self {
        let mut c = Coverage {
            full: 0,
            partial: 0,
            manual_with_evidence: 0,
            manual: 0,
        };
        for item in &loaded.catalog.controls {
            match loaded
                .rules
                .mapping(&item.id, provider)
                .map(|m| m.automation)
            {
                Some(Automation::Full) => c.full += 1,
                Some(Automation::Partial) => c.partial += 1,
                Some(Automation::Manual) => c.manual_with_evidence += 1,
                None => c.manual += 1,
            }
        }
        c
    }

    /// Items the machine judges: full or partial.
    pub fn machine_judged(&self) -> usize {
        self.full + self.partial
    }
}

/// `dengbao controls list`.
pub fn controls_list(loaded: &Loaded, provider: Option<&str>) -> String {
    let auto_header = match provider {
        Some(p) => format!("{p} 自动化 Automation"),
        None => "自动化 Automation".to_string(),
    };
    let mut t = table(&[
        "测评项 Item",
        "层面 Layer",
        "控制点 Control point",
        "要求 Requirement",
        &auto_header,
    ]);
    for i in [1, 2] {
        if let Some(col) = t.column_mut(i) {
            col.set_constraint(comfy_table::ColumnConstraint::UpperBoundary(
                comfy_table::Width::Fixed(30),
            ));
        }
    }
    for c in &loaded.catalog.controls {
        let auto = match provider {
            Some(p) => automation_for(loaded, c, p),
            None => c.automation,
        };
        let clause = if c.clause.is_empty() {
            String::new()
        } else {
            format!("{}) ", c.clause)
        };
        t.add_row(vec![
            Cell::new(&c.id),
            Cell::new(format!("{}\n{}", c.layer, c.layer_en)),
            Cell::new(format!("{}\n{}", c.control_point, c.control_point_en)),
            Cell::new(format!("{clause}{}\n{}", c.requirement, c.requirement_en)),
            Cell::new(auto.as_str()),
        ]);
    }
    let mut out = format!("{}\n", t);
    match provider {
        Some(p) => {
            let c = Coverage::of(loaded, p);
            let _ = writeln!(
                out,
                "{} test items: {} full, {} partial, {} manual (for {p}); machine-judged (full or partial): {}; \
                 {} of the manual ones are judged by hand with API evidence attached",
                loaded.catalog.controls.len(),
                c.full,
                c.partial,
                c.manual + c.manual_with_evidence,
                c.machine_judged(),
                c.manual_with_evidence,
            );
        }
        None => {
            let count = |a: Automation| {
                loaded
                    .catalog
                    .controls
                    .iter()
                    .filter(|c| c.automation == a)
                    .count()
            };
            let _ = writeln!(
                out,
                "{} test items: {} full, {} partial, {} manual",
                loaded.catalog.controls.len(),
                count(Automation::Full),
                count(Automation::Partial),
                count(Automation::Manual),
            );
        }
    }
    out
}

/// `dengbao controls show ID`.
pub fn control_detail(c: &Control, loaded: &Loaded) -> String {
    let mut o = String::new();
    let clause = if c.clause.is_empty() {
        String::new()
    } else {
        format!(" {})", c.clause)
    };
    let _ = writeln!(o, "{}  {} / {}{}", c.id, c.layer, c.control_point, clause);
    let _ = writeln!(
        o,
        "{}  {} / {}",
        " ".repeat(c.id.len()),
        c.layer_en,
        c.control_point_en
    );
    let section = |o: &mut String, zh: &str, en: &str, text_zh: &str, text_en: &str| {
        let _ = writeln!(o, "\n{zh} {en}\n  {text_zh}");
        if !text_en.is_empty() {
            let _ = writeln!(o, "  {text_en}");
        }
    };
    section(
        &mut o,
        "安全要求",
        "Requirement",
        &c.requirement,
        &c.requirement_en,
    );
    section(&mut o, "要求解读", "Interpretation", &c.interpretation, "");
    section(
        &mut o,
        "测评方法",
        "Test method",
        &c.test_method,
        &c.test_method_en,
    );
    section(
        &mut o,
        "预期证据",
        "Expected evidence",
        &c.expected_evidence,
        &c.expected_evidence_en,
    );
    let _ = writeln!(o, "\n判定标准 Criteria");
    let _ = writeln!(
        o,
        "  符合 compliant: {}\n    {}",
        c.criteria.compliant, c.criteria_en.compliant
    );
    if let (Some(zh), Some(en)) = (
        &c.criteria.partially_compliant,
        &c.criteria_en.partially_compliant,
    ) {
        let _ = writeln!(o, "  部分符合 partially_compliant: {zh}\n    {en}");
    }
    let _ = writeln!(
        o,
        "  不符合 non_compliant: {}\n    {}",
        c.criteria.non_compliant, c.criteria_en.non_compliant
    );
    let resp = serde_json::to_value(c.responsibility)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let _ = writeln!(o, "\n责任方 Responsibility: {resp}");
    let _ = writeln!(
        o,
        "自动化 Automation: {} — {}\n  {}",
        c.automation.as_str(),
        c.automation_note,
        c.automation_note_en
    );
    for m in loaded.rules.mappings.iter().filter(|m| m.control == c.id) {
        let _ = writeln!(
            o,
            "\n{} 映射 mapping ({}): rules {}",
            m.provider,
            m.automation.as_str(),
            m.rules.join(", ")
        );
        let _ = writeln!(o, "  {}\n  {}", m.rationale.zh, m.rationale.en);
    }
    let _ = writeln!(o, "\n人工核查清单 Checklist");
    for item in &c.checklist {
        let _ = writeln!(o, "  - {}\n    {}", item.zh, item.en);
    }
    o
}

/// `dengbao probes list`.
pub fn probes_list(probes: &ProbeCatalog, provider: Option<&str>) -> String {
    let mut t = table(&["Probe", "Operation", "Scope", "IAM action", "Description"]);
    let mut n = 0;
    for p in probes
        .probes
        .values()
        .filter(|p| provider.is_none_or(|x| x == p.provider))
    {
        n += 1;
        let scope = match (&p.fan_out, p.scope) {
            (Some(f), Scope::Regional) => format!("regional, per item of {}", f.from),
            (Some(f), Scope::Global) => format!("global, per item of {}", f.from),
            (None, Scope::Regional) => "regional".into(),
            (None, Scope::Global) => "global".into(),
        };
        t.add_row(vec![
            p.id.clone(),
            format!("{}:{}", p.service, p.operation),
            scope,
            p.iam_action.clone(),
            p.description.clone(),
        ]);
    }
    format!("{t}\n{n} probe(s)\n")
}

/// The per-control verdict table printed after an evaluation.
pub fn results_table(r: &Results) -> String {
    let mut t = table(&[
        "测评项 Item",
        "控制点 Control point",
        "结论 Verdict",
        "依据 Reason",
    ]);
    for c in &r.controls {
        let reason = if c.verdict == Verdict::Manual {
            format!(
                "人工核查清单 {n} 项 / checklist of {n} item(s): `dengbao controls show {}`",
                c.id,
                n = c.checklist.len()
            )
        } else {
            c.reasons.first().map(|b| b.en.clone()).unwrap_or_default()
        };
        let reason = if reason.chars().count() > 140 {
            format!("{}…", reason.chars().take(140).collect::<String>())
        } else {
            reason
        };
        t.add_row(vec![
            c.id.clone(),
            format!("{} {}", c.control_point, c.control_point_en),
            format!("{} {}", c.verdict.zh(), c.verdict.as_str()),
            reason,
        ]);
    }
    let mut out = format!("{t}\n");
    let s = &r.summary;
    let parts: Vec<String> = Verdict::ALL
        .iter()
        .map(|v| format!("{} {} {}", s.get(*v), v.zh(), v.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "{} / {} / {} — {} test items: {}",
        r.scan.provider,
        r.scan.partition,
        r.scan.accounts.join(","),
        s.total,
        parts.join(", ")
    );
    out
}

/// `dengbao rules list`: for each mapped test item, the rules that judge it.
pub fn rules_list(loaded: &Loaded, provider: Option<&str>, markdown: bool) -> String {
    if markdown {
        return super::mappings_page::page(loaded, provider);
    }
    let mut rows = Vec::new();
    for c in &loaded.catalog.controls {
        for m in loaded
            .rules
            .mappings
            .iter()
            .filter(|m| m.control == c.id && provider.is_none_or(|p| p == m.provider))
        {
            let rules: Vec<String> = m
                .rules
                .iter()
                .map(|id| {
                    if loaded.rules.rules.get(id).is_some_and(|r| r.context) {
                        format!("{id} (context)")
                    } else {
                        id.clone()
                    }
                })
                .collect();
            rows.push((
                c.id.clone(),
                format!("{} {}", c.control_point, c.control_point_en),
                m.provider.clone(),
                m.automation.as_str(),
                rules,
            ));
        }
    }
    let mut t = table(&[
        "测评项 Item",
        "控制点 Control point",
        "Provider",
        "Automation",
        "规则 Rules",
    ]);
    let n = rows.len();
    for (id, cp, p, a, r) in rows {
        t.add_row(vec![id, cp, p, a.to_string(), r.join("\n")]);
    }
    format!("{t}\n{n} mapping(s)\n")
}
